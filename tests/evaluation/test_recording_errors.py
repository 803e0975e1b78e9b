"""Damaged and crafted recordings give one clean :class:`RecordingError`, never a raw traceback or a crash.

A real short recording is saved, then truncated, byte-flipped, replaced by garbage, stripped of an
array, or given out-of-range values (a block id of 200 or a player at x = 10**9 in its ``initial_*``
arrays, actions outside the action space). ``EpisodeRecording.load`` must raise ``RecordingError``
naming the file, and ``mbag-replay`` must exit with status 2 and a one-line message. The crafted
initial states that used to crash the replay run ``mbag-replay`` in a subprocess.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mbag_env
from mbag_env.apps.replay import main
from mbag_env.core.state import ENV_TIMESTEP, PLAYER_X
from mbag_env.core.validation import StateError
from mbag_env.evaluation import EpisodeRecording, ReplayMismatchError, run_episode, verify_replay
from mbag_env.evaluation.recording import RecordingError, replay
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel

SMALL = (6, 6, 6)
TRUNCATION_EXAMPLES = 40
BYTE_FLIP_EXAMPLES = 150
FUZZ_SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _record() -> EpisodeRecording:
    from mbag_env.evaluation import make_scripted_assistant

    goal = load_shipped_goals("test", SMALL)[1]
    env = mbag_env.MbagEnv(world_size=SMALL, goal=goal, agent=1, horizon=12, human_policy=HumanModel())
    return run_episode(env, make_scripted_assistant("random", env, seed=1), seed=3, assistant_name="random")


RECORDING = _record()


@cache
def good_bytes() -> bytes:
    """The recording's ``.npz`` file, as :meth:`EpisodeRecording.save` writes it."""
    with tempfile.TemporaryDirectory() as folder:
        path = RECORDING.save(Path(folder) / "good.npz")
        assert verify_replay(EpisodeRecording.load(path)) == RECORDING.num_steps  # the original is fine
        return path.read_bytes()


@pytest.fixture(scope="module")
def good() -> bytes:
    return good_bytes()


