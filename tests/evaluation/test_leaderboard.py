"""The leaderboard: assistant specs, the --quick run's outputs, failures, determinism, Ray."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

import mbag_env
from mbag_env.evaluation import leaderboard
from mbag_env.evaluation.leaderboard import (
    SUITES,
    AssistantSpecError,
    EpisodeTask,
    main,
    parse_assistant_spec,
    run_task,
)

REPO = Path(__file__).resolve().parents[2]
FACTORIES = "tests.evaluation.assistant_factories"


def run(out: Path, *arguments: str) -> int:
    """``mbag-leaderboard --quick --no-progress --out OUT ARGUMENTS...``."""
    return main(["--quick", "--no-progress", "--out", str(out), *arguments])


def read_board(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "leaderboard.json").read_text())


def episode_key(episode: dict[str, Any]) -> tuple:
    return (episode["assistant"], episode["human"], episode["house"], episode["seed"])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """The README's main command, ``mbag-leaderboard --quick``, with two worker processes."""
    out = tmp_path_factory.mktemp("quick")
    status = run(out, "--workers", "2")
    return status, out


def test_quick_run_writes_json_markdown_and_png(quick_run: tuple[int, Path]) -> None:
    status, out = quick_run
    assert status == 0
    board = read_board(out)
    suite = SUITES["quick"]
    assert board["suite"]["name"] == "quick" and board["suite"]["world_size"] == [6, 6, 6]
    assert board["suite"]["episodes_per_assistant"] == suite.num_episodes == 80
    rows = board["assistants"]
    assert [row["assistant"] for row in rows] == ["oracle", "idle", "random"]  # ranked by the headline
    assert [row["rank"] for row in rows] == [1, 2, 3]
    for row in rows:
        assert row["status"] == "ok" and row["episodes"] == 80 and row["failed"] == 0
        assert set(row["per_human"]) == {human.label for human in suite.humans}
    score = {row["assistant"]: row["metrics"]["score_goal_percentage"]["mean"] for row in rows}
    assert score["oracle"] > score["idle"] > score["random"]
    assert len(board["episodes"]) == 240
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 240
    markdown = (out / "leaderboard.md").read_text()
    for rank, name in enumerate(["oracle", "idle", "random"], start=1):
        assert f"| {rank} | {name} |" in markdown
    image = matplotlib.image.imread(out / "leaderboard.png")
    assert image.ndim == 3 and image.shape[0] > 100


