"""The procedural house generator: determinism, validity, buildability and variety at every size."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from mbag_env.blocks import AIR, BEDROCK, DIRT, GLASS
from mbag_env.goals import (
    build_house,
    generate_house,
    hidden_changes_mask,
    initial_world,
    is_buildable,
    sample_house_design,
    validate_goal,
)
from mbag_env.goals.houses import ROOF_KINDS, footprint_masks

SIZES = [
    (3, 4, 3),
    (3, 5, 3),
    (4, 4, 4),
    (5, 4, 7),
    (6, 6, 6),
    (11, 10, 10),
    (7, 12, 5),
    (20, 6, 9),
    (3, 32, 3),
    (32, 4, 32),
    (32, 32, 32),
]


@pytest.mark.parametrize("world_size", [(11, 10, 10), (6, 6, 6), (3, 4, 3)])
def test_same_seed_same_house(world_size: tuple[int, int, int]) -> None:
    for seed in range(20):
        first = generate_house(np.random.default_rng(seed), world_size)
        second = generate_house(np.random.default_rng(seed), world_size)
        assert np.array_equal(first, second)


def test_different_seeds_differ() -> None:
    houses = {generate_house(np.random.default_rng(seed), (11, 10, 10)).tobytes() for seed in range(50)}
    assert len(houses) == 50


def test_each_house_uses_a_fixed_number_of_draws() -> None:
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    sample_house_design(rng_a, (11, 10, 10))
    sample_house_design(rng_b, (3, 4, 3))
    assert rng_a.random() == rng_b.random()


@pytest.mark.parametrize("world_size", SIZES)
def test_houses_are_valid_and_buildable_by_construction(world_size: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(hash(world_size) % 2**32)
    count = 60 if max(world_size) > 20 else 150
    for _ in range(count):
        design = sample_house_design(rng, world_size)
        # The raw drawing, before generate_house's guard against floating blocks.
        goal = build_house(design, world_size)
        validate_goal(goal, world_size)
        assert is_buildable(goal), design
        assert (goal[:, 1, :] != AIR).all(), "the ground layer stays solid"
        assert (goal[:, 2:, :] != AIR).any(), "something is built"
        assert not (goal[:, 1:, :] == BEDROCK).any()


@pytest.mark.parametrize("world_size", SIZES)
def test_generated_houses_can_be_finished(world_size: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(sum(world_size))
    width, height, depth = world_size
    for _ in range(40):
        goal = generate_house(rng, world_size)
        validate_goal(goal, world_size)
        assert is_buildable(goal)
        assert not hidden_changes_mask(goal).any(), "every changed cell faces open air"
        changed = goal != initial_world(world_size)
        assert changed[:, 2:, :].any()
        if height >= 6:
            assert not changed[:, -1, :].any(), "the top layer stays free"
        design = sample_house_design(rng, world_size)
        for x0, z0, x1, z1 in design.rects:
            if width >= 6:
                assert 1 <= x0 and x1 <= width - 2, "walls leave a free cell at the world's edges"
            if depth >= 6:
                assert 1 <= z0 and z1 <= depth - 2, "walls leave a free cell at the world's edges"


def test_hidden_changes_are_found() -> None:
    goal = initial_world((5, 7, 5))
    goal[1:4, 2:5, 1:4] = 7  # a solid cube whose centre no one can see
    goal[2, 1, 2] = 6  # a changed ground cell under it
    hidden = hidden_changes_mask(goal)
    assert set(map(tuple, np.argwhere(hidden))) == {(2, 3, 2), (2, 2, 2), (2, 1, 2)}


def test_doors_are_openings_in_the_walls() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        design = sample_house_design(rng, (11, 10, 10))
        goal = build_house(design, (11, 10, 10))
        assert design.door is not None
        x, z = design.door
        _, boundary, corners = footprint_masks(design.rects, 11, 10)
        assert boundary[x, z] and not corners[x, z]
        assert (goal[x, 2 : 2 + min(2, design.wall_height), z] == AIR).all()
        front = (x + design.door_out[0], z + design.door_out[1])
        if 0 <= front[0] < 11 and 0 <= front[1] < 10:
            assert (goal[front[0], 2:4, front[1]] == AIR).all(), "nothing blocks the doorway"


def test_variety_of_features_at_default_size() -> None:
    rng = np.random.default_rng(1)
    designs = [sample_house_design(rng, (11, 10, 10)) for _ in range(400)]
    roofs = Counter(d.roof_kind for d in designs)
    assert {"flat", "gable", "hipped"} <= set(roofs)
    assert any(len(d.rects) == 2 for d in designs), "L-shaped footprints"
    assert any(len(d.rects) == 1 for d in designs), "rectangular footprints"
    assert any(d.chimney is not None for d in designs)
    assert any(d.porch_depth > 0 for d in designs)
    assert any(d.fence_gap > 0 for d in designs)
    assert any(d.pillar_block != AIR for d in designs)
    assert any(d.accent_style != "none" for d in designs), "walls of two materials"
    assert any(d.loft for d in designs)
    assert all(d.roof_block != d.wall_block for d in designs if d.roof_kind != "none")
    goals = [build_house(d, (11, 10, 10)) for d in designs]
    assert sum((g == GLASS).any() for g in goals) > 200, "most houses have windows"
    assert len({d.wall_block for d in designs}) >= 5


def test_small_worlds_get_small_huts() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        goal = generate_house(rng, (3, 4, 3))
        assert goal.shape == (3, 4, 3)
        assert (goal[:, 2, :] != AIR).sum() >= 4, "walls on the first layer"


def test_too_small_world_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"at least \(3, 4, 3\)"):
        sample_house_design(np.random.default_rng(0), (2, 4, 3))


def test_bad_design_fields_are_rejected() -> None:
    design = sample_house_design(np.random.default_rng(0), (11, 10, 10))
    with pytest.raises(ValueError, match="roof_kind must be one of"):
        build_house(dataclasses.replace(design, roof_kind="dome"), (11, 10, 10))
    with pytest.raises(ValueError, match="accent_style must be one of"):
        build_house(dataclasses.replace(design, accent_style="zigzag"), (11, 10, 10))


def test_roof_kinds_are_documented() -> None:
    assert ROOF_KINDS == ("none", "flat", "gable", "hipped")


def test_floor_layer_is_dirt_outside_the_house() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        design = sample_house_design(rng, (11, 10, 10))
        goal = build_house(design, (11, 10, 10))
        footprint, _, _ = footprint_masks(design.rects, 11, 10)
        outside = goal[:, 1, :][~footprint]
        assert np.isin(outside, [DIRT, design.porch_block]).all()


def test_designs_and_goals_are_those_pinned_before_the_design_was_compiled() -> None:
    """``sample_house_design`` and ``generate_house`` for seeds 0..199 at eight world sizes hash to
    the digests pinned from the Python generator before its design decisions moved into compiled
    code (tests/fixtures/procedural_house_digests.json)."""
    import hashlib
    import json
    from pathlib import Path

    pinned = json.loads(
        (Path(__file__).resolve().parents[1] / "fixtures" / "procedural_house_digests.json").read_text()
    )
    for key, digests in pinned["digests"].items():
        size = tuple(int(extent) for extent in key.split("x"))
        goals, designs = hashlib.sha256(), hashlib.sha256()
        for seed in range(pinned["seeds"]):
            designs.update(repr(sample_house_design(np.random.default_rng(seed), size)).encode())
            goals.update(generate_house(np.random.default_rng(seed), size).tobytes())
        assert designs.hexdigest() == digests["designs"], f"designs changed at world size {size}"
        assert goals.hexdigest() == digests["goals"], f"goals changed at world size {size}"
