"""The exact valid-action mask of one player (SPEC §3, "Action masks").

The mask marks exactly the actions that would change the world or the player's position or
inventory if taken now; NOOP is always valid. It is computed from the same rule functions
that validate actions (:mod:`.rules`: ``face_usable``, ``occupied_by_player``, ``can_move``,
``give_recipient``), visiting each face once for all cells. Cells farther than reach from the
eye cannot be placed or broken, so without teleportation only the cells around the player
are examined.
"""

from __future__ import annotations

import math

import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE, NUM_PLACEABLE
from mbag_env.core.actions import FIRST_PLACE, MOVE_DIRECTIONS
from mbag_env.core.jit import kernel
from mbag_env.core.rules import (
    EYE_HEIGHT,
    REACH,
    can_move,
    face_usable,
    give_recipient,
    in_world,
    occupied_by_player,
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


@kernel()
def write_action_mask(
    mask: np.ndarray,
    blocks: np.ndarray,
    solid_neighbours: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
) -> None:
    """Fill ``mask`` (bool, one entry per action) with the valid actions of ``player``.

    ``solid_neighbours`` is the world's count of solid neighbours per cell (see
    :class:`~mbag_env.core.state.BatchState`).
    """
    width, height, depth = blocks.shape
    num_cells = width * height * depth
    mask[:] = False
    mask[0] = True
    for direction in range(6):
        mask[1 + direction] = can_move(blocks, player_ints, params, player, direction)
    infinite = params[PARAM_INFINITE_BLOCKS] != 0
    ex = player_ints[player, PLAYER_X] + 0.5
    ey = player_ints[player, PLAYER_Y] + EYE_HEIGHT
    ez = player_ints[player, PLAYER_Z] + 0.5
    if params[PARAM_TELEPORTATION] != 0:
        x_low, x_high, y_low, y_high, z_low, z_high = 0, width, 0, height, 0, depth
    else:
        # A usable face centre is within REACH of the eye, so the cell is within REACH + 1.
        x_low = max(0, int(math.floor(ex - REACH - 1)))
        x_high = min(width, int(math.floor(ex + REACH + 1)) + 1)
        y_low = max(0, int(math.floor(ey - REACH - 1)))
        y_high = min(height, int(math.floor(ey + REACH + 1)) + 1)
        z_low = max(0, int(math.floor(ez - REACH - 1)))
        z_high = min(depth, int(math.floor(ez + REACH + 1)) + 1)
    first_break = FIRST_PLACE + NUM_PLACEABLE * num_cells
    teleportation = params[PARAM_TELEPORTATION] != 0
    num_players = params[PARAM_NUM_PLAYERS]
    # Visit every (air cell, solid neighbour) face once: a usable face makes PLACE valid at the
    # air cell (unless a player is there) and BREAK valid at the neighbour (if breakable).
    # This is can_place_any / can_break evaluated for all cells at once, sharing each face.
    # A usable face's centre is within REACH of the eye and 0.5 from its air cell's centre, so
    # (without teleportation) only air cells whose centre is within REACH + 0.5 can matter.
    cell_reach_squared = (REACH + 0.5 + 1e-6) ** 2  # a margin: never cull a cell by rounding
    for x in range(x_low, x_high):
        for y in range(y_low, y_high):
            for z in range(z_low, z_high):
                if blocks[x, y, z] != AIR or solid_neighbours[x, y, z] == 0:
                    continue
                if not teleportation:
                    dx = x + 0.5 - ex
                    dy = y + 0.5 - ey
                    dz = z + 0.5 - ez
                    if dx * dx + dy * dy + dz * dz > cell_reach_squared:
                        continue
                place_valid = False
                for direction in range(6):
                    nx = x + MOVE_DIRECTIONS[direction, 0]
                    ny = y + MOVE_DIRECTIONS[direction, 1]
                    nz = z + MOVE_DIRECTIONS[direction, 2]
                    if not in_world(blocks, nx, ny, nz) or blocks[nx, ny, nz] == AIR:
                        continue
                    breakable = IS_BREAKABLE[blocks[nx, ny, nz]]
                    break_action = first_break + (nx * height + ny) * depth + nz
                    if place_valid and (not breakable or mask[break_action]):
                        continue  # this face can make nothing valid that is not valid already
                    if teleportation or face_usable(blocks, player_ints, player, x, y, z, direction):
                        place_valid = True
                        if breakable:
                            mask[break_action] = True
                if not place_valid:
                    continue
                if not teleportation and occupied_by_player(player_ints, num_players, x, y, z) >= 0:
                    continue
                cell = (x * height + y) * depth + z
                for slot in range(NUM_PLACEABLE):
                    if infinite or player_ints[player, PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
                        mask[FIRST_PLACE + slot * num_cells + cell] = True
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
