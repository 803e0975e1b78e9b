"""The rules of the game: reach, sight, and the validity and effect of every action.

All functions work on one world (the env axis already indexed) and are compiled with numba.
Validation and the action mask (:mod:`.masks`) share :func:`face_usable`, so a mask can never
disagree with what a step does.

Geometry (SPEC §3): a player's eye is at ``feet + (0.5, 1.6, 0.5)``. A face is usable when its
centre is within :data:`REACH` of the eye and the segment from the eye to the centre is
*clear*: it passes through the interior of no solid cell (grazing a face, edge or corner does
not count, with a tolerance of :data:`SEGMENT_TOLERANCE` on the segment parameter). Players
never block sight.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE
from mbag_env.core import state
from mbag_env.core.actions import (
    KIND_BREAK,
    KIND_MOVE,
    KIND_NOOP,
    KIND_OUT_OF_RANGE,
    KIND_PLACE,
    MOVE_DIRECTIONS,
    cell_coordinates,
    cell_index,
    decode_action,
)
from mbag_env.core.jit import kernel
from mbag_env.core.reward import cell_cost

REACH = 4.5
REACH_SQUARED = REACH * REACH
EYE_HEIGHT = 1.6
SEGMENT_TOLERANCE = 1e-9

MAX_ACT_DISTANCE_SQUARED = math.ceil(REACH + 0.5 + (EYE_HEIGHT - 1.5)) ** 2
"""A quick bound (36) for skipping cells: no face of a cell whose centre is farther than
``sqrt`` of this from the centre of a player's head cell (feet + (0, 1, 0)) is within reach (a
face centre is 0.5 from its cell's centre, the eye ``EYE_HEIGHT - 1.5`` above the head cell's)."""


@kernel(inline="always")
def feet_position(player_ints: np.ndarray, player: int) -> tuple[int, int, int]:
    """The player's feet cell ``(x, y, z)`` (its head is the cell above)."""
    return (
        player_ints[player, state.PLAYER_X],
        player_ints[player, state.PLAYER_Y],
        player_ints[player, state.PLAYER_Z],
    )


@kernel(inline="always")
def feet_cell(blocks: np.ndarray, player_ints: np.ndarray, player: int) -> int:
    """The C-order index (:func:`~mbag_env.core.actions.cell_index`) of the player's feet cell."""
    x, y, z = feet_position(player_ints, player)
    _, height, depth = blocks.shape
    return cell_index(x, y, z, height, depth)


@kernel(inline="always")
def eye_position(player_ints: np.ndarray, player: int) -> tuple[float, float, float]:
    """The player's eye: its feet cell's corner + ``(0.5, EYE_HEIGHT, 0.5)``."""
    x, y, z = feet_position(player_ints, player)
    return x + 0.5, y + EYE_HEIGHT, z + 0.5


@kernel(inline="always")
def reach_box(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int
) -> tuple[int, int, int, int, int, int]:
    """``(x_low, x_high, y_low, y_high, z_low, z_high)``, half-open: the cells the player may place
    at or break (all cells with teleportation; else those within ``REACH + 1`` of the eye, since a
    usable face's centre is within ``REACH`` of it)."""
    width, height, depth = blocks.shape
    if params[state.PARAM_TELEPORTATION] != 0:
        return 0, width, 0, height, 0, depth
    ex, ey, ez = eye_position(player_ints, player)
    return (
        max(0, int(math.floor(ex - REACH - 1))),
        min(width, int(math.floor(ex + REACH + 1)) + 1),
        max(0, int(math.floor(ey - REACH - 1))),
        min(height, int(math.floor(ey + REACH + 1)) + 1),
        max(0, int(math.floor(ez - REACH - 1))),
        min(depth, int(math.floor(ez + REACH + 1)) + 1),
    )


# Results of apply_action: what the action did.
EFFECT_NONE = 0
EFFECT_MOVE = 1
EFFECT_PLACE = 2
EFFECT_BREAK = 3
EFFECT_GIVE = 4


