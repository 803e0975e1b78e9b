"""The baselines' compiled kernels cache where the README says (mbag_env's versioned folder, see
:mod:`mbag_env.compile_cache`), not in ``__pycache__`` folders beside their sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASELINES = REPO / "baselines"

# Imports the baselines as their users do (the package, or the module that wraps the kernels'
# import in package_kernel_cache()), lists every cached kernel of a baselines module with the folder
# numba will write it to, and compiles one small kernel so that real cache files get written.
PROBE = """
import json, sys
import numba.core.dispatcher
import mbag_env
import baselines.dreamer
from baselines.assistance_zero import mcts

folders = {}
for name, module in list(sys.modules.items()):
    if not name.startswith("baselines."):
        continue
    for attr, value in vars(module).items():
        if isinstance(value, numba.core.dispatcher.Dispatcher) and value.py_func.__module__ == name:
            folders[f"{name}.{attr}"] = getattr(value._cache, "_cache_path", None)
mcts.tree_kernels.action_type(7, 1)
print(json.dumps(folders))
"""


def cache_files(folder: Path) -> dict[Path, int]:
    """numba's index and data files under ``folder``, with their modification times."""
    return {path: path.stat().st_mtime_ns for pattern in ("*.nbi", "*.nbc") for path in folder.rglob(pattern)}


def modules_with_cached_kernels() -> set[str]:
    """Every ``baselines`` module whose source asks numba for a disk cache."""
    return {
        ".".join(path.relative_to(REPO).with_suffix("").parts)
        for path in BASELINES.rglob("*.py")
        if "cache=True" in path.read_text()
    }


def test_baseline_kernels_cache_in_the_package_cache_folder(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    environment["MBAG_ENV_CACHE_DIR"] = str(tmp_path)
    before = cache_files(BASELINES)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    folders: dict[str, str | None] = json.loads(result.stdout.strip().splitlines()[-1])

    expected = modules_with_cached_kernels()
    assert {"baselines.dreamer.decoded_mask", "baselines.assistance_zero.tree_kernels"} <= expected
    found = {name.rsplit(".", 1)[0] for name in folders}
    assert expected <= found, f"modules with cached kernels that the probe did not import: {expected - found}"
    for kernel, folder in folders.items():
        assert folder is not None, f"{kernel} has no disk cache"
        assert Path(folder).is_relative_to(tmp_path), f"{kernel} caches in {folder}, not under {tmp_path}"

    assert cache_files(BASELINES) == before, "kernels were cached beside the baselines' sources"
    written = [path.name for path in cache_files(tmp_path)]
    assert any(name.startswith("tree_kernels.action_type-") and name.endswith(".nbi") for name in written)
