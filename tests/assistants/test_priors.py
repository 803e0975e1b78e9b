"""Goal priors: structure labels, symmetric copies, the structure prior and the fair default prior."""

from __future__ import annotations

import numpy as np
import pytest

from mbag_env.assistants import (
    GoalPrior,
    default_prior,
    expand_with_symmetries,
    structure_labels,
    symmetric_variants,
)
from mbag_env.assistants.priors import initial_world
from mbag_env.blocks import AIR, BEDROCK, DIRT, FIRST_PLACEABLE, GLASS, LOG, PLANKS, STONE, WOOL
from mbag_env.goals import load_shipped_goals, validate_goal

TINY = (3, 4, 3)


def test_structure_labels_rename_materials_by_first_appearance() -> None:
    goal = np.array([STONE, AIR, GLASS, STONE, BEDROCK, WOOL, GLASS, AIR], dtype=np.uint8)
    labels, materials = structure_labels(goal[None])
    assert labels.dtype == np.uint8 and labels.shape == (1, 8)
    assert labels[0].tolist() == [2, 0, 3, 2, 1, 4, 3, 0]
    assert materials.shape == (1, 8)
    expected = [STONE - FIRST_PLACEABLE, GLASS - FIRST_PLACEABLE, WOOL - FIRST_PLACEABLE] + [-1] * 5
    assert materials[0].tolist() == expected


def test_material_permutations_share_their_structure() -> None:
    goal = initial_world(TINY)
    goal[1, 2, 1] = STONE
    goal[1, 3, 1] = GLASS
    goal[0, 2, 0] = STONE
    permuted = goal.copy()
    swap = {DIRT: WOOL, STONE: LOG, GLASS: DIRT}
    for old, new in swap.items():
        permuted[goal == old] = new
    other = goal.copy()
    other[1, 3, 1] = STONE  # merges two classes: another structure
    labels, materials = structure_labels(np.stack([goal, permuted, other]))
    assert np.array_equal(labels[0], labels[1])
    assert not np.array_equal(labels[0], labels[2])
    assert not np.array_equal(materials[0], materials[1])
    # The permuted goal's classes hold the swapped materials, in the same class order.
    assert [swap[FIRST_PLACEABLE + m] - FIRST_PLACEABLE for m in materials[0][:3]] == materials[1][
        :3
    ].tolist()
    # Labels rebuild the goals from the materials.
    for n, original in enumerate([goal, permuted, other]):
        lut = np.array([AIR, BEDROCK] + [FIRST_PLACEABLE + max(m, 0) for m in materials[n]], dtype=np.uint8)
        assert np.array_equal(lut[labels[n]].reshape(TINY), original)


def l_shaped_house(world_size: tuple[int, int, int]) -> np.ndarray:
    """An asymmetric piece: three columns in an L, with different blocks."""
    goal = initial_world(world_size)
    goal[1, 2, 1] = STONE
    goal[2, 2, 1] = GLASS
    goal[1, 2, 2] = PLANKS
    goal[1, 3, 1] = WOOL
    goal[2, 1, 1] = AIR  # a hole in the dirt under the glass
    return goal


def assert_valid_variants(goal: np.ndarray, variants: np.ndarray) -> None:
    assert variants.dtype == np.uint8 and variants.shape[1:] == goal.shape
    assert np.array_equal(variants[0], goal), "the original comes first"
    keys = {variant.tobytes() for variant in variants}
    assert len(keys) == len(variants), "variants are distinct"
    counts = np.bincount(goal.ravel(), minlength=10)
    for variant in variants:
        assert np.array_equal(np.bincount(variant.ravel(), minlength=10), counts)
        validate_goal(variant, goal.shape)  # bedrock at y = 0 only, ids in range
        assert (variant[:, 0, :] == BEDROCK).all()


def test_symmetric_variants_of_a_square_world() -> None:
    size = (5, 4, 5)
    goal = l_shaped_house(size)
    variants = symmetric_variants(goal)
    assert_valid_variants(goal, variants)
    keys = {variant.tobytes() for variant in variants}
    # 8 distinct orientations of the asymmetric 2x2 piece, at 4x4 offsets each.
    assert len(variants) == 8 * 16
    assert np.rot90(goal, 1, axes=(0, 2)).tobytes() in keys  # the world turned by 90 degrees
    assert np.rot90(goal, 2, axes=(0, 2)).tobytes() in keys
    assert goal[::-1].tobytes() in keys and goal[:, :, ::-1].tobytes() in keys  # mirrors
    shifted = initial_world(size)
    shifted[2:4, :, 2:4] = goal[1:3, :, 1:3]
    assert shifted.tobytes() in keys  # a translation


def test_symmetric_variants_count_by_hand() -> None:
    size = (3, 4, 3)
    column = initial_world(size)
    column[0, 2, 0] = STONE
    assert len(symmetric_variants(column)) == 9  # a column: every one of the 9 positions
    pair = column.copy()
    pair[1, 2, 0] = GLASS  # two different columns: 4 orientations x 6 offsets
    assert_valid_variants(pair, symmetric_variants(pair))
    assert len(symmetric_variants(pair)) == 24
    empty = initial_world(size)
    assert np.array_equal(symmetric_variants(empty), empty[None])


