"""The layer-by-layer scripted human: sweeps the lowest unfinished layer in a fixed scan order.

A simpler, more predictable builder than the goal-seeking human (:mod:`.goal_seeking`): it does
not look for the nearest work, it works through each layer like a printer head. Each step,
from the state it observes:

1. Take the lowest y layer that still differs from the goal.
2. Scan that layer in a fixed serpentine order: rows of increasing x, each row along z
   (increasing z on even x, decreasing on odd x). The *target* is the first *workable* cell:
   a wrong block with an air face (to break; the assistant's blocks included), or an air cell
   that the goal fills and that has a solid neighbour (to place; with finite blocks only if it
   holds the block). Cells inside another player's body are skipped.
3. If it can act on the target from where it stands, it does: BREAK a wrong block, else PLACE
   the goal's block.
4. Otherwise it flies along a shortest path (breadth-first search over body positions) to the
   nearest spot from which it could act on the target, and takes the first step.
5. Placements are made only from a spot under open sky (every cell above the head is air) and
   never into the column above its own head, so it cannot roof itself in; this is waived for
   the placement that finishes the house, and when no spot under open sky can be reached.
6. A target that no reachable spot can work on is passed over for the next cell in scan order
   (then the next layer's). If no target can be worked on at all it takes a uniformly random
   valid move (from the world's own generator); with teleportation it does NOOP instead. When
   the world equals the goal it does NOOP.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import AIR, IS_BREAKABLE
from mbag_env.core import state
from mbag_env.core.actions import MOVE_DIRECTIONS, NOOP, cell_coordinates, cell_index
from mbag_env.core.jit import kernel
from mbag_env.core.rules import (
    MAX_ACT_DISTANCE_SQUARED,
    body_fits,
    feet_cell,
    feet_position,
    has_neighbour_of_kind,
    occupied_by_player,
)
from mbag_env.humans.goal_seeking import break_or_place, can_act_from, random_valid_move
from mbag_env.humans.world import HumanWorld

UNVISITED = -1
START_MOVE = 6
"""The ``first move`` recorded for the search's start: the human acts where it stands."""


def layer_builder_scratch_size(world_size: tuple[int, int, int]) -> int:
    """Length of the int32 scratch row that :func:`layer_builder_action` needs per world (2 per cell)."""
    width, height, depth = world_size
    return 2 * width * height * depth


@kernel()
def layer_builder_action(world: HumanWorld, player: int, scratch: np.ndarray) -> int:
    """The action of the layer-by-layer human ``player`` in one world (see the module docstring).

    ``scratch`` is an int32 work array of at least :func:`layer_builder_scratch_size` entries.
    """
    blocks, _, player_ints, layer_errors, env_ints, params = world
    width, height, depth = blocks.shape
    num_cells = width * height * depth
    if scratch.shape[0] < 2 * num_cells:
        raise ValueError("layer_builder_action: the scratch row needs 2 entries per cell of the world")
    if env_ints[state.ENV_EDIT_DISTANCE] == 0:
        return NOOP
    teleportation = params[state.PARAM_TELEPORTATION] != 0
    # The sky rule (module docstring, point 5); switched off below if no sky spot is reachable.
    sky_rule = not (teleportation or env_ints[state.ENV_EDIT_DISTANCE] == 1)
    px, py, pz = feet_position(player_ints, player)
    visit = scratch[:num_cells]
    queue = scratch[num_cells : 2 * num_cells]
    searched = False
    for y in range(height):
        if layer_errors[y] == 0:
            continue
        for x in range(width):
            for step in range(depth):
                z = step if x % 2 == 0 else depth - 1 - step
                if not is_workable(world, player, x, y, z):
                    continue
                if not searched:
                    # Fast path: the human can act on the target from where it stands.
                    if (
                        not sky_rule
                        or blocks[x, y, z] != AIR
                        or _placement_spot_ok(blocks, px, py, pz, x, y, z)
                    ):
                        action = break_or_place(world, player, x, y, z)
                        if action >= 0:
                            return action
                    if teleportation:
                        continue
                    if not _search(world, player, visit, queue):
                        sky_rule = False
                    searched = True
                move = _best_move(world, player, visit, x, y, z, sky_rule)
                if move == START_MOVE:
                    return break_or_place(world, player, x, y, z)
                if move >= 0:
                    return 1 + move
    if teleportation:
        return NOOP
    return random_valid_move(blocks, player_ints, env_ints, params, player)


