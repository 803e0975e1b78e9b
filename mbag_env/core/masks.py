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
from mbag_env.core import actions, state
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
    SIGHT_CELLS,
    SIGHT_COUNT,
    SIGHT_RADIUS,
    SIGHT_START,
    can_break,
    can_give_to,
    can_move,
    can_place_any,
    eye_position,
    face_usable,
    feet_cell,
    feet_position,
    in_world,
    occupied_by_player,
    reach_box,
)

CELL_REACH_SQUARED = (REACH + 0.5 + 1e-6) ** 2
"""Without teleportation only cells whose centre is within ``REACH + 0.5`` of the eye can be placed
at or broken (a usable face's centre is within ``REACH`` of the eye and 0.5 from its cell's
centre); the margin keeps rounding from ever culling a cell that counts."""


@kernel(inline="always")
def beyond_cell_reach(x: int, y: int, z: int, ex: float, ey: float, ez: float) -> bool:
    """Whether cell ``(x, y, z)``'s centre is farther than :data:`CELL_REACH_SQUARED` allows from
    the eye at ``(ex, ey, ez)``: without teleportation nobody there can place at or break it."""
    to_x = x + 0.5 - ex
    to_y = y + 0.5 - ey
    to_z = z + 0.5 - ez
    return to_x * to_x + to_y * to_y + to_z * to_z > CELL_REACH_SQUARED


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
    for x in range(x_low, x_high):
        for y in range(y_low, y_high):
            for z in range(z_low, z_high):
                if blocks[x, y, z] != AIR or solid_neighbours[x, y, z] == 0:
                    continue
                if not teleportation and beyond_cell_reach(x, y, z, ex, ey, ez):
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


