"""Checks that a goal θ obeys the ground rules of the world (SPEC §2 and §6).

A goal is a ``uint8`` array of the world's shape ``(W, H, D)`` indexed ``[x, y, z]`` (y up) holding
block ids 0..9, with bedrock in the whole ``y = 0`` layer and nowhere else (bedrock cannot be
placed, so a goal with bedrock above ``y = 0`` could never be completed).

:func:`validate_goal` does the cheap checks every reset needs. :func:`floating_mask` and
:func:`is_buildable` answer the stronger question of whether a player who only places blocks next
to existing solid blocks can build the goal: every solid block must be joined to the bedrock layer
through face-neighbouring solid blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import numba
import numpy as np

from mbag_env.blocks import AIR, BEDROCK, DIRT, NUM_BLOCK_TYPES


def _world_size_tuple(world_size: Sequence[int]) -> tuple[int, int, int]:
    """``world_size`` as a tuple of three positive ints, or a ValueError naming what was given."""
    try:
        size = tuple(int(s) for s in world_size)
    except (TypeError, ValueError) as error:
        raise ValueError(f"world_size must be three integers (W, H, D), got {world_size!r}") from error
    if len(size) != 3 or min(size) < 1:
        raise ValueError(f"world_size must be three positive integers (W, H, D), got {world_size!r}")
    return size  # type: ignore[return-value]


def validate_goal(goal: np.ndarray, world_size: Sequence[int]) -> np.ndarray:
    """Check that ``goal`` is a valid goal for a world of ``world_size`` and return a ``uint8`` copy.

    Args:
        goal: block ids indexed ``[x, y, z]``; any integer dtype whose values lie in 0..9.
        world_size: ``(W, H, D)`` of the world.

    Returns:
        A new C-contiguous ``uint8`` array equal to ``goal``.

    Raises:
        ValueError: if ``goal`` is not an integer array, has the wrong shape (the message gives the
            expected and the actual shape), holds ids outside 0..9, has a non-bedrock block in the
            ``y = 0`` layer or bedrock above it.
    """
    size = _world_size_tuple(world_size)
    if not isinstance(goal, np.ndarray):
        raise ValueError(f"goal must be a numpy array, got {type(goal).__name__}")
    if goal.dtype == np.bool_ or not np.issubdtype(goal.dtype, np.integer):
        raise ValueError(
            f"goal must have an integer dtype (uint8 block ids 0..{NUM_BLOCK_TYPES - 1}), "
            f"got dtype {goal.dtype}"
        )
    if goal.shape != size:
        raise ValueError(f"goal has the wrong shape: expected {size} (W, H, D), got {goal.shape}")
    if goal.dtype != np.uint8:  # a uint8 goal's range is checked with its layers below
        low = int(goal.min())
        high = int(goal.max())
        if low < 0 or high >= NUM_BLOCK_TYPES:
            _raise_out_of_range(low if low < 0 else high)
    result = np.ascontiguousarray(goal, dtype=np.uint8).copy()
    problem = _layer_problem(result)
    if problem == _LAYERS_OK:
        return result
    if problem == _ID_OUT_OF_RANGE:
        _raise_out_of_range(int(result.max()))
    bottom = result[:, 0, :]
    if problem == _NOT_BEDROCK_BELOW:
        x, z = np.argwhere(bottom != BEDROCK)[0]
        raise ValueError(
            f"goal layer y=0 must be all bedrock (id {BEDROCK}); found id {int(bottom[x, z])} at "
            f"(x={int(x)}, y=0, z={int(z)})"
        )
    x, y, z = np.argwhere(result[:, 1:, :] == BEDROCK)[0]  # the one problem left: _BEDROCK_ABOVE
    raise ValueError(
        f"goal has bedrock (id {BEDROCK}) at (x={int(x)}, y={int(y) + 1}, z={int(z)}); bedrock is "
        "only allowed in the y=0 layer because players cannot place it"
    )


_LAYERS_OK = 0
_ID_OUT_OF_RANGE = 1
_NOT_BEDROCK_BELOW = 2
_BEDROCK_ABOVE = 3


@numba.njit(cache=True)
def _layer_problem(goal: np.ndarray) -> int:
    """The first problem of a ``uint8`` goal, in :func:`validate_goal`'s order of checks: an id
    outside ``0..9``, a non-bedrock cell at ``y = 0``, bedrock above it; or ``_LAYERS_OK``. One pass
    in compiled code instead of four numpy reductions (a reset checks every goal it draws)."""
    width, height, depth = goal.shape
    problem = _LAYERS_OK
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                block = goal[x, y, z]
                if block >= NUM_BLOCK_TYPES:
                    return _ID_OUT_OF_RANGE
                if problem == _LAYERS_OK:
                    if y == 0 and block != BEDROCK:
                        problem = _NOT_BEDROCK_BELOW
                    elif y > 0 and block == BEDROCK:
                        problem = _BEDROCK_ABOVE
    if problem == _BEDROCK_ABOVE:
        # A wrong bottom cell anywhere is reported before bedrock above it.
        for x in range(width):
            for z in range(depth):
                if goal[x, 0, z] != BEDROCK:
                    return _NOT_BEDROCK_BELOW
    return problem


def _raise_out_of_range(block: int) -> NoReturn:
    raise ValueError(
        f"goal holds block id {block}, outside the allowed ids 0..{NUM_BLOCK_TYPES - 1} "
        "(air, bedrock, dirt, cobblestone, glass, log, planks, stone, stonebrick, wool)"
    )


def initial_world(world_size: Sequence[int]) -> np.ndarray:
    """The world every episode starts from: bedrock at ``y = 0``, dirt at ``y = 1``, air above."""
    size = _world_size_tuple(world_size)
    world = np.zeros(size, dtype=np.uint8)
    world[:, 0, :] = BEDROCK
    if size[1] > 1:
        world[:, 1, :] = DIRT
    return world


@numba.njit(cache=True)
def _flood_fill_kernel(passable: np.ndarray, reached: np.ndarray) -> None:
    """Extend ``reached`` (the seed cells, all ``passable``) in place to every ``passable`` cell joined to
    a seed through ``passable`` face-neighbours. Both are C-contiguous; cells go by their flat index."""
    width, height, depth = passable.shape
    open_cells = passable.reshape(-1)
    done = reached.reshape(-1)
    plane = height * depth
    stack = np.empty(done.size, dtype=np.int32)
    top = 0
    for cell in range(done.size):
        if done[cell]:
            stack[top] = cell
            top += 1
    while top > 0:
        top -= 1
        cell = stack[top]
        x = cell // plane
        y = (cell - x * plane) // depth
        z = cell - x * plane - y * depth
        for direction in range(6):
            if direction == 0:
                if x + 1 >= width:
                    continue
                neighbour = cell + plane
            elif direction == 1:
                if x == 0:
                    continue
                neighbour = cell - plane
            elif direction == 2:
                if y + 1 >= height:
                    continue
                neighbour = cell + depth
            elif direction == 3:
                if y == 0:
                    continue
                neighbour = cell - depth
            elif direction == 4:
                if z + 1 >= depth:
                    continue
                neighbour = cell + 1
            else:
                if z == 0:
                    continue
                neighbour = cell - 1
            if done[neighbour] or not open_cells[neighbour]:
                continue
            done[neighbour] = True
            stack[top] = neighbour
            top += 1


@numba.njit(cache=True)
def _floating_mask_kernel(blocks: np.ndarray) -> np.ndarray:
    solid = blocks != AIR
    reached = np.zeros(blocks.shape, dtype=np.bool_)
    reached[:, 0, :] = solid[:, 0, :]
    _flood_fill_kernel(solid, reached)
    return solid & ~reached


def floating_mask(goal: np.ndarray) -> np.ndarray:
    """Boolean mask of the solid blocks *not* joined to the ``y = 0`` layer through solid face-neighbours.

    Such blocks cannot be built by a player who may only place a block against an existing solid
    block (SPEC §3), unless a scaffold is built and removed again.
    """
    if goal.ndim != 3:
        raise ValueError(f"goal must be a 3-D array indexed [x, y, z], got shape {goal.shape}")
    return _floating_mask_kernel(np.ascontiguousarray(goal, dtype=np.uint8))


def is_buildable(goal: np.ndarray) -> bool:
    """Whether every solid block of ``goal`` is joined to the ``y = 0`` layer through solid
    face-neighbours."""
    return not bool(floating_mask(goal).any())


@numba.njit(cache=True)
def _open_air_kernel(goal: np.ndarray) -> np.ndarray:
    """Air cells joined through air face-neighbours to the open air: the top layer or the world's sides."""
    air = goal == AIR
    reached = np.zeros(goal.shape, dtype=np.bool_)
    reached[:, -1, :] = air[:, -1, :]
    reached[0, :, :] = air[0, :, :]
    reached[-1, :, :] = air[-1, :, :]
    reached[:, :, 0] = air[:, :, 0]
    reached[:, :, -1] = air[:, :, -1]
    _flood_fill_kernel(air, reached)
    return reached


