"""The exact valid-action mask of one player (SPEC §3, "Action masks").

The mask marks exactly the actions that would change the world or the player's position or
inventory if taken now; NOOP is always valid. It is computed with the same rule functions
that validate actions (:mod:`.rules`). Cells farther than reach from the eye cannot be
placed or broken, so without teleportation only the cells around the player are examined.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE, NUM_PLACEABLE
from mbag_env.core.actions import FIRST_PLACE
from mbag_env.core.rules import (
    EYE_HEIGHT,
    REACH,
    can_break,
    can_move,
    can_place_any,
    give_recipient,
    has_neighbour_of_kind,
)
from mbag_env.core.state import (
    PARAM_INFINITE_BLOCKS,
    PARAM_NUM_PLAYERS,
    PARAM_TELEPORTATION,
    PLAYER_INVENTORY,
    PLAYER_X,
    PLAYER_Y,
    PLAYER_Z,
)


@numba.njit(cache=True, _nrt=False)
def write_action_mask(
    mask: np.ndarray, blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int
) -> None:
    """Fill ``mask`` (bool, one entry per action) with the valid actions of ``player``."""
    width, height, depth = blocks.shape
    num_cells = width * height * depth
    mask[:] = False
    mask[0] = True
    for direction in range(6):
        mask[1 + direction] = can_move(blocks, player_ints, params, player, direction)
    infinite = params[PARAM_INFINITE_BLOCKS] != 0
    if params[PARAM_TELEPORTATION] != 0:
        x_low, x_high, y_low, y_high, z_low, z_high = 0, width, 0, height, 0, depth
    else:
        # A usable face centre is within REACH of the eye, so the cell is within REACH + 1.
        ex = player_ints[player, PLAYER_X] + 0.5
        ey = player_ints[player, PLAYER_Y] + EYE_HEIGHT
        ez = player_ints[player, PLAYER_Z] + 0.5
        x_low = max(0, int(math.floor(ex - REACH - 1)))
        x_high = min(width, int(math.floor(ex + REACH + 1)) + 1)
        y_low = max(0, int(math.floor(ey - REACH - 1)))
        y_high = min(height, int(math.floor(ey + REACH + 1)) + 1)
        z_low = max(0, int(math.floor(ez - REACH - 1)))
        z_high = min(depth, int(math.floor(ez + REACH + 1)) + 1)
    first_break = FIRST_PLACE + NUM_PLACEABLE * num_cells
    for x in range(x_low, x_high):
        for y in range(y_low, y_high):
            for z in range(z_low, z_high):
                # Cheap filter before the (costlier) rule calls: PLACE needs an air cell with a
                # solid neighbour, BREAK a breakable block with an air neighbour.
                block = blocks[x, y, z]
                if block != AIR and not IS_BREAKABLE[block]:
                    continue
                if not has_neighbour_of_kind(blocks, x, y, z, block != AIR):
                    continue
                cell = (x * height + y) * depth + z
                if block == AIR:
                    if can_place_any(blocks, player_ints, params, player, x, y, z):
                        for slot in range(NUM_PLACEABLE):
                            if infinite or player_ints[player, PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
                                mask[FIRST_PLACE + slot * num_cells + cell] = True
                elif can_break(blocks, player_ints, params, player, x, y, z):
                    mask[first_break + cell] = True
    if not infinite:
        first_give = first_break + num_cells
        for other in range(params[PARAM_NUM_PLAYERS]):
            if other == player:
                continue
            x = player_ints[other, PLAYER_X]
            y = player_ints[other, PLAYER_Y]
            z = player_ints[other, PLAYER_Z]
            if give_recipient(blocks, player_ints, params, player, x, y, z) != other:
                continue
            cell = (x * height + y) * depth + z
            for slot in range(NUM_PLACEABLE):
                if player_ints[player, PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
                    mask[first_give + slot * num_cells + cell] = True
