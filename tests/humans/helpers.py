"""Shared helpers of the scripted-human tests: run a compiled human alone on a goal."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mbag_env.config import MbagConfig
from mbag_env.core.state import PLAYER_LAST_ACTION, BatchState
from mbag_env.core.step import SCRIPTED_HUMAN
from mbag_env.envs.batch import WorldBatch
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel
from mbag_env.humans.world import HumanWorld

SMALL = (6, 6, 6)
LARGE = (11, 10, 10)
SMALL_HORIZON = 200
LARGE_HORIZON = 1500
CI_HOUSES = tuple(range(0, 500, 20))
"""The fixed 25 houses of the small test set that the CI tests use."""


def held_out_goals(world_size: tuple[int, int, int]) -> np.ndarray:
    """The shipped held-out houses (``make_goal_sampler("dataset:test", world_size)``'s goals)."""
    return load_shipped_goals("test", world_size)


def solo_episode(
    goal: np.ndarray, model: HumanModel, horizon: int, seed: int = 0, **config_fields: object
) -> tuple[bool, list[int]]:
    """Run ``model`` alone (one player) on ``goal``; return (completed, the actions it took)."""
    config = MbagConfig(
        world_size=goal.shape,
        num_players=1,
        horizon=horizon,
        goal=goal,
        **config_fields,  # type: ignore[arg-type]
    )
    batch = WorldBatch(config, num_envs=1)
    batch.human_model = model.as_array()
    batch.reset_env(0, np.random.default_rng(seed))
    actions = np.full((1, 1), SCRIPTED_HUMAN, dtype=np.int64)
    taken = []
    while not (batch.terminated(0) or batch.truncated(0)):
        batch.step(actions)
        taken.append(int(batch.state.player_ints[0, 0, PLAYER_LAST_ACTION]))
    return batch.terminated(0), taken


def unfinished_houses(
    goals: np.ndarray, model: HumanModel, horizon: int, houses: Iterable[int] | None = None
) -> list[int]:
    """Indices of the houses (all by default) that ``model`` alone does not finish within ``horizon``."""
    indices = range(len(goals)) if houses is None else houses
    return [house for house in indices if not solo_episode(goals[house], model, horizon)[0]]


def human_world(
    state: BatchState, env: int, params: np.ndarray, env_ints: np.ndarray | None = None
) -> HumanWorld:
    """World ``env`` of ``state`` as the scripted humans' kernels take it (views of its rows;
    ``env_ints``, when given, stands in for the world's own, e.g. a copy whose generator may be used)."""
    return HumanWorld(
        state.blocks[env],
        state.goal[env],
        state.player_ints[env],
        state.layer_errors[env],
        state.env_ints[env] if env_ints is None else env_ints,
        params,
    )
