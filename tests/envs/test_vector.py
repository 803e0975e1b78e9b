"""The batched vector env equals N single envs step by step, autoreset included."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import mbag_env


@pytest.mark.parametrize("env_id", ["mbag/Build-Small-v0", "mbag/Assist-Small-v0"])
@pytest.mark.parametrize("action_masks", [True, False])
def test_vector_matches_single_envs(env_id: str, action_masks: bool) -> None:
    num_envs = 4
    horizon = 15  # short, so that every world autoresets several times
    vector = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        horizon=horizon,
        action_masks=action_masks,
    )
    assert isinstance(vector.unwrapped, mbag_env.MbagVectorEnv)
    assert vector.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    singles = [gym.make(env_id, horizon=horizon, action_masks=True) for _ in range(num_envs)]
    observations, _ = vector.reset(seed=10)
    single_observations = [env.reset(seed=10 + index)[0] for index, env in enumerate(singles)]
    ended = np.zeros(num_envs, dtype=bool)
    rng = np.random.default_rng(0)
    resets_seen = 0
    for _ in range(50):
        actions = np.array(
            [
                int(rng.choice(np.flatnonzero(obs["action_mask"]))) if rng.random() < 0.8 else 0
                for obs in single_observations
            ],
            dtype=np.int64,
        )
        observations, rewards, terminated, truncated, infos = vector.step(actions)
        for index, env in enumerate(singles):
            if ended[index]:
                expected_observation, _ = env.reset()
                expected = (expected_observation, 0.0, False, False)
                resets_seen += 1
            else:
                expected_observation, reward, term, trunc, _ = env.step(int(actions[index]))
                expected = (expected_observation, reward, term, trunc)
            single_observations[index] = expected_observation
            for key in observations:
                np.testing.assert_array_equal(observations[key][index], expected_observation[key])
            assert rewards[index] == expected[1]
            assert terminated[index] == expected[2]
            assert truncated[index] == expected[3]
        if not action_masks:
            assert "action_mask" not in observations
        ended = terminated | truncated
    assert resets_seen >= num_envs, "the test must exercise autoreset"


def test_vector_spaces_and_infos() -> None:
    vector = gym.make_vec("mbag/Assist-Small-v0", num_envs=3, vectorization_mode="vector_entry_point")
    observations, infos = vector.reset(seed=0)
    assert observations["world"].shape == (3, 3, 6, 6, 6)
    assert vector.observation_space.contains(observations)
    assert vector.single_action_space.n == vector.unwrapped.batch.actions.n  # type: ignore[attr-defined]
    _, _, _, _, infos = vector.step(np.zeros(3, dtype=np.int64))
    assert infos["goal_percentage"].shape == (3,)
    assert infos["_goal_percentage"].all()
    assert (infos["human_action"] != 0).any(), "the scripted human acts inside the vector env"


def test_vector_without_copy_returns_buffers() -> None:
    vector = mbag_env.MbagVectorEnv(2, world_size=(6, 6, 6), num_players=1, copy=False)
    first, _ = vector.reset(seed=0)
    second, _, _, _, _ = vector.step(np.zeros(2, dtype=np.int64))
    assert first["world"] is second["world"]


@pytest.mark.parametrize(
    "actions, message",
    [
        (np.zeros(3, dtype=np.int64), "shape"),
        (np.zeros(2, dtype=np.float32), "integer"),
        (np.array([0, 10**6]), "out of range"),
        (np.array([-1, 0]), "out of range"),
    ],
)
def test_vector_rejects_bad_actions(actions: np.ndarray, message: str) -> None:
    vector = mbag_env.MbagVectorEnv(2, world_size=(6, 6, 6), num_players=1)
    vector.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        vector.step(actions)


def test_vector_needs_reset_first() -> None:
    vector = mbag_env.MbagVectorEnv(2, world_size=(6, 6, 6), num_players=1)
    with pytest.raises(RuntimeError, match="reset"):
        vector.step(np.zeros(2, dtype=np.int64))


def test_vector_rejects_python_human_policy() -> None:
    with pytest.raises(ValueError, match="compiled scripted humans"):
        mbag_env.MbagVectorEnv(2, world_size=(6, 6, 6), agent=1, human_policy=lambda observation: 0)


@pytest.mark.parametrize("num_envs", [3, 64])  # the serial and the threaded observation kernel
def test_vector_masks_equal_masks_written_afresh(num_envs: int) -> None:
    """The vector env brings each world's mask up to date from the step's effects
    (``refresh_action_mask``); on the full-size world, with the compiled human and an assistant
    idle half of the time, every mask equals the one written afresh from the state."""
    vector = gym.make_vec(
        "mbag/Assist-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", horizon=40
    )
    env = vector.unwrapped
    assert isinstance(env, mbag_env.MbagVectorEnv)
    batch = env.batch
    fresh = batch.observation_buffers(env.agent)
    observations, _ = vector.reset(seed=3)
    rng = np.random.default_rng(1)
    for _ in range(100):
        actions = np.array(
            [
                int(rng.choice(np.flatnonzero(mask))) if rng.random() < 0.5 else 0
                for mask in observations["action_mask"]
            ]
        )
        observations, *_ = vector.step(actions)
        batch.observe(env.agent, fresh["world"], fresh["inventory"], fresh["timestep"], fresh["action_mask"])
        np.testing.assert_array_equal(observations["action_mask"], fresh["action_mask"])
        np.testing.assert_array_equal(observations["world"], fresh["world"])