@kernel()
def is_workable(world: HumanWorld, player: int, x: int, y: int, z: int) -> bool:
    """Whether ``(x, y, z)`` is a cell a scripted human could work on (module docstring, point 2):
    a wrong breakable block with an air face, or an air cell the goal fills that has a solid
    neighbour (and whose block the human holds, with finite blocks); not inside another player."""
    blocks, goal, player_ints, _, _, params = world
    block = blocks[x, y, z]
    goal_block = goal[x, y, z]
    if block == goal_block:
        return False
    if block != AIR:
        if not IS_BREAKABLE[block] or not has_neighbour_of_kind(blocks, x, y, z, True):
            return False
    else:
        if not has_neighbour_of_kind(blocks, x, y, z, False):
            return False
        if (
            params[state.PARAM_INFINITE_BLOCKS] == 0
            and player_ints[player, state.PLAYER_INVENTORY + goal_block] <= 0
        ):
            return False
    other = occupied_by_player(player_ints, params[state.PARAM_NUM_PLAYERS], x, y, z)
    return other < 0 or other == player


@kernel()
def lowest_workable_layer(world: HumanWorld, player: int) -> int:
    """The lowest y layer holding a cell :func:`is_workable` for ``player``, or -1 if there is none."""
    width, height, depth = world.blocks.shape
    for y in range(height):
        if world.layer_errors[y] == 0:
            continue
        for x in range(width):
            for z in range(depth):
                if is_workable(world, player, x, y, z):
                    return y
    return -1


@kernel()
def _placement_spot_ok(blocks: np.ndarray, x: int, y: int, z: int, tx: int, ty: int, tz: int) -> bool:
    """Whether a body with feet at ``(x, y, z)`` is under open sky and placing at ``t`` keeps it so."""
    if tx == x and tz == z and ty >= y + 2:
        return False
    for above in range(y + 2, blocks.shape[1]):
        if blocks[x, above, z] != AIR:
            return False
    return True


@kernel()
def _search(world: HumanWorld, player: int, visit: np.ndarray, queue: np.ndarray) -> bool:
    """Breadth-first search over the body positions the human can fly to.

    Fills ``visit[position]`` with ``8 * order + first_move`` for reached positions (``order``:
    the position's rank in the search, so a smaller value is at most as far; ``first_move``:
    the direction of the first move of a shortest path, :data:`START_MOVE` for the start) and
    :data:`UNVISITED` elsewhere. Returns whether some reached position is under open sky.
    """
    blocks, _, player_ints, _, _, params = world
    _, height, depth = blocks.shape
    num_players = params[state.PARAM_NUM_PLAYERS]
    visit[:] = UNVISITED
    start = feet_cell(blocks, player_ints, player)
    visit[start] = START_MOVE
    queue[0] = start
    head = 0
    tail = 1
    sky = False
    while head < tail:
        position = queue[head]
        head += 1
        x, y, z = cell_coordinates(position, height, depth)
        if not sky and _placement_spot_ok(blocks, x, y, z, -1, -1, -1):
            sky = True
        first = visit[position] % 8
        for direction in range(6):
            nx = x + MOVE_DIRECTIONS[direction, 0]
            ny = y + MOVE_DIRECTIONS[direction, 1]
            nz = z + MOVE_DIRECTIONS[direction, 2]
            if not body_fits(blocks, player_ints, num_players, player, nx, ny, nz):
                continue
            neighbour = cell_index(nx, ny, nz, height, depth)
            if visit[neighbour] != UNVISITED:
                continue
            visit[neighbour] = 8 * tail + (direction if first == START_MOVE else first)
            queue[tail] = neighbour
            tail += 1
    return sky


@kernel()
def _best_move(
    world: HumanWorld, player: int, visit: np.ndarray, tx: int, ty: int, tz: int, sky_rule: bool
) -> int:
    """First move toward the nearest reached spot from which the human can act on ``t``.

    Returns :data:`START_MOVE` when that spot is where it stands, -1 when there is none.
    """
    blocks, _, player_ints, _, _, params = world
    width, height, depth = blocks.shape
    placing = blocks[tx, ty, tz] == AIR
    target = cell_index(tx, ty, tz, height, depth)
    best = -1
    for x in range(max(0, tx - 6), min(width, tx + 7)):
        for z in range(max(0, tz - 6), min(depth, tz + 7)):
            for y in range(max(0, ty - 7), min(height - 1, ty + 6)):
                if (tx - x) ** 2 + (ty - y - 1) ** 2 + (tz - z) ** 2 > MAX_ACT_DISTANCE_SQUARED:
                    continue
                value = visit[cell_index(x, y, z, height, depth)]
                if value == UNVISITED or (best >= 0 and value >= best):
                    continue
                if placing and sky_rule and not _placement_spot_ok(blocks, x, y, z, tx, ty, tz):
                    continue
                if can_act_from(blocks, player_ints, params, player, x, y, z, target):
                    best = value
    if best < 0:
        return -1
    return best % 8
