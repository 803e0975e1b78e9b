"""Goals that do not fit (refused when fitting leaves nothing to build) and loader limits on hostile files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mbag_env.blocks import AIR, DIRT, PLANKS, STONE
from mbag_env.goals import (
    GoalFileError,
    StructureGoalSampler,
    initial_world,
    load_block_arrays,
    load_craftassist_schematic,
    load_grabcraft_json,
    make_goal_sampler,
    save_goal_dataset,
)
from mbag_env.goals.loaders import MAX_ARRAY_CELLS, MAX_STRUCTURE_BLOCKS, MAX_STRUCTURE_EXTENT
from mbag_env.goals.transforms import place_in_world


def hollow_box(width: int, height: int, depth: int) -> np.ndarray:
    """Walls on the outline and a roof, nothing inside: most crop windows of it miss every wall."""
    box = np.zeros((width, height, depth), dtype=np.uint8)
    box[:, 0, :] = DIRT
    box[[0, -1], :, :] = PLANKS
    box[:, :, [0, -1]] = PLANKS
    box[:, -1, :] = STONE
    return box


def test_big_hollow_house_never_gives_an_already_complete_goal() -> None:
    structure = hollow_box(20, 15, 20)
    world = (11, 10, 10)
    empty = initial_world(world)
    rng = np.random.default_rng(0)
    plain_fits = [place_in_world(structure, world, np.random.default_rng(seed)) for seed in range(50)]
    assert sum(np.array_equal(goal, empty) for goal in plain_fits) > 20, "the crop alone is often empty"
    sampler = StructureGoalSampler([structure], world, transform=lambda blocks, rng: blocks)
    goals = [sampler.sample(rng) for _ in range(50)]
    assert not any(np.array_equal(goal, empty) for goal in goals)


def test_goal_path_with_bigger_goals_is_fitted_without_empty_goals(tmp_path: Path) -> None:
    goal = initial_world((20, 16, 20))
    goal[:, 1:, :] = hollow_box(20, 15, 20)
    save_goal_dataset(tmp_path / "big.npz", goal[None])
    sampler = make_goal_sampler(tmp_path / "big.npz", (11, 10, 10))
    rng = np.random.default_rng(3)
    empty = initial_world((11, 10, 10))
    assert not any(np.array_equal(sampler.sample(rng), empty) for _ in range(30))


def test_structure_that_fitting_always_empties_is_refused_naming_sizes() -> None:
    floating = np.zeros((1, 3, 1), dtype=np.uint8)
    floating[0, 2, 0] = STONE  # nothing below it: removed when placed, so the goal is the empty world
    sampler = StructureGoalSampler(
        [floating], (5, 5, 5), transform=lambda blocks, rng: blocks, max_attempts=7
    )
    with pytest.raises(ValueError, match=r"size \(1, 3, 1\).*world \(5, 5, 5\).*nothing to build 7 times"):
        sampler.sample(np.random.default_rng(0))


@pytest.mark.parametrize("structure", [np.zeros((0, 0, 0), np.uint8), np.full((3, 1, 3), DIRT, np.uint8)])
def test_structure_with_nothing_to_build_is_refused_at_once(structure: np.ndarray) -> None:
    good = hollow_box(3, 3, 3)
    with pytest.raises(ValueError, match="structure 1 .* has nothing to build"):
        StructureGoalSampler([good, structure], (6, 6, 6))


def write_grabcraft(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_grabcraft_huge_coordinate_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text('{"1": {"1500": {"1": {"name": "Stone"}}}}')
    with pytest.raises(GoalFileError, match=r"huge\.json.*x coordinate 1500 is above 256"):
        load_grabcraft_json(path)
    edge = write_grabcraft(
        tmp_path / "edge.json", {"1": {str(MAX_STRUCTURE_EXTENT): {"1": {"name": "Stone"}}}}
    )
    assert load_grabcraft_json(edge).shape == (1, 1, 1)


def test_grabcraft_block_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mbag_env.goals.loaders.MAX_STRUCTURE_BLOCKS", 3)
    row = {str(z): {"name": "Stone"} for z in range(1, 5)}
    path = write_grabcraft(tmp_path / "many.json", {"1": {"1": row}})
    with pytest.raises(GoalFileError, match=r"many\.json.*more than 3 blocks"):
        load_grabcraft_json(path)
    assert MAX_STRUCTURE_BLOCKS >= 100_000


def test_deeply_nested_json_is_a_goal_file_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(GoalFileError, match=r"deep\.json.*nested too deeply"):
        load_grabcraft_json(path)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"1": {"1": {"1": {"name": 5}}}}, "no 'name' string"),
        ({"1": {"1": {"1": ["Stone"]}}}, "no 'name' string"),
        ({"1": {"1": ["x"]}}, "must be a JSON object"),
        ({"1": 7}, "must be a JSON object"),
        ({"a": {}}, "not an integer"),
        ({"1": {"1": {"1": {"name": None}}}}, "no 'name' string"),
        ([1, 2], "non-empty JSON object"),
    ],
)
def test_wrong_json_types_are_goal_file_errors(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(GoalFileError, match=message):
        load_grabcraft_json(write_grabcraft(tmp_path / "bad.json", data))


def test_oversized_schematic_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "tall.schematic.npy"
    np.save(path, np.zeros((MAX_STRUCTURE_EXTENT + 1, 1, 1, 2), dtype=np.int16))
    with pytest.raises(GoalFileError, match=r"tall\.schematic\.npy.*axis 0 has 257 cells"):
        load_craftassist_schematic(path)


def test_oversized_arrays_are_refused_from_their_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((2, MAX_STRUCTURE_EXTENT + 44, 2), dtype=np.uint8))
    with pytest.raises(GoalFileError, match=r"wide\.npy.*axis 1 has 300 cells"):
        load_block_arrays(wide)
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, ok=hollow_box(3, 3, 3), big=np.zeros((1, 2, 2, 400), dtype=np.uint8))
    with pytest.raises(GoalFileError, match=r"packed\.npz: array 'big'.*axis 3 has 400 cells"):
        load_block_arrays(packed)
    monkeypatch.setattr("mbag_env.goals.loaders.MAX_ARRAY_CELLS", 26)
    many = tmp_path / "many.npz"
    np.savez_compressed(many, stack=np.zeros((2, 3, 3, 3), dtype=np.uint8))
    with pytest.raises(GoalFileError, match=r"many\.npz.*54 cells\), more than the 26"):
        load_block_arrays(many)
    assert MAX_ARRAY_CELLS >= 32**3 * 1000


def test_arrays_within_limits_still_load(tmp_path: Path) -> None:
    box = hollow_box(4, 3, 5)
    np.save(tmp_path / "box.npy", box)
    (loaded,) = load_block_arrays(tmp_path / "box.npy")
    assert loaded.shape == (4, 3, 5) and (loaded[1:-1, 1, 1:-1] == AIR).all()