@numba.njit(cache=True)
def segment_cells(ex: float, ey: float, ez: float, tx: float, ty: float, tz: float, out: np.ndarray) -> int:
    """List the cells whose interior the segment eye→target passes through; return how many.

    Exact voxel traversal (Amanatides & Woo): visit cells in order of the segment parameter
    t and keep those where the segment spends more than ``SEGMENT_TOLERANCE`` of t. Where the
    segment crosses an edge or corner, all axes that cross at (nearly) the same t step
    together, so cells it only grazes are never listed. ``out`` is ``(K, 3)`` int, large
    enough for the segment (``K >= |dx| + |dy| + |dz| + 3``).
    """
    dx = tx - ex
    dy = ty - ey
    dz = tz - ez
    # A segment lying in a cell-boundary plane crosses no cell's interior.
    if (
        (dx == 0 and ex == math.floor(ex))
        or (dy == 0 and ey == math.floor(ey))
        or (dz == 0 and ez == math.floor(ez))
    ):
        return 0
    # Starting on a boundary while moving toward -axis, the segment is in the cell below it.
    cx = int(math.ceil(ex)) - 1 if dx < 0 else int(math.floor(ex))
    cy = int(math.ceil(ey)) - 1 if dy < 0 else int(math.floor(ey))
    cz = int(math.ceil(ez)) - 1 if dz < 0 else int(math.floor(ez))
    inf = math.inf
    step_x = 1 if dx > 0 else (-1 if dx < 0 else 0)
    step_y = 1 if dy > 0 else (-1 if dy < 0 else 0)
    step_z = 1 if dz > 0 else (-1 if dz < 0 else 0)
    delta_x = abs(1.0 / dx) if dx != 0 else inf
    delta_y = abs(1.0 / dy) if dy != 0 else inf
    delta_z = abs(1.0 / dz) if dz != 0 else inf
    next_x = ((cx + (1 if dx > 0 else 0)) - ex) / dx if dx != 0 else inf
    next_y = ((cy + (1 if dy > 0 else 0)) - ey) / dy if dy != 0 else inf
    next_z = ((cz + (1 if dz > 0 else 0)) - ez) / dz if dz != 0 else inf
    t_enter = 0.0
    count = 0
    while True:
        t_next = min(next_x, next_y, next_z)
        t_exit = min(t_next, 1.0)
        if t_exit - t_enter > SEGMENT_TOLERANCE:
            out[count, 0] = cx
            out[count, 1] = cy
            out[count, 2] = cz
            count += 1
        if t_exit >= 1.0 - SEGMENT_TOLERANCE:
            return count
        if next_x <= t_next + SEGMENT_TOLERANCE:
            cx += step_x
            next_x += delta_x
        if next_y <= t_next + SEGMENT_TOLERANCE:
            cy += step_y
            next_y += delta_y
        if next_z <= t_next + SEGMENT_TOLERANCE:
            cz += step_z
            next_z += delta_z
        t_enter = t_next


@numba.njit(cache=True)
def segment_clear(
    blocks: np.ndarray, ex: float, ey: float, ez: float, tx: float, ty: float, tz: float
) -> bool:
    """True when the segment eye→target crosses the interior of no solid (non-air) cell."""
    cells = np.empty((int(abs(tx - ex) + abs(ty - ey) + abs(tz - ez)) + 4, 3), dtype=np.int64)
    for k in range(segment_cells(ex, ey, ez, tx, ty, tz, cells)):
        x, y, z = cells[k, 0], cells[k, 1], cells[k, 2]
        if 0 <= x < blocks.shape[0] and 0 <= y < blocks.shape[1] and 0 <= z < blocks.shape[2]:
            if blocks[x, y, z] != AIR:
                return False
    return True


SIGHT_RADIUS = 6
"""Sight lines are tabulated for cells within this many cells of the feet on each axis."""


