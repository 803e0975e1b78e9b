"""The flat action space (SPEC §3 table): encode/decode round trip, descriptions, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mbag_env.blocks import BLOCK_NAMES, FIRST_PLACEABLE
from mbag_env.core.actions import MOVE_NAMES, ActionSpace
from tests.core import reference_rules as ref

SIZES = [(3, 4, 3), (4, 5, 3)]


def range_named(n: int) -> re.Pattern:
    """The valid range, as '0..n-1' or '[0, n)'."""
    return re.compile(rf"0\.\.{n - 1}\b|\[0, {n}\)")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("infinite", [True, False])
def test_layout_matches_the_spec_table(size, infinite):
    space = ActionSpace(size, infinite_blocks=infinite)
    cells = size[0] * size[1] * size[2]
    assert space.num_cells == cells
    assert space.n == ref.num_actions(size, infinite) == 7 + 9 * cells + (0 if infinite else 8 * cells)
    assert space.first_break == 7 + 8 * cells
    assert space.first_give == 7 + 9 * cells


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("infinite", [True, False])
def test_every_index_round_trips(size, infinite):
    space = ActionSpace(size, infinite_blocks=infinite)
    kinds = set()
    for index in range(space.n):
        action = space.decode(index)
        expected = ref.decode(size, infinite, index)
        assert action.kind == expected.kind, index
        kinds.add(action.kind)
        if action.kind == "move":
            assert ref.DIRECTIONS[action.direction] == expected.direction
            assert space.encode("move", direction=action.direction) == index
            assert space.encode("move", direction=MOVE_NAMES[action.direction]) == index
        elif action.kind == "noop":
            assert space.encode("noop") == index
        else:
            assert action.cell == expected.cell and action.block == expected.block, index
            assert space.cell_index(action.cell) == ref.cell_index(size, action.cell)
            assert space.cell_xyz(space.cell_index(action.cell)) == action.cell
            assert space.encode(action.kind, action.cell, action.block) == index
        assert ref.encode(size, expected) == index
    assert kinds == ({"noop", "move", "place", "break"} | (set() if infinite else {"give"}))


@pytest.mark.parametrize("infinite", [True, False])
def test_describe_is_readable_and_distinct(infinite):
    size = (3, 4, 3)
    space = ActionSpace(size, infinite_blocks=infinite)
    descriptions = [space.describe(i) for i in range(space.n)]
    assert len(set(descriptions)) == space.n, "two actions share a description"
    assert descriptions[0] == "NOOP"
    assert [descriptions[i] for i in range(1, 7)] == [f"MOVE {name}" for name in MOVE_NAMES]
    assert space.describe(space.encode("place", (2, 3, 1), 6)) == "PLACE planks at (2, 3, 1)"
    assert space.describe(space.encode("break", (0, 1, 2))) == "BREAK at (0, 1, 2)"
    for index in range(7, space.n):
        action = space.decode(index)
        text = descriptions[index]
        assert text.startswith(action.kind.upper())
        assert str(action.cell) in text
        if action.block is not None:
            assert BLOCK_NAMES[action.block] in text
    if not infinite:
        text = space.describe(space.encode("give", (1, 2, 0), 9))
        assert text.startswith("GIVE wool") and "(1, 2, 0)" in text


@pytest.mark.parametrize("infinite", [True, False])
@pytest.mark.parametrize("bad", [-1, -100, "n", "n+1", "n+1000"])
def test_out_of_range_index_raises_naming_the_range(infinite, bad):
    space = ActionSpace((3, 4, 3), infinite_blocks=infinite)
    n = space.n
    index = {"n": n, "n+1": n + 1, "n+1000": n + 1000}.get(bad, bad)
    for call in (space.decode, space.describe, space.check):
        with pytest.raises(ValueError, match=range_named(n)):
            call(index)
    with pytest.raises(ValueError, match=range_named(n)):
        space.decode(np.int64(index))


@pytest.mark.parametrize("bad", [1.0, 2.5, "3", None, True, False, [1], np.float64(4.0), np.array([1, 2])])
def test_wrong_type_index_raises_naming_the_range(bad):
    space = ActionSpace((3, 4, 3), infinite_blocks=False)
    with pytest.raises(ValueError, match=range_named(space.n)):
        space.decode(bad)
    with pytest.raises(ValueError, match=range_named(space.n)):
        space.check(bad)


def test_numpy_integers_are_accepted():
    space = ActionSpace((3, 4, 3))
    for index in (np.int64(7), np.int32(7), np.uint16(7), np.array(7)):
        assert space.check(index) == 7 and isinstance(space.check(index), int)
        assert space.decode(index) == space.decode(7)


def test_give_is_absent_with_infinite_blocks():
    infinite = ActionSpace((3, 4, 3), infinite_blocks=True)
    finite = ActionSpace((3, 4, 3), infinite_blocks=False)
    assert finite.n - infinite.n == 8 * infinite.num_cells
    with pytest.raises(ValueError, match="infinite"):
        infinite.encode("give", (0, 2, 0), 2)
    with pytest.raises(ValueError):
        infinite.decode(infinite.first_give)


@pytest.mark.parametrize(
    "kind, cell, block, direction",
    [
        ("jump", (0, 2, 0), None, None),
        ("place", None, 2, None),
        ("place", (0, 2, 0), 1, None),  # bedrock is not placeable
        ("place", (0, 2, 0), 0, None),  # nor air
        ("place", (0, 2, 0), 10, None),
        ("place", (3, 0, 0), 2, None),  # outside the world
        ("break", (0, -1, 0), None, None),
        ("move", None, None, 6),
        ("move", None, None, "up"),
        ("move", None, None, None),
    ],
)
def test_encode_rejects_bad_arguments(kind, cell, block, direction):
    space = ActionSpace((3, 4, 3), infinite_blocks=False)
    with pytest.raises(ValueError):
        space.encode(kind, cell, block, direction=direction)


@pytest.mark.parametrize("size", SIZES)
def test_compiled_codec_round_trips_and_matches_the_reference(size):
    """The compiled helpers every kernel inlines agree with the reference layout, both ways."""
    from mbag_env.core.actions import (
        KIND_BREAK,
        KIND_GIVE,
        KIND_MOVE,
        KIND_NOOP,
        KIND_OUT_OF_RANGE,
        KIND_PLACE,
        KINDS,
        break_action,
        cell_coordinates,
        cell_index,
        decode_action,
        decode_actions,
        give_action,
        num_actions,
        place_action,
    )

    width, height, depth = size
    cells = width * height * depth
    n = int(num_actions(cells, False))
    assert n == ref.num_actions(size, False) and int(num_actions(cells, True)) == ref.num_actions(size, True)
    for cell in range(cells):
        xyz = cell_coordinates(cell, height, depth)
        assert xyz == np.unravel_index(cell, size) and cell_index(*xyz, height, depth) == cell
    kinds, decoded_cells = decode_actions(np.arange(-2, n + 2).reshape(1, -1), cells)
    assert kinds.shape == decoded_cells.shape == (1, n + 4)
    for index in range(-2, n + 2):
        kind, argument, cell = decode_action(index, cells)
        assert (kinds.ravel()[index + 2], decoded_cells.ravel()[index + 2]) == (kind, cell)
        if not 0 <= index < n:
            assert kind == KIND_OUT_OF_RANGE
            continue
        expected = ref.decode(size, False, index)
        assert KINDS[kind] == expected.kind, index
        if kind == KIND_NOOP:
            continue
        if kind == KIND_MOVE:
            assert ref.DIRECTIONS[argument] == expected.direction
            continue
        assert cell_coordinates(cell, height, depth) == tuple(expected.cell)
        if kind == KIND_BREAK:
            assert break_action(cell, cells) == index
        else:
            assert FIRST_PLACEABLE + argument == expected.block
            encode = place_action if kind == KIND_PLACE else give_action
            assert kind in (KIND_PLACE, KIND_GIVE) and encode(argument, cell, cells) == index
