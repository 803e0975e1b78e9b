"""Training beside several scripted humans: parsing, the world split, the concatenated vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mbag_env  # noqa: F401
from baselines.assistance_zero.config import AZConfig
from baselines.assistance_zero.train import make_envs, train
from baselines.common.mixed_humans import (
    ConcatVectorEnv,
    make_assist_vector_env,
    parse_humans,
    split_worlds,
    world_goals,
)
from mbag_env.evaluation.suites import SUITE_HUMANS
from mbag_env.humans.scripted import HumanModel
from tests.baselines.conftest import TINY_AZ_RUN, TINY_PPO_RUN

KWARGS = {"goal": "houses:train", "horizon": 12}


def test_parse_humans_reads_one_several_or_the_suite() -> None:
    assert parse_humans("suite") == SUITE_HUMANS
    assert parse_humans("goal_seeking") == (HumanModel("goal_seeking"),)
    assert parse_humans("goal_seeking; layer_builder:act_every=2") == (
        HumanModel("goal_seeking"),
        HumanModel("layer_builder", act_every=2),
    )
    for bad, message in ((" ; ", "no human model"), ("goal_seeking;goal_seeking", "twice")):
        with pytest.raises(ValueError, match=message):
            parse_humans(bad)
    with pytest.raises(ValueError):
        parse_humans("flying_pig")


def test_split_worlds_shares_the_remainder_first() -> None:
    assert split_worlds(10, 4) == [3, 3, 2, 2]
    assert split_worlds(32, 4) == [8] * 4 and split_worlds(5, 1) == [5]
    with pytest.raises(ValueError, match="cannot be shared"):
        split_worlds(3, 4)


def test_concatenated_worlds_play_exactly_as_their_own_vector_envs() -> None:
    """World k of the mix, reset with seed s, is world k − offset of a vector env of its human
    reset alone with seed s + offset: same observations, rewards, flags, infos and goals over
    20 steps of random valid assistant actions (through autoresets: horizon 12)."""
    humans = "goal_seeking;layer_builder:act_every=2"
    mixed = make_assist_vector_env("mbag/Assist-Small-v0", 5, KWARGS, humans)
    assert isinstance(mixed, ConcatVectorEnv) and mixed.num_envs == 5 and mixed.agent == 1
    alone = [
        gym.make_vec(
            "mbag/Assist-Small-v0",
            num_envs=n,
            vectorization_mode="vector_entry_point",
            human_policy=model,
            **KWARGS,
        )
        for model, n in zip(parse_humans(humans), (3, 2), strict=True)
    ]
    observation, _ = mixed.reset(seed=7)
    parts = [env.reset(seed=7 + offset)[0] for env, offset in zip(alone, (0, 3), strict=True)]
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(20):
        for key in observation:
            np.testing.assert_array_equal(observation[key], np.concatenate([p[key] for p in parts]))
        np.testing.assert_array_equal(world_goals(mixed), np.concatenate([world_goals(env) for env in alone]))
        mask = observation["action_mask"]
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in mask])
        observation, reward, terminated, truncated, info = mixed.step(actions)
        results = [env.step(actions[a:b]) for env, (a, b) in zip(alone, ((0, 3), (3, 5)), strict=True)]
        parts = [result[0] for result in results]
        for index, value in ((1, reward), (2, terminated), (3, truncated)):
            np.testing.assert_array_equal(value, np.concatenate([result[index] for result in results]))
        for key in ("human_action", "goal_percentage", "action_correct"):
            np.testing.assert_array_equal(info[key], np.concatenate([r[4][key] for r in results]))
        ended += int((terminated | truncated).sum())
    assert ended >= 5  # every world passed its horizon of 12 at least once


def test_concat_refuses_envs_with_other_spaces() -> None:
    small = gym.make_vec("mbag/Assist-Small-v0", num_envs=1, vectorization_mode="vector_entry_point")
    large = gym.make_vec("mbag/Assist-v0", num_envs=1, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="equal spaces"):
        ConcatVectorEnv([small, large])
    with pytest.raises(ValueError, match="at least one"):
        ConcatVectorEnv([])


def test_assistance_zero_plays_beside_the_suite_humans(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``human="suite"`` gives AssistanceZero one world group per suite human and a short run
    trains beside them; too few worlds is a configuration error."""
    config = AZConfig(human="suite", num_envs=8, env_kwargs=KWARGS)
    envs = make_envs(config)
    assert isinstance(envs, ConcatVectorEnv) and [env.num_envs for env in envs.envs] == [2, 2, 2, 2]
    assert envs.config == envs.envs[0].unwrapped.config and envs.config.num_players == 2
    with pytest.raises(ValueError, match="cannot be shared"):
        AZConfig(human="suite", num_envs=3)
    tiny = config.replace(
        num_envs=4, total_env_steps=32, min_replay=8, run_dir=str(tmp_path / "az"), **TINY_AZ_RUN
    )
    assert train(tiny)["global_step"] == 32


def test_ppo_trains_beside_the_suite_humans(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PPO's ``human`` option: a short run beside the four suite humans logs the human's actions
    (the agent is the assistant); ``human`` on a Build id is refused."""
    import csv

    from baselines.ppo import PPOConfig, train

    config = PPOConfig(
        env_id="mbag/Assist-Small-v0",
        env_kwargs=KWARGS,
        human="suite",
        total_steps=4 * 24,
        run_dir=str(tmp_path / "ppo"),
        **{**TINY_PPO_RUN, "num_steps": 24, "update_epochs": 1},
    )
    train(config)
    rows = list(csv.DictReader((tmp_path / "ppo" / "progress.csv").open()))
    assert rows and float(rows[-1]["episode/human_actions"]) > 0
    with pytest.raises(ValueError, match="needs an mbag/Assist id"):
        PPOConfig(env_id="mbag/Build-Small-v0", human="suite")