@numba.njit(cache=True)
def build_sight_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tabulate, for every face near a player, its reach and the cells its sight line crosses.

    A face is given by the offset ``r`` of its cell from the player's feet (each component
    in ``[-SIGHT_RADIUS, SIGHT_RADIUS]``) and a direction. The eye sits at the same place in
    its cell for every player, so the cells that the segment from the eye to the face centre
    passes through depend only on ``(r, direction)``: the table stores them (relative to the
    feet) once, computed by :func:`segment_cells`. Returns ``(start, count, cells)`` with
    ``count = -1`` for faces out of reach.
    """
    size = 2 * SIGHT_RADIUS + 1
    start = np.zeros((size, size, size, 6), dtype=np.int32)
    count = np.full((size, size, size, 6), -1, dtype=np.int32)
    cells = np.zeros((size * size * size * 6 * 4, 3), dtype=np.int8)
    scratch = np.empty((64, 3), dtype=np.int64)
    ex, ey, ez = 0.5, EYE_HEIGHT, 0.5
    total = 0
    for i in range(size):
        for j in range(size):
            for k in range(size):
                for direction in range(6):
                    fx = i - SIGHT_RADIUS + 0.5 + 0.5 * MOVE_DIRECTIONS[direction, 0]
                    fy = j - SIGHT_RADIUS + 0.5 + 0.5 * MOVE_DIRECTIONS[direction, 1]
                    fz = k - SIGHT_RADIUS + 0.5 + 0.5 * MOVE_DIRECTIONS[direction, 2]
                    if (fx - ex) ** 2 + (fy - ey) ** 2 + (fz - ez) ** 2 > REACH_SQUARED:
                        continue
                    n = segment_cells(ex, ey, ez, fx, fy, fz, scratch)
                    if total + n > cells.shape[0]:
                        cells = np.concatenate((cells, np.zeros_like(cells)))
                    start[i, j, k, direction] = total
                    count[i, j, k, direction] = n
                    cells[total : total + n] = scratch[:n]
                    total += n
    return start, count, cells[:total].copy()


SIGHT_START, SIGHT_COUNT, SIGHT_CELLS = build_sight_table()


@kernel(inline="always")
def in_world(blocks: np.ndarray, x: int, y: int, z: int) -> bool:
    """True when ``(x, y, z)`` is a cell of the world."""
    return 0 <= x < blocks.shape[0] and 0 <= y < blocks.shape[1] and 0 <= z < blocks.shape[2]


@kernel()
def face_usable(
    blocks: np.ndarray, player_ints: np.ndarray, player: int, ax: int, ay: int, az: int, direction: int
) -> bool:
    """True when ``player`` can reach and see the face of cell ``a`` in ``MOVE_DIRECTIONS[direction]``.

    Reach: the face centre is within :data:`REACH` of the eye. Sight: the segment from the
    eye to the centre crosses no solid cell's interior. Both come from the sight table, which
    :func:`segment_cells` computed exactly once per relative face position.
    """
    px, py, pz = feet_position(player_ints, player)
    i = ax - px + SIGHT_RADIUS
    j = ay - py + SIGHT_RADIUS
    k = az - pz + SIGHT_RADIUS
    size = 2 * SIGHT_RADIUS + 1
    if not (0 <= i < size and 0 <= j < size and 0 <= k < size):
        return False
    count = SIGHT_COUNT[i, j, k, direction]
    if count < 0:
        return False
    first = SIGHT_START[i, j, k, direction]
    for index in range(first, first + count):
        x = px + SIGHT_CELLS[index, 0]
        y = py + SIGHT_CELLS[index, 1]
        z = pz + SIGHT_CELLS[index, 2]
        if in_world(blocks, x, y, z) and blocks[x, y, z] != AIR:
            return False
    return True


@kernel(inline="always")
def has_neighbour_of_kind(blocks: np.ndarray, x: int, y: int, z: int, air: bool) -> bool:
    """True when some in-world face neighbour of ``(x, y, z)`` is air (``air``) or solid (not ``air``)."""
    width, height, depth = blocks.shape
    if x + 1 < width and (blocks[x + 1, y, z] == AIR) == air:
        return True
    if x > 0 and (blocks[x - 1, y, z] == AIR) == air:
        return True
    if y + 1 < height and (blocks[x, y + 1, z] == AIR) == air:
        return True
    if y > 0 and (blocks[x, y - 1, z] == AIR) == air:
        return True
    if z + 1 < depth and (blocks[x, y, z + 1] == AIR) == air:
        return True
    return z > 0 and (blocks[x, y, z - 1] == AIR) == air


@kernel(inline="always")
def opposite(direction: int) -> int:
    """Index of the opposite direction in ``MOVE_DIRECTIONS`` (+x <-> -x, ...)."""
    return direction ^ 1


@kernel(inline="always")
def occupied_by_player(player_ints: np.ndarray, num_players: int, x: int, y: int, z: int) -> int:
    """Index of the player whose feet or head is at ``(x, y, z)``, or -1."""
    for player in range(num_players):
        px, py, pz = feet_position(player_ints, player)
        if px == x and pz == z and (py == y or py + 1 == y):
            return player
    return -1


@kernel()
def can_place_any(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, x: int, y: int, z: int
) -> bool:
    """PLACE validity at ``(x, y, z)`` ignoring the inventory (SPEC §3).

    The cell must be air and free of players, and some in-world solid neighbour must offer a
    face that the player can reach and see (any solid neighbour with teleportation).
    """
    if not in_world(blocks, x, y, z) or blocks[x, y, z] != AIR:
        return False
    teleportation = params[state.PARAM_TELEPORTATION] != 0
    if not teleportation and occupied_by_player(player_ints, params[state.PARAM_NUM_PLAYERS], x, y, z) >= 0:
        return False
    for direction in range(6):
        nx = x + MOVE_DIRECTIONS[direction, 0]
        ny = y + MOVE_DIRECTIONS[direction, 1]
        nz = z + MOVE_DIRECTIONS[direction, 2]
        if in_world(blocks, nx, ny, nz) and blocks[nx, ny, nz] != AIR:
            if teleportation or face_usable(blocks, player_ints, player, x, y, z, direction):
                return True
    return False


@kernel()
def can_break(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, x: int, y: int, z: int
) -> bool:
    """BREAK validity at ``(x, y, z)`` (SPEC §3).

    The block must be breakable and have a face touching an in-world air cell that the player
    can reach and see (any such face with teleportation).
    """
    if not in_world(blocks, x, y, z) or not IS_BREAKABLE[blocks[x, y, z]]:
        return False
    teleportation = params[state.PARAM_TELEPORTATION] != 0
    for direction in range(6):
        ax = x + MOVE_DIRECTIONS[direction, 0]
        ay = y + MOVE_DIRECTIONS[direction, 1]
        az = z + MOVE_DIRECTIONS[direction, 2]
        if in_world(blocks, ax, ay, az) and blocks[ax, ay, az] == AIR:
            if teleportation or face_usable(blocks, player_ints, player, ax, ay, az, opposite(direction)):
                return True
    return False


@kernel()
def body_fits(
    blocks: np.ndarray, player_ints: np.ndarray, num_players: int, player: int, x: int, y: int, z: int
) -> bool:
    """True when ``player``'s body fits with feet at ``(x, y, z)``: both cells in the world,
    air, and not overlapping another player's body."""
    if not (in_world(blocks, x, y, z) and in_world(blocks, x, y + 1, z)):
        return False
    if blocks[x, y, z] != AIR or blocks[x, y + 1, z] != AIR:
        return False
    for other in range(num_players):
        if other == player:
            continue
        if (
            player_ints[other, state.PLAYER_X] == x
            and player_ints[other, state.PLAYER_Z] == z
            and abs(player_ints[other, state.PLAYER_Y] - y) <= 1
        ):
            return False
    return True