def test_symmetric_variants_of_a_non_square_world_skip_turns_that_do_not_fit() -> None:
    size = (5, 4, 2)
    goal = initial_world(size)
    goal[0:4, 2, 0] = [STONE, GLASS, PLANKS, WOOL]  # four long along x: cannot turn to z
    variants = symmetric_variants(goal)
    assert_valid_variants(goal, variants)
    # Along x only: itself and its mirror, at 2 x-offsets and 2 z-offsets each.
    assert len(variants) == 2 * 2 * 2
    rows = {tuple(variant[:, 2, z].tolist()) for variant in variants for z in range(2)}
    assert (0, WOOL, PLANKS, GLASS, STONE) in rows and (STONE, GLASS, PLANKS, WOOL, 0) in rows


def test_expand_with_symmetries_deduplicates() -> None:
    size = (3, 4, 3)
    pair = initial_world(size)
    pair[0, 2, 0] = STONE
    pair[1, 2, 0] = GLASS
    other = initial_world(size)
    other[1, 2, 1] = WOOL
    turned = np.rot90(pair, 1, axes=(0, 2)).copy()
    expanded = expand_with_symmetries(np.stack([pair, turned, other, pair]))
    keys = [goal.tobytes() for goal in expanded]
    assert len(keys) == len(set(keys)) == 24 + 9
    assert set(keys) == {v.tobytes() for v in symmetric_variants(pair)} | {
        v.tobytes() for v in symmetric_variants(other)
    }
    assert np.array_equal(expanded[0], pair)


def test_from_goals_and_from_examples_build_the_documented_prior() -> None:
    goals = np.stack([initial_world(TINY)] * 3)
    goals[0, 1, 2, 1] = STONE
    goals[1, 1, 2, 1] = GLASS
    goals[2, 1, 2, 1] = STONE
    exact = GoalPrior.from_goals(goals, weights=[1.0, 3.0, 0.0])
    assert exact.size == 2, "a goal of weight zero is dropped"
    np.testing.assert_allclose(np.exp(exact.log_weights), [0.25, 0.75])
    assert np.array_equal(exact.most_likely_goal(1), goals[1])
    with pytest.raises(ValueError, match="weights must be 3 non-negative numbers"):
        GoalPrior.from_goals(goals, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="non-empty uint8 stack"):
        GoalPrior.from_goals(goals.astype(np.int64))

    structures = GoalPrior.from_examples(goals, symmetries=False)
    assert structures.size == 1  # stone and glass at one cell: one structure, two materials
    assert structures.log_weights.tolist() == [0.0]
    prior = np.exp(structures.log_material_prior[0])
    # Class 0 is the dirt layer (first appearing), class 1 the block at (1, 2, 1): histograms
    # dirt x3 and stone x2 + glass x1, plus one pseudo-count spread over the eight materials.
    assert prior[0, DIRT - FIRST_PLACEABLE] == pytest.approx((3 + 1 / 8) / 4)
    assert prior[1, STONE - FIRST_PLACEABLE] == pytest.approx((2 + 1 / 8) / 4)
    assert prior[1, GLASS - FIRST_PLACEABLE] == pytest.approx((1 + 1 / 8) / 4)
    assert prior[1, WOOL - FIRST_PLACEABLE] == pytest.approx((1 / 8) / 4)
    np.testing.assert_allclose(prior.sum(axis=1), 1.0)
    np.testing.assert_allclose(prior[2:], 1 / 8)  # unused classes are uniform
    assert np.array_equal(structures.most_likely_goal(0), goals[0])
    with pytest.raises(ValueError, match="smoothing must be positive"):
        GoalPrior.from_examples(goals, smoothing=0.0)


SMALL = (6, 6, 6)


def test_no_test_house_is_a_symmetric_copy_of_a_training_house() -> None:
    train = load_shipped_goals("train", SMALL)[:300]
    test = load_shipped_goals("test", SMALL)[:100]
    keys = {goal.tobytes() for goal in expand_with_symmetries(train)}
    assert len(keys) > 10 * len(train)
    leaked = [index for index, house in enumerate(test) if house.tobytes() in keys]
    assert leaked == [], f"test houses {leaked} are copies of training houses"
    # The check would see a leak: a test house and its turned copy are found among test copies.
    test_keys = {goal.tobytes() for goal in expand_with_symmetries(test[:3])}
    assert test[0].tobytes() in test_keys
    assert np.rot90(test[1], 1, axes=(0, 2)).tobytes() in test_keys


def test_default_prior_is_the_structure_prior_of_the_training_houses() -> None:
    prior = default_prior(SMALL)
    assert prior is default_prior(SMALL), "built once per process"
    assert prior.world_size == SMALL and prior.size > 10_000
    assert "3000 houses" in prior.name
    np.testing.assert_allclose(np.exp(prior.log_weights).sum(), 1.0)
    np.testing.assert_allclose(np.exp(prior.log_material_prior).sum(axis=2), 1.0)
    # The structures of a few training houses (and a turned copy) are candidates.
    train = load_shipped_goals("train", SMALL)[:3]
    columns = {prior.labels[:, n].tobytes() for n in range(prior.size)}
    turned = np.rot90(train, 1, axes=(1, 3))
    for labels in np.concatenate([structure_labels(train)[0], structure_labels(turned)[0]]):
        assert labels.tobytes() in columns
    with pytest.raises(ValueError, match="no shipped 'train' goal dataset"):
        default_prior((4, 4, 4))
