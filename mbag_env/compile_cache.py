"""How numba runs the package's kernels: the cache folder and the thread pool.

**Cache.** One folder per version of the package's sources.

numba's own cache checks only the timestamp of the file that defines a function, so after an
edit to a kernel in another file (or an upgrade) it can load stale machine code. The package
therefore points numba at ``~/.cache/mbag_env/numba-<digest>`` while its modules are imported,
where ``<digest>`` hashes every source file of the package: any change gives a fresh folder.
Set ``MBAG_ENV_CACHE_DIR`` to choose the parent folder; if ``NUMBA_CACHE_DIR`` is set, numba's
setting is left alone. Nothing changes for the user's own numba functions.

**Threads.** Large vector envs step their worlds on all cores (numba ``prange``). numba's
OpenMP pool busy-waits between calls, which on a shared or oversubscribed machine (typical for
RL: learner, env and other jobs on few cores) made batched steps up to 20 times slower than
its ``workqueue`` pool in our measurements, so :func:`use_workqueue_threads` picks
``workqueue`` unless ``NUMBA_THREADING_LAYER`` says otherwise. ``workqueue`` does not allow
two Python threads to run parallel kernels at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numba
from numba.core import config as numba_config  # type: ignore[attr-defined]

PACKAGE_DIR = Path(__file__).resolve().parent


def sources_digest() -> str:
    """A short hash of every ``.py`` file of the package (paths and contents)."""
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def kernel_cache_dir() -> Path:
    """The folder for this version's compiled kernels."""
    base = os.environ.get("MBAG_ENV_CACHE_DIR")
    if base:
        parent = Path(base)
    else:
        parent = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mbag_env"
    return parent / f"numba-{sources_digest()}"


@contextlib.contextmanager
def package_kernel_cache() -> Iterator[None]:
    """Inside this block, newly decorated ``cache=True`` kernels cache in :func:`kernel_cache_dir`.

    numba fixes a function's cache folder when the decorator runs, so importing the package's
    modules inside the block is enough; the previous setting is restored afterwards. If the
    folder cannot be created, numba's default (beside the sources) is kept.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        yield
        return
    previous = numba_config.CACHE_DIR  # type: ignore[attr-defined]
    try:
        folder = kernel_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        yield
        return
    numba_config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        numba_config.CACHE_DIR = previous  # type: ignore[attr-defined]


def use_workqueue_threads() -> None:
    """Make numba use its ``workqueue`` thread pool, unless ``NUMBA_THREADING_LAYER`` is set.

    Takes effect only before numba launches its first parallel kernel in this process.
    """
    if not os.environ.get("NUMBA_THREADING_LAYER"):
        numba_config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]
