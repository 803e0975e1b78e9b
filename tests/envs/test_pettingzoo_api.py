"""The PettingZoo interfaces pass PettingZoo's own API tests."""

from __future__ import annotations

import numpy as np
import pytest
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


def test_aec_bad_action_is_refused_at_once_and_env_stays_usable() -> None:
    env = mbag_env.env(world_size=(6, 6, 6), horizon=30)
    env.reset(seed=0)
    actions = env.unwrapped.batch.actions
    place = actions.encode("place", (1, 2, 1), 6)
    before = env.unwrapped.get_state()
    for bad in (10**9, -1, actions.n, 2.0, "3", True, None):
        with pytest.raises(ValueError, match=r"agent 'human'.*invalid action"):
            env.step(bad)
        assert env.agent_selection == "human", "a refused action must not pass the turn on"
    np.testing.assert_array_equal(env.unwrapped.get_state()["world"]["blocks"], before["world"]["blocks"])
    env.step(np.int64(place))
    with pytest.raises(ValueError, match=r"agent 'assistant'.*1000000000"):
        env.step(10**9)
    assert env.agent_selection == "assistant"
    env.step(actions.encode("noop"))
    assert env.unwrapped.state()[0][1, 2, 1] == 6, "the world must step once both agents acted"
    assert env.agent_selection == "human"
    env.step(0)
    env.step(0)  # a following full round works too


def test_aec_masked_out_action_is_accepted_like_the_parallel_env() -> None:
    env = mbag_env.env(world_size=(6, 6, 6), horizon=30, action_masks=True)
    env.reset(seed=0)
    mask = env.observe("human")["action_mask"]
    masked_out = int(np.flatnonzero(~mask)[0])
    env.step(masked_out)  # in range, so accepted; it changes nothing, as in the parallel env
    env.step(0)
    assert env.infos["human"]["action"] == masked_out
    assert not env.infos["human"]["action_valid"]
    assert env.infos["assistant"]["action_valid"]


def test_parallel_bad_action_is_refused_and_env_stays_usable() -> None:
    env = small_parallel()
    env.reset(seed=0)
    before = env.get_state()
    with pytest.raises(ValueError, match=r"agent 'assistant'.*1000000000"):
        env.step({"human": 0, "assistant": 10**9})
    with pytest.raises(ValueError, match=r"agent 'human'"):
        env.step({"human": 10**9, "assistant": 0})
    after = env.get_state()
    for key, value in before["world"].items():
        np.testing.assert_array_equal(after["world"][key], value, err_msg=key)
    _, _, _, _, infos = env.step({"human": 0, "assistant": 0})
    assert infos["human"]["timestep"] == 1 and infos["human"]["action_valid"]
