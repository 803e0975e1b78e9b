"""The goal-seeking scripted human, compiled so that ``mbag/Assist-v0`` stays fast.

Behaviour, each step, from the state it observes:

1. Find the lowest y layer that still differs from the goal and holds a *workable* cell:
   a wrong block that has an air face (to break), or an air cell that the goal fills and
   that has a solid neighbour (to place). Cells inside another player's body are skipped.
2. If some workable cell of that layer is valid to act on now, act on the one nearest to its
   eye (BREAK a wrong block, else PLACE the goal's block). The assistant's wrong blocks are
   broken like any other.
3. Otherwise walk (fly) toward the nearest workable cell: a breadth-first search over body
   positions finds the shortest path to a position whose eye is within
   :data:`APPROACH_DISTANCE` of the cell's centre, and the human takes its first step.
4. If it is already there and still cannot act (sight blocked), or no path exists, it takes a
   uniformly random valid move (from the world's own generator), which breaks such stalls.
5. When the world equals the goal it does NOOP.
"""

from __future__ import annotations

import numba
import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE, NUM_PLACEABLE
from mbag_env.core.actions import FIRST_PLACE, MOVE_DIRECTIONS, NOOP
from mbag_env.core.random import random_below
from mbag_env.core.rules import (
    EYE_HEIGHT,
    body_fits,
    can_break,
    can_move,
    can_place_any,
    has_neighbour_of_kind,
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

APPROACH_DISTANCE = 3.0
"""The human walks until its eye is this close to the centre of the cell it wants to work on."""


def human_scratch_size(world_size: tuple[int, int, int]) -> int:
    """Length of the int32 scratch row that :func:`goal_seeking_action` needs per world."""
    width, height, depth = world_size
    return 2 * width * height * depth + 2 * width * depth


@numba.njit(cache=True, _nrt=False)
def goal_seeking_action(
    blocks: np.ndarray,
    goal: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    env_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    scratch: np.ndarray,
) -> int:
    """The action of the goal-seeking human ``player`` in one world (see the module docstring).

    ``scratch`` is an int32 work array of :func:`human_scratch_size` entries.
    """
    width, height, depth = blocks.shape
    num_cells = width * height * depth
    num_players = params[PARAM_NUM_PLAYERS]
    infinite = params[PARAM_INFINITE_BLOCKS] != 0
    px = player_ints[player, PLAYER_X]
    py = player_ints[player, PLAYER_Y]
    pz = player_ints[player, PLAYER_Z]
    candidate_cells = scratch[2 * num_cells : 2 * num_cells + width * depth]
    # Squared eye-to-centre distances in hundredths of a cell², kept integral: the eye is at
    # (px + 0.5, py + 1.6, pz + 0.5), so 10 * offset is an integer on each axis.
    candidate_distances = scratch[2 * num_cells + width * depth : 2 * num_cells + 2 * width * depth]
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
                    if not infinite and player_ints[player, PLAYER_INVENTORY + goal_block] <= 0:
                        continue
                other = occupied_by_player(player_ints, num_players, x, y, z)
                if other >= 0 and other != player:
                    continue
                candidate_cells[count] = (x * height + y) * depth + z
                candidate_distances[count] = (
                    (10 * (x - px)) ** 2 + (10 * (y - py) - 11) ** 2 + (10 * (z - pz)) ** 2
                )
                count += 1
        if count == 0:
            continue
        nearest = _take_nearest(candidate_distances, count)
        target = candidate_cells[nearest]
        while nearest >= 0:
            cell = candidate_cells[nearest]
            x = cell // (height * depth)
            z = cell % depth
            if blocks[x, y, z] != AIR:
                if can_break(blocks, player_ints, params, player, x, y, z):
                    return FIRST_PLACE + NUM_PLACEABLE * num_cells + cell
            elif can_place_any(blocks, player_ints, params, player, x, y, z):
                slot = goal[x, y, z] - FIRST_PLACEABLE
                return FIRST_PLACE + slot * num_cells + cell
            nearest = _take_nearest(candidate_distances, count)
        if params[PARAM_TELEPORTATION] != 0:
            return NOOP
        step = _first_step_toward(blocks, player_ints, params, player, target, scratch)
        if step >= 0:
            return 1 + step
        return random_valid_move(blocks, player_ints, env_ints, params, player)
    return NOOP


@numba.njit(cache=True, _nrt=False)
def _take_nearest(distances: np.ndarray, count: int) -> int:
    """Index of the smallest of ``distances[:count]`` not yet taken (first on ties), or -1.

    Taken entries are marked with -1.
    """
    best = -1
    for index in range(count):
        if distances[index] >= 0 and (best < 0 or distances[index] < distances[best]):
            best = index
    if best >= 0:
        distances[best] = -1
    return best


@numba.njit(cache=True, _nrt=False)
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


@numba.njit(cache=True, _nrt=False)
def _first_step_toward(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, target: int, scratch: np.ndarray
) -> int:
    """First move direction of a shortest path to a position near ``target``; -1 if none.

    Breadth-first search over feet positions where the two body cells are air and free of
    other players. Returns -1 also when the player already stands at such a position.
    """
    width, height, depth = blocks.shape
    num_players = params[PARAM_NUM_PLAYERS]
    tx = target // (height * depth) + 0.5
    ty = (target // depth) % height + 0.5
    tz = target % depth + 0.5
    limit = APPROACH_DISTANCE * APPROACH_DISTANCE
    start_x = player_ints[player, PLAYER_X]
    start_y = player_ints[player, PLAYER_Y]
    start_z = player_ints[player, PLAYER_Z]
    if _near(start_x, start_y, start_z, tx, ty, tz, limit) and not _covers(start_x, start_y, start_z, target, height, depth):
        return -1
    num_cells = width * height * depth
    first_move = scratch[:num_cells]  # -2 unvisited, -1 start, else the first direction taken
    first_move[:] = -2
    queue = scratch[num_cells : 2 * num_cells]
    start = (start_x * height + start_y) * depth + start_z
    first_move[start] = -1
    queue[0] = start
    head = 0
    tail = 1
    while head < tail:
        cell = queue[head]
        head += 1
        x = cell // (height * depth)
        y = (cell // depth) % height
        z = cell % depth
        for direction in range(6):
            nx = x + MOVE_DIRECTIONS[direction, 0]
            ny = y + MOVE_DIRECTIONS[direction, 1]
            nz = z + MOVE_DIRECTIONS[direction, 2]
            if not body_fits(blocks, player_ints, num_players, player, nx, ny, nz):
                continue
            neighbour = (nx * height + ny) * depth + nz
            if first_move[neighbour] != -2:
                continue
            first_move[neighbour] = direction if first_move[cell] == -1 else first_move[cell]
            if _near(nx, ny, nz, tx, ty, tz, limit) and not _covers(nx, ny, nz, target, height, depth):
                return first_move[neighbour]
            queue[tail] = neighbour
            tail += 1
    return -1


@numba.njit(cache=True, inline="always", _nrt=False)
def _near(x: int, y: int, z: int, tx: float, ty: float, tz: float, limit: float) -> bool:
    return (x + 0.5 - tx) ** 2 + (y + EYE_HEIGHT - ty) ** 2 + (z + 0.5 - tz) ** 2 <= limit


@numba.njit(cache=True, inline="always", _nrt=False)
def _covers(x: int, y: int, z: int, target: int, height: int, depth: int) -> bool:
    feet = (x * height + y) * depth + z
    return target == feet or target == feet + depth
