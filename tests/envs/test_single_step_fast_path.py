"""The single env's bound step path gives what the general batch path gives.

``MbagEnv.step`` binds its buffers and state views once (issue 21). Here every step's observation is
compared with a fresh one written by ``WorldBatch.first_observation``, its info with the info dict
spelled out from the state arrays, its flags and reward with the state, and returned observations
must stay as they were when later steps run (the caller may keep them). Pickled and deep-copied
envs must step like the original and apart from it.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest

from mbag_env.core.state import (
    ENV_EDIT_DISTANCE,
    ENV_INITIAL_EDIT_DISTANCE,
    ENV_TERMINATED,
    ENV_TIMESTEP,
    ENV_TRUNCATED,
    PLAYER_CORRECT_BREAKS,
    PLAYER_CORRECT_PLACES,
    PLAYER_INCORRECT_BREAKS,
    PLAYER_INCORRECT_PLACES,
    PLAYER_LAST_ACTION,
    PLAYER_LAST_DELTA,
    PLAYER_LAST_VALID,
)
from mbag_env.envs.single import MbagEnv

SIZE_AND_HORIZON: dict[str, Any] = {"world_size": (6, 5, 6), "horizon": 60}
"""What every configuration shares; :data:`CONFIGS` holds the rest, by name."""
CONFIGS: dict[str, dict[str, Any]] = {
    "builder": {"num_players": 1, "agent": 0},
    "assistant, compiled human": {"num_players": 2, "agent": 1},
    "assistant, Python human": {
        "num_players": 2,
        "agent": 1,
        "human_policy": lambda observation: 0 if observation["timestep"][0] % 2 else 3,
    },
    "three players, no masks": {"num_players": 3, "agent": 2, "action_masks": False},
    "human agent of two, finite blocks": {
        "num_players": 2,
        "agent": 0,
        "infinite_blocks": False,
        "starting_inventory": 3,
    },
}


def expected_info(env: MbagEnv) -> dict[str, Any]:
    """The SPEC §5 info dict read from the state arrays."""
    env_row = env.batch.state.env_ints[0]
    row = env.batch.state.player_ints[0, env.agent]
    initial = int(env_row[ENV_INITIAL_EDIT_DISTANCE])
    distance = int(env_row[ENV_EDIT_DISTANCE])
    return {
        "goal_percentage": 1.0 if initial == 0 else 1.0 - distance / initial,
        "edit_distance": distance,
        "timestep": int(env_row[ENV_TIMESTEP]),
        "action": int(row[PLAYER_LAST_ACTION]),
        "action_valid": bool(row[PLAYER_LAST_VALID]),
        "action_correct": bool(row[PLAYER_LAST_DELTA] > 0),
        "correct_places": int(row[PLAYER_CORRECT_PLACES]),
        "incorrect_places": int(row[PLAYER_INCORRECT_PLACES]),
        "correct_breaks": int(row[PLAYER_CORRECT_BREAKS]),
        "incorrect_breaks": int(row[PLAYER_INCORRECT_BREAKS]),
        "human_action": int(env.batch.state.player_ints[0, 0, PLAYER_LAST_ACTION]),
    }


def assert_same_types(left: dict[str, Any], right: dict[str, Any]) -> None:
    assert list(left) == list(right)
    for key in left:
        assert type(left[key]) is type(right[key]), key
        assert left[key] == right[key], key


@pytest.mark.parametrize("name", CONFIGS)
def test_step_matches_the_batch_path(name: str) -> None:
    env = MbagEnv(**SIZE_AND_HORIZON, **CONFIGS[name])
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=1)
    kept: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = []
    for _ in range(150):
        mask = env.action_masks()
        action = int(rng.choice(np.flatnonzero(mask))) if rng.random() < 0.8 else int(rng.integers(mask.size))
        observation, reward, terminated, truncated, info = env.step(action)
        fresh = env.batch.first_observation(
            env.agent, env.batch.observation_buffers(env.agent), env.config.action_masks
        )
        assert list(observation) == list(fresh)
        for key in fresh:
            np.testing.assert_array_equal(observation[key], fresh[key])
            assert observation[key].dtype == fresh[key].dtype
            assert observation[key].shape == fresh[key].shape
        assert env.observation_space.contains(observation)
        assert_same_types(info, expected_info(env))
        assert type(reward) is float and reward == float(env.batch.rewards[0, env.agent])
        assert terminated is bool(env.batch.state.env_ints[0, ENV_TERMINATED])
        assert truncated is bool(env.batch.state.env_ints[0, ENV_TRUNCATED])
        kept.append((observation, {key: value.copy() for key, value in observation.items()}))
        if terminated or truncated:
            observation, _ = env.reset()
    for returned, snapshot in kept:  # later steps never wrote into an observation handed out
        for key in snapshot:
            np.testing.assert_array_equal(returned[key], snapshot[key])


@pytest.mark.parametrize("clone", [pickle.loads, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_copies_step_like_the_original_and_apart_from_it(clone: Any) -> None:
    env = MbagEnv(**SIZE_AND_HORIZON, num_players=2, agent=1)
    env.reset(seed=2)
    for action in (0, 3, 5):
        env.step(action)
    twin = clone(pickle.dumps(env)) if clone is pickle.loads else clone(env)
    rng = np.random.default_rng(3)
    for _ in range(30):
        action = int(rng.integers(env.action_space.n))
        left, right = env.step(action), twin.step(action)
        for key in left[0]:
            np.testing.assert_array_equal(left[0][key], right[0][key])
        assert left[1:] == right[1:]
        if left[2] or left[3]:
            break
    twin.reset(seed=9)
    assert twin.batch.state.env_ints[0, ENV_TIMESTEP] == 0
    assert env.batch.state.env_ints[0, ENV_TIMESTEP] > 0
