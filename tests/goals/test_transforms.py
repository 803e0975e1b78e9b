"""Transforms and filters: invariants, shapes, seeding and errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mbag_env.blocks import AIR, BEDROCK, COBBLESTONE, DIRT, GLASS, PLANKS, STONE, WOOL
from mbag_env.goals import generate_house, is_buildable, transforms, validate_goal


@pytest.fixture
def house() -> np.ndarray:
    return generate_house(np.random.default_rng(0), (11, 10, 10))


@pytest.fixture
def structure(house: np.ndarray) -> np.ndarray:
    return transforms.goal_to_structure(house)


def test_rotate_four_times_is_identity(house: np.ndarray) -> None:
    rotated = house
    for _ in range(4):
        rotated = transforms.rotate_y(rotated, 1)
    assert np.array_equal(rotated, house)
    assert transforms.rotate_y(house, 1).shape == (10, 10, 11)
    assert np.array_equal(transforms.rotate_y(house, 3), transforms.rotate_y(house, -1))
    assert np.array_equal(transforms.rotate_y(transforms.rotate_y(house, 1), 3), house)


def test_rotation_keeps_layers_and_moves_cells_about_y() -> None:
    blocks = np.zeros((3, 2, 2), dtype=np.uint8)
    blocks[2, 1, 0] = STONE
    rotated = transforms.rotate_y(blocks, 1)
    assert rotated.shape == (2, 2, 3)
    assert list(map(tuple, np.argwhere(rotated))) == [(1, 1, 2)]


def test_mirror_twice_is_identity(house: np.ndarray) -> None:
    for axis in ("x", "z"):
        once = transforms.mirror(house, axis)
        assert not np.array_equal(once, house)
        assert np.array_equal(transforms.mirror(once, axis), house)
    with pytest.raises(ValueError, match="'x' or 'z'"):
        transforms.mirror(house, "y")  # type: ignore[arg-type]


def test_remap_keeps_shape_and_maps(house: np.ndarray) -> None:
    remapped = transforms.remap_blocks(house, {"planks": "wool", COBBLESTONE: STONE})
    assert remapped.shape == house.shape and remapped.dtype == np.uint8
    assert not (remapped == PLANKS).any() and not (remapped == COBBLESTONE).any()
    assert np.array_equal(remapped == WOOL, (house == PLANKS) | (house == WOOL))
    validate_goal(remapped, house.shape)
    assert np.array_equal(
        transforms.RemapBlocks({"planks": "wool", COBBLESTONE: STONE})(house, None), remapped
    )


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({AIR: PLANKS}, "cannot change air"),
        ({BEDROCK: DIRT}, "cannot change bedrock"),
        ({PLANKS: BEDROCK}, "cannot produce bedrock"),
        ({"plank": "wool"}, "unknown block name 'plank'"),
        ({PLANKS: 12}, "block id 0..9"),
    ],
)
def test_remap_errors(mapping: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        transforms.remap_blocks(np.zeros((2, 2, 2), dtype=np.uint8), mapping)


def test_uniform_material_keeps_ground_and_air(house: np.ndarray) -> None:
    uniform = transforms.uniform_material(house, "stonebrick")
    assert uniform.shape == house.shape
    assert set(np.unique(uniform)) <= {AIR, BEDROCK, DIRT, 8}
    assert np.array_equal(uniform == AIR, house == AIR)
    random_uniform = transforms.UniformMaterial()(house, np.random.default_rng(0))
    assert len(set(np.unique(random_uniform)) - {AIR, BEDROCK, DIRT}) == 1
    with pytest.raises(ValueError, match="placeable"):
        transforms.uniform_material(house, "air")


def test_crop_or_pad_gives_exact_size(structure: np.ndarray) -> None:
    for size in [(3, 2, 4), (20, 15, 20), structure.shape, (structure.shape[0], 3, 30)]:
        for anchor in ("center", "min", "random"):
            result = transforms.crop_or_pad(structure, size, anchor=anchor, rng=np.random.default_rng(0))
            assert result.shape == size
    padded = transforms.crop_or_pad(structure, (20, 15, 20), anchor="min")
    assert np.array_equal(transforms.crop_to_content(padded), transforms.crop_to_content(structure))
    cropped = transforms.crop_or_pad(structure, (*structure.shape[:1], 2, structure.shape[2]))
    assert np.array_equal(cropped, structure[:, :2, :]), "vertical cropping keeps the bottom"
    with pytest.raises(ValueError, match="needs an rng"):
        transforms.crop_or_pad(structure, (3, 3, 3), anchor="random")
    with pytest.raises(ValueError, match="anchor must be one of"):
        transforms.crop_or_pad(structure, (3, 3, 3), anchor="left")  # type: ignore[arg-type]


def test_place_in_world_round_trip(house: np.ndarray, structure: np.ndarray) -> None:
    # Centred, the structure has free cells around it, so nothing is cut as unreachable.
    for size in [(11, 10, 10), (14, 12, 13), (32, 32, 32)]:
        goal = transforms.place_in_world(structure, size, anchor="center")
        validate_goal(goal, size)
        assert is_buildable(goal)
        assert np.array_equal(transforms.goal_to_structure(goal), structure)


def test_place_in_world_crops_to_small_worlds(structure: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    for size in [(3, 4, 3), (6, 6, 6), (5, 20, 4)]:
        goal = transforms.place_in_world(structure, size, rng)
        validate_goal(goal, size)
        assert is_buildable(goal)
    with pytest.raises(ValueError, match="must not contain bedrock"):
        transforms.place_in_world(np.ones((2, 2, 2), dtype=np.uint8), (5, 5, 5))


def test_place_in_world_fills_bottom_air_with_dirt_and_undoes_hidden_blocks() -> None:
    structure = np.zeros((3, 3, 3), dtype=np.uint8)
    structure[1, 0, 1] = STONE  # a foundation block with planks on it: hidden, back to dirt
    structure[1, 1, 1] = PLANKS
    structure[2, 0, 1] = STONE  # open to the air above: kept
    goal = transforms.place_in_world(structure, (5, 5, 5), anchor="center")
    assert (goal[:, 1, :] != AIR).all()
    assert goal[2, 1, 2] == DIRT and goal[2, 2, 2] == PLANKS and goal[3, 1, 2] == STONE
    floating = np.zeros((1, 3, 1), dtype=np.uint8)
    floating[0, 2, 0] = STONE
    assert (transforms.place_in_world(floating, (4, 5, 4), anchor="min")[:, 2:, :] == AIR).all(), (
        "unsupported: removed"
    )


def test_halve() -> None:
    structure = np.zeros((4, 4, 4), dtype=np.uint8)
    structure[:2, :2, :2] = GLASS
    structure[0, 0, 0] = STONE  # seven glass, one stone: the chunk becomes glass
    structure[2, 0, 2] = STONE
    structure[3, 0, 2] = STONE  # two solid cells: fewer than min_solid=3, the chunk becomes air
    structure[2:, 2:, 2:][:3, 0, 0] = PLANKS
    structure[2, 2, 3] = PLANKS  # three planks: the chunk becomes planks
    halved = transforms.halve(structure)
    assert halved.shape == (2, 2, 2)
    assert halved[0, 0, 0] == GLASS and halved[1, 0, 1] == AIR and halved[1, 1, 1] == PLANKS
    assert transforms.halve(np.zeros((5, 3, 1), dtype=np.uint8)).shape == (3, 2, 1)


def test_shrink_to_fit_halves_only_large_structures(structure: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    assert transforms.ShrinkToFit((11, 9, 10))(structure, rng) is structure
    slightly_big = tuple(-(-s * 10 // 13) for s in structure.shape)  # ceil(s / 1.3)
    assert transforms.ShrinkToFit(slightly_big)(structure, rng) is structure, (
        "a little cropping beats halving"
    )
    shrunk = transforms.ShrinkToFit((3, 3, 3), max_halvings=1)(structure, rng)
    assert all(small <= -(-big // 2) for small, big in zip(shrunk.shape, structure.shape, strict=True))
    assert transforms.solid_count(shrunk) > 0
    with pytest.raises(ValueError, match="slack"):
        transforms.ShrinkToFit((4, 4, 4), slack=0.5)


def test_composed_transforms_are_seeded_and_picklable(structure: np.ndarray) -> None:
    transform = transforms.Compose(
        (
            transforms.Rotate(),
            transforms.Mirror("z", p=0.5),
            transforms.UniformMaterial(p=0.5),
            transforms.CropOrPad((8, 8, 8)),
        )
    )
    first = transform(structure, np.random.default_rng(11))
    second = pickle.loads(pickle.dumps(transform))(structure, np.random.default_rng(11))
    assert np.array_equal(first, second) and first.shape == (8, 8, 8)
    outputs = {transform(structure, np.random.default_rng(seed)).tobytes() for seed in range(20)}
    assert len(outputs) > 5
    assert np.array_equal(transforms.Rotate(2)(structure, None), transforms.rotate_y(structure, 2))
    with pytest.raises(ValueError, match="Mirror.p"):
        transforms.Mirror(p=2.0)


def test_filters(structure: np.ndarray) -> None:
    count = transforms.solid_count(structure)
    assert count > 0
    assert transforms.SizeFilter(min_blocks=count, max_blocks=count)(structure)
    assert not transforms.SizeFilter(min_blocks=count + 1)(structure)
    assert not transforms.SizeFilter(max_blocks=count - 1)(structure)
    w, h, d = transforms.crop_to_content(structure).shape
    assert transforms.SizeFilter(max_shape=(d, h, w))(structure), "either horizontal orientation fits"
    assert not transforms.SizeFilter(max_shape=(w, h - 1, d))(structure)
    value = transforms.density(structure)
    assert 0 < value <= 1
    assert transforms.DensityFilter(value - 0.01, value + 0.01)(structure)
    assert not transforms.DensityFilter(min_density=min(1.0, value + 0.01))(structure)
    with pytest.raises(ValueError, match="min_density"):
        transforms.DensityFilter(0.5, 0.2)
    assert transforms.density(np.zeros((2, 2, 2), dtype=np.uint8)) == 0.0
