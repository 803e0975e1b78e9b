"""The leaderboard: assistant specs, the --quick run's outputs, failures, determinism, Ray."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest

import mbag_env
from mbag_env.evaluation import assistant_specs
from mbag_env.evaluation.assistant_specs import AssistantSpecError, parse_assistant_spec
from mbag_env.evaluation.episode_tasks import EpisodeTask, run_task
from mbag_env.evaluation.leaderboard import SUITES, main
from mbag_env.evaluation.leaderboard_report import markdown_table
from mbag_env.evaluation.leaderboard_summary import HEADLINE, SECOND, paired_differences, summarise
from mbag_env.evaluation.metrics import SCALAR_METRICS
from mbag_env.evaluation.recording import EpisodeRecording
from mbag_env.goals import load_shipped_goals
from mbag_env.humans.scripted import HumanModel

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


def test_quick_run_reports_paired_differences_against_idle(quick_run: tuple[int, Path]) -> None:
    _, out = quick_run
    board = read_board(out)
    paired = board["paired"]
    assert paired["reference"] == "idle" and paired["metrics"] == [HEADLINE, SECOND]
    assert list(paired["assistants"]) == ["oracle", "random"]  # rank order, reference left out
    rows = {row["assistant"]: row for row in board["assistants"]}
    for label, values in paired["assistants"].items():
        for metric in (HEADLINE, SECOND):
            difference = values["overall"][metric]
            assert difference["n"] == 80
            # Every episode paired: the mean difference is the difference of the means.
            expected = rows[label]["metrics"][metric]["mean"] - rows["idle"]["metrics"][metric]["mean"]
            assert difference["mean"] == pytest.approx(expected)
        assert set(values["per_human"]) == {human.label for human in SUITES["quick"].humans}
        assert all(v[HEADLINE]["n"] == 20 for v in values["per_human"].values())
    assert paired["assistants"]["oracle"]["overall"][HEADLINE]["low"] > 0
    assert paired["assistants"]["random"]["overall"][HEADLINE]["high"] < 0
    markdown = (out / "leaderboard.md").read_text()
    assert "Paired differences vs `idle` (assistant − idle, 95 % CI over 80 paired episodes)" in markdown
    assert markdown.index("per scripted human:") < markdown.index("Paired differences vs `idle`")
    assert "| oracle | +" in markdown and "| random | -" in markdown
    assert "Δ human actions vs `idle` per scripted human:" in markdown


GOLDEN_QUICK = REPO / "tests" / "fixtures" / "golden_quick_leaderboard.json"


def test_quick_run_matches_the_table_pinned_before_the_refactor(quick_run: tuple[int, Path]) -> None:
    """Every episode of the ``--quick`` run (idle, random, oracle: 240 episodes) has the metrics the
    tree before the issue-20 refactor gave (commit 84934ea, ``tests/fixtures/README.md``)."""
    _, out = quick_run
    golden = json.loads(GOLDEN_QUICK.read_text())["episodes"]
    expected = {episode_key(episode): episode["metrics"] for episode in golden}
    got = {episode_key(episode): episode["metrics"] for episode in read_board(out)["episodes"]}
    assert len(expected) == 240 and set(got) == set(expected)
    changed = [key for key in sorted(expected) if got[key] != expected[key]]
    assert not changed, f"{len(changed)} episodes changed, first {changed[0]}: {got[changed[0]]}"


def _episode(assistant: str, human: str, house: int, score: float | None, actions: int | None) -> dict:
    """A hand-made episode result (``score``/``actions`` both None: a failed episode)."""
    episode: dict[str, Any] = {"assistant": assistant, "human": human, "house": house, "seed": 0}
    if score is None and actions is None:
        return {**episode, "status": "failed", "error": "RuntimeError: boom"}
    metrics = {name: 0 for name in SCALAR_METRICS}
    metrics.update({HEADLINE: score, SECOND: actions})
    return {**episode, "status": "ok", "metrics": metrics}


HAND_MADE = [
    _episode("idle", "h1", 0, 0.5, 20),
    _episode("idle", "h1", 1, 0.6, 18),
    _episode("idle", "h2", 0, 0.4, 30),
    _episode("idle", "h2", 1, None, None),  # failed: drops every pair of (h2, house 1)
    _episode("helper", "h1", 0, 0.7, 15),  # +0.2, -5
    _episode("helper", "h1", 1, 0.9, 12),  # +0.3, -6
    _episode("helper", "h2", 0, 0.5, 26),  # +0.1, -4
    _episode("helper", "h2", 1, 0.8, 20),  # the reference failed here: not paired
    _episode("other", "h1", 0, None, None),  # failed: not paired
    _episode("other", "h1", 1, 0.6, 18),  # +0.0, +0
    _episode("other", "h2", 0, None, 29),  # no score: paired for human actions only (-1)
]


def test_paired_differences_by_hand() -> None:
    paired = paired_differences(HAND_MADE, "idle", ["h1", "h2"])
    assert paired["reference"] == "idle" and paired["metrics"] == [HEADLINE, SECOND]
    assert list(paired["assistants"]) == ["helper", "other"]
    helper = paired["assistants"]["helper"]
    # Differences +0.2, +0.3, +0.1: mean 0.2, sample sd 0.1, half-width t(2) 4.303 * 0.1 / sqrt(3).
    half = 4.303 * 0.1 / 3**0.5
    assert helper["overall"][HEADLINE] == pytest.approx(
        {"mean": 0.2, "low": 0.2 - half, "high": 0.2 + half, "n": 3}
    )
    # -5, -6, -4: mean -5, sd 1.
    half = 4.303 / 3**0.5
    assert helper["overall"][SECOND] == pytest.approx(
        {"mean": -5.0, "low": -5 - half, "high": -5 + half, "n": 3}
    )
    # Per human: h1 pairs +0.2, +0.3 (sd 0.1 / sqrt(2), t(1) = 12.706) and -5, -6; h2 only house 0.
    half = 12.706 * 0.05
    assert helper["per_human"]["h1"][HEADLINE] == pytest.approx(
        {"mean": 0.25, "low": 0.25 - half, "high": 0.25 + half, "n": 2}
    )
    assert helper["per_human"]["h1"][SECOND] == pytest.approx(
        {"mean": -5.5, "low": -5.5 - 6.353, "high": -5.5 + 6.353, "n": 2}
    )
    assert helper["per_human"]["h2"][HEADLINE] == pytest.approx(
        {"mean": 0.1, "low": 0.1, "high": 0.1, "n": 1}
    )
    assert helper["per_human"]["h2"][SECOND] == {"mean": -4.0, "low": -4.0, "high": -4.0, "n": 1}
    other = paired["assistants"]["other"]
    assert other["overall"][HEADLINE] == pytest.approx({"mean": 0.0, "low": 0.0, "high": 0.0, "n": 1})
    assert other["overall"][SECOND]["mean"] == -0.5 and other["overall"][SECOND]["n"] == 2
    assert other["per_human"]["h2"][HEADLINE] == {"mean": None, "low": None, "high": None, "n": 0}
    assert other["per_human"]["h2"][SECOND] == {"mean": -1.0, "low": -1.0, "high": -1.0, "n": 1}
    # A board works as well as its episodes, and the order of the assistants can be chosen.
    again = paired_differences({"episodes": HAND_MADE}, "idle", ["h1", "h2"], assistants=["other", "idle"])
    assert list(again["assistants"]) == ["other"] and again["assistants"]["other"] == other


def test_summarise_and_markdown_with_paired_differences() -> None:
    humans = (HumanModel("goal_seeking"), HumanModel("layer_builder"))
    suite = dataclasses.replace(SUITES["quick"], name="hand", houses=(0, 1), humans=humans)
    renamed = {"h1": "goal_seeking", "h2": "layer_builder"}
    results = [{**episode, "human": renamed[episode["human"]]} for episode in HAND_MADE]
    specs = [parse_assistant_spec(text) for text in ("helper=oracle", "idle", "other=random")]
    board = summarise(suite, specs, {}, results, 0)
    assert board["paired"]["reference"] == "idle"
    assert board["paired"]["assistants"]["helper"]["overall"][HEADLINE]["n"] == 3
    markdown = markdown_table(board)
    assert "Paired differences vs `idle` (assistant − idle, 95 % CI over 1–3 paired episodes" in markdown
    assert "| helper | +20.0 ± 24.8 | -5.0 ± 2.5 | +25.0 ± 63.5 | +10.0 ± 0.0 | 3 |" in markdown
    assert "| helper | -5.5 ± 6.4 | -4.0 ± 0.0 |" in markdown
    assert "| other | +0.0 ± 0.0 | -0.5 ± 6.4 | +0.0 ± 0.0 | — | 1 |" in markdown
    # Another reference, or none.
    other = summarise(suite, specs, {}, results, 0, reference="other")
    assert list(other["paired"]["assistants"]) == ["helper", "idle"]
    for reference in (None, "nobody"):
        board = summarise(suite, specs, {}, results, 0, reference=reference)
        assert board["paired"] is None and "Paired differences" not in markdown_table(board)


def test_reference_that_is_not_evaluated_skips_the_paired_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(tmp_path, "--houses", "1", "--workers", "1", "--reference", "nobody", "idle", "oracle")
    assert status == 0
    assert "--reference 'nobody' is not among the evaluated assistants" in capsys.readouterr().err
    assert read_board(tmp_path)["paired"] is None
    assert "Paired differences" not in (tmp_path / "leaderboard.md").read_text()


def test_reference_picks_another_assistant(tmp_path: Path) -> None:
    status = run(tmp_path, "--houses", "1", "--workers", "1", "--reference", "oracle", "idle", "oracle")
    assert status == 0
    paired = read_board(tmp_path)["paired"]
    assert paired["reference"] == "oracle" and list(paired["assistants"]) == ["idle"]
    assert paired["assistants"]["idle"]["overall"][HEADLINE]["n"] == 4
    assert "Paired differences vs `oracle` (assistant − oracle" in (tmp_path / "leaderboard.md").read_text()


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
    monkeypatch.setattr(assistant_specs, "registered_policy_loaders", lambda: {})
    with pytest.raises(AssistantSpecError, match="no checkpoint loader is registered for .pt files"):
        parse_assistant_spec(str(checkpoint))


def test_checkpoint_loaders_come_from_the_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mbag_env names no loader: the baselines register theirs for .pt in pyproject.toml, and any
    package can register one for its own suffix."""
    registered = assistant_specs.registered_policy_loaders()
    assert [entry.value for entry in registered[".pt"]] == ["baselines.common.policy:load_policy"]
    loader = EntryPoint("idle", f"{FACTORIES}:load_idle_checkpoint", assistant_specs.POLICY_LOADERS)
    monkeypatch.setattr(
        assistant_specs, "registered_policy_loaders", lambda: {**registered, ".idle": (loader,)}
    )
    checkpoint = tmp_path / "model.idle"
    checkpoint.write_bytes(b"")
    spec = parse_assistant_spec(f"lazy={checkpoint}")
    assert (spec.label, spec.kind) == ("lazy", "checkpoint")
    result = run_task(EpisodeTask(spec, SUITES["quick"], 0, 0, 0, 0))
    assert result["status"] == "ok", result
    clash = EntryPoint("pt", "somewhere.else:load", assistant_specs.POLICY_LOADERS)
    monkeypatch.setattr(
        assistant_specs, "registered_policy_loaders", lambda: {".pt": (*registered[".pt"], clash)}
    )
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(AssistantSpecError, match="several checkpoint loaders are registered for .pt"):
        parse_assistant_spec(str(tmp_path / "model.pt"))


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