@kernel()
def can_move(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, direction: int
) -> bool:
    """MOVE validity: the body fits at the destination (see :func:`body_fits`).

    With teleportation positions do not matter and MOVE is never valid (as in the reference).
    """
    if params[state.PARAM_TELEPORTATION] != 0:
        return False
    x, y, z = feet_position(player_ints, player)
    return body_fits(
        blocks,
        player_ints,
        params[state.PARAM_NUM_PLAYERS],
        player,
        x + MOVE_DIRECTIONS[direction, 0],
        y + MOVE_DIRECTIONS[direction, 1],
        z + MOVE_DIRECTIONS[direction, 2],
    )


@kernel()
def give_recipient(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, x: int, y: int, z: int
) -> int:
    """The player who would receive a GIVE aimed at ``(x, y, z)``, or -1 if none may.

    The recipient is another player whose feet are at the cell, within one cell (Chebyshev)
    of the giver's feet unless teleportation is on.
    """
    for other in range(params[state.PARAM_NUM_PLAYERS]):
        if other == player:
            continue
        if (
            player_ints[other, state.PLAYER_X] == x
            and player_ints[other, state.PLAYER_Y] == y
            and player_ints[other, state.PLAYER_Z] == z
        ):
            if params[state.PARAM_TELEPORTATION] != 0:
                return other
            if (
                abs(x - player_ints[player, state.PLAYER_X]) <= 1
                and abs(y - player_ints[player, state.PLAYER_Y]) <= 1
                and abs(z - player_ints[player, state.PLAYER_Z]) <= 1
            ):
                return other
            return -1
    return -1


@kernel(inline="always")
def can_give_to(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, other: int
) -> bool:
    """Whether ``player`` may GIVE to ``other``: another player, and the one a GIVE aimed at its
    feet cell would reach (:func:`give_recipient`); the inventory is not checked."""
    if other == player:
        return False
    x, y, z = feet_position(player_ints, other)
    return give_recipient(blocks, player_ints, params, player, x, y, z) == other


