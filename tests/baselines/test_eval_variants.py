"""The evaluation-time variants of the shipped AssistanceZero checkpoint (diagnostics)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import mbag_env  # noqa: F401
from baselines.assistance_zero.eval_variants import (
    keep_human_blocks,
    owner_exact_belief,
    owner_full_horizon,
    search_penalty,
)
from baselines.assistance_zero.policy import HUMAN_OWNER, without_breaks_of_human_blocks
from mbag_env.blocks import AIR, DIRT, NUM_PLACEABLE, PLANKS
from mbag_env.config import RewardShaping
from mbag_env.core.actions import FIRST_PLACE, NOOP


def test_breaks_of_human_placed_blocks_are_removed_from_the_choice() -> None:
    cells = 6 * 6 * 6
    world = np.zeros((2, 3, 6, 6, 6), dtype=np.uint8)
    world[:, 0, :, 0] = DIRT  # untouched floor
    world[0, 0, 1, 1, 1], world[0, 2, 1, 1, 1] = PLANKS, HUMAN_OWNER  # the human's block
    world[0, 0, 2, 1, 1], world[0, 2, 2, 1, 1] = DIRT, 1  # the assistant's own block
    world[0, 2, 3, 1, 1] = HUMAN_OWNER  # a cell the human broke: air
    actions = FIRST_PLACE + (NUM_PLACEABLE + 1) * cells
    visits = np.ones((2, actions), dtype=np.int64)
    q = np.zeros((2, actions))
    kept_visits, kept_q = without_breaks_of_human_blocks(visits, q, world)
    first_break = FIRST_PLACE + NUM_PLACEABLE * cells
    human_cell = np.ravel_multi_index((1, 1, 1), (6, 6, 6))
    changed = np.argwhere(kept_visits != visits)
    np.testing.assert_array_equal(changed, [[0, first_break + human_cell]])
    assert (
        kept_q[0, first_break + human_cell] == -np.inf
        and np.isfinite(np.delete(kept_q, first_break + human_cell, 1)).all()
    )
    assert visits.min() == 1 and world[0, 0, 3, 1, 1] == AIR  # inputs unchanged


def test_variants_load_the_headline_checkpoint_and_act() -> None:
    env = gym.make("mbag/Assist-Small-v0", goal="houses:test")
    observation, _ = env.reset(seed=0)
    keep, penalised = keep_human_blocks(seed=0), search_penalty(seed=0)
    assert keep.keep_human_blocks and not penalised.keep_human_blocks
    assert penalised.env_config.reward_shaping[1] == RewardShaping(incorrect_action=-1.0)
    for policy in (keep, penalised):
        action = policy.act(observation)
        assert observation["action_mask"][action] or action == NOOP


def test_owner_checkpoint_plans_with_the_exact_posterior() -> None:
    env = gym.make("mbag/Assist-Small-v0", goal="houses:test")
    policy = owner_exact_belief(env, seed=0)
    assert policy.belief_source is not None
    observation, _ = env.reset(seed=1)
    for _ in range(4):
        action = policy.act(observation)
        assert observation["action_mask"][action]
        observation, *_ = env.step(action)


def test_owner_checkpoint_plans_to_the_evaluated_horizon() -> None:
    env = gym.make("mbag/Assist-Small-v0", goal="houses:test", horizon=120)
    policy = owner_full_horizon(env, seed=0)
    assert policy.config.eval_horizon == 120 and policy.env_config.horizon == 120
    assert policy.config.env_kwargs["horizon"] == 30  # what it was trained on
    observation, _ = env.reset(seed=1)
    action = policy.act(observation)
    assert observation["action_mask"][action]
