"""The goal-seeking scripted human, compiled so that ``mbag/Assist-v0`` stays fast.

Behaviour, each step, from the state it observes:

1. Find the lowest y layer that still differs from the goal and holds a *workable* cell: a
   wrong block with an air face (to break), or an air cell that the goal fills and that has a
   solid neighbour (to place). Cells inside another player's body are skipped.
2. Act on the workable cell of that layer nearest to its eye that it can act on now: BREAK a
   wrong block (the assistant's included), else PLACE the goal's block. A placement that
   would shut the human in (no path left to a spot under open sky) is not taken, unless it
   finishes the house or the human is shut in already.
3. Otherwise fly toward the workable cells of that layer: a breadth-first search over body
   positions finds the shortest path to a spot from which the human could act on one of
   them (for a placement, a spot under open sky, so it builds roofs from above, not from
   inside, with the same two exceptions), and it takes the first step.
4. If no such spot can be reached for any cell of the layer, it goes on to the next layer up;
   if no layer has work it can reach, it takes a uniformly random valid move (from the world's
   own generator). When the world equals the goal it does NOOP.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE
from mbag_env.core import state
from mbag_env.core.actions import (
    MOVE_DIRECTIONS,
    NOOP,
    break_action,
    cell_coordinates,
    cell_index,
    place_action,
)
from mbag_env.core.jit import kernel
from mbag_env.core.random import random_below
from mbag_env.core.rules import (
    EYE_HEIGHT,
    MAX_ACT_DISTANCE_SQUARED,
    REACH,
    body_fits,
    can_break,
    can_move,
    can_place_any,
    feet_cell,
    feet_position,
    has_neighbour_of_kind,
    occupied_by_player,
)
from mbag_env.humans.world import HumanWorld

NO_CELL = -1


EYE_ABOVE_CENTRE_TENTHS = round(10 * (EYE_HEIGHT - 0.5))
"""How far the eye is above the centre of the feet cell, in tenths of a cell (11)."""

MAX_ACT_CENTRE_HUNDREDTHS = round(100 * (REACH + 0.5) ** 2)
"""The largest squared eye-to-centre distance, in hundredths of a cell² (2500), of a cell the human
can break or place without teleportation: a usable face is within ``REACH`` of the eye and 0.5
from its cell's centre. Candidates are tried nearest first, so the first one beyond it ends the
tries (the rules would refuse it and every farther one)."""


def human_scratch_size(world_size: tuple[int, int, int]) -> int:
    """Length of the int32 scratch row that :func:`goal_seeking_action` needs per world."""
    width, height, depth = world_size
    return 4 * width * height * depth + 2 * width * depth


@kernel()
def goal_seeking_action(world: HumanWorld, player: int, scratch: np.ndarray) -> int:
    """The action of the goal-seeking human ``player`` in one world (see the module docstring).

    ``scratch`` is an int32 work array of :func:`human_scratch_size` entries.
    """
    blocks, goal, player_ints, layer_errors, env_ints, params = world
    width, height, depth = blocks.shape
    num_cells = width * height * depth
    num_players = params[state.PARAM_NUM_PLAYERS]
    infinite = params[state.PARAM_INFINITE_BLOCKS] != 0
    teleportation = params[state.PARAM_TELEPORTATION] != 0
    px, py, pz = feet_position(player_ints, player)
    candidate_cells = scratch[4 * num_cells : 4 * num_cells + width * depth]
    # Squared eye-to-centre distances in hundredths of a cell², kept integral: the eye is at
    # (px + 0.5, py + EYE_HEIGHT, pz + 0.5), so 10 * offset is an integer on each axis.
    candidate_distances = scratch[4 * num_cells + width * depth : 4 * num_cells + 2 * width * depth]
    # Placements must leave the human a way out under open sky, unless it is already shut in
    # (then they cannot make it worse) or the placement finishes the house.
    finishing = env_ints[state.ENV_EDIT_DISTANCE] == 1
    keep_sky = not (
        teleportation
        or finishing
        or not _reaches_sky(blocks, player_ints, params, player, scratch, 0, px, py, pz, NO_CELL)
    )
    stuck = False
    for y in range(height):
        if layer_errors[y] == 0:
            continue
        count = 0
        for x in range(width):
            for z in range(depth):
                block = blocks[x, y, z]
                goal_block = goal[x, y, z]
                if block == goal_block:
                    continue
                if block != AIR:
                    if not IS_BREAKABLE[block] or not has_neighbour_of_kind(blocks, x, y, z, True):
                        continue
                else:
                    if not has_neighbour_of_kind(blocks, x, y, z, False):
                        continue
                    if not infinite and player_ints[player, state.PLAYER_INVENTORY + goal_block] <= 0:
                        continue
                other = occupied_by_player(player_ints, num_players, x, y, z)
                if other >= 0 and other != player:
                    continue
                candidate_cells[count] = cell_index(x, y, z, height, depth)
                candidate_distances[count] = (
                    (10 * (x - px)) ** 2
                    + (10 * (y - py) - EYE_ABOVE_CENTRE_TENTHS) ** 2
                    + (10 * (z - pz)) ** 2
                )
                count += 1
        if count == 0:
            continue
        # Without teleportation a candidate beyond reach (and every farther one) cannot be acted on.
        limit = -1 if teleportation else MAX_ACT_CENTRE_HUNDREDTHS
        nearest = _take_nearest(candidate_distances, count, limit)
        while nearest >= 0:
            action = _action_on(world, player, candidate_cells[nearest], scratch, keep_sky)
            if action >= 0:
                return action
            nearest = _take_nearest(candidate_distances, count, limit)
        if not teleportation:
            # Every candidate was tried from where the human stands: the search need not again.
            direction = path_to_work(
                blocks, player_ints, params, player, scratch, candidate_cells[:count], keep_sky, False
            )
            if 0 <= direction < 6:
                return 1 + direction
        # Nothing in this layer can be worked on from any spot the human can reach (say, the
        # last gap of a layer is boxed in): like a person, it goes on with the next layer.
        stuck = True
    if stuck and not teleportation:
        return random_valid_move(blocks, player_ints, env_ints, params, player)
    return NOOP


@kernel()
def _action_on(world: HumanWorld, player: int, cell: int, scratch: np.ndarray, keep_sky: bool) -> int:
    """The BREAK or PLACE the human would take on ``cell`` from where it stands, or -1; with
    ``keep_sky``, a placement must leave it a way to open sky."""
    blocks, _, player_ints, _, _, params = world
    _, height, depth = blocks.shape
    x, y, z = cell_coordinates(cell, height, depth)
    action = break_or_place(world, player, x, y, z)
    if action >= 0 and keep_sky and blocks[x, y, z] == AIR:
        px, py, pz = feet_position(player_ints, player)
        if not _keeps_sky(blocks, player_ints, params, player, scratch, px, py, pz, cell, 0):
            return -1
    return action


@kernel()
def break_or_place(world: HumanWorld, player: int, x: int, y: int, z: int) -> int:
    """The BREAK (of the block there) or PLACE (of the goal's block) that the human ``player``
    would take on ``(x, y, z)`` from where it stands, or -1 when the rules refuse it."""
    blocks, goal, player_ints, _, _, params = world
    _, height, depth = blocks.shape
    num_cells = blocks.size
    cell = cell_index(x, y, z, height, depth)
    if blocks[x, y, z] != AIR:
        if can_break(blocks, player_ints, params, player, x, y, z):
            return break_action(cell, num_cells)
        return -1
    if can_place_any(blocks, player_ints, params, player, x, y, z):
        return place_action(goal[x, y, z] - FIRST_PLACEABLE, cell, num_cells)
    return -1


@kernel()
def _keeps_sky(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    scratch: np.ndarray,
    x: int,
    y: int,
    z: int,
    cell: int,
    region: int,
) -> bool:
    """Whether a human at ``(x, y, z)`` could still reach open sky once ``cell`` is solid."""
    _, height, depth = blocks.shape
    if _under_open_sky(blocks, x, y, z) and not _above_head(x, y, z, cell, height, depth):
        return True
    return _reaches_sky(blocks, player_ints, params, player, scratch, region, x, y, z, cell)


@kernel()
def _reaches_sky(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    scratch: np.ndarray,
    region: int,
    start_x: int,
    start_y: int,
    start_z: int,
    extra_solid: int,
) -> bool:
    """Breadth-first search: can a human at ``start`` fly to a spot under open sky, with
    ``extra_solid`` (or ``NO_CELL``) treated as a block? Works in scratch ``region``."""
    _, height, depth = blocks.shape
    # The search's first position is the start: answer for it without setting up the search.
    if _under_open_sky(blocks, start_x, start_y, start_z) and (
        extra_solid == NO_CELL or not _above_head(start_x, start_y, start_z, extra_solid, height, depth)
    ):
        return True
    first_move, queue = start_search(
        scratch, blocks.size, region, cell_index(start_x, start_y, start_z, height, depth)
    )
    head = 0
    tail = 1
    while head < tail:
        position = queue[head]
        head += 1
        x, y, z = cell_coordinates(position, height, depth)
        if _under_open_sky(blocks, x, y, z) and (
            extra_solid == NO_CELL or not _above_head(x, y, z, extra_solid, height, depth)
        ):
            return True
        tail = push_neighbours(
            blocks, player_ints, params, player, first_move, queue, tail, position, extra_solid
        )
    return False


@kernel()
def path_to_work(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    scratch: np.ndarray,
    targets: np.ndarray,
    keep_sky: bool,
    check_start: bool = True,
) -> int:
    """Breadth-first search from ``player``'s feet for a spot from which it can act on one of
    ``targets`` (flat cells; with ``keep_sky``, a placement must leave it a way to open sky).
    Used by the scripted humans and by the Bayesian assistant (``keep_sky=False``). Without
    ``check_start`` the caller knows that the human can act on none of ``targets`` from where it
    stands (it tried them all), and the start is not checked.

    Returns the first move direction of a shortest path, 6 when it already stands on such a
    spot, or -1 when there is none. Works in scratch region 0 (region 1 for the nested sky
    checks); ``targets`` must lie beyond both regions.
    """
    _, height, depth = blocks.shape
    start = feet_cell(blocks, player_ints, player)
    first_move, queue = start_search(scratch, blocks.size, 0, start)
    head = 0
    tail = 1
    while head < tail:
        position = queue[head]
        head += 1
        x, y, z = cell_coordinates(position, height, depth)
        if check_start or position != start:
            for target in targets:
                if not can_act_from(blocks, player_ints, params, player, x, y, z, target):
                    continue
                tx, ty, tz = cell_coordinates(target, height, depth)
                if (
                    not keep_sky
                    or blocks[tx, ty, tz] != AIR
                    or _keeps_sky(blocks, player_ints, params, player, scratch, x, y, z, target, 1)
                ):
                    return first_move[position]
        tail = push_neighbours(
            blocks, player_ints, params, player, first_move, queue, tail, position, NO_CELL
        )
    return -1


@kernel()
def start_search(
    scratch: np.ndarray, num_cells: int, region: int, start: int
) -> tuple[np.ndarray, np.ndarray]:
    """The (first move, queue) arrays of scratch ``region`` (0 or 1), ``num_cells`` each, set up
    for a breadth-first search from position ``start``.

    ``first_move`` holds -2 for unvisited positions, 6 for the start, else the first move.
    """
    offset = 2 * region * num_cells
    first_move = scratch[offset : offset + num_cells]
    queue = scratch[offset + num_cells : offset + 2 * num_cells]
    first_move[:] = -2
    first_move[start] = 6
    queue[0] = start
    return first_move, queue


@kernel()
def push_neighbours(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    first_move: np.ndarray,
    queue: np.ndarray,
    tail: int,
    position: int,
    extra_solid: int,
) -> int:
    """Queue the unvisited body positions one move from ``position``; return the new tail."""
    _, height, depth = blocks.shape
    x, y, z = cell_coordinates(position, height, depth)
    for direction in range(6):
        nx = x + MOVE_DIRECTIONS[direction, 0]
        ny = y + MOVE_DIRECTIONS[direction, 1]
        nz = z + MOVE_DIRECTIONS[direction, 2]
        if not body_fits(blocks, player_ints, params[state.PARAM_NUM_PLAYERS], player, nx, ny, nz):
            continue
        neighbour = cell_index(nx, ny, nz, height, depth)
        if first_move[neighbour] != -2:
            continue
        if extra_solid != NO_CELL and (extra_solid == neighbour or extra_solid == neighbour + depth):
            continue
        first_move[neighbour] = direction if first_move[position] == 6 else first_move[position]
        queue[tail] = neighbour
        tail += 1
    return tail


@kernel()
def can_act_from(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    x: int,
    y: int,
    z: int,
    target: int,
) -> bool:
    """Whether the human, standing with feet at ``(x, y, z)``, could break or place ``target``."""
    _, height, depth = blocks.shape
    tx, ty, tz = cell_coordinates(target, height, depth)
    if (tx - x) ** 2 + (ty - y - 1) ** 2 + (tz - z) ** 2 > MAX_ACT_DISTANCE_SQUARED:
        return False  # too far for any face of the target to be within reach
    if params[state.PARAM_TELEPORTATION] == 0 and (
        (10 * (tx - x)) ** 2 + (10 * (ty - y) - EYE_ABOVE_CENTRE_TENTHS) ** 2 + (10 * (tz - z)) ** 2
        > MAX_ACT_CENTRE_HUNDREDTHS
    ):
        return False  # the tighter bound from the eye (MAX_ACT_CENTRE_HUNDREDTHS)
    saved_x, saved_y, saved_z = feet_position(player_ints, player)
    player_ints[player, state.PLAYER_X] = x
    player_ints[player, state.PLAYER_Y] = y
    player_ints[player, state.PLAYER_Z] = z
    if blocks[tx, ty, tz] == AIR:
        able = can_place_any(blocks, player_ints, params, player, tx, ty, tz)
    else:
        able = can_break(blocks, player_ints, params, player, tx, ty, tz)
    player_ints[player, state.PLAYER_X] = saved_x
    player_ints[player, state.PLAYER_Y] = saved_y
    player_ints[player, state.PLAYER_Z] = saved_z
    return able


@kernel()
def _under_open_sky(blocks: np.ndarray, x: int, y: int, z: int) -> bool:
    """True when every cell above the head of a body with feet at ``(x, y, z)`` is air."""
    for above in range(y + 2, blocks.shape[1]):
        if blocks[x, above, z] != AIR:
            return False
    return True


@kernel()
def _above_head(x: int, y: int, z: int, cell: int, height: int, depth: int) -> bool:
    """True when ``cell`` is in the column above the head of a body with feet at ``(x, y, z)``."""
    cx, cy, cz = cell_coordinates(cell, height, depth)
    return cx == x and cz == z and cy >= y + 2


@kernel()
def _take_nearest(distances: np.ndarray, count: int, limit: int) -> int:
    """Index of the smallest of ``distances[:count]`` not yet taken (first on ties), or -1 when
    none is left or (for ``limit >= 0``) the smallest exceeds ``limit``.

    Taken entries are marked with -1.
    """
    best = -1
    for index in range(count):
        if distances[index] >= 0 and (best < 0 or distances[index] < distances[best]):
            best = index
    if best < 0 or (limit >= 0 and distances[best] > limit):
        return -1
    distances[best] = -1
    return best


@kernel()
def random_valid_move(
    blocks: np.ndarray, player_ints: np.ndarray, env_ints: np.ndarray, params: np.ndarray, player: int
) -> int:
    """A uniformly random valid MOVE action, or NOOP when the player cannot move."""
    count = 0
    for direction in range(6):
        count += can_move(blocks, player_ints, params, player, direction)
    if count == 0:
        return NOOP
    choice = random_below(env_ints, count)
    for direction in range(6):
        if can_move(blocks, player_ints, params, player, direction):
            if choice == 0:
                return 1 + direction
            choice -= 1
    return NOOP
