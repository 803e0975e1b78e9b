"""The *clear segment* of SPEC §3, checked directly on hand-made and random segments.

Three implementations must agree: the core's voxel traversal (``rules.segment_clear``), the
reference's float slab test (``reference_rules.segment_is_clear``), and an exact slab test in
rational arithmetic written here. Grazing a face, an edge or a corner never blocks.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mbag_env.core.rules import segment_clear
from tests.core.reference_rules import segment_is_clear


def exact_clear(blocks: np.ndarray, start, end) -> bool:
    """Exact: no solid cell's open interior meets the segment in a piece of positive length."""
    start = [Fraction(c) for c in start]
    end = [Fraction(c) for c in end]
    for cell in np.argwhere(blocks):
        t_low, t_high = Fraction(0), Fraction(1)
        inside = True
        for axis in range(3):
            delta = end[axis] - start[axis]
            low, high = int(cell[axis]), int(cell[axis]) + 1
            if delta == 0:
                inside = inside and low < start[axis] < high
                continue
            t0, t1 = sorted(((low - start[axis]) / delta, (high - start[axis]) / delta))
            t_low, t_high = max(t_low, t0), min(t_high, t1)
        if inside and t_high > t_low:
            return False
    return True


def all_three(blocks: np.ndarray, start, end, exact_start=None, exact_end=None) -> tuple[bool, bool, bool]:
    core = bool(segment_clear(blocks, *map(float, start), *map(float, end)))
    ref = segment_is_clear(blocks.tolist(), tuple(map(float, start)), tuple(map(float, end)))
    exact = exact_clear(blocks, exact_start or start, exact_end or end)
    return core, ref, exact


def world(solid_cells, size=(4, 4, 4), block=3) -> np.ndarray:
    blocks = np.zeros(size, dtype=np.uint8)
    for cell in solid_cells:
        blocks[cell] = block
    return blocks


CUBE_BUT_DIAGONAL = [(x, y, z) for x in range(3) for y in range(3) for z in range(3) if not x == y == z]

ORIGIN_CENTRE = (0.5, 0.5, 0.5)
"""The centre of cell (0, 0, 0), where every hand-made segment starts."""

HAND_CASES = [
    # (name, solid cells, end, clear?): every segment starts at ORIGIN_CENTRE
    ("empty world", [], (3.5, 3.5, 3.5), True),
    ("across an edge between two diagonal solid cells", [(1, 0, 0), (0, 1, 0)], (2.5, 2.5, 0.7), True),
    ("across an edge into a solid cell", [(1, 1, 0)], (2.5, 2.5, 0.7), False),
    ("through cube corners, every other cell of the cube solid", CUBE_BUT_DIAGONAL, (2.5, 2.5, 2.5), True),
    ("through cube corners, the middle cell solid", [(1, 1, 1)], (2.5, 2.5, 2.5), False),
    ("to the near face of a solid target", [(2, 0, 0)], (2.0, 0.5, 0.5), True),
    ("to the far face of a solid target, through it", [(2, 0, 0)], (3.0, 0.5, 0.5), False),
    ("through an interior", [(1, 1, 0)], (2.5, 2.0, 0.5), False),
    ("just past a corner, into the neighbour", [(0, 0, 1)], (2.5, 2.5, 2.6), False),
    ("just past a corner, other neighbours untouched", [(1, 0, 0), (0, 1, 0)], (2.5, 2.5, 2.6), True),
    ("glass blocks sight too", [(1, 0, 0)], (3.5, 0.5, 0.5), False),
]


@pytest.mark.parametrize("name, solids, end, expected", HAND_CASES, ids=[c[0] for c in HAND_CASES])
def test_hand_made_segments(name, solids, end, expected):
    blocks = world(solids, block=4 if "glass" in name else 3)
    assert all_three(blocks, ORIGIN_CENTRE, end) == (expected, expected, expected)


BOUNDARY_START_CASES = [
    (
        "along an edge between four solid cells, two of them diagonal",
        [(1, 1, 1), (2, 1, 0), (1, 2, 0), (2, 2, 1)],
        (0.5, 2.0, 1.0),
        (3.5, 2.0, 1.0),
        True,
    ),
    (
        "along an edge, all four cells around it solid",
        [(1, 1, 0), (1, 1, 1), (1, 2, 0), (1, 2, 1)],
        (0.5, 2.0, 1.0),
        (3.5, 2.0, 1.0),
        True,
    ),
    (
        "in a face plane between two solid layers",
        [(x, y, z) for x in range(4) for z in range(4) for y in (1, 2)],
        (0.5, 2.0, 0.5),
        (3.5, 2.0, 3.5),
        True,
    ),
]
"""Segments that lie in a cell-boundary plane from their start. The game never makes one (an
eye, feet + (0.5, 1.6, 0.5), is never on a cell boundary), but the definition covers them."""


@pytest.mark.parametrize(
    "name, solids, start, end, expected", BOUNDARY_START_CASES, ids=[c[0] for c in BOUNDARY_START_CASES]
)
def test_segments_lying_in_a_boundary_plane_reference(name, solids, start, end, expected):
    _, ref, exact = all_three(world(solids), start, end)
    assert (ref, exact) == (expected, expected)


@pytest.mark.parametrize(
    "name, solids, start, end, expected", BOUNDARY_START_CASES, ids=[c[0] for c in BOUNDARY_START_CASES]
)
def test_segments_lying_in_a_boundary_plane_core(name, solids, start, end, expected):
    core, _, _ = all_three(world(solids), start, end)
    assert core == expected


@pytest.mark.parametrize(
    "epsilon, expected",
    [(1e-12, True), (1e-11, True), (1e-6, False), (1e-3, False)],
)
def test_tolerance_on_the_segment_parameter(epsilon, expected):
    """The segment passes (0,1,0) for about epsilon/8 of t near the corner (1, 1): below the
    1e-9 tolerance that is a graze, above it a crossing."""
    blocks = world([(0, 1, 0)])
    start, end = (0.5, 0.5, 0.5), (2.5, 2.5 + epsilon, 0.5)
    core = bool(segment_clear(blocks, *start, *end))
    ref = segment_is_clear(blocks.tolist(), start, end)
    assert (core, ref) == (expected, expected)
    # Never the other neighbour of the corner.
    other = world([(1, 0, 0)])
    assert segment_clear(other, *start, *end) and segment_is_clear(other.tolist(), start, end)


@st.composite
def segments(draw):
    """Random worlds and segments with coordinates on a 1/10 grid (so grazes are frequent):
    eyes like the game's (never on a cell boundary), ends anywhere in the world box."""
    size = (4, 5, 4)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    blocks = (rng.random(size) < draw(st.sampled_from([0.2, 0.5, 0.8]))).astype(np.uint8) * 3
    fractional = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9])
    start = tuple(Fraction(draw(st.integers(0, extent - 1)) * 10 + draw(fractional), 10) for extent in size)
    end = tuple(Fraction(draw(st.integers(0, extent * 10)), 10) for extent in size)
    blocks[tuple(math.floor(c) for c in start)] = 0  # the eye is in an air cell
    return blocks, start, end


@settings(max_examples=400, deadline=None)
@given(case=segments())
def test_random_segments_agree_with_exact_arithmetic(case):
    blocks, start, end = case
    core, ref, exact = all_three(blocks, start, end, exact_start=start, exact_end=end)
    assert core == exact, f"core says clear={core}, exact says {exact}"
    assert ref == exact, f"reference says clear={ref}, exact says {exact}"
