"""Belief pretraining (``AZConfig.pretrain_belief_updates``): the idle assistant's observations and
goals, a goal head that learns from them, and a training run that starts with it."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import mbag_env  # noqa: F401
from baselines.assistance_zero.config import AZConfig
from baselines.assistance_zero.losses import goal_nll
from baselines.assistance_zero.network import AssistanceZeroNetwork, AZNetworkConfig
from baselines.assistance_zero.pretrain import collect_idle_assistant_states, pretrain_belief
from baselines.assistance_zero.train import train
from baselines.common.checkpoint import load_checkpoint
from baselines.common.mixed_humans import make_assist_vector_env
from baselines.common.networks import ObservationSpec
from mbag_env.blocks import AIR, NUM_BLOCK_TYPES
from tests.baselines.test_assistance_zero_training import tiny_config

SMALL_KWARGS = {"goal": "houses:train", "horizon": 12}


def _small_envs(num_envs: int = 4) -> gym.vector.VectorEnv:
    return make_assist_vector_env("mbag/Assist-Small-v0", num_envs, dict(SMALL_KWARGS), "goal_seeking")


def test_idle_assistant_states_hold_the_humans_progress_and_the_true_goals() -> None:
    envs = _small_envs()
    try:
        states = collect_idle_assistant_states(envs, 4 * 30 - 3, seed=5)
        again = collect_idle_assistant_states(envs, 4 * 30 - 3, seed=5)
    finally:
        envs.close()
    world, timestep, goal = states["world"], states["timestep"], states["goal"]
    assert world.shape[0] == timestep.shape[0] == goal.shape[0] == 4 * 30  # whole vector steps
    assert world.dtype == goal.dtype == np.uint8 and goal.shape == world[:, 0].shape
    for key, value in states.items():
        np.testing.assert_array_equal(again[key], value)  # the seed fixes the episodes
    steps = timestep.reshape(30, 4)
    assert (steps[0] == 0).all() and (np.diff(steps[:13], axis=0) == 1).all()  # horizon 12: 0..12, then reset
    goals = goal.reshape(30, 4, *goal.shape[1:])
    np.testing.assert_array_equal(goals[5], goals[0])  # one house for a whole episode
    assert not np.array_equal(goals[14], goals[0])  # a new house after the reset
    # Nobody but the human acts, so the blocks only move toward the goal: the edit distance falls.
    blocks = world[:, 0].reshape(30, 4, *goal.shape[1:])
    distance = (blocks[:13] != goals[:13]).sum(axis=(2, 3, 4))
    assert (np.diff(distance, axis=0) <= 0).all() and (distance[12] < distance[0]).all()
    with pytest.raises(ValueError, match="positive"):
        collect_idle_assistant_states(envs, 0, seed=5)


def test_goal_nll_is_the_mean_negative_log_likelihood_per_cell() -> None:
    logits = torch.zeros(1, NUM_BLOCK_TYPES, 1, 1, 2)
    logits[0, AIR, 0, 0, 0] = np.log(4.0)  # cell 0: p(air) = 4 / 13; cell 1: uniform
    log_belief = torch.log_softmax(logits, dim=1)
    goal = torch.tensor([[[[AIR, AIR]]]], dtype=torch.uint8)
    expected = -(np.log(4 / 13) + np.log(1 / NUM_BLOCK_TYPES)) / 2
    assert float(goal_nll(log_belief, goal)) == pytest.approx(expected)


def test_pretraining_lowers_the_goal_loss_on_held_out_observations() -> None:
    envs = _small_envs()
    try:
        states = collect_idle_assistant_states(envs, 1024, seed=1)
        held_out = collect_idle_assistant_states(envs, 256, seed=2)
        spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    finally:
        envs.close()
    torch.manual_seed(0)
    model = AssistanceZeroNetwork(spec, AZNetworkConfig(hidden_channels=8, conv_layers=1, global_hidden=16))

    def held_out_loss() -> float:
        with torch.no_grad():
            output = model(torch.from_numpy(held_out["world"]), torch.from_numpy(held_out["timestep"]))
            assert output.goal_logits is not None
            log_belief = torch.log_softmax(output.goal_logits, dim=1)
            return float(goal_nll(log_belief, torch.from_numpy(held_out["goal"])))

    before = held_out_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    summary = pretrain_belief(model, optimizer, states, 60, 64, 10.0, np.random.default_rng(0))
    after = held_out_loss()
    assert summary["updates"] == 60 and summary["seconds"] > 0
    assert summary["goal_nll_last"] < summary["goal_nll_first"]
    assert after < 0.7 * before, (before, after)
    with pytest.raises(ValueError, match="positive"):
        pretrain_belief(model, optimizer, states, 0, 64, 10.0, np.random.default_rng(0))


def test_a_run_starts_from_the_pretrained_belief_and_records_it(tmp_path: Path) -> None:
    steps = 4 * 4 * 2
    plain = train(tiny_config(tmp_path / "plain", total_env_steps=steps))
    pretrained = train(
        tiny_config(
            tmp_path / "pre", total_env_steps=steps, pretrain_belief_updates=12, pretrain_belief_states=64
        )
    )
    summary = json.loads((tmp_path / "pre" / "pretrain_belief.json").read_text())
    assert summary["updates"] == 12 and summary["states"] == 64
    assert summary["goal_nll_last"] < summary["goal_nll_first"]
    assert not (tmp_path / "plain" / "pretrain_belief.json").exists()
    plain_weights = load_checkpoint(plain["checkpoint"])["model"]
    pretrained_weights = load_checkpoint(pretrained["checkpoint"])["model"]
    assert any(not torch.equal(pretrained_weights[name], value) for name, value in plain_weights.items())
    assert pretrained["global_step"] == plain["global_step"] == steps


def test_pretraining_is_checked_at_configuration_time() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        AZConfig(pretrain_belief_updates=-1)
    with pytest.raises(ValueError, match="positive"):
        AZConfig(pretrain_belief_states=0)
    with pytest.raises(ValueError, match="goal head"):
        AZConfig(algorithm="alpha_zero", env_id="mbag/Build-Small-v0", pretrain_belief_updates=5)