class UnreachableRay(FakeRay):
    """Ray without a running cluster: ``init`` fails as ``ray.init(address="auto")`` does."""

    def init(self, address: str | None = None, **options: Any) -> None:
        self.addresses.append(address)
        raise ConnectionError(
            "Could not find any running Ray instance. Please specify the one to connect to by setting "
            "`--address` flag or `RAY_ADDRESS` environment variable.\n(a second line of details)"
        )


def test_ray_without_a_cluster_is_one_line_and_exit_2_before_any_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = UnreachableRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    out = tmp_path / "new"
    assert run(out, "--houses", "1", "--ray", "auto", "idle") == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "mbag-leaderboard: error: cannot connect to a Ray cluster at 'auto': ConnectionError: Could not "
        "find any running Ray instance. Please specify the one to connect to by setting `--address` flag "
        "or `RAY_ADDRESS` environment variable.; start one with `ray start --head` or use --ray local\n"
    )
    assert captured.out == "" and not out.exists() and fake.addresses == ["auto"]
    # an earlier run's folder is left exactly as it was (no emptied episodes.jsonl, no lock file)
    old = tmp_path / "old"
    old.mkdir()
    (old / "episodes.jsonl").write_text('{"assistant": "idle"}\n')
    assert run(old, "--houses", "1", "--ray", "10.0.0.1:6379", "--fresh", "idle") == 2
    assert "cluster at '10.0.0.1:6379'" in capsys.readouterr().err
    assert sorted(p.name for p in old.iterdir()) == ["episodes.jsonl"]
    assert (old / "episodes.jsonl").read_text() == '{"assistant": "idle"}\n'


