"""The leaderboard never loses work: atomic outputs, resuming a killed run, refusing to mix runs,
workers that die alone (and with their parent), failed assistants ranked last, and a working
folder that cannot shadow installed packages."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib.axes
import matplotlib.image
import pytest

from mbag_env.evaluation import atomic, leaderboard_report
from mbag_env.evaluation.atomic import atomic_open, atomic_write_text
from mbag_env.evaluation.leaderboard import SUITES, main, parse_assistant_spec
from mbag_env.evaluation.leaderboard_report import bar_chart, write_outputs
from mbag_env.evaluation.leaderboard_summary import HEADLINE, SECOND, summarise
from mbag_env.evaluation.metrics import SCALAR_METRICS
from mbag_env.humans.scripted import HumanModel

REPO = Path(__file__).resolve().parents[2]
TINY = ["--quick", "--humans", "goal_seeking", "--no-progress"]


def write_module(folder: Path, name: str, source: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(source)


def read_board(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "leaderboard.json").read_text())


def lines_of(folder: Path) -> list[str]:
    return (folder / "episodes.jsonl").read_text().splitlines()


def rows_by_label(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["assistant"]: row for row in board["assistants"]}


@pytest.fixture
def module_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on ``sys.path`` (restored afterwards) for the assistant modules of a test."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(folder)])
    return folder


SLOW = """
import time

from mbag_env.evaluation import IdleAssistant


def make():
    time.sleep(0.4)
    return IdleAssistant()
"""


def _children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid`` and their command lines (Linux ``/proc``)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                children[int(entry.name)] = command
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")
def test_killed_run_resumes_to_the_same_table_and_leaves_no_orphans(
    tmp_path: Path, module_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_module(module_folder, "slow_assistant", SLOW)
    arguments = [*TINY, "--houses", "3", "slow=slow_assistant:make", "idle", "oracle"]
    killed = tmp_path / "killed"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(module_folder), str(REPO)])}
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mbag_env.evaluation.leaderboard", *arguments]
            + ["--workers", "2", "--out", str(killed)],
            cwd=tmp_path,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120  # compiling the kernels first takes a while on a cold cache
            while time.monotonic() < deadline and process.poll() is None:
                path = killed / "episodes.jsonl"
                if path.exists() and len(path.read_text().splitlines()) >= 2:
                    break
                time.sleep(0.01)
            workers = _children(process.pid)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()
    # The two workers were playing episodes (beside them: multiprocessing's resource tracker).
    assert sum("spawn_main" in command for command in workers.values()) == 2, workers
    assert not _wait_until_dead(workers, 10), "children outlived their killed parent"

    before = (killed / "episodes.jsonl").read_text().split("\n")[:-1]  # whole lines only
    assert 2 <= len(before) < 9  # killed mid-run
    with open(killed / "episodes.jsonl", "a") as handle:  # (as if) killed in the middle of a line
        handle.write('{"assistant": "oracle", "human": "goal_sea')
    capsys.readouterr()
    assert main([*arguments, "--workers", "1", "--out", str(killed)]) == 0
    captured = capsys.readouterr()
    assert f"kept {len(before)} finished episodes" in captured.out
    assert "dropped 1 unreadable line(s)" in captured.err
    resumed = read_board(killed)
    assert resumed["run"]["resumed"] == len(before) and resumed["run"]["ran"] == 9 - len(before)
    after = lines_of(killed)
    assert after[: len(before)] == before and len(after) == 9  # kept lines untouched, truncated one gone
    assert all(json.loads(line)["status"] == "ok" for line in after)

    reference = tmp_path / "uninterrupted"
    assert main([*arguments, "--workers", "1", "--out", str(reference)]) == 0
    uninterrupted = read_board(reference)
    for key in ("assistants", "paired", "episodes", "suite", "seed"):
        assert resumed[key] == uninterrupted[key], key
    assert (killed / "leaderboard.md").read_text() == (reference / "leaderboard.md").read_text()


HANGING = """
import time


def make():
    time.sleep(120)
