"""The opt-in zero-copy mode of the single env (``copy_observations=False``)."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import mbag_env  # noqa: F401


@pytest.mark.parametrize("env_id", ["mbag/Build-v0", "mbag/Assist-Small-v0"])
def test_zero_copy_mode_returns_the_same_observations_in_one_reused_dict(env_id: str) -> None:
    """Step for step the zero-copy env's observation equals the copying env's (values), and is the
    same dict of the same arrays every call (reset, step, set_state); rewards, flags and infos are
    unchanged. The copying env hands out fresh arrays every call."""
    fast = gym.make(env_id, copy_observations=False, disable_env_checker=True)
    plain = gym.make(env_id, disable_env_checker=True)
    observation, _ = fast.reset(seed=3)
    expected, _ = plain.reset(seed=3)
    shared = observation
    rng = np.random.default_rng(0)
    for step in range(150):
        assert observation is shared
        for key in expected:
            np.testing.assert_array_equal(observation[key], expected[key])
        action = int(rng.choice(np.flatnonzero(expected["action_mask"])))
        observation, reward, terminated, truncated, info = fast.step(action)
        previous = expected
        expected, reward_2, terminated_2, truncated_2, info_2 = plain.step(action)
        assert not np.shares_memory(previous["world"], expected["world"])
        assert (reward, terminated, truncated, info) == (reward_2, terminated_2, truncated_2, info_2)
        if terminated or truncated:
            observation, _ = fast.reset(seed=step)
            expected, _ = plain.reset(seed=step)
    snapshot = plain.unwrapped.get_state()
    np.testing.assert_array_equal(fast.unwrapped.set_state(snapshot)["world"], expected["world"])
    assert fast.unwrapped.set_state(snapshot) is shared


def test_zero_copy_env_survives_pickling_and_keeps_its_mode() -> None:
    env = gym.make("mbag/Build-Small-v0", copy_observations=False, disable_env_checker=True).unwrapped
    first, _ = env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.copy_observations is False
    observation, *_ = clone.step(0)
    assert observation is clone.step(0)[0] and observation is not first
    np.testing.assert_array_equal(observation["world"], env.step(0)[0]["world"])
