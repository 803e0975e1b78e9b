"""validate_goal's checks and the buildability helpers."""

from __future__ import annotations

import numpy as np
import pytest

from mbag_env.blocks import AIR, BEDROCK, DIRT, PLANKS, STONE
from mbag_env.goals import floating_mask, initial_world, is_buildable, remove_floating, validate_goal

SIZE = (5, 6, 4)


def test_valid_goal_returns_uint8_copy() -> None:
    goal = initial_world(SIZE).astype(np.int64)
    goal[2, 2, 2] = PLANKS
    result = validate_goal(goal, SIZE)
    assert result.dtype == np.uint8 and result.shape == SIZE
    assert np.array_equal(result, goal)
    result[2, 2, 2] = STONE
    assert goal[2, 2, 2] == PLANKS


def test_validate_does_not_alias_uint8_input() -> None:
    goal = initial_world(SIZE)
    result = validate_goal(goal, SIZE)
    assert result is not goal and not np.shares_memory(result, goal)


def test_wrong_shape_names_expected_and_actual() -> None:
    with pytest.raises(ValueError, match=r"expected \(5, 6, 4\).*got \(5, 6, 5\)"):
        validate_goal(initial_world((5, 6, 5)), SIZE)


def test_non_bedrock_at_bottom_is_rejected() -> None:
    goal = initial_world(SIZE)
    goal[1, 0, 3] = DIRT
    with pytest.raises(ValueError, match=r"y=0 must be all bedrock.*x=1, y=0, z=3"):
        validate_goal(goal, SIZE)


def test_bedrock_above_bottom_is_rejected() -> None:
    goal = initial_world(SIZE)
    goal[0, 3, 0] = BEDROCK
    with pytest.raises(ValueError, match="only allowed in the y=0 layer"):
        validate_goal(goal, SIZE)


@pytest.mark.parametrize("bad_id", [10, 255, -1])
def test_ids_outside_range_are_rejected(bad_id: int) -> None:
    goal = initial_world(SIZE).astype(np.int16)
    goal[1, 3, 1] = bad_id
    with pytest.raises(ValueError, match=r"outside the allowed ids 0\.\.9"):
        validate_goal(goal, SIZE)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16])
def test_problems_are_reported_in_one_order_whatever_comes_first_in_the_array(dtype: type) -> None:
    """Ids out of range before a wrong bottom layer before bedrock above it, and the first cell of
    each in [x, y, z] order, as the compiled one-pass check for uint8 goals must keep."""
    goal = initial_world(SIZE).astype(dtype)
    goal[0, 3, 0] = BEDROCK  # first in the array
    goal[2, 0, 1] = DIRT
    goal[3, 0, 0] = STONE
    with pytest.raises(ValueError, match=r"y=0 must be all bedrock.*found id 2 at \(x=2, y=0, z=1\)"):
        validate_goal(goal, SIZE)
    goal[4, 5, 3] = 12  # last in the array
    with pytest.raises(ValueError, match=r"block id 12, outside the allowed ids"):
        validate_goal(goal, SIZE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_])
def test_non_integer_dtype_is_rejected(dtype: type) -> None:
    with pytest.raises(ValueError, match="integer dtype"):
        validate_goal(initial_world(SIZE).astype(dtype), SIZE)


def test_non_array_is_rejected() -> None:
    with pytest.raises(ValueError, match="numpy array"):
        validate_goal([[[1]]], (1, 1, 1))  # type: ignore[arg-type]


def test_floating_blocks_are_found_and_removed() -> None:
    goal = initial_world((5, 6, 5))
    goal[2, 2:5, 2] = PLANKS  # a pillar standing on the ground
    goal[3, 4, 2] = STONE  # attached to the pillar's side
    assert is_buildable(goal)
    goal[0, 4, 0] = STONE  # touches nothing
    goal[4, 3, 4] = STONE  # only diagonal to nothing solid
    mask = floating_mask(goal)
    assert set(map(tuple, np.argwhere(mask))) == {(0, 4, 0), (4, 3, 4)}
    assert not is_buildable(goal)
    cleaned = remove_floating(goal)
    assert is_buildable(cleaned)
    assert cleaned[0, 4, 0] == AIR and cleaned[3, 4, 2] == STONE


def test_ground_hole_does_not_disconnect() -> None:
    goal = initial_world((4, 5, 4))
    goal[1, 1, 1] = AIR  # dug hole in the ground
    goal[1, 2, 2] = PLANKS  # on the ground next to the hole
    assert is_buildable(goal)
