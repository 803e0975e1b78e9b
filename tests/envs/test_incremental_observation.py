"""The single env's fused step keeps its observation up to date incrementally: the world channels
are mirrored cell by cell by the step, and the action mask is kept as it is when no action of the
step took effect (``mbag_env.envs.step_kernels.step_and_observe``). Here random sequences of
valid, invalid and NOOP actions, ``set_state`` to earlier snapshots, ``action_masks()`` calls and
resets must give, at every step, exactly the observation written afresh from the state.

The observation's own mask chooses the valid actions (``action_masks()`` would rewrite the
buffers and hide a stale mask), so a wrong incremental update shows in the very step it happens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mbag_env.core.actions import NOOP
from mbag_env.envs.single import MbagEnv

SIZE_AND_HORIZON: dict[str, Any] = {"world_size": (5, 5, 5), "horizon": 80}
"""What every configuration shares; :data:`CONFIGS` holds the rest, by name."""
CONFIGS: dict[str, dict[str, Any]] = {
    "builder": {"num_players": 1, "agent": 0},
    "assistant, compiled human": {"num_players": 2, "agent": 1},
    "human agent of two, finite blocks": {
        "num_players": 2,
        "agent": 0,
        "infinite_blocks": False,
        "starting_inventory": 2,
    },
    "assistant, finite blocks (gives)": {
        "num_players": 2,
        "agent": 1,
        "infinite_blocks": False,
        "starting_inventory": 3,
    },
    "teleportation, three players": {"num_players": 3, "agent": 2, "teleportation": True},
    "no masks": {"num_players": 2, "agent": 1, "action_masks": False},
}

_ENVS: dict[str, MbagEnv] = {}

# (kind, value): 0-3 a valid action of the mask (most steps), 4 NOOP, 5 any action (mostly
# invalid), 6 set_state to an earlier snapshot, 7 action_masks(), 8 reset.
STEPS = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2**31 - 1)), min_size=1, max_size=60)


def env_for(name: str) -> MbagEnv:
    if name not in _ENVS:
        _ENVS[name] = MbagEnv(**SIZE_AND_HORIZON, **CONFIGS[name])
    return _ENVS[name]


def assert_fresh(env: MbagEnv, observation: dict[str, np.ndarray]) -> None:
    fresh = env.batch.first_observation(
        env.agent, env.batch.observation_buffers(env.agent), env.config.action_masks
    )
    assert list(observation) == list(fresh)
    for key in fresh:
        np.testing.assert_array_equal(observation[key], fresh[key], err_msg=key)


@pytest.mark.parametrize("name", CONFIGS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), steps=STEPS)
def test_incremental_observation_equals_a_fresh_one(
    name: str, seed: int, steps: list[tuple[int, int]]
) -> None:
    env = env_for(name)
    observation, _ = env.reset(seed=seed)
    snapshots = [env.get_state()]
    num_actions = int(env.action_space.n)
    for kind, value in steps:
        if kind == 6:
            observation = env.set_state(snapshots[value % len(snapshots)])
            if env.get_state()["needs_reset"]:
                observation, _ = env.reset(seed=value)
            assert_fresh(env, observation)
            continue
        if kind == 7:
            env.action_masks()
            continue
        if kind == 8:
            observation, _ = env.reset(seed=value)
            assert_fresh(env, observation)
            continue
        if kind <= 3 and "action_mask" in observation:
            valid = np.flatnonzero(observation["action_mask"])
            action = int(valid[value % valid.size])
        elif kind == 4:
            action = NOOP
        else:
            action = value % num_actions
        observation, _, terminated, truncated, _ = env.step(action)
        assert_fresh(env, observation)
        snapshots.append(env.get_state())
        if terminated or truncated:
            observation, _ = env.reset(seed=value)
            assert_fresh(env, observation)
