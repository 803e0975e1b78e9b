"""Where numba keeps the package's compiled kernels, and the notice of the first compile.

**Cache.** One folder per version of the package's sources.

numba's own cache checks only the timestamp of the file that defines a function, so after an
edit to a kernel in another file (or an upgrade) it can load stale machine code. The package
therefore points numba at ``~/.cache/mbag_env/numba-<digest>`` while its modules are imported,
where ``<digest>`` hashes every source file of the package: any change gives a fresh folder.
Set ``MBAG_ENV_CACHE_DIR`` to choose the parent folder; if ``NUMBA_CACHE_DIR`` is set, numba's
setting is left alone. Nothing changes for the user's own numba functions.

**First run.** Compiling the kernels takes about a minute, once per version. Every command line
tool wraps its warm-up in :func:`compile_notice`, which prints one line to stderr *before* that
silence when :func:`kernel_cache_is_cold`, and the seconds it really took afterwards. "Cold"
means: no warm-up finished in this version's folder yet (an empty file marks one), or the core's
index files are missing or older than their sources. Importing the package compiles only a few
kernels, so index files alone would read as warm after a mere ``--help``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

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


def active_cache_dir() -> Path:
    """The folder numba writes the package's kernels to: ``NUMBA_CACHE_DIR`` when set, else
    :func:`kernel_cache_dir` (numba falls back to ``__pycache__`` beside the sources only when that
    folder cannot be created)."""
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    return Path(numba_dir) if numba_dir else kernel_cache_dir()


def warm_up_marker(folder: Path) -> Path:
    """The empty file :func:`compile_notice` leaves in ``folder`` once a warm-up compiled this
    version's kernels there (importing the package alone compiles only a few of them)."""
    return folder / f"mbag_env-{sources_digest()}.warm"


def cache_holds_kernels(folder: Path) -> bool:
    """Whether ``folder`` holds this version's compiled kernels: a warm-up finished there
    (:func:`warm_up_marker`) and the index files (``*.nbi``) of the core's kernels are there, none
    older than its source file (numba would ignore it). Cheap: one directory listing and a few
    ``stat`` calls; kernels of other folders are not checked.
    """
    if not warm_up_marker(folder).is_file():
        return False
    core = PACKAGE_DIR / "core"
    if folder.name != "__pycache__":  # numba's subfolder for core/ (numba.core.caching._CacheLocator)
        folder = folder / f"core_{hashlib.sha1(str(core).encode()).hexdigest()}"
    found = False
    try:
        for entry in os.scandir(folder):
            if not entry.name.endswith(".nbi"):
                continue
            found = True
            source = core / f"{entry.name.split('.', 1)[0]}.py"
            if source.is_file() and source.stat().st_mtime > entry.stat().st_mtime:
                return False  # edited (or touched) since: numba recompiles it
    except OSError:
        return False
    return found


def _effective_cache_dir() -> Path:
    folder = active_cache_dir()
    if not os.environ.get("NUMBA_CACHE_DIR") and not folder.is_dir():
        folder = PACKAGE_DIR / "core" / "__pycache__"  # numba's default, kept when the folder cannot be made
    return folder


def kernel_cache_is_cold() -> bool:
    """Whether running an episode will compile kernels rather than load them: the
    :func:`active_cache_dir` does not hold them (:func:`cache_holds_kernels`)."""
    return not cache_holds_kernels(_effective_cache_dir())


@dataclass
class WarmUp:
    """What :func:`compile_notice` measured: whether the cache was cold and the seconds taken."""

    cold: bool
    seconds: float = 0.0


@contextlib.contextmanager
def compile_notice(stream: TextIO | None = None) -> Iterator[WarmUp]:
    """Run a command line tool's warm-up (the code that compiles or loads the kernels) inside this block.

    When :func:`kernel_cache_is_cold`, one line goes to ``stream`` (stderr) before the block,
    ``mbag_env: compiling kernels (about a minute, once per version; cached in FOLDER)``, and one
    with the seconds it took after it; with a warm cache it prints nothing. The yielded
    :class:`WarmUp` holds the seconds either way (set when the block ends).
    """
    out = sys.stderr if stream is None else stream
    warm_up = WarmUp(cold=kernel_cache_is_cold())
    if warm_up.cold:
        print(
            f"mbag_env: compiling kernels (about a minute, once per version; cached in {active_cache_dir()})",
            file=out,
            flush=True,
        )
    start = time.perf_counter()
    try:
        yield warm_up
    finally:
        warm_up.seconds = time.perf_counter() - start
    if warm_up.cold:
        with contextlib.suppress(OSError):  # a read-only cache: the notice shows again next time
            folder = _effective_cache_dir()
            if folder.is_dir():
                warm_up_marker(folder).touch()
        print(
            f"mbag_env: compiled the kernels in {warm_up.seconds:.0f} s; later runs load them from the cache",
            file=out,
            flush=True,
        )
