"""A wheel built from the repository ships the goal datasets and runs outside the checkout.

The repository keeps the datasets once, in its top-level ``assets/goals/``; ``setup.py`` maps that
folder into the wheel as ``mbag_env/_assets/goals/``. The wheel is built here offline, from a copy
of the sources (``pip wheel --no-build-isolation --no-index``, a second or two), then unpacked and
imported from another folder the way a non-editable install is, and installed with pip into a fresh
virtual environment whose ``mbag-leaderboard --quick`` (the README's main job) and other commands
run from another folder (about a minute: the installed package compiles its kernels afresh).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "mbag_env", "baselines", "assets")


def _can_build_offline() -> str | None:
    """Why a wheel cannot be built without network here, or None if it can."""
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed (pip install 'setuptools>=70.1')"
    import setuptools

    version = tuple(int(part) for part in setuptools.__version__.split(".")[:2] if part.isdigit())
    if version < (68, 0):
        return f"setuptools {setuptools.__version__} is older than the required 68"
    if version < (70, 1) and importlib.util.find_spec("wheel") is None:
        return "setuptools < 70.1 needs the wheel package to build wheels"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the repository's sources (the checkout itself is not touched)."""
    reason = _can_build_offline()
    if reason is not None:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    out = work / "dist"
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--quiet", "-w", str(out)]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    (built,) = out.glob("mbag_env-*.whl")
    return built


def _manifest_files() -> list[str]:
    manifest = json.loads((REPO_ROOT / "assets" / "goals" / "manifest.json").read_text())
    return [entry["file"] for entry in manifest["datasets"]]


def test_wheel_ships_the_goal_datasets_and_no_checkpoints(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "mbag_env/_assets/goals/manifest.json" in names
        files = _manifest_files()
        assert files
        for file in files:
            shipped = archive.read(f"mbag_env/_assets/goals/{file}")
            assert shipped == (REPO_ROOT / "assets" / "goals" / file).read_bytes(), file
        for block_map in (REPO_ROOT / "mbag_env" / "goals" / "block_maps").glob("*.json"):
            assert f"mbag_env/goals/block_maps/{block_map.name}" in names
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
    assert not any(name.startswith("assets/") or name.endswith(".pt") for name in names)
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for script, target in scripts.items():
        assert f"{script} = {target}" in entry_points.decode()


def test_unpacked_wheel_runs_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    code = f"""
import importlib, json
import mbag_env
from mbag_env.goals import assets_dir, load_shipped_goals, read_manifest
counts = {{e.name: len(load_shipped_goals(e.split, e.world_size)) for e in read_manifest()}}
for target in {sorted(scripts.values())!r}:
    module, function = target.split(":")
    assert callable(getattr(importlib.import_module(module), function)), target
print(json.dumps({{"file": mbag_env.__file__, "assets": str(assets_dir()), "counts": counts}}))
"""
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).resolve() == (site / "mbag_env" / "__init__.py").resolve()
    assert Path(report["assets"]) == (site / "mbag_env" / "_assets").resolve()
    manifest = json.loads((REPO_ROOT / "assets" / "goals" / "manifest.json").read_text())
    assert report["counts"] == {entry["name"]: entry["count"] for entry in manifest["datasets"]}


@pytest.fixture(scope="module")
def installed_wheel(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed by pip (not editable); its folder.

    ``--system-site-packages`` lends it this interpreter's dependencies (numpy, numba, ...), so nothing
    is downloaded; ``--ignore-installed`` installs the wheel even where this environment already has
    mbag_env (e.g. the editable install), and the venv's own copy comes first on its path.
    """
    venv = tmp_path_factory.mktemp("wheel_venv") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--ignore-installed", "--quiet", str(wheel)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip install of the wheel failed:\n{result.stdout}\n{result.stderr}"
    return venv


def _run_installed(
    venv: Path, command: list[str], cwd: Path, home: Path, **kwargs: Any
) -> subprocess.CompletedProcess:
    """``command`` (a script of the venv, or its python) run in ``cwd`` with ``HOME=home`` and no cache
    or path settings inherited, so caches go to the default place the README names."""
    drop = {"PYTHONPATH", "MBAG_ENV_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "VIRTUAL_ENV"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env.update(HOME=str(home), MPLBACKEND="Agg", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    executable = venv / "bin" / command[0]
    return subprocess.run(
        [str(executable), *command[1:]], cwd=cwd, env=env, capture_output=True, text=True, **kwargs
    )


def test_installed_wheel_runs_the_quick_leaderboard_and_every_command(
    installed_wheel: Path, tmp_path: Path
) -> None:
    """CI's check of the package: pip-installed wheel, another folder, ``mbag-leaderboard --quick``."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    code = (
        "import json, mbag_env; from mbag_env.compile_cache import kernel_cache_dir; "
        "print(json.dumps({'file': mbag_env.__file__, 'cache': str(kernel_cache_dir())}))"
    )
    located = _run_installed(installed_wheel, ["python", "-c", code], elsewhere, home, timeout=600)
    assert located.returncode == 0, located.stderr
    where = json.loads(located.stdout.strip().splitlines()[-1])
    site_packages = next((installed_wheel / "lib").glob("python3*/site-packages"))
    assert Path(where["file"]).resolve() == (site_packages / "mbag_env" / "__init__.py").resolve()
    cache = Path(where["cache"])
    assert cache.parent == home / ".cache" / "mbag_env", (
        "README: kernels cache in ~/.cache/mbag_env/numba-<hash>"
    )

    board = _run_installed(
        installed_wheel, ["mbag-leaderboard", "--quick", "--no-progress"], elsewhere, home, timeout=900
    )
    assert board.returncode == 0, (
        f"mbag-leaderboard --quick failed:\n{board.stdout[-3000:]}\n{board.stderr[-3000:]}"
    )
    assert "compiling kernels" in board.stderr, "a cold cache must announce the compilation"
    out = elsewhere / "results" / "leaderboard_quick"
    for name in ("leaderboard.json", "leaderboard.md", "leaderboard.png", "episodes.jsonl"):
        assert (out / name).is_file(), name
    result = json.loads((out / "leaderboard.json").read_text())
    rows = {row["assistant"]: row for row in result["assistants"]}
    assert set(rows) == {"idle", "random", "oracle"}
    assert all(row["failed"] == 0 for row in rows.values())
    assert len(result["episodes"]) == 3 * 20 * 4, "the quick suite: 3 assistants, 20 houses, 4 humans"

    demo_command = ["mbag-demo", "--env", "mbag/Assist-Small-v0", "--image", "demo.png"]
    demo = _run_installed(installed_wheel, demo_command, elsewhere, home, timeout=600)
    assert demo.returncode == 0, demo.stderr
    assert "goal percentage" in demo.stdout and (elsewhere / "demo.png").is_file()
    for command in ("mbag-play", "mbag-replay"):
        shown = _run_installed(installed_wheel, [command, "--help"], elsewhere, home, timeout=300)
        assert shown.returncode == 0 and shown.stdout.startswith(f"usage: {command}"), shown.stderr

    # Compiled kernels went to the README's folder, none beside the installed sources or the cwd.
    assert any(cache.rglob("*.nbi")) and any(cache.rglob("*.nbc"))
    assert sorted(path.name for path in (home / ".cache" / "mbag_env").iterdir()) == [cache.name]
    for folder in (installed_wheel, elsewhere):
        stray = [str(path) for pattern in ("*.nbi", "*.nbc") for path in folder.rglob(pattern)]
        assert not stray, f"numba cache files outside ~/.cache/mbag_env: {stray[:5]}"
