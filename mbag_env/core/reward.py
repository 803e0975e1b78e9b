"""Edit distance between a world and its goal, cell by cell (SPEC §4), and the reward built on it.

``d(s, θ)`` is the least number of place and break actions that turn the world's blocks
into θ's: per cell 0 if equal, 2 if both are non-air and differ (break, then place), else 1.
The step kernels keep ``d`` up to date with :func:`cell_cost` on each changed cell, and
:func:`goal_percentage` is the one formula of the goal percentage ``1 - d / d0``.
:func:`shaped_rewards` turns a step's edit-distance drops into each player's reward (the shared
drop plus the optional shaping terms of ``RewardShaping``).
"""

from __future__ import annotations

from typing import overload

import numpy as np

from mbag_env.blocks import AIR
from mbag_env.core.jit import kernel
from mbag_env.core.state import PLAYER_LAST_ACTION, PLAYER_LAST_DELTA, PLAYER_LAST_VALID

# Columns of the shaping table (P, 4), as in RewardShaping.as_array().
SHAPING_NOOP = 0
SHAPING_ACTION = 1
SHAPING_INCORRECT = 2
SHAPING_OWN_PROP = 3


@kernel(inline="always")
def cell_cost(block: int, goal_block: int) -> int:
    """Edit-distance contribution of one cell."""
    if block == goal_block:
        return 0
    if block != AIR and goal_block != AIR:
        return 2
    return 1


@kernel()
def edit_distance(blocks: np.ndarray, goal: np.ndarray) -> int:
    """Full recomputation of ``d(blocks, goal)`` for one world ``(W, H, D)``."""
    total = 0
    width, height, depth = blocks.shape
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                total += cell_cost(blocks[x, y, z], goal[x, y, z])
    return total


@kernel()
def count_layer_errors(blocks: np.ndarray, goal: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out[y]`` the number of cells of layer ``y`` whose block differs from the goal."""
    width, height, depth = blocks.shape
    for y in range(height):
        count = 0
        for x in range(width):
            for z in range(depth):
                if blocks[x, y, z] != goal[x, y, z]:
                    count += 1
        out[y] = count


@overload
def goal_percentage(initial_edit_distance: int | np.integer, edit_distance: int | np.integer) -> float: ...


@overload
def goal_percentage(initial_edit_distance: np.ndarray | int, edit_distance: np.ndarray) -> np.ndarray: ...


@overload
def goal_percentage(initial_edit_distance: np.ndarray, edit_distance: np.ndarray | int) -> np.ndarray: ...


def goal_percentage(initial_edit_distance: object, edit_distance: object) -> float | np.ndarray:
    """``1 - d / d0``: the share of the initial edit distance ``d0`` that has been removed (1.0
    where ``d0 == 0``, a goal equal to the initial world).

    Integers give a float; an array for either argument gives a float64 array of the broadcast
    shape (a vector env's worlds, or an episode's curve).
    """
    if type(initial_edit_distance) is int and type(edit_distance) is int:  # a step's info: kept cheap
        return 1.0 if initial_edit_distance == 0 else 1.0 - edit_distance / initial_edit_distance
    if isinstance(initial_edit_distance, np.ndarray) or isinstance(edit_distance, np.ndarray):
        initial = np.asarray(initial_edit_distance, dtype=np.float64)
        distance = np.asarray(edit_distance, dtype=np.float64)
        return np.where(initial > 0, 1.0 - distance / np.maximum(initial, 1.0), 1.0)
    if initial_edit_distance == 0:
        return 1.0
    return 1.0 - float(edit_distance) / float(initial_edit_distance)  # type: ignore[arg-type]


@kernel()
def shaped_rewards(
    player_ints: np.ndarray, shaping: np.ndarray, num_players: int, shared: int, rewards: np.ndarray
) -> None:
    """Write each player's reward of a resolved step into ``rewards``.

    Player ``p`` gets ``(1 − own_p) · shared + own_p · drop_p`` (``shared``: the step's total
    edit-distance drop; ``drop_p``: its own action's, ``PLAYER_LAST_DELTA``; ``own_p``: its
    shaping's own-reward proportion, 0 by default), plus its shaping's action bonus for a valid
    non-NOOP action (and the incorrect-action term when that action raised the distance), or its
    NOOP term for a NOOP or an invalid action. ``shaping`` is ``(P, 4)`` in the ``SHAPING_*``
    columns.
    """
    for player in range(num_players):
        own = player_ints[player, PLAYER_LAST_DELTA]
        proportion = shaping[player, SHAPING_OWN_PROP]
        reward = (1.0 - proportion) * shared + proportion * own
        valid = player_ints[player, PLAYER_LAST_VALID] != 0
        if valid and player_ints[player, PLAYER_LAST_ACTION] != 0:
            reward += shaping[player, SHAPING_ACTION]
            if own < 0:
                reward += shaping[player, SHAPING_INCORRECT]
        else:
            reward += shaping[player, SHAPING_NOOP]
        rewards[player] = reward
