"""The PettingZoo interfaces pass PettingZoo's own API tests."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

import mbag_env

README = Path(__file__).resolve().parents[2] / "README.md"

# What PettingZoo's AEC api_test warns about by design (SPEC §5, §7), not a fault:
BENIGN_AEC_WARNINGS = {
    # observations are Dicts of world, inventory, timestep and action_mask (SPEC §5)
    "Observation is not a NumPy array",
    "Observation space for each agent probably should be gymnasium.spaces.box or gymnasium.spaces.discrete",
    # the agents are "human" and "assistant" (SPEC §7); "player_i" only for other player counts
    'We recommend agents to be named in the format <descriptor>_<number>, like "player_0"',
    # the assistant's world has no goal channel (SPEC §5); uniform_spaces=True gives one of zeros
    "Agents have different observation space sizes",
}


def warnings_of(check: Callable[[], None]) -> set[str]:
    """The distinct warning messages ``check`` emits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check()
    return {str(warning.message) for warning in caught}


def small_parallel(**fields: object) -> mbag_env.MbagParallelEnv:
    return mbag_env.parallel_env(world_size=(6, 6, 6), horizon=30, **fields)


def test_parallel_api() -> None:
    assert warnings_of(lambda: parallel_api_test(small_parallel(), num_cycles=60)) == set()


def test_parallel_api_three_players_finite_blocks() -> None:
    env = small_parallel(num_players=3, infinite_blocks=False, starting_inventory=5)
    assert warnings_of(lambda: parallel_api_test(env, num_cycles=40)) == set()


def test_aec_api() -> None:
    found = warnings_of(lambda: api_test(mbag_env.env(world_size=(6, 6, 6), horizon=30), num_cycles=40))
    assert found <= BENIGN_AEC_WARNINGS, f"new api_test warnings: {found - BENIGN_AEC_WARNINGS}"
    assert "Agents have different observation space sizes" in found


def test_aec_api_uniform_spaces_has_one_observation_space() -> None:
    env = mbag_env.env(world_size=(6, 6, 6), horizon=10, uniform_spaces=True)
    found = warnings_of(lambda: api_test(env, num_cycles=20))
    assert found <= BENIGN_AEC_WARNINGS - {"Agents have different observation space sizes"}, found


def readme_supersuit_snippet() -> str:
    """The README's code block that uses SuperSuit (in its PettingZoo paragraph)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    found = [block for block in blocks if "import supersuit" in block]
    assert len(found) == 1, "the README should have exactly one SuperSuit example"
    return found[0]


def test_readme_supersuit_snippet_runs(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("supersuit")
    namespace: dict[str, object] = {}
    exec(compile(readme_supersuit_snippet(), str(README), "exec"), namespace)
    assert capsys.readouterr().out.strip() == "(8, 4, 11, 10, 10)"
    vector = namespace["env"]
    assert vector.num_envs == 8  # type: ignore[attr-defined]
    world = namespace["observations"]["world"]  # type: ignore[index]
    assert world[0::2, 3].any(), "each world's human (even slots) sees the goal"
    assert not world[1::2, 3].any(), "the assistants' (odd slots) goal channels are zeros"
    assert np.asarray(namespace["rewards"]).shape == (8,)


def test_supersuit_refuses_the_default_spaces_and_the_helper_uses_uniform_ones() -> None:
    supersuit = pytest.importorskip("supersuit")
    with pytest.raises(AssertionError, match="observation spaces not consistent"):
        supersuit.pettingzoo_env_to_vec_env_v1(small_parallel())
    with pytest.raises(ValueError, match="uniform_spaces=True"):
        mbag_env.supersuit_vec_env(2, world_size=(6, 6, 6), uniform_spaces=False)
    with pytest.raises(ValueError, match="num_worlds"):
        mbag_env.supersuit_vec_env(0)

    vector = mbag_env.supersuit_vec_env(2, world_size=(6, 6, 6), horizon=3)
    assert vector.num_envs == 4
    assert vector.observation_space["world"].shape == (4, 6, 6, 6)
    observations, _ = vector.reset(seed=0)
    assert observations["world"].shape == (4, 4, 6, 6, 6)
    assert not observations["world"][1::2, 3].any() and observations["world"][0::2, 3].any()
    for step in range(1, 4):
        observations, rewards, terminations, truncations, _ = vector.step(np.zeros(4, dtype=np.int64))
        assert list(truncations) == [step == 3] * 4, "all agents truncate together at the horizon"
    assert (observations["timestep"] == 0).all(), "SuperSuit resets the worlds after the horizon"


def test_supersuit_helper_without_supersuit_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "supersuit", None)  # makes ``import supersuit`` fail
    with pytest.raises(ImportError, match="pip install supersuit"):
        mbag_env.supersuit_vec_env(1, world_size=(6, 6, 6))


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


def test_scripted_human_inside_leaves_only_the_assistant_and_matches_assist_env() -> None:
    human = mbag_env.humans.HumanModel("layer_builder", epsilon=0.1)
    env = mbag_env.parallel_env(world_size=(6, 6, 6), horizon=60, scripted_human=human)
    assert env.possible_agents == ["assistant"]
    assert env.observation_space("assistant")["world"].shape == (3, 6, 6, 6)
    assert warnings_of(lambda: parallel_api_test(env, num_cycles=60)) == set()
    single = mbag_env.MbagEnv(world_size=(6, 6, 6), horizon=60, agent=1, human_policy=human)
    observations, _ = env.reset(seed=3)
    observation, _ = single.reset(seed=3)
    rng = np.random.default_rng(0)
    while env.agents:
        np.testing.assert_array_equal(observations["assistant"]["world"], observation["world"])
        action = int(rng.choice(np.flatnonzero(observation["action_mask"])))
        observations, rewards, terminations, truncations, infos = env.step({"assistant": action})
        observation, reward, terminated, truncated, info = single.step(action)
        assert rewards["assistant"] == reward and infos["assistant"] == info
        assert (terminations["assistant"], truncations["assistant"]) == (terminated, truncated)
    assert infos["assistant"]["timestep"] > 1


def test_scripted_human_with_three_players_and_errors() -> None:
    env = small_parallel(num_players=3, scripted_human="goal_seeking")
    assert env.possible_agents == ["player_1", "player_2"]
    env.reset(seed=0)
    _, _, _, _, infos = env.step({"player_1": 0, "player_2": 0})
    assert set(infos) == {"player_1", "player_2"}
    with pytest.raises(ValueError, match=r"missing \['player_2'\]"):
        env.step({"player_1": 0})
    with pytest.raises(ValueError, match="unknown"):
        env.step({"player_0": 0, "player_1": 0, "player_2": 0})
    with pytest.raises(ValueError, match="scripted_human must be a compiled human"):
        small_parallel(scripted_human=lambda observation: 0)
    with pytest.raises(ValueError, match="unknown scripted human"):
        small_parallel(scripted_human="builder")
    with pytest.raises(ValueError, match="num_players >= 2"):
        small_parallel(num_players=1, scripted_human="goal_seeking")