@numba.njit(cache=True)
def _hidden_changes_kernel(goal: np.ndarray) -> np.ndarray:
    width, height, depth = goal.shape
    open_air = _open_air_kernel(goal)
    hidden = np.zeros(goal.shape, dtype=np.bool_)
    for x in range(width):
        for y in range(1, height):
            default = DIRT if y == 1 else AIR
            for z in range(depth):
                if goal[x, y, z] == default:
                    continue
                exposed = (
                    (x > 0 and open_air[x - 1, y, z])
                    or (x < width - 1 and open_air[x + 1, y, z])
                    or open_air[x, y - 1, z]
                    or (y < height - 1 and open_air[x, y + 1, z])
                    or (z > 0 and open_air[x, y, z - 1])
                    or (z < depth - 1 and open_air[x, y, z + 1])
                )
                hidden[x, y, z] = not exposed
    return hidden


def hidden_changes_mask(goal: np.ndarray) -> np.ndarray:
    """Boolean mask of the cells a goal changes (relative to the initial world) none of whose faces
    touches the open air, i.e. air joined through air to the top layer or the world's sides.

    Placing or breaking a block needs a line of sight to one of its faces, so such a cell can only
    be built while a neighbour is still missing; a player (or a scripted human) that fills the
    neighbours first cannot finish the goal. The goals made by procedural houses and by
    :func:`mbag_env.goals.place_in_world` have none.
    """
    if goal.ndim != 3 or goal.shape[1] < 2:
        raise ValueError(f"goal must be a 3-D array indexed [x, y, z] with 2+ layers, got shape {goal.shape}")
    return _hidden_changes_kernel(np.ascontiguousarray(goal, dtype=np.uint8))


