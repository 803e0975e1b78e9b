"""Noise models for the compiled scripted humans: ε-random valid actions and Boltzmann choices.

:func:`~mbag_env.humans.scripted.scripted_human_action` applies them on top of any human kind
(see :class:`~mbag_env.humans.scripted.HumanModel`). Both draw only from the world's own
generator (:mod:`mbag_env.core.random`), so noisy humans stay reproducible per world, and both
decide validity with the rule functions of :mod:`mbag_env.core.rules`, so they never disagree
with the action mask.

- :func:`random_valid_action`: a uniformly random action among all valid ones (NOOP, moves,
  places of every type it holds, breaks, gives), exactly the set the action mask marks
  (:func:`action_is_valid` is the mask's entry for one action, :func:`valid_action` enumerates
  them).
- :func:`boltzmann_useful_action`: a random choice among the *useful* actions it can take now
  in the layer it is building (places of the goal's block and breaks of wrong blocks, each of
  which lowers the edit distance by one), with probability proportional to
  ``exp(utility / temperature)`` where ``utility = -(distance from the eye to the cell's
  centre)``: near work is preferred, and the temperature sets how strongly. Like both builders
  it keeps to the lowest layer that has workable cells (so it never seals a hole below a block
  it placed) and leaves out placements into the column above its own head (unless they finish
  the house), so that it does not roof itself in.
"""

from __future__ import annotations

import math

import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE, NUM_PLACEABLE
from mbag_env.core import state
from mbag_env.core.actions import (
    KIND_BREAK,
    KIND_MOVE,
    KIND_NOOP,
    KIND_OUT_OF_RANGE,
    KIND_PLACE,
    MOVE_POS_X,
    NOOP,
    NUM_MOVES,
    break_action,
    cell_coordinates,
    cell_index,
    decode_action,
    give_action,
    num_actions,
    place_action,
)
from mbag_env.core.jit import kernel
from mbag_env.core.random import random_below
from mbag_env.core.rules import (
    EYE_HEIGHT,
    REACH,
    can_break,
    can_give_to,
    can_move,
    can_place_any,
    feet_cell,
    feet_position,
    give_recipient,
    reach_box,
)
from mbag_env.humans.layer_builder import lowest_workable_layer
from mbag_env.humans.world import HumanWorld


