"""The PettingZoo interfaces pass PettingZoo's own API tests."""

from __future__ import annotations

import numpy as np
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

import mbag_env


def small_parallel(**fields: object) -> mbag_env.MbagParallelEnv:
    return mbag_env.parallel_env(world_size=(6, 6, 6), horizon=30, **fields)


def test_parallel_api() -> None:
    parallel_api_test(small_parallel(), num_cycles=60)


def test_parallel_api_three_players_finite_blocks() -> None:
    parallel_api_test(
        small_parallel(num_players=3, infinite_blocks=False, starting_inventory=5), num_cycles=40
    )


def test_aec_api() -> None:
    api_test(mbag_env.env(world_size=(6, 6, 6), horizon=30), num_cycles=40)


def test_parallel_seed() -> None:
    parallel_seed_test(small_parallel, num_cycles=30)


def test_agents_and_spaces() -> None:
    env = small_parallel()
    assert env.possible_agents == ["human", "assistant"]
    assert env.observation_space("human")["world"].shape == (4, 6, 6, 6)
    assert env.observation_space("assistant")["world"].shape == (3, 6, 6, 6)
    uniform = small_parallel(uniform_spaces=True)
    assert uniform.observation_space("human") == uniform.observation_space("assistant")
    observations, _ = uniform.reset(seed=0)
    assert not observations["assistant"]["world"][3].any(), "the assistant must not see the goal"
    assert observations["human"]["world"][3].any()
    assert small_parallel(num_players=3).possible_agents == ["player_0", "player_1", "player_2"]


def test_shared_reward_and_player_order() -> None:
    env = small_parallel()
    observations, _ = env.reset(seed=5)
    actions = env.unwrapped.batch.actions if hasattr(env, "unwrapped") else env.batch.actions
    # Both players target the same cell: the human (player 0) resolves first and wins.
    cell = (1, 2, 1)
    place = actions.encode("place", cell, 6)
    _, rewards, _, _, infos = env.step({"human": place, "assistant": place})
    assert infos["human"]["action_valid"] and not infos["assistant"]["action_valid"]
    assert rewards["human"] == rewards["assistant"]
    assert env.state()[0][cell] == 6
    np.testing.assert_array_equal(observations["human"]["world"][0][:, 0], 1)