"""


def _wait_until_dead(pids: Iterable[int], seconds: float) -> list[int]:
    """Wait up to ``seconds`` for ``pids`` to end; the ones still alive are killed and returned."""
    deadline = time.monotonic() + seconds
    while (alive := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:  # a failing test leaves no orphans behind either
        os.kill(pid, signal.SIGKILL)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")
def test_busy_workers_die_with_a_killed_leaderboard(tmp_path: Path, module_folder: Path) -> None:
    """Workers in the middle of a long episode end at once when the main process is killed (they
    would otherwise play on for two minutes)."""
    write_module(module_folder, "hanging_assistant", HANGING)
    out = tmp_path / "out"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(module_folder), str(REPO)])}
    command = [sys.executable, "-m", "mbag_env.evaluation.leaderboard", *TINY, "--houses", "2"]
    command += ["--workers", "2", "--out", str(out), "idle", "hang=hanging_assistant:make"]
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 120  # compiling the kernels first takes a while on a cold cache
            while time.monotonic() < deadline and process.poll() is None:
                if (out / "episodes.jsonl").exists() and len(lines_of(out)) >= 2:
                    break  # idle's two episodes are done: both workers now hang in an episode
                time.sleep(0.02)
            time.sleep(0.3)
            workers = [pid for pid, line in _children(process.pid).items() if "spawn_main" in line]
        finally:
            process.kill()
            process.wait()
    assert len(workers) == 2, (tmp_path / "log").read_text()
    assert not _wait_until_dead(workers, 5), "busy workers outlived their killed parent"


def test_the_watchdog_ends_an_orphan_where_prctl_is_missing(tmp_path: Path) -> None:
    """Without ``PR_SET_PDEATHSIG`` (not Linux), the watchdog thread ends a worker whose parent died."""
    code = (
        "import os, sys, time\n"
        "from mbag_env.evaluation.worker_pool import _die_with_parent\n"
        "sys.platform = 'elsewhere'\n"
        "_die_with_parent(os.getppid())\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    environment = {**os.environ, "CHILD_CODE": code, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -c "$CHILD_CODE" & echo $!; wait'],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        lines = {parent.stdout.readline().strip() for _ in range(2)}
    finally:
        parent.kill()
        parent.wait()
    assert "ready" in lines, lines
    (child,) = (int(line) for line in lines if line.isdigit())
    assert not _wait_until_dead([child], 5), "the orphan did not notice that its parent died"
    parent.stdout.close()


DYING = """
import ctypes
import os


class Exits:
    def act(self, observation):
        os._exit(3)


class Segfaults:
    def act(self, observation):
        return ctypes.string_at(0)


def exits():
    return Exits()


def segfaults():
    return Segfaults()
"""


def test_a_worker_that_dies_fails_only_its_own_episodes(
    tmp_path: Path, module_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_module(module_folder, "dying_assistant", DYING)
    specs = ["exits=dying_assistant:exits", "idle", "segfaults=dying_assistant:segfaults", "oracle"]
    status = main([*TINY, "--houses", "2", "--workers", "2", "--out", str(tmp_path), *specs])
    assert status == 1
    board = read_board(tmp_path)
    rows = rows_by_label(board)
    for label in ("idle", "oracle"):
        assert rows[label]["status"] == "ok" and rows[label]["episodes"] == 2 and rows[label]["failed"] == 0
    assert rows["exits"]["episodes"] == 0 and rows["exits"]["failed"] == 2
    assert rows["exits"]["errors"] == [
        "worker process died (exit code 3) while playing this episode; the other episodes went on"
    ]
    assert rows["segfaults"]["episodes"] == 0 and rows["segfaults"]["failed"] == 2
    assert "worker process died (killed by SIGSEGV)" in rows["segfaults"]["errors"][0]
    assert [row["assistant"] for row in board["assistants"]] == ["oracle", "idle", "exits", "segfaults"]
    statuses = [json.loads(line)["status"] for line in lines_of(tmp_path)]
    assert len(statuses) == 8 and statuses.count("failed") == 4
    captured = capsys.readouterr()
    assert "failed: exits: 2 of 2 episodes; first error: worker process died (exit code 3)" in captured.err


FLAKY = """
import os

from mbag_env.evaluation import IdleAssistant


def make():
    if os.environ.get("FLAKY_ASSISTANT_FAILS"):
        raise RuntimeError("flaky today")
    return IdleAssistant()
