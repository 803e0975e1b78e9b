"""MbagConfig's (de)serialisation, as episode recordings store it."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import mbag_env  # noqa: F401
from mbag_env.config import MbagConfig, RewardShaping


def test_to_dict_and_from_dict_round_trip_through_json() -> None:
    shaping = (RewardShaping(noop=-0.1), RewardShaping(action=0.5, own_reward_prop=0.25))
    config = MbagConfig(
        world_size=(6, 6, 6), num_players=2, goal="random", goal_visible=(True, True), reward_shaping=shaping
    )
    values = json.loads(json.dumps(config.to_dict()))
    assert values["reward_shaping"][1] == shaping[1].to_dict()
    assert MbagConfig.from_dict(values, "random") == config
    single = MbagConfig(reward_shaping=RewardShaping(incorrect_action=-1.0))
    assert MbagConfig.from_dict(single.to_dict(), single.goal) == single


def test_env_keywords_take_reward_shaping_as_json() -> None:
    """``gym.make(..., reward_shaping=...)`` (and ``--env-kwargs`` JSON) accepts a mapping of
    RewardShaping fields for every player or a list of mappings, one per player; an unknown field is
    a clear error."""
    env = gym.make("mbag/Assist-Small-v0", reward_shaping=[{}, {"incorrect_action": -1.0}])
    assert env.unwrapped.config.reward_shaping == (RewardShaping(), RewardShaping(incorrect_action=-1.0))
    env = gym.make("mbag/Build-Small-v0", reward_shaping={"noop": -0.5})
    assert env.unwrapped.config.reward_shaping == RewardShaping(noop=-0.5)
    with pytest.raises(ValueError, match="unknown fields \\['incorrect'\\]"):
        gym.make("mbag/Build-Small-v0", reward_shaping={"incorrect": -1.0})
