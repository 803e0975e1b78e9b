"""The train/test split: invariant under moves, rotations and mirrorings; disjoint procedural streams."""

from __future__ import annotations

import numpy as np
import pytest

from mbag_env.blocks import PLANKS
from mbag_env.goals import (
    TEST_FRACTION,
    canonical_digest,
    generate_house,
    goal_split,
    goal_to_structure,
    initial_world,
    make_goal_sampler,
    mirror,
    rotate_y,
)
from mbag_env.goals.splits import check_split_name


def test_digest_ignores_rotation_mirroring_and_position() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        goal = generate_house(rng, (11, 10, 10))
        digest = canonical_digest(goal)
        for k in range(4):
            assert canonical_digest(rotate_y(goal, k)) == digest
            assert canonical_digest(rotate_y(mirror(goal, "x"), k)) == digest
            assert canonical_digest(rotate_y(mirror(goal, "z"), k)) == digest
        part = goal_to_structure(goal)
        moved = initial_world((15, 12, 14))
        x, z = (int(v) for v in rng.integers(0, 4, size=2))
        moved[x : x + part.shape[0], 1 : 1 + part.shape[1], z : z + part.shape[2]] = part
        assert canonical_digest(moved) == digest


def test_digest_tells_goals_apart() -> None:
    a = initial_world((5, 5, 5))
    b = a.copy()
    a[1, 2, 1] = PLANKS
    b[1, 2, 1] = PLANKS
    b[1, 3, 1] = PLANKS
    assert canonical_digest(a) != canonical_digest(b) != canonical_digest(initial_world((5, 5, 5)))


def test_split_fraction_is_about_a_quarter() -> None:
    rng = np.random.default_rng(1)
    share = np.mean([goal_split(generate_house(rng, (11, 10, 10))) == "test" for _ in range(1000)])
    assert abs(share - TEST_FRACTION) < 0.06


@pytest.mark.parametrize("world_size", [(11, 10, 10), (6, 6, 6), (4, 5, 4)])
def test_procedural_train_and_test_are_disjoint(world_size: tuple[int, int, int]) -> None:
    digests = {}
    for split in ("train", "test"):
        sampler = make_goal_sampler(f"houses:{split}", world_size)
        rng = np.random.default_rng(7)
        goals = [sampler.sample(rng) for _ in range(150)]
        assert all(goal_split(goal) == split for goal in goals)
        digests[split] = {canonical_digest(goal) for goal in goals}
    assert not digests["train"] & digests["test"]


def test_unknown_split_name() -> None:
    with pytest.raises(ValueError, match="expected one of train, test"):
        check_split_name("validation")