def build_sight_inverse(
    start: np.ndarray, count: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invert the sight table (:func:`~mbag_env.core.rules.build_sight_table`): for every cell
    offset ``o`` from the feet, the faces whose sight line crosses it.

    Returns ``(first, number, faces)``: the faces crossing offset ``o`` are
    ``faces[first[o'] : first[o'] + number[o']]`` with ``o' = o + SIGHT_RADIUS`` per axis, each row
    ``(i, j, k, direction)`` in the sight table's indexing (the face's cell at offset
    ``(i, j, k) - SIGHT_RADIUS`` from the feet).
    """
    size = count.shape[0]
    in_reach = count >= 0
    face_keys = np.argwhere(in_reach)  # (faces, 4) rows (i, j, k, direction), C order
    counts = count[in_reach].astype(np.int64)
    face_of_entry = np.repeat(np.arange(len(counts)), counts)
    position_in_face = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    crossed = cells[np.repeat(start[in_reach], counts) + position_in_face].astype(np.int64) + SIGHT_RADIUS
    offset_key = np.ravel_multi_index((crossed[:, 0], crossed[:, 1], crossed[:, 2]), (size, size, size))
    order = np.argsort(offset_key, kind="stable")
    number = np.bincount(offset_key, minlength=size**3)
    first = np.cumsum(number) - number
    faces = face_keys[face_of_entry[order]].astype(np.int8)
    shape = (size, size, size)
    return first.reshape(shape).astype(np.int32), number.reshape(shape).astype(np.int32), faces


CROSSING_FIRST, CROSSING_NUMBER, CROSSING_FACES = build_sight_inverse(SIGHT_START, SIGHT_COUNT, SIGHT_CELLS)
"""The inverted sight table (:func:`build_sight_inverse`): which faces' sight lines cross a cell."""

LOCAL_UPDATE_MAX_CELLS = 96
"""Above this many cells to refresh, :func:`refresh_action_mask` recomputes the whole mask (a
change next to the eye crosses the sight lines of most faces in reach)."""


def mask_scratch_size(num_cells: int) -> int:
    """Length of the int32 scratch array :func:`refresh_action_mask` takes for a world of
    ``num_cells`` cells (zeros to start with; the caller keeps it between calls)."""
    return num_cells + LOCAL_UPDATE_MAX_CELLS + 1


@kernel()
def refresh_mask_cell(
    mask: np.ndarray, blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, cell: int
) -> None:
    """Set the PLACE and BREAK entries of ``cell`` in ``player``'s mask from the rules'
    :func:`~mbag_env.core.rules.can_place_any` and :func:`~mbag_env.core.rules.can_break` (every
    slot alike: infinite blocks)."""
    _, height, depth = blocks.shape
    num_cells = blocks.size
    x, y, z = actions.cell_coordinates(cell, height, depth)
    place_valid = can_place_any(blocks, player_ints, params, player, x, y, z)
    for slot in range(NUM_PLACEABLE):
        mask[place_action(slot, cell, num_cells)] = place_valid
    mask[break_action(cell, num_cells)] = can_break(blocks, player_ints, params, player, x, y, z)


@kernel()
def _mark(blocks: np.ndarray, x: int, y: int, z: int, scratch: np.ndarray, stamp: int, tail: int) -> int:
    """Queue cell ``(x, y, z)`` for a refresh unless it is outside the world or already queued in
    this call (``scratch[cell] == stamp``); return the new queue length (one past the queue's room
    once it overflows)."""
    if not in_world(blocks, x, y, z):
        return tail
    _, height, depth = blocks.shape
    cell = cell_index(x, y, z, height, depth)
    if scratch[cell] == stamp:
        return tail
    scratch[cell] = stamp
    if tail < LOCAL_UPDATE_MAX_CELLS:
        scratch[blocks.size + tail] = cell
    return tail + 1


@kernel()
def _mark_changed_block(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    player: int,
    cell: int,
    scratch: np.ndarray,
    stamp: int,
    tail: int,
) -> int:
    """Queue the cells whose PLACE/BREAK entries a block appearing or vanishing at ``cell`` can
    change: the cell, its face neighbours, and both sides of every air-to-solid face whose sight
    line crosses it."""
    _, height, depth = blocks.shape
    x, y, z = actions.cell_coordinates(cell, height, depth)
    tail = _mark(blocks, x, y, z, scratch, stamp, tail)
    for direction in range(6):
        tail = _mark(
            blocks,
            x + MOVE_DIRECTIONS[direction, 0],
            y + MOVE_DIRECTIONS[direction, 1],
            z + MOVE_DIRECTIONS[direction, 2],
            scratch,
            stamp,
            tail,
        )
    px, py, pz = feet_position(player_ints, player)
    oi, oj, ok = x - px + SIGHT_RADIUS, y - py + SIGHT_RADIUS, z - pz + SIGHT_RADIUS
    size = CROSSING_NUMBER.shape[0]
    if not (0 <= oi < size and 0 <= oj < size and 0 <= ok < size):
        return tail
    first = CROSSING_FIRST[oi, oj, ok]
    for row in range(first, first + CROSSING_NUMBER[oi, oj, ok]):
        ax = px + CROSSING_FACES[row, 0] - SIGHT_RADIUS
        ay = py + CROSSING_FACES[row, 1] - SIGHT_RADIUS
        az = pz + CROSSING_FACES[row, 2] - SIGHT_RADIUS
        direction = CROSSING_FACES[row, 3]
        bx = ax + MOVE_DIRECTIONS[direction, 0]
        by = ay + MOVE_DIRECTIONS[direction, 1]
        bz = az + MOVE_DIRECTIONS[direction, 2]
        # Only a face between air and a solid block makes anything valid; whether there is one
        # here did not change unless the changed cell is a side of it (queued above).
        if not (in_world(blocks, ax, ay, az) and in_world(blocks, bx, by, bz)):
            continue
        if blocks[ax, ay, az] != AIR or blocks[bx, by, bz] == AIR:
            continue
        tail = _mark(blocks, ax, ay, az, scratch, stamp, tail)
        tail = _mark(blocks, bx, by, bz, scratch, stamp, tail)
        if tail > LOCAL_UPDATE_MAX_CELLS:
            return tail
    return tail


@kernel()
def refresh_action_mask(
    mask: np.ndarray,
    blocks: np.ndarray,
    solid_neighbours: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    scratch: np.ndarray,
) -> None:
    """Bring ``mask``, ``player``'s exact mask before the step just resolved, up to date.

    Exact, as :func:`write_action_mask` afresh: the mask is a function of the blocks, the players'
    positions and ``player``'s inventory, so the step's effects (each player's last action, when
    valid) say what can have changed. When no action took effect (NOOPs, invalid actions) the
    mask is left as it is. With teleportation, finite blocks (inventories, GIVE), or when
    ``player`` itself moved, the whole mask is written afresh. Otherwise only the entries the
    effects can change are recomputed: the moves; PLACE at the cells another player left or entered
    (a player occupies a cell); and PLACE/BREAK around each placed or broken block and at both
    sides of every face whose sight line crosses it (:data:`CROSSING_FACES`). A step with more
    than :data:`LOCAL_UPDATE_MAX_CELLS` cells to refresh is written afresh too. ``scratch`` is an
    int32 array of :func:`mask_scratch_size` entries, zeros at first, kept by the caller.
    """
    num_players = params[state.PARAM_NUM_PLAYERS]
    num_cells = blocks.size
    took_effect = False
    for other in range(num_players):
        if (
            player_ints[other, state.PLAYER_LAST_VALID] != 0
            and player_ints[other, state.PLAYER_LAST_ACTION] != NOOP
        ):
            took_effect = True
    if not took_effect:
        return  # NOOPs and invalid actions change nothing the mask depends on
    full = params[state.PARAM_TELEPORTATION] != 0 or params[state.PARAM_INFINITE_BLOCKS] == 0
    own_action = player_ints[player, state.PLAYER_LAST_ACTION]
    if player_ints[player, state.PLAYER_LAST_VALID] != 0 and own_action != NOOP:
        kind, _, _ = actions.decode_action(own_action, num_cells)
        full = full or kind == actions.KIND_MOVE
    if full:
        write_action_mask(mask, blocks, solid_neighbours, player_ints, params, player)
        return
    # Cells queued in this call are stamped with the call's number instead of clearing a flag
    # array each call; the counter lives in the scratch's last entry.
    stamp = scratch[-1] + 1
    if stamp >= 2**31 - 1:
        scratch[:] = 0
        stamp = 1
    scratch[-1] = stamp
    tail = 0
    for other in range(num_players):
        action = player_ints[other, state.PLAYER_LAST_ACTION]
        if player_ints[other, state.PLAYER_LAST_VALID] == 0 or action == NOOP:
            continue
        kind, argument, cell = actions.decode_action(action, num_cells)
        if kind == actions.KIND_PLACE or kind == actions.KIND_BREAK:
            tail = _mark_changed_block(blocks, player_ints, player, cell, scratch, stamp, tail)
        elif kind == actions.KIND_MOVE:
            x, y, z = feet_position(player_ints, other)
            ox = x - MOVE_DIRECTIONS[argument, 0]
            oy = y - MOVE_DIRECTIONS[argument, 1]
            oz = z - MOVE_DIRECTIONS[argument, 2]
            for dy in range(2):  # feet and head, after and before the move
                tail = _mark(blocks, x, y + dy, z, scratch, stamp, tail)
                tail = _mark(blocks, ox, oy + dy, oz, scratch, stamp, tail)
        if tail > LOCAL_UPDATE_MAX_CELLS:
            break
    if tail > LOCAL_UPDATE_MAX_CELLS:
        write_action_mask(mask, blocks, solid_neighbours, player_ints, params, player)
        return
    for direction in range(NUM_MOVES):
        mask[MOVE_POS_X + direction] = can_move(blocks, player_ints, params, player, direction)
    _, height, depth = blocks.shape
    ex, ey, ez = eye_position(player_ints, player)
    for index in range(tail):
        cell = scratch[num_cells + index]
        x, y, z = actions.cell_coordinates(cell, height, depth)
        if beyond_cell_reach(x, y, z, ex, ey, ez):
            # Beyond reach its entries were False and stay so (the viewer has not moved): leave
            # them unread, which spares the cache misses of the eight scattered entries.
            continue
        refresh_mask_cell(mask, blocks, player_ints, params, player, cell)
