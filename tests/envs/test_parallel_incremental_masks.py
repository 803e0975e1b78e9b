"""The PettingZoo parallel env refreshes each agent's action mask from the one it handed out the
step before (``WorldBatch.first_observation(..., refresh_mask=True)``) instead of writing it afresh.
Random sequences of valid, invalid and NOOP actions for every agent, ``set_state`` to earlier
snapshots, ``state()`` calls (which observe player 0) and resets must give, at every step, every
agent exactly the observation written afresh from the state."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mbag_env.core.actions import NOOP
from mbag_env.envs.parallel import MbagParallelEnv

CONFIGS: dict[str, dict[str, Any]] = {
    "human and assistant agents": {"num_players": 2},
    "compiled human inside": {"num_players": 2, "scripted_human": "goal_seeking"},
    "three players, finite blocks (gives)": {
        "num_players": 3,
        "infinite_blocks": False,
        "starting_inventory": 2,
    },
    "teleportation": {"num_players": 2, "teleportation": True},
}

_ENVS: dict[str, MbagParallelEnv] = {}

# (kind, value) per step: 0-3 valid actions from each agent's mask, 4 NOOPs, 5 any actions (mostly
# invalid), 6 set_state to an earlier snapshot, 7 state(), 8 reset.
STEPS = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2**31 - 1)), min_size=1, max_size=50)


def env_for(name: str) -> MbagParallelEnv:
    if name not in _ENVS:
        _ENVS[name] = MbagParallelEnv(world_size=(5, 5, 5), horizon=60, **CONFIGS[name])
    return _ENVS[name]


def assert_fresh(env: MbagParallelEnv, observations: dict[str, dict[str, np.ndarray]]) -> None:
    assert sorted(observations) == sorted(env.possible_agents)
    for name, observation in observations.items():
        player = env._index[name]
        fresh = env.batch.first_observation(player, env.batch.observation_buffers(player), True)
        assert list(observation) == list(fresh)
        for key in fresh:
            np.testing.assert_array_equal(observation[key], fresh[key], err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", CONFIGS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), steps=STEPS)
def test_refreshed_masks_equal_fresh_ones(name: str, seed: int, steps: list[tuple[int, int]]) -> None:
    env = env_for(name)
    observations, _ = env.reset(seed=seed)
    assert_fresh(env, observations)
    snapshots = [env.get_state()]
    num_actions = int(env.action_space(env.possible_agents[0]).n)
    for kind, value in steps:
        if kind == 6:
            snapshot = snapshots[value % len(snapshots)]
            env.set_state(snapshot)
            if not env.agents:
                observations, _ = env.reset(seed=value)
                assert_fresh(env, observations)
            continue  # the next step must write the masks afresh: the buffers are from another state
        if kind == 7:
            env.state()
            continue
        if kind == 8:
            observations, _ = env.reset(seed=value)
            assert_fresh(env, observations)
            continue
        actions = {}
        for offset, agent in enumerate(env.agents):
            if kind <= 3:
                valid = np.flatnonzero(observations[agent]["action_mask"])
                actions[agent] = int(valid[(value + offset) % valid.size])
            elif kind == 4:
                actions[agent] = NOOP
            else:
                actions[agent] = (value + 7919 * offset) % num_actions
        observations, _, terminations, truncations, _ = env.step(actions)
        assert_fresh(env, observations)
        snapshots.append(env.get_state())
        if not env.agents:
            observations, _ = env.reset(seed=value)
            assert_fresh(env, observations)
