"""``AZConfig.eval_horizon``: the horizon an AssistanceZero checkpoint's search plans to when it acts
as a policy. A run trained on 30-step episodes and evaluated to completion (the leaderboard, horizon
200) must not take step 30 for the end of the episode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from baselines.assistance_zero.config import AZConfig
from tests.baselines.test_assistance_zero_exact_belief import tiny_policy

TRAINING_ENV = {"goal": "houses:train", "horizon": 30}


def root_children_terminal(eval_horizon: int, timestep: int) -> np.ndarray:
    """Whether each node the search made below the root is terminal, for a policy trained on
    30-step episodes acting at ``timestep`` of a 200-step episode."""
    policy = tiny_policy({"env_kwargs": TRAINING_ENV, "eval_horizon": eval_horizon})
    env = gym.make("mbag/Assist-Small-v0", horizon=200)
    observation, _ = env.reset(seed=0)
    for _ in range(timestep):
        observation, *_ = env.step(0)
    assert int(observation["timestep"][0]) == timestep
    policy.act(observation)
    forest = next(iter(policy._searches.values())).forest
    children = forest.node_terminal[0, 1 : int(forest.node_count[0])].copy()
    assert children.size > 0, "the search made no node below the root"
    return children


def test_search_ends_episodes_at_the_training_horizon_by_default() -> None:
    assert root_children_terminal(0, 29).all()  # every child is at step 30
    assert not root_children_terminal(0, 10).any()


def test_eval_horizon_lets_the_search_plan_past_the_training_horizon() -> None:
    policy = tiny_policy({"env_kwargs": TRAINING_ENV, "eval_horizon": 200})
    assert policy.env_config.horizon == 200
    assert not root_children_terminal(200, 29).any()
    assert root_children_terminal(30, 29).all()  # the same as the training horizon


def test_eval_horizon_must_be_a_non_negative_integer() -> None:
    with pytest.raises(ValueError, match="eval_horizon"):
        AZConfig(eval_horizon=-1)