def arrays_of(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def write_arrays(path: Path, arrays: dict[str, Any]) -> Path:
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


def load_error(path: Path) -> RecordingError:
    with pytest.raises(RecordingError) as raised:
        EpisodeRecording.load(path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message
    return raised.value


# ------------------------------------------------------------------------------ damaged files
def test_truncated_files(good: bytes, tmp_path: Path) -> None:
    for length in (0, 1, 10, 100, len(good) // 2, len(good) - 22, len(good) - 1):
        path = tmp_path / f"cut{length}.npz"
        path.write_bytes(good[:length])
        assert "not a readable episode recording" in str(load_error(path))


@settings(FUZZ_SETTINGS, max_examples=TRUNCATION_EXAMPLES)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncation_fuzz(fraction: float, tmp_path_factory: pytest.TempPathFactory) -> None:
    data = good_bytes()
    path = tmp_path_factory.mktemp("cut") / "cut.npz"
    path.write_bytes(data[: int(fraction * len(data))])
    load_error(path)


@settings(FUZZ_SETTINGS, max_examples=BYTE_FLIP_EXAMPLES)
@given(
    flips=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=4
    )
)
def test_byte_flip_fuzz(flips: list[tuple[float, int]], tmp_path_factory: pytest.TempPathFactory) -> None:
    """A flipped byte is caught (zip CRCs cover the arrays) or harmless (a zip field nobody reads)."""
    data = bytearray(good_bytes())
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    path = tmp_path_factory.mktemp("flipped") / "flipped.npz"
    path.write_bytes(bytes(data))
    try:
        recording = EpisodeRecording.load(path)
    except RecordingError as error:
        assert str(path) in str(error) and "\n" not in str(error)
        return
    assert verify_replay(recording) == RECORDING.num_steps  # loaded: then it is the same episode


def test_garbage_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    files = {
        "random.npz": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "text.npz": b"this is not a recording\n",
        "zip-magic.npz": b"PK\x03\x04" + bytes(200),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        load_error(tmp_path / name)
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    assert "single array" in str(load_error(tmp_path / "single.npz"))
    write_arrays(tmp_path / "other.npz", {"weights": np.ones(4)})
    assert "it lacks action_delta, action_valid, actions" in str(load_error(tmp_path / "other.npz"))


# ---------------------------------------------------------------------------- crafted contents
def _edit(arrays: dict[str, np.ndarray], name: str, index: Any, value: Any) -> None:
    arrays[name] = arrays[name].copy()
    arrays[name][index] = value


def _metadata(arrays: dict[str, np.ndarray], **changes: Any) -> None:
    metadata = json.loads(str(arrays["metadata"]))
    metadata.update(changes)
    arrays["metadata"] = np.array(json.dumps(metadata))


CRAFTED: dict[str, tuple[Callable[[dict[str, np.ndarray]], Any], str]] = {
    "drop actions": (lambda a: a.pop("actions"), "it lacks actions"),
    "drop initial blocks": (lambda a: a.pop("initial_blocks"), "it lacks initial_blocks"),
    "block id 200": (
        lambda a: _edit(a, "initial_blocks", (2, 3, 2), 200),
        "initial_blocks is invalid: state field 'blocks' at index (2, 3, 2) holds 200",
    ),
    "player x 10**9": (
        lambda a: _edit(a, "initial_player_ints", (0, PLAYER_X), 10**9),
        "state field 'player_ints' at index (0, 0) (player 0, PLAYER_X) holds 1000000000",
    ),
    "huge timestep": (
        lambda a: _edit(a, "initial_env_ints", ENV_TIMESTEP, 10**15),
        "(ENV_TIMESTEP) holds 1000000000000000",
    ),
    "goal id 250": (lambda a: _edit(a, "goal", (1, 2, 1), 250), "goal holds block id 250"),
    "action past the space": (
        lambda a: _edit(a, "actions", (3, 1), 10**6),
        "its 'actions' at index (3, 1) holds 1000000",
    ),
    "negative action": (lambda a: _edit(a, "actions", (0, 0), -1), "its 'actions' at index (0, 0) holds -1"),
    "drop of 5": (lambda a: _edit(a, "action_delta", (2, 0), 5), "'action_delta' at index (2, 0) holds 5"),
    "float actions": (lambda a: a.update(actions=a["actions"].astype(np.float64)), "dtype float64"),
    "wrong number of steps": (
        lambda a: a.update(edit_distance=a["edit_distance"][:-1]),
        "its 'edit_distance' has shape (12,)",
    ),
    "final block 99": (
        lambda a: _edit(a, "final_blocks", (0, 1, 0), 99),
        "'final_blocks' at index (0, 1, 0)",
    ),
    "metadata not JSON": (lambda a: a.update(metadata=np.array("{oops")), "metadata is not valid JSON"),
    "metadata not a string": (lambda a: a.update(metadata=np.zeros(2)), "not a JSON string"),
    "agent 7": (lambda a: _metadata(a, agent=7), "its agent 7 is not a player index"),
    "agent a string": (lambda a: _metadata(a, agent="1"), "its metadata 'agent' is '1', expected int"),
    "negative seed": (lambda a: _metadata(a, seed=-3), "not a seed"),
    "format version": (
        lambda a: _metadata(a, format_version=2),
        "format version 2; this mbag_env reads version 1",
    ),
    "bad config": (lambda a: _metadata(a, config={"world_size": 6}), "its configuration or goal is invalid"),
    "bad human": (
        lambda a: _metadata(a, human={"type": "HumanModel", "speed": 3}),
        "is not a valid HumanModel",
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_recordings(case: str, good: bytes, tmp_path: Path) -> None:
    change, expected = CRAFTED[case]
    arrays = arrays_of(good)
    change(arrays)
    path = write_arrays(tmp_path / "crafted.npz", arrays)
    message = str(load_error(path))
    assert expected in message, message


def test_replay_of_a_crafted_recording_in_memory_is_a_clean_error() -> None:
    """A recording built in memory (not loaded) is checked by ``set_state`` when replayed."""
    initial = {name: value.copy() for name, value in RECORDING.initial_state.items()}
    initial["player_ints"][1, PLAYER_X] = 10**9
    with pytest.raises(StateError, match="PLAYER_X"):
        next(replay(dataclasses.replace(RECORDING, initial_state=initial)))
    initial = {name: value.copy() for name, value in RECORDING.initial_state.items()}
    initial["env_ints"][ENV_TIMESTEP] = 1
    with pytest.raises(ReplayMismatchError, match="step 0"):  # valid but different: a mismatch, as before
        verify_replay(dataclasses.replace(RECORDING, initial_state=initial))


# ------------------------------------------------------------------------------- mbag-replay
def test_mbag_replay_exits_2_with_one_line(
    good: bytes, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good[: len(good) // 3])
    arrays = arrays_of(good)
    arrays.pop("rewards")
    missing = write_arrays(tmp_path / "missing.npz", arrays)
    for path in (truncated, missing):
        assert main([str(path), "--out", str(tmp_path / "x.gif")]) == 2
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"mbag-replay: error: {path}"), captured.err
        assert not (tmp_path / "x.gif").exists()


def test_mbag_replay_of_crafted_initial_states_in_a_subprocess(good: bytes, tmp_path: Path) -> None:
    """Before the checks, a replay restored these through ``set_state`` straight into the kernels."""
    paths = []
    for name, (field, index, value) in {
        "position": ("initial_player_ints", (0, PLAYER_X), 10**9),
        "block": ("initial_blocks", (2, 2, 2), 200),
    }.items():
        arrays = arrays_of(good)
        _edit(arrays, field, index, value)
        paths.append(write_arrays(tmp_path / f"{name}.npz", arrays))
    for path in paths:
        result = subprocess.run(
            [sys.executable, "-m", "mbag_env.apps.replay", str(path), "--out", str(tmp_path / "x.gif")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 2, f"exit {result.returncode} (negative: a signal)\n{result.stderr}"
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"mbag-replay: error: {path}: its initial_"), (
            result.stderr
        )
        assert "Traceback" not in result.stderr and result.stdout == ""
