"""The exact valid-action mask of one player (SPEC §3, "Action masks").

The mask marks exactly the actions that would change the world or the player's position or
inventory if taken now; NOOP is always valid. It is computed from the same rule functions
that validate actions (:mod:`.rules`: ``face_usable``, ``occupied_by_player``, ``can_move``,
``give_recipient``), visiting each face once for all cells. Cells farther than reach from the
eye cannot be placed or broken, so without teleportation only the cells around the player
are examined.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE, NUM_PLACEABLE
from mbag_env.core import state
from mbag_env.core.actions import (
    MOVE_DIRECTIONS,
    MOVE_POS_X,
    NOOP,
    NUM_MOVES,
    break_action,
    cell_index,
    give_action,
    place_action,
)
from mbag_env.core.jit import kernel
from mbag_env.core.rules import (
    REACH,
    can_give_to,
    can_move,
    eye_position,
    face_usable,
    feet_cell,
    in_world,
    occupied_by_player,
    reach_box,
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
    _, height, depth = blocks.shape
    num_cells = blocks.size
    mask[:] = False
    mask[NOOP] = True
    for direction in range(NUM_MOVES):
        mask[MOVE_POS_X + direction] = can_move(blocks, player_ints, params, player, direction)
    infinite = params[state.PARAM_INFINITE_BLOCKS] != 0
    ex, ey, ez = eye_position(player_ints, player)
    x_low, x_high, y_low, y_high, z_low, z_high = reach_box(blocks, player_ints, params, player)
    teleportation = params[state.PARAM_TELEPORTATION] != 0
    num_players = params[state.PARAM_NUM_PLAYERS]
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
                    neighbour_break = break_action(cell_index(nx, ny, nz, height, depth), num_cells)
                    if place_valid and (not breakable or mask[neighbour_break]):
                        continue  # this face can make nothing valid that is not valid already
                    if teleportation or face_usable(blocks, player_ints, player, x, y, z, direction):
                        place_valid = True
                        if breakable:
                            mask[neighbour_break] = True
                if not place_valid:
                    continue
                if not teleportation and occupied_by_player(player_ints, num_players, x, y, z) >= 0:
                    continue
                cell = cell_index(x, y, z, height, depth)
                for slot in range(NUM_PLACEABLE):
                    if infinite or player_ints[player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
                        mask[place_action(slot, cell, num_cells)] = True
    if not infinite:
        for other in range(params[state.PARAM_NUM_PLAYERS]):
            if not can_give_to(blocks, player_ints, params, player, other):
                continue
            cell = feet_cell(blocks, player_ints, other)
            for slot in range(NUM_PLACEABLE):
                if player_ints[player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
                    mask[give_action(slot, cell, num_cells)] = True
