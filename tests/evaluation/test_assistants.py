"""Scripted assistants: the oracle helps, random does not, idle does nothing."""

from __future__ import annotations

import numpy as np
import pytest

import mbag_env
from mbag_env.core.actions import NOOP
from mbag_env.evaluation import (
    IdleAssistant,
    OracleAssistant,
    RandomAssistant,
    episode_metrics,
    make_scripted_assistant,
    run_episode,
)
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel

SMALL = (6, 6, 6)
HOUSES = (0, 40, 80, 120, 160, 200)
HORIZON = 30  # shorter than the ~55 steps the human needs alone, so help shows


def mean_goal_percentage(name: str, human: HumanModel) -> float:
    goals = load_shipped_goals("test", SMALL)
    values = []
    for house in HOUSES:
        config = mbag_env.MbagConfig(world_size=SMALL, horizon=HORIZON, goal=goals[house])
        env = mbag_env.MbagEnv(config, agent=1, human_policy=human)
        recording = run_episode(env, make_scripted_assistant(name, env, seed=house), seed=house)
        values.append(episode_metrics(recording).goal_percentage)
    return float(np.mean(values))


@pytest.mark.parametrize("human", [HumanModel("goal_seeking"), HumanModel("layer_builder", act_every=2)])
def test_oracle_helps_and_random_does_not(human: HumanModel) -> None:
    idle = mean_goal_percentage("idle", human)
    oracle = mean_goal_percentage("oracle", human)
    random = mean_goal_percentage("random", human)
    assert oracle > idle + 0.1
    assert random <= idle


def test_oracle_acts_as_the_goal_seeking_builder_with_privileged_state() -> None:
    goal = load_shipped_goals("test", SMALL)[3]
    env = mbag_env.MbagEnv(world_size=SMALL, goal=goal, agent=1)
    observation, _ = env.reset(seed=0)
    oracle = OracleAssistant(env)
    assert "goal" not in str(observation.keys()) and observation["world"].shape[0] == 3  # no θ in it
    correct = 0
    for _ in range(20):
        action = oracle.act(observation)
        assert env.action_masks()[action]
        observation, _, terminated, _, info = env.step(action)
        correct += info["action_correct"]
        assert not terminated
    assert correct > 5
    # Any compiled human model can play a seat as a Python policy: here the builder of Build-v0.
    build = mbag_env.MbagEnv(world_size=SMALL, num_players=1, goal=goal, horizon=200)
    recording = run_episode(build, OracleAssistant(build, model=HumanModel("layer_builder")), seed=0)
    assert recording.terminated
    with pytest.raises(ValueError, match="model must be a HumanModel"):
        OracleAssistant(env, model="layer_builder")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs an mbag_env MbagEnv"):
        OracleAssistant(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"player must be in \[0, 2\)"):
        OracleAssistant(env, player=5)


def test_random_and_idle_assistants() -> None:
    env = mbag_env.MbagEnv(world_size=SMALL, agent=1)
    observation, _ = env.reset(seed=1)
    first = RandomAssistant(seed=3)
    second = RandomAssistant(seed=3)
    for _ in range(30):
        action = first.act(observation)
        assert action == second.act(observation)
        assert observation["action_mask"][action]
        assert IdleAssistant().act(observation) == NOOP
        observation, *_ = env.step(action)
    with pytest.raises(ValueError, match="needs observation\\['action_mask'\\]"):
        RandomAssistant(0).act({"world": observation["world"]})


def test_make_scripted_assistant_errors() -> None:
    with pytest.raises(ValueError, match="unknown scripted assistant 'helpful'"):
        make_scripted_assistant("helpful")
    with pytest.raises(ValueError, match="the oracle assistant needs the env"):
        make_scripted_assistant("oracle")