@kernel()
def _held_slots(player_ints: np.ndarray, params: np.ndarray, player: int) -> int:
    """How many placeable types the player can place (all of them with infinite blocks)."""
    if params[state.PARAM_INFINITE_BLOCKS] != 0:
        return NUM_PLACEABLE
    count = 0
    for slot in range(NUM_PLACEABLE):
        if player_ints[player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
            count += 1
    return count


@kernel()
def _nth_held_slot(player_ints: np.ndarray, params: np.ndarray, player: int, index: int) -> int:
    """The ``index``-th placeable slot the player can place (see :func:`_held_slots`)."""
    if params[state.PARAM_INFINITE_BLOCKS] != 0:
        return index
    for slot in range(NUM_PLACEABLE):
        if player_ints[player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + slot] > 0:
            if index == 0:
                return slot
            index -= 1
    return -1


@kernel()
def valid_action(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, index: int
) -> int:
    """Enumerate the player's valid actions: return the ``index``-th, or their count if ``index < 0``.

    The order is NOOP, moves, then cell by cell (C order) its places (type by type) and its
    break, then gives; the set is exactly the one the action mask marks.
    """
    _, height, depth = blocks.shape
    num_cells = blocks.size
    count = 1
    if index == 0:
        return NOOP
    for direction in range(NUM_MOVES):
        if can_move(blocks, player_ints, params, player, direction):
            if count == index:
                return MOVE_POS_X + direction
            count += 1
    slots = _held_slots(player_ints, params, player)
    x_low, x_high, y_low, y_high, z_low, z_high = reach_box(blocks, player_ints, params, player)
    for x in range(x_low, x_high):
        for y in range(y_low, y_high):
            for z in range(z_low, z_high):
                cell = cell_index(x, y, z, height, depth)
                if blocks[x, y, z] == AIR:
                    if slots > 0 and can_place_any(blocks, player_ints, params, player, x, y, z):
                        if index >= count and index < count + slots:
                            slot = _nth_held_slot(player_ints, params, player, index - count)
                            return place_action(slot, cell, num_cells)
                        count += slots
                elif IS_BREAKABLE[blocks[x, y, z]] and can_break(
                    blocks, player_ints, params, player, x, y, z
                ):
                    if count == index:
                        return break_action(cell, num_cells)
                    count += 1
    if params[state.PARAM_INFINITE_BLOCKS] == 0 and slots > 0:
        for other in range(params[state.PARAM_NUM_PLAYERS]):
            if not can_give_to(blocks, player_ints, params, player, other):
                continue
            if index >= count and index < count + slots:
                slot = _nth_held_slot(player_ints, params, player, index - count)
                return give_action(slot, feet_cell(blocks, player_ints, other), num_cells)
            count += slots
    return count if index < 0 else -1


@kernel()
def action_is_valid(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, player: int, action: int
) -> bool:
    """Whether ``action`` (in range) is valid for ``player`` now: the mask's entry, from the rules'
    own checks (:func:`~mbag_env.core.rules.can_move`, ``can_place_any``, ``can_break``,
    ``give_recipient``) composed as :func:`~mbag_env.core.rules.apply_action` does."""
    _, height, depth = blocks.shape
    kind, argument, cell = decode_action(action, blocks.size)
    if kind == KIND_NOOP:
        return True
    if kind == KIND_MOVE:
        return can_move(blocks, player_ints, params, player, argument)
    if kind == KIND_OUT_OF_RANGE:
        return False
    x, y, z = cell_coordinates(cell, height, depth)
    infinite = params[state.PARAM_INFINITE_BLOCKS] != 0
    if kind == KIND_PLACE:
        if not infinite and player_ints[player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + argument] <= 0:
            return False
        return can_place_any(blocks, player_ints, params, player, x, y, z)
    if kind == KIND_BREAK:
        return can_break(blocks, player_ints, params, player, x, y, z)
    if infinite or player_ints[player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + argument] <= 0:
        return False
    return give_recipient(blocks, player_ints, params, player, x, y, z) >= 0


REJECTION_TRIES = 256
"""Random action indices :func:`random_valid_action` tries before enumerating the valid ones."""


@kernel()
def random_valid_action(
    blocks: np.ndarray, player_ints: np.ndarray, env_ints: np.ndarray, params: np.ndarray, player: int
) -> int:
    """A uniformly random valid action of ``player`` (NOOP included), from the world's generator.

    Rejection sampling: up to :data:`REJECTION_TRIES` uniformly random action indices, the first
    valid one is taken (a uniform draw among the valid actions); if none was valid, one of the
    enumerated valid actions (:func:`valid_action`) is drawn uniformly. Either way the result is
    uniform over the valid actions; the rejection step makes it cheap when many are valid.
    """
    count = num_actions(blocks.size, params[state.PARAM_INFINITE_BLOCKS] != 0)
    for _ in range(REJECTION_TRIES):
        action = random_below(env_ints, count)
        if action_is_valid(blocks, player_ints, params, player, action):
            return action
    count = valid_action(blocks, player_ints, params, player, -1)
    return valid_action(blocks, player_ints, params, player, random_below(env_ints, count))


@kernel()
def _useful_utility(world: HumanWorld, player: int, x: int, y: int, z: int, finishing: bool) -> float:
    """The utility of the useful action on ``(x, y, z)`` (module docstring), or NaN if there is none."""
    blocks, goal, player_ints, _, _, params = world
    block = blocks[x, y, z]
    goal_block = goal[x, y, z]
    if block == goal_block:
        return math.nan
    teleportation = params[state.PARAM_TELEPORTATION] != 0
    dx = x - player_ints[player, state.PLAYER_X]
    dy = y + 0.5 - (player_ints[player, state.PLAYER_Y] + EYE_HEIGHT)
    dz = z - player_ints[player, state.PLAYER_Z]
    distance_squared = dx * dx + dy * dy + dz * dz
    # Every face centre lies within 0.5 of the cell's centre: beyond REACH + 0.5 none is in reach.
    if not teleportation and distance_squared > (REACH + 0.5) ** 2 + 1e-9:
        return math.nan
    if block != AIR:
        if not can_break(blocks, player_ints, params, player, x, y, z):
            return math.nan
    else:
        if (
            params[state.PARAM_INFINITE_BLOCKS] == 0
            and player_ints[player, state.PLAYER_INVENTORY + goal_block] <= 0
        ):
            return math.nan
        px, py, pz = feet_position(player_ints, player)
        if not finishing and x == px and z == pz and y >= py + 2 and not teleportation:
            return math.nan
        if not can_place_any(blocks, player_ints, params, player, x, y, z):
            return math.nan
    return -math.sqrt(distance_squared)


@kernel()
def boltzmann_useful_action(world: HumanWorld, player: int, temperature: float) -> int:
    """A Boltzmann-random useful action at ``temperature`` (> 0), or -1 when there is none.

    See the module docstring for the useful actions and their utility. It samples in one pass
    with the Gumbel-max trick: the action maximising ``utility / temperature + g``, with ``g``
    an independent standard Gumbel draw per useful action (from the world's generator), is
    distributed exactly as ``softmax(utility / temperature)``.
    """
    blocks, goal, player_ints, _, env_ints, params = world
    _, height, depth = blocks.shape
    num_cells = blocks.size
    y = lowest_workable_layer(world, player)
    if y < 0:
        return -1
    finishing = env_ints[state.ENV_EDIT_DISTANCE] == 1
    x_low, x_high, y_low, y_high, z_low, z_high = reach_box(blocks, player_ints, params, player)
    if not y_low <= y < y_high:
        return -1
    best = -math.inf
    chosen = -1
    for x in range(x_low, x_high):
        for z in range(z_low, z_high):
            utility = _useful_utility(world, player, x, y, z, finishing)
            if math.isnan(utility):
                continue
            # A standard Gumbel draw from a uniform in (0, 1): the half step keeps it off 0.
            uniform = (random_below(env_ints, 1 << 30) + 0.5) / float(1 << 30)
            key = utility / temperature - math.log(-math.log(uniform))
            if key > best:
                best = key
                cell = cell_index(x, y, z, height, depth)
                if blocks[x, y, z] != AIR:
                    chosen = break_action(cell, num_cells)
                else:
                    chosen = place_action(goal[x, y, z] - FIRST_PLACEABLE, cell, num_cells)
    return chosen
