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

APPROACH_DISTANCE = 3.0
"""The human walks until its eye is this close to the centre of the cell it wants to work on."""


@numba.njit(cache=True)
def goal_seeking_action(
    blocks: np.ndarray,
    goal: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    env_ints: np.ndarray,
    params: np.ndarray,
    player: int,
) -> int:
    """The action of the goal-seeking human ``player`` in one world (see the module docstring)."""
    width, height, depth = blocks.shape
    num_cells = width * height * depth
    num_players = params[PARAM_NUM_PLAYERS]
    infinite = params[PARAM_INFINITE_BLOCKS] != 0
    ex = player_ints[player, PLAYER_X] + 0.5
    ey = player_ints[player, PLAYER_Y] + EYE_HEIGHT
    ez = player_ints[player, PLAYER_Z] + 0.5
    candidate_cells = np.empty(width * depth, dtype=np.int64)
    candidate_distances = np.empty(width * depth, dtype=np.float64)
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
                    if not IS_BREAKABLE[block] or not _has_neighbour(blocks, x, y, z, True):
                        continue
                else:
                    if not _has_neighbour(blocks, x, y, z, False):
                        continue
                    if not infinite and player_ints[player, PLAYER_INVENTORY + goal_block] <= 0:
                        continue
                other = occupied_by_player(player_ints, num_players, x, y, z)
                if other >= 0 and other != player:
                    continue
                candidate_cells[count] = (x * height + y) * depth + z
                candidate_distances[count] = (x + 0.5 - ex) ** 2 + (y + 0.5 - ey) ** 2 + (z + 0.5 - ez) ** 2
                count += 1
        if count == 0:
            continue
        order = np.argsort(candidate_distances[:count])
        for k in range(count):
            cell = candidate_cells[order[k]]
            x = cell // (height * depth)
            z = cell % depth
            if blocks[x, y, z] != AIR:
                if can_break(blocks, player_ints, params, player, x, y, z):
                    return FIRST_PLACE + NUM_PLACEABLE * num_cells + cell
            elif can_place_any(blocks, player_ints, params, player, x, y, z):
                slot = goal[x, y, z] - FIRST_PLACEABLE
                return FIRST_PLACE + slot * num_cells + cell
        if params[PARAM_TELEPORTATION] != 0:
            return NOOP
        target = candidate_cells[order[0]]
        step = _first_step_toward(blocks, player_ints, params, player, target)
        if step >= 0:
            return 1 + step
        return random_valid_move(blocks, player_ints, env_ints, params, player)
    return NOOP


@numba.njit(cache=True)
def random_valid_move(
    blocks: np.ndarray, player_ints: np.ndarray, env_ints: np.ndarray, params: np.ndarray, player: int
) -> int:
    """A uniformly random valid MOVE action, or NOOP when the player cannot move."""
    valid = np.empty(6, dtype=np.int64)
    count = 0
    for direction in range(6):
        if can_move(blocks, player_ints, params, player, direction):
            valid[count] = direction
            count += 1
    if count == 0:
        return NOOP
    return 1 + valid[random_below(env_ints, count)]


@numba.njit(cache=True)
def _has_neighbour(blocks: np.ndarray, x: int, y: int, z: int, want_air: bool) -> bool:
    """True when some in-world neighbour is air (``want_air``) or solid (otherwise)."""
    for direction in range(6):
        nx = x + MOVE_DIRECTIONS[direction, 0]
        ny = y + MOVE_DIRECTIONS[direction, 1]
        nz = z + MOVE_DIRECTIONS[direction, 2]
        if in_world(blocks, nx, ny, nz) and (blocks[nx, ny, nz] == AIR) == want_air:
            return True
    return False


@numba.njit(cache=True)
def _first_step_toward(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, target: int
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
    first_move = np.full(num_cells, -2, dtype=np.int64)  # -2 unvisited, -1 start, else direction
    queue = np.empty(num_cells, dtype=np.int64)
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


@numba.njit(cache=True, inline="always")
def _near(x: int, y: int, z: int, tx: float, ty: float, tz: float, limit: float) -> bool:
    return (x + 0.5 - tx) ** 2 + (y + EYE_HEIGHT - ty) ** 2 + (z + 0.5 - tz) ** 2 <= limit


@numba.njit(cache=True, inline="always")
def _covers(x: int, y: int, z: int, target: int, height: int, depth: int) -> bool:
    feet = (x * height + y) * depth + z
    return target == feet or target == feet + depth
