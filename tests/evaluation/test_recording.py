"""Episode recording: save/load, bit-exact replay, detection of tampering, GIF and layer export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import mbag_env
from mbag_env.evaluation import (
    RECORDING_FORMAT_VERSION,
    EpisodeRecording,
    InvalidActionError,
    ReplayMismatchError,
    export_gif,
    export_layer_images,
    make_scripted_assistant,
    replay,
    run_episode,
    verify_replay,
)
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel
from mbag_env.render.export import layer_image

SMALL = (6, 6, 6)


def record(assistant: str = "oracle", human: HumanModel | None = None, horizon: int = 60, house: int = 4):
    goal = load_shipped_goals("test", SMALL)[house]
    human = human or HumanModel("goal_seeking", epsilon=0.2, temperature=1.0)
    env = mbag_env.MbagEnv(world_size=SMALL, goal=goal, agent=1, horizon=horizon, human_policy=human)
    policy = make_scripted_assistant(assistant, env, seed=9)
    return run_episode(env, policy, seed=7, assistant_name=assistant, extra={"note": "test"})


def test_record_save_load_replay_is_exact(tmp_path: Path) -> None:
    recording = record("random")
    assert recording.num_steps == 60 and recording.truncated and not recording.terminated
    path = recording.save(tmp_path / "episode")
    assert path.suffix == ".npz" and path.stat().st_size < 20_000
    loaded = EpisodeRecording.load(path)
    for field in dataclasses.fields(EpisodeRecording):
        value, expected = getattr(loaded, field.name), getattr(recording, field.name)
        if field.name == "initial_state":
            assert value.keys() == expected.keys()
            for name in expected:
                np.testing.assert_array_equal(value[name], expected[name])
        elif isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(value, expected)
            assert value.dtype == expected.dtype
        elif field.name == "config":
            assert dataclasses.replace(value, goal=None) == dataclasses.replace(expected, goal=None)
        else:
            assert value == expected, field.name
    assert loaded.human == {"type": "HumanModel", "kind": "goal_seeking", "epsilon": 0.2, "temperature": 1.0,
                            "act_every": 1}  # fmt: skip
    assert verify_replay(loaded) == 60
    # Re-running the compiled noisy human from the recorded state chooses the same actions.
    assert verify_replay(loaded, rerun_human=True) == 60


def test_completed_episode_and_builder_recordings_replay(tmp_path: Path) -> None:
    recording = record("oracle", HumanModel("layer_builder"), horizon=200)
    assert recording.terminated and recording.edit_distance[-1] == 0
    np.testing.assert_array_equal(recording.final_blocks, recording.goal)
    verify_replay(EpisodeRecording.load(recording.save(tmp_path / "done.npz")), rerun_human=True)
    # The builder seat (agent 0, one player): the recorded policy is the builder itself.
    goal = load_shipped_goals("test", SMALL)[1]
    env = mbag_env.MbagEnv(world_size=SMALL, num_players=1, goal=goal, horizon=40)
    builder = run_episode(env, make_scripted_assistant("random", env, seed=1), seed=3)
    assert builder.human == {"type": "none"}
    verify_replay(EpisodeRecording.load(builder.save(tmp_path / "builder.npz")))


def test_replay_detects_a_changed_recording() -> None:
    recording = record("random")
    changed = dataclasses.replace(recording, actions=recording.actions.copy())
    step = 10
    changed.actions[step, 1] = 0 if recording.actions[step, 1] != 0 else 1
    with pytest.raises(ReplayMismatchError, match=f"at step {step + 1}"):
        verify_replay(changed)
    rewards = recording.rewards.copy()
    rewards[20, 0] += 1e-12
    with pytest.raises(ReplayMismatchError, match="at step 21: the rewards differ"):
        verify_replay(dataclasses.replace(recording, rewards=rewards))
    digests = recording.state_digests.copy()
    digests[0] ^= 1
    with pytest.raises(ReplayMismatchError, match="at step 0"):
        verify_replay(dataclasses.replace(recording, state_digests=digests))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no episode recording"):
        EpisodeRecording.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", goals=np.zeros(3))
    with pytest.raises(ValueError, match="is not an episode recording: it lacks"):
        EpisodeRecording.load(tmp_path / "other.npz")
    recording = record("idle", horizon=5)
    path = recording.save(tmp_path / "old.npz")
    with np.load(path) as data:
        contents = dict(data)
    metadata = json.loads(str(contents["metadata"]))
    metadata["format_version"] = RECORDING_FORMAT_VERSION + 1
    contents["metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **contents)
    with pytest.raises(ValueError, match="format version 2; this mbag_env reads version 1"):
        EpisodeRecording.load(path)


@pytest.mark.parametrize("action", [-1, 10**9, 2.0, True, "3", None])
def test_run_episode_rejects_invalid_actions(action: object) -> None:
    env = mbag_env.MbagEnv(world_size=SMALL, agent=1, horizon=5)
    message = "'bad' returned an invalid action .* at step 0: actions are integers"

    class Returns:
        def act(self, observation: object) -> object:
            return action

    with pytest.raises(InvalidActionError, match=message):
        run_episode(env, Returns(), seed=0, assistant_name="bad")


def test_run_episode_wants_a_policy_object() -> None:
    env = mbag_env.MbagEnv(world_size=SMALL, agent=1, horizon=5)
    with pytest.raises(ValueError, match="needs a policy object, got the name 'oracle'"):
        run_episode(env, "oracle")


def test_replay_yields_every_state() -> None:
    recording = record("idle", horizon=12)
    percentages = [env.batch.goal_percentage(0) for env in replay(recording)]
    np.testing.assert_allclose(percentages, recording.goal_percentage())


def test_export_gif_and_layer_images(tmp_path: Path) -> None:
    imageio = pytest.importorskip("imageio.v2")
    recording = record("oracle", horizon=10)
    path = export_gif(recording, tmp_path / "episode.gif", every=3, cell_pixels=6)
    frames = imageio.mimread(path)
    assert len(frames) == 5  # steps 0, 3, 6, 9 and the last (10)
    assert frames[0].shape[2] in (3, 4)
    with pytest.raises(ValueError, match="every must be >= 1"):
        export_gif(recording, tmp_path / "bad.gif", every=0)
    paths = export_layer_images(recording, tmp_path / "layers", cell_pixels=8)
    assert [p.name for p in paths] == [f"layer_{y:02d}.png" for y in range(SMALL[1])]
    image = imageio.imread(paths[0])
    assert image.shape[:2] == (SMALL[2] * 8, SMALL[0] * 8)
    with pytest.raises(ValueError, match=r"step must be in \[0, 10\]"):
        export_layer_images(recording, tmp_path / "layers", step=11)


def test_layer_image_colours() -> None:
    blocks = np.array([[0, 6], [3, 0]], dtype=np.uint8)  # (x, z)
    goal = np.array([[6, 6], [0, 0]], dtype=np.uint8)
    image = layer_image(blocks, goal, cell_pixels=4)
    assert image.shape == (8, 8, 3)
    np.testing.assert_array_equal(image[5, 1], [180, 144, 90])  # planks, correct, at x=0 z=1
    np.testing.assert_array_equal(image[0, 4], [220, 30, 30])  # a wrong block's red outline (x=1, z=0)
    # A missing goal block is drawn as a pale version of the goal block (x=0, z=0).
    np.testing.assert_array_equal(image[1, 1], (np.array([180, 144, 90]) + 2 * 250) // 3)
