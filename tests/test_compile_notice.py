"""The first-run notice of the command line tools (:func:`mbag_env.compile_cache.compile_notice`): one
line on stderr before compiling when the versioned kernel cache is cold, the true seconds after, and
nothing once a warm-up has filled the cache."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from pathlib import Path

import pytest

from mbag_env import compile_cache
from mbag_env.compile_cache import (
    PACKAGE_DIR,
    compile_notice,
    kernel_cache_dir,
    kernel_cache_is_cold,
    warm_up_marker,
)
from mbag_env.evaluation import leaderboard


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``MBAG_ENV_CACHE_DIR`` set to an empty folder: this version's cache folder, made as importing does."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("MBAG_ENV_CACHE_DIR", str(tmp_path))
    folder = kernel_cache_dir()
    folder.mkdir(parents=True)
    return folder


def core_index(folder: Path, name: str = "step.step_world-10.py311.nbi") -> Path:
    """A (fake) numba index file of a kernel of ``core/`` where numba would write it in ``folder``."""
    core = PACKAGE_DIR / "core"
    sub = folder / f"core_{hashlib.sha1(str(core).encode()).hexdigest()}"
    sub.mkdir(parents=True, exist_ok=True)
    path = sub / name
    path.write_bytes(b"index")
    return path


def test_cold_cache_announces_before_the_work_and_the_true_seconds_after(empty_cache: Path) -> None:
    stream = io.StringIO()
    assert kernel_cache_is_cold()
    with compile_notice(stream) as timing:
        # the notice is out before the (compiling) work starts, naming this version's folder
        assert stream.getvalue() == (
            f"mbag_env: compiling kernels (about a minute, once per version; cached in {empty_cache})\n"
        )
        core_index(empty_cache)  # what numba writes while compiling
        time.sleep(1.2)
    assert timing.cold and 1.2 <= timing.seconds < 10
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1] == "mbag_env: compiled the kernels in 1 s; later runs load them from the cache"
    # the warm-up left its mark: the next run is silent
    assert warm_up_marker(empty_cache).is_file() and not kernel_cache_is_cold()
    quiet = io.StringIO()
    with compile_notice(quiet) as again:
        pass
    assert quiet.getvalue() == "" and not again.cold and again.seconds < 1


def test_kernels_compiled_by_importing_alone_still_read_as_cold(empty_cache: Path) -> None:
    core_index(empty_cache, "rules.segment_cells-48.py311.nbi")  # `import mbag_env` compiles a few
    assert kernel_cache_is_cold()
    warm_up_marker(empty_cache).touch()
    assert not kernel_cache_is_cold()


def test_a_stale_or_missing_index_reads_as_cold(empty_cache: Path) -> None:
    warm_up_marker(empty_cache).touch()
    assert kernel_cache_is_cold()  # marker but no index files (the cache was cleaned)
    index = core_index(empty_cache)
    assert not kernel_cache_is_cold()
    source = PACKAGE_DIR / "core" / "step.py"
    older = source.stat().st_mtime - 60
    os.utime(index, (older, older))  # the source changed after the kernel was cached
    assert kernel_cache_is_cold()


def test_another_version_or_numba_cache_dir(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warm_up_marker(empty_cache).touch()
    core_index(empty_cache)
    assert not kernel_cache_is_cold()
    monkeypatch.setattr(compile_cache, "sources_digest", lambda: "0123456789abcdef")  # an edited package
    assert kernel_cache_is_cold()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(empty_cache))  # numba's own setting is used as it is
    stream = io.StringIO()
    with compile_notice(stream):
        core_index(empty_cache)
    assert f"cached in {empty_cache})" in stream.getvalue() and not kernel_cache_is_cold()


def test_a_failing_warm_up_prints_no_time_and_leaves_no_mark(empty_cache: Path) -> None:
    stream = io.StringIO()
    with pytest.raises(RuntimeError), compile_notice(stream):
        raise RuntimeError("boom")
    assert len(stream.getvalue().splitlines()) == 1 and kernel_cache_is_cold()


def test_the_leaderboards_time_includes_the_warm_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A slow (compiling) warm-up is counted in the reported wall time, and announced when cold."""

    def slow_warm_up(suite: object) -> compile_cache.WarmUp:
        with compile_notice() as timing:
            time.sleep(1.5)
        return timing

    monkeypatch.setenv("MBAG_ENV_CACHE_DIR", str(tmp_path / "cache"))  # cold
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    kernel_cache_dir().mkdir(parents=True)
    monkeypatch.setattr(leaderboard, "warm_up", slow_warm_up)
    out = tmp_path / "out"
    arguments = ["--quick", "--no-progress", "--houses", "1", "--workers", "1", "--out", str(out), "idle"]
    assert leaderboard.main(arguments) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("mbag_env: compiling kernels (about a minute")
    assert re.search(r"^mbag_env: compiled the kernels in [12] s;", captured.err, re.MULTILINE)
    run = json.loads((out / "leaderboard.json").read_text())["run"]
    assert run["warm_up_seconds"] >= 1.5 and run["wall_seconds"] >= run["warm_up_seconds"]
    assert "(warm-up included: 1." in captured.out