"""


def test_resume_recomputes_failed_episodes_and_hides_other_assistants(
    tmp_path: Path, module_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_module(module_folder, "flaky_assistant", FLAKY)
    base = [*TINY, "--houses", "2", "--workers", "1", "--out", str(tmp_path)]
    monkeypatch.setenv("FLAKY_ASSISTANT_FAILS", "1")
    assert main([*base, "idle", "oracle", "flaky=flaky_assistant:make"]) == 1
    first = read_board(tmp_path)
    assert rows_by_label(first)["flaky"]["failed"] == 2 and first["assistants"][-1]["assistant"] == "flaky"
    monkeypatch.delenv("FLAKY_ASSISTANT_FAILS")
    capsys.readouterr()
    assert main([*base, "idle", "flaky=flaky_assistant:make"]) == 0
    out = capsys.readouterr().out
    assert "kept 2 finished episodes, recomputing 2 failed ones, 2 to run" in out
    assert "(2 episodes of other assistants kept, not shown)" in out
    board = read_board(tmp_path)
    assert sorted(row["assistant"] for row in board["assistants"]) == ["flaky", "idle"]  # a tie: by name
    assert rows_by_label(board)["flaky"]["episodes"] == 2 and rows_by_label(board)["flaky"]["failed"] == 0
    assert board["run"]["resumed"] == 2 and board["run"]["ran"] == 2
    assert {episode["assistant"] for episode in board["episodes"]} == {"idle", "flaky"}
    episodes = [json.loads(line) for line in lines_of(tmp_path)]
    assert len(episodes) == 6 and all(e["status"] == "ok" for e in episodes)  # oracle's kept in the file
    assert sorted(e["assistant"] for e in episodes).count("oracle") == 2
    specs = {"idle": "idle", "oracle": "oracle", "flaky": "flaky=flaky_assistant:make"}
    assert all(e["spec"] == specs[e["assistant"]] for e in episodes)  # every line names its spec
    # Recordings asked for now but not made then: those episodes are played again.
    assert main([*base, "--record", "idle"]) == 0
    assert read_board(tmp_path)["run"]["ran"] == 2 and len(list((tmp_path / "recordings").glob("*.npz"))) == 2
    assert main([*base, "--record", "idle"]) == 0
    run = read_board(tmp_path)["run"]
    assert run["resumed"] == 2 and run["ran"] == 0


def test_rerun_refuses_another_suite_seed_or_spec_and_fresh_starts_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [*TINY, "--workers", "1", "--out", str(tmp_path)]
    assert main([*base, "--houses", "2", "idle"]) == 0
    episodes, board = lines_of(tmp_path), (tmp_path / "leaderboard.json").read_text()
    refusals = [
        (["--houses", "3", "idle"], r"different run.*houses \[0, 1\] there, \[0, 1, 2\] now.*--fresh"),
        (["--houses", "2", "--seed", "1", "idle"], r"different run.*--seed 0 there, 1 now"),
        (["--humans", "layer_builder", "--houses", "2", "idle"], r"humans \[\"goal_seeking\"\] there"),
        (["--houses", "2", "idle=random"], r"assistant 'idle' played by spec 'idle'.*gives 'idle=random'"),
    ]
    for arguments, message in refusals:
        with pytest.raises(SystemExit, match=message):
            main([*base, *arguments])
        assert lines_of(tmp_path) == episodes and (tmp_path / "leaderboard.json").read_text() == board
    assert main([*base, "--houses", "3", "--fresh", "idle"]) == 0
    fresh = read_board(tmp_path)
    assert fresh["run"]["resumed"] == 0 and fresh["run"]["ran"] == 3 and len(lines_of(tmp_path)) == 3
    assert json.loads((tmp_path / "run.json").read_text())["suite"]["houses"] == [0, 1, 2]
    assert main([*base, "--houses", "3", "idle"]) == 0 and read_board(tmp_path)["run"]["ran"] == 0
    (tmp_path / "run.json").unlink()  # episodes whose suite nobody recorded are not mixed in either
    with pytest.raises(SystemExit, match=r"holds 3 episodes but there is no .*run.json"):
        main([*base, "--houses", "3", "idle"])


def test_atomic_writes_keep_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "leaderboard.json"
    target.write_text('{"good": true}\n')
    with pytest.raises(RuntimeError, match="killed"), atomic_open(target) as handle:
        handle.write('{"half')
        handle.flush()
        raise RuntimeError("killed mid-write")
    assert target.read_text() == '{"good": true}\n' and [p.name for p in tmp_path.iterdir()] == [target.name]

    out = tmp_path / "out"
    board = summarise(SMALL_SUITE, SPECS, {}, RESULTS, 0)
    write_outputs(board, out)
    good = {path.name: path.read_bytes() for path in out.iterdir()}
    assert set(good) == {"leaderboard.json", "leaderboard.md", "leaderboard.png"}
    changed = summarise(SMALL_SUITE, SPECS[:1], {}, RESULTS, 1)

    def half_then_crash(path: Path, text: str) -> Path:
        with atomic_open(path) as handle:
            handle.write(text[: len(text) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(leaderboard_report, "atomic_write_text", half_then_crash)
    with pytest.raises(OSError, match="No space left"):
        write_outputs(changed, out)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == good  # nothing lost, no temp file
    monkeypatch.undo()

    def failing_fsync(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    for name in ("json", "png"):  # the text files and the chart both go through a temporary file
        if name == "png":
            monkeypatch.setattr(leaderboard_report, "atomic_write_text", lambda path, text: Path(path))
        with pytest.raises(OSError, match="Input/output error"):
            write_outputs(changed, out)
        assert {path.name: path.read_bytes() for path in out.iterdir()} == good
    monkeypatch.undo()
    atomic_write_text(out / "leaderboard.md", "new\n")
    assert (out / "leaderboard.md").read_text() == "new\n" and len(list(out.iterdir())) == 3


SMALL_SUITE = dataclasses.replace(
    SUITES["quick"], name="hand", houses=(0, 1), humans=(HumanModel("goal_seeking"),)
)
SPECS = [parse_assistant_spec(text) for text in ("good=idle", "partial=random", "broken=oracle")]


def _episode(assistant: str, house: int, score: float | None = None) -> dict[str, Any]:
    episode: dict[str, Any] = {"assistant": assistant, "human": "goal_seeking", "house": house, "seed": 0}
    if score is None:
        return {**episode, "status": "failed", "error": "RuntimeError: boom"}
    metrics = {name: 0 for name in SCALAR_METRICS}
    metrics.update({HEADLINE: score, SECOND: 20})
    return {**episode, "status": "ok", "metrics": metrics}


RESULTS = [
    _episode("good", 0, 0.5),
    _episode("good", 1, 0.5),
    _episode("partial", 0, 0.99),  # the best score, but one of its episodes failed
    _episode("partial", 1),
    _episode("broken", 0),
    _episode("broken", 1),
]


def test_failed_assistants_rank_last_and_an_empty_chart_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = summarise(SMALL_SUITE, SPECS, {"nonsense": "malformed assistant spec"}, RESULTS, 0)
    assert [row["assistant"] for row in board["assistants"]] == ["good", "partial", "broken", "nonsense"]
    assert [row["rank"] for row in board["assistants"]] == [1, 2, 3, 4]

    texts: list[str] = []
    original = matplotlib.axes.Axes.text

    def spy(self: Any, x: float, y: float, s: str, *args: Any, **kwargs: Any) -> Any:
        texts.append(s)
        return original(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "text", spy)
    failing = summarise(SMALL_SUITE, SPECS[2:], {}, RESULTS[4:], 0)
    assert failing["assistants"][0]["status"] == "incomplete" and failing["assistants"][0]["episodes"] == 0
    bar_chart(failing, tmp_path / "empty.png")
    assert any(text.startswith("no results") for text in texts)
    image = matplotlib.image.imread(tmp_path / "empty.png")
    assert image.ndim == 3 and image.shape[0] > 100
    texts.clear()
    bar_chart(board, tmp_path / "some.png")
    assert not any(text.startswith("no results") for text in texts) and "99.0" in texts


def test_working_folder_is_appended_to_sys_path_not_put_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    write_module(here, "tqdm", "raise RuntimeError('the tqdm.py of the working folder was imported')\n")
    write_module(here, "json", "raise RuntimeError('the json.py of the working folder was imported')\n")
    write_module(
        here,
        "local_assistant",
        "from mbag_env.evaluation import IdleAssistant\n\ndef make():\n    return IdleAssistant()\n",
    )
    monkeypatch.chdir(here)
    clean = [entry for entry in sys.path if entry not in ("", ".", str(here))]
    monkeypatch.setattr(sys, "path", list(clean))
    monkeypatch.delitem(sys.modules, "tqdm", raising=False)  # main imports it again, from the packages
    arguments = [*TINY, "--houses", "1", "--workers", "1", "--out", str(tmp_path / "out")]
    assert main([*arguments, "--fresh", "mine=local_assistant:make"]) == 0
    assert sys.path[-1] == str(here) and sys.path.count(str(here)) == 1 and sys.path[:-1] == clean
    assert not sys.modules["tqdm"].__file__.startswith(str(here))
    assert rows_by_label(read_board(tmp_path / "out"))["mine"]["episodes"] == 1
    monkeypatch.setattr(sys, "path", list(clean))  # no module:factory spec: nothing is added
    assert main([*arguments, "--fresh", "idle"]) == 0
    assert sys.path == clean


def test_help_says_that_a_factory_spec_runs_its_module(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "imports, and so runs, that module's code" in text and "--fresh" in text