@kernel()
def apply_action(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    player: int,
    action: int,
) -> tuple[int, int]:
    """Validate and carry out one player's action on one world.

    Returns ``(effect, edit_distance_drop)`` where ``effect`` is one of the ``EFFECT_*``
    constants (``EFFECT_NONE`` for NOOP and for invalid actions, which change nothing) and
    the drop is ``d(s) - d(s')`` (+1 for a correct place or break, -1 for an incorrect one).
    The caller has checked that ``action`` is in range.
    """
    _, height, depth = blocks.shape
    kind, argument, cell = decode_action(action, blocks.size)
    if kind == KIND_MOVE:
        if not can_move(blocks, player_ints, params, player, argument):
            return EFFECT_NONE, 0
        player_ints[player, state.PLAYER_X] += MOVE_DIRECTIONS[argument, 0]
        player_ints[player, state.PLAYER_Y] += MOVE_DIRECTIONS[argument, 1]
        player_ints[player, state.PLAYER_Z] += MOVE_DIRECTIONS[argument, 2]
        return EFFECT_MOVE, 0
    if kind == KIND_NOOP or kind == KIND_OUT_OF_RANGE:
        return EFFECT_NONE, 0  # out of range: the env classes reject it before it gets here
    x, y, z = cell_coordinates(cell, height, depth)
    infinite = params[state.PARAM_INFINITE_BLOCKS] != 0
    if kind == KIND_PLACE:
        block = FIRST_PLACEABLE + argument
        if not infinite and player_ints[player, state.PLAYER_INVENTORY + block] <= 0:
            return EFFECT_NONE, 0
        if not can_place_any(blocks, player_ints, params, player, x, y, z):
            return EFFECT_NONE, 0
        drop = _set_block(blocks, goal, layer_errors, solid_neighbours, x, y, z, block)
        last_interacted[x, y, z] = player + 1
        if not infinite:
            player_ints[player, state.PLAYER_INVENTORY + block] -= 1
        return EFFECT_PLACE, drop
    if kind == KIND_BREAK:
        if not can_break(blocks, player_ints, params, player, x, y, z):
            return EFFECT_NONE, 0
        block = blocks[x, y, z]
        drop = _set_block(blocks, goal, layer_errors, solid_neighbours, x, y, z, AIR)
        last_interacted[x, y, z] = player + 1
        if not infinite:
            player_ints[player, state.PLAYER_INVENTORY + block] += 1
        return EFFECT_BREAK, drop
    block = FIRST_PLACEABLE + argument
    if infinite or player_ints[player, state.PLAYER_INVENTORY + block] <= 0:
        return EFFECT_NONE, 0
    recipient = give_recipient(blocks, player_ints, params, player, x, y, z)
    if recipient < 0:
        return EFFECT_NONE, 0
    player_ints[player, state.PLAYER_INVENTORY + block] -= 1
    player_ints[recipient, state.PLAYER_INVENTORY + block] += 1
    return EFFECT_GIVE, 0


@kernel()
def _set_block(
    blocks: np.ndarray,
    goal: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    x: int,
    y: int,
    z: int,
    block: int,
) -> int:
    """Write a block and return the edit-distance drop, keeping the per-layer error counts and
    the neighbours' solid-neighbour counts (a place or break always flips solidity)."""
    before = blocks[x, y, z]
    goal_block = goal[x, y, z]
    blocks[x, y, z] = block
    layer_errors[y] += (block != goal_block) - (before != goal_block)
    change = 1 if block != AIR else -1
    for direction in range(6):
        nx = x + MOVE_DIRECTIONS[direction, 0]
        ny = y + MOVE_DIRECTIONS[direction, 1]
        nz = z + MOVE_DIRECTIONS[direction, 2]
        if in_world(blocks, nx, ny, nz):
            solid_neighbours[nx, ny, nz] += change
    return cell_cost(before, goal_block) - cell_cost(block, goal_block)


@kernel()
def count_solid_neighbours(blocks: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out`` the number of solid face neighbours of every cell of one world."""
    out[:, :, :] = 0
    for x in range(blocks.shape[0]):
        for y in range(blocks.shape[1]):
            for z in range(blocks.shape[2]):
                if blocks[x, y, z] == AIR:
                    continue
                for direction in range(6):
                    nx = x + MOVE_DIRECTIONS[direction, 0]
                    ny = y + MOVE_DIRECTIONS[direction, 1]
                    nz = z + MOVE_DIRECTIONS[direction, 2]
                    if in_world(blocks, nx, ny, nz):
                        out[nx, ny, nz] += 1