def test_failures_are_reported_and_the_run_goes_on(
    quick_run: tuple[int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = [
        "idle",
        "random",
        "oracle",
        f"{FACTORIES}:out_of_range",
        f"crash={FACTORIES}:crashing",
        f"junk={FACTORIES}:not_a_policy",
        f"{FACTORIES}:idle_with_arguments",
        "missing/model.pt",
        "nonsense",
        f"{FACTORIES}:no_such_factory",
    ]
    status = run(tmp_path, "--houses", "2", "--workers", "1", *specs)
    assert status == 1
    errors = capsys.readouterr().err
    assert "checkpoint 'missing/model.pt' not found" in errors
    assert "malformed assistant spec 'nonsense'" in errors
    assert "has no attribute 'no_such_factory'" in errors
    board = read_board(tmp_path)
    rows = {row["assistant"]: row for row in board["assistants"]}
    assert rows["missing/model.pt"]["status"] == "invalid" and rows["nonsense"]["status"] == "invalid"
    out_of_range = rows[f"{FACTORIES}:out_of_range"]
    assert out_of_range["episodes"] == 0 and out_of_range["failed"] == 8
    assert "returned an invalid action -5 at step 0" in out_of_range["errors"][0]
    assert "RuntimeError: the assistant crashed on purpose" in rows["crash"]["errors"][0]
    assert "returned 42, not a policy" in rows["junk"]["errors"][0]
    assert rows[f"{FACTORIES}:idle_with_arguments"]["episodes"] == 8
    assert rows["idle"]["status"] == "ok" and rows["idle"]["episodes"] == 8
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 7 * 8  # every scheduled episode, failed ones included
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "Failures:" in markdown and "the assistant crashed on purpose" in markdown
    # The same episodes give the same results with one or two worker processes.
    _, quick_out = quick_run
    quick = {episode_key(e): e for e in read_board(quick_out)["episodes"]}
    compared = 0
    for episode in board["episodes"]:
        if episode["assistant"] in ("idle", "random", "oracle"):
            assert episode == quick[episode_key(episode)]
            compared += 1
    assert compared == 24


def test_parse_assistant_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_assistant_spec("oracle").kind == "scripted"
    labelled = parse_assistant_spec("helper=random")
    assert (labelled.label, labelled.kind, labelled.target) == ("helper", "scripted", "random")
    assert parse_assistant_spec(f"{FACTORIES}:idle_with_arguments").kind == "factory"
    for spec, message in [
        ("", "empty assistant spec"),
        ("nonsense", "malformed assistant spec 'nonsense'"),
        ("a b:c", "malformed assistant spec"),
        ("missing.pt", "checkpoint 'missing.pt' not found"),
        ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
        (f"{FACTORIES}:NOT_CALLABLE", "is not callable"),
    ]:
        with pytest.raises(AssistantSpecError, match=message):
            parse_assistant_spec(spec)
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"not really a checkpoint")
    monkeypatch.setattr(leaderboard.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AssistantSpecError, match="needs the repository's baselines package"):
        parse_assistant_spec(str(checkpoint))


def test_a_broken_checkpoint_fails_its_episodes_with_a_message(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("baselines.ppo")
    checkpoint = tmp_path / "broken.pt"
    checkpoint.write_bytes(b"not really a checkpoint")
    spec = parse_assistant_spec(str(checkpoint))
    result = run_task(EpisodeTask(spec, SUITES["quick"], 0, 0, 0, 0))
    assert result["status"] == "failed" and "broken.pt" in result["error"]


class FakeRay(types.ModuleType):
    """Just enough of Ray's API (init, remote, wait, get, cancel) to run tasks in this process."""

    def __init__(self) -> None:
        super().__init__("ray")
        self.addresses: list[str | None] = []

    def init(self, address: str | None = None, **options: Any) -> None:
        self.addresses.append(address)

    def remote(self, **options: Any):
        def decorate(function):
            return types.SimpleNamespace(remote=lambda *args: ("ref", function, args))

        return decorate

    def wait(self, references: list, num_returns: int = 1) -> tuple[list, list]:
        return references[:num_returns], references[num_returns:]

    def get(self, reference: tuple) -> Any:
        _, function, args = reference
        return function(*args)

    def cancel(self, reference: tuple) -> None:
        pass

    def shutdown(self) -> None:
        self.addresses.append("shutdown")


def test_ray_runs_the_same_episodes(
    quick_run: tuple[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    status = run(tmp_path, "--houses", "1", "--ray", "local", "oracle")
    assert status == 0 and fake.addresses == [None, "shutdown"]
    board = read_board(tmp_path)
    assert board["run"]["ray"] == "local"
    quick = {episode_key(e): e for e in read_board(quick_run[1])["episodes"]}
    assert len(board["episodes"]) == 4
    for episode in board["episodes"]:
        assert episode == quick[episode_key(episode)]


def test_ray_missing_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SystemExit, match=r"--ray needs the ray package .*pip install 'mbag_env\[ray\]'"):
        run(tmp_path, "--houses", "1", "--ray", "auto", "idle")


@pytest.mark.slow
def test_real_ray_local_cluster(quick_run: tuple[int, Path], tmp_path: Path) -> None:
    pytest.importorskip("ray")
    status = run(tmp_path, "--houses", "1", "--ray", "local", "idle")
    assert status == 0
    quick = {episode_key(e): e for e in read_board(quick_run[1])["episodes"]}
    for episode in read_board(tmp_path)["episodes"]:
        assert episode == quick[episode_key(episode)]


def test_interrupted_run_keeps_finished_episodes(tmp_path: Path) -> None:
    specs = ["idle", f"stop={FACTORIES}:interrupting"]
    status = run(tmp_path, "--houses", "1", "--workers", "1", *specs)
    assert status == 130
    board = read_board(tmp_path)
    assert board["run"]["complete"] is False
    rows = {row["assistant"]: row for row in board["assistants"]}
    assert rows["idle"]["episodes"] == 4 and rows["stop"]["episodes"] == 0


def test_command_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"--houses must be in \[1, 500\]"):
        main(["--quick", "--houses", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--humans: bad human model"):
        main(["--quick", "--humans", "goal_seeking:speed=3", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--workers must be >= 1"):
        main(["--quick", "--workers", "0", "--out", str(tmp_path)])


def test_console_script_and_script_file() -> None:
    scripts = {entry.name: entry.value for entry in entry_points(group="console_scripts")}
    assert scripts.get("mbag-leaderboard") == "mbag_env.evaluation.leaderboard:main"
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "leaderboard.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--quick" in completed.stdout and "--ray" in completed.stdout
    assert mbag_env.__version__