@numba.njit(cache=True)
def _make_finishable_kernel(goal: np.ndarray) -> None:
    hidden = _hidden_changes_kernel(goal)
    width, height, depth = goal.shape
    for x in range(width):
        for y in range(1, height):
            for z in range(depth):
                if hidden[x, y, z]:
                    goal[x, y, z] = DIRT if y == 1 else AIR
    floating = _floating_mask_kernel(goal)
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                if floating[x, y, z]:
                    goal[x, y, z] = AIR


def make_finishable(goal: np.ndarray) -> np.ndarray:
    """A copy of ``goal`` that players can always finish: hidden changes (see
    :func:`hidden_changes_mask`) are undone (dirt at ``y = 1``, air above; such blocks cannot be seen
    in the finished goal anyway), then blocks left unjoined to the ground are removed (see
    :func:`floating_mask`)."""
    result = np.array(goal, dtype=np.uint8, copy=True, order="C")
    if result.ndim != 3 or result.shape[1] < 2:
        raise ValueError(f"goal must be a 3-D array indexed [x, y, z] with 2+ layers, got shape {goal.shape}")
    _make_finishable_kernel(result)
    return result


def remove_floating(goal: np.ndarray) -> np.ndarray:
    """A copy of ``goal`` with every block that :func:`floating_mask` marks replaced by air."""
    result = np.array(goal, dtype=np.uint8, copy=True)
    result[floating_mask(result)] = AIR
    return result