def test_a_broken_assistant_gets_one_line_with_its_count_and_first_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = ["idle", f"crash={FACTORIES}:crashing", f"{FACTORIES}:out_of_range"]
    assert run(tmp_path, "--houses", "2", "--workers", "1", *specs) == 1
    captured = capsys.readouterr()
    failed = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    details = f"(every error is in {tmp_path / 'leaderboard.json'})"
    assert len(failed) == 2 and all(line.endswith(details) for line in failed)
    assert failed[0].startswith(
        "failed: crash: 8 of 8 episodes; first error: RuntimeError: the assistant crashed"
    )
    assert failed[1].startswith(f"failed: {FACTORIES}:out_of_range: 8 of 8 episodes; first error: ")
    assert "returned an invalid action -5 at step 0" in failed[1]
    assert not any(line.startswith("failed") for line in captured.out.splitlines())
    rows = {row["assistant"]: row for row in read_board(tmp_path)["assistants"]}
    assert rows["crash"]["failed"] == 8 and len(rows["crash"]["errors"]) >= 1  # the details stay in the JSON


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
    with pytest.raises(SystemExit, match="with 0 houses must fit the 500 shipped test houses"):
        main(["--quick", "--houses", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"3000 shipped train houses .*first house in \[0, 2980\]"):
        main(["--quick", "--split", "train", "--first-house", "2990", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--humans: bad human model"):
        main(["--quick", "--humans", "goal_seeking:speed=3", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--workers must be >= 1"):
        main(["--quick", "--workers", "0", "--out", str(tmp_path)])


def test_training_houses_for_choosing_settings(tmp_path: Path) -> None:
    status = run(
        tmp_path,
        "--split",
        "train",
        "--first-house",
        "1000",
        "--houses",
        "2",
        "--humans",
        "goal_seeking",
        "--workers",
        "1",
        "--record",
        "idle",
    )
    assert status == 0
    board = read_board(tmp_path)
    assert board["suite"]["dataset"] == "dataset:train" and board["suite"]["houses"] == [1000, 1001]
    assert board["suite"]["name"] == "quick-train"
    assert "2 shipped train houses" in (tmp_path / "leaderboard.md").read_text()
    training = load_shipped_goals("train", (6, 6, 6))
    recordings = sorted((tmp_path / "recordings").glob("*.npz"))
    assert len(recordings) == 2
    goals = [EpisodeRecording.load(path).goal for path in recordings]
    for goal in goals:  # each episode's goal is one of the two training houses, and both are used
        assert any(np.array_equal(goal, training[house]) for house in (1000, 1001))
    assert not np.array_equal(goals[0], goals[1])


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
