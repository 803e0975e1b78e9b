"""Real-house loaders (CraftAssist, GrabCraft, plain arrays) on `tests/fixtures` and on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mbag_env.blocks import AIR, BEDROCK, COBBLESTONE, GLASS, LOG, NUM_BLOCK_TYPES, PLANKS, STONE, STONEBRICK
from mbag_env.goals import (
    GoalFileError,
    HouseFiles,
    StructureGoalSampler,
    initial_world,
    is_buildable,
    load_block_arrays,
    load_craftassist_schematic,
    load_grabcraft_json,
    load_structures,
    make_goal_sampler,
    validate_goal,
)
from mbag_env.goals.loaders import (
    BLOCK_MAPS_DIR,
    craftassist_block_map,
    grabcraft_block_map,
    minecraft_to_mbag,
)

from .conftest import REAL_HOUSE_FILES

FIT_SIZES = [(11, 10, 10), (6, 6, 6), (3, 4, 3), (32, 32, 32), (9, 5, 14)]


def test_block_maps_cover_every_minecraft_name() -> None:
    names = minecraft_to_mbag()
    for file in ("craftassist_block_map.json", "grabcraft_block_map.json"):
        raw = json.loads((BLOCK_MAPS_DIR / file).read_text())
        for value in raw.values():
            if value is not None:
                assert value[0] in names, (file, value)
    assert len(craftassist_block_map()) > 700 and len(grabcraft_block_map()) > 800
    assert all(0 <= block < NUM_BLOCK_TYPES or block == 255 for block in names.values())
    assert BEDROCK not in names.values()


def test_copied_block_maps_match_fixtures(real_houses_dir: Path) -> None:
    for file in ("craftassist_block_map.json", "grabcraft_block_map.json"):
        assert json.loads((BLOCK_MAPS_DIR / file).read_text()) == json.loads(
            (real_houses_dir / file).read_text()
        )


@pytest.mark.parametrize("name", REAL_HOUSE_FILES)
def test_real_houses_load_and_fit_every_world(real_houses_dir: Path, name: str) -> None:
    structures = load_structures(real_houses_dir / name)
    assert len(structures) == 1
    structure = structures[0]
    assert structure.dtype == np.uint8 and structure.ndim == 3
    assert structure.max() < NUM_BLOCK_TYPES and not (structure == BEDROCK).any()
    assert np.count_nonzero(structure) > 50
    for world_size in FIT_SIZES:
        sampler = StructureGoalSampler([structure], world_size)
        rng = np.random.default_rng(0)
        for _ in range(5):
            goal = sampler.sample(rng)
            validate_goal(goal, world_size)
            assert is_buildable(goal)
            assert np.count_nonzero(goal[:, 2:, :]) > 0


def test_real_house_contents(real_houses_dir: Path) -> None:
    test_house = load_craftassist_schematic(real_houses_dir / "craftassist_test_house.schematic.npy")
    counts = np.bincount(test_house.ravel(), minlength=NUM_BLOCK_TYPES)
    assert counts[GLASS] == 46, "46 glass panes (102:0)"
    assert counts[PLANKS] >= 96, "oak stairs (53:*) become planks"
    assert counts[COBBLESTONE] >= 260
    train_house = load_craftassist_schematic(real_houses_dir / "craftassist_train_house.schematic.npy")
    assert np.bincount(train_house.ravel(), minlength=NUM_BLOCK_TYPES)[STONEBRICK] == 171
    tiny = load_grabcraft_json(real_houses_dir / "grabcraft_5262.json")
    assert tiny.shape == (5, 6, 5)
    assert (tiny == LOG).sum() == 16 and (tiny == COBBLESTONE).sum() == 8
    fantasy = load_grabcraft_json(real_houses_dir / "grabcraft_5861.json")
    assert fantasy.shape[1] == 19


def test_house_files_loader_object(real_houses_dir: Path) -> None:
    loader = HouseFiles(real_houses_dir)
    assert [p.name for p in loader.files()] == sorted(REAL_HOUSE_FILES)
    sampler = make_goal_sampler(loader, (11, 10, 10))
    rng = np.random.default_rng(1)
    goals = [sampler.sample(rng) for _ in range(20)]
    assert len({g.tobytes() for g in goals}) > 5
    assert all(is_buildable(g) for g in goals)


def _write_schematic(path: Path, ids: list[tuple[int, int]]) -> Path:
    data = np.zeros((2, 2, len(ids), 2), dtype=np.uint8)
    for x, (block_id, meta) in enumerate(ids):
        data[0, 0, x] = (block_id, meta)
    np.save(path, data)
    return path


def test_craftassist_meta_fallback_and_unknown_ids(tmp_path: Path) -> None:
    path = _write_schematic(tmp_path / "a.schematic.npy", [(4, 5), (1, 0)])  # 4:5 is not in the map
    blocks = load_craftassist_schematic(path)
    assert sorted(np.unique(blocks).tolist()) == [COBBLESTONE, STONE], "4:5 falls back to 4:0"
    unknown = _write_schematic(tmp_path / "b.schematic.npy", [(9, 0), (1, 0), (34, 2)])
    with pytest.raises(ValueError, match=r"b\.schematic\.npy: 2 block ids.*'34:2', '9:0'"):
        load_craftassist_schematic(unknown)
    assert STONE in load_craftassist_schematic(unknown, on_unknown="air")
    auto = load_craftassist_schematic(unknown, on_unknown="auto")
    assert (auto == STONE).sum() == 3, "unknown blocks take their neighbours' block"
    with pytest.raises(ValueError, match="on_unknown must be one of"):
        load_craftassist_schematic(unknown, on_unknown="skip")  # type: ignore[arg-type]


def test_grabcraft_names_and_unknown_names(tmp_path: Path) -> None:
    def block(name: str) -> dict:
        return {"name": name}

    data = {
        "1": {
            "1": {"1": block("Cobblestone"), "2": block("  cobblestone ")},
            "2": {"1": block("Glowing Thing")},
        }
    }
    path = tmp_path / "house.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"house\.json: 1 block names.*'Glowing Thing'"):
        load_grabcraft_json(path)
    blocks = load_grabcraft_json(path, on_unknown="auto")
    assert blocks.shape == (2, 1, 2)
    assert (blocks == COBBLESTONE).sum() == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"1": {"1": {"1": {"name": "Cobblestone"}', "could not read JSON"),
        ("[1, 2, 3]", "must be a non-empty JSON object"),
        ('{"a": {}}', "coordinate 'a' is not an integer"),
        ('{"0": {"1": {"1": {"name": "Cobblestone"}}}}', "below 1"),
        ('{"1": {"1": {"1": {"id": 3}}}}', "no 'name' string"),
        ('{"1": [1]}', "must be a JSON object"),
        ('{"1": {}}', "lists no blocks"),
        ('{"1": {"2": {}}, "3": {}}', "lists no blocks"),
    ],
)
def test_bad_grabcraft_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(GoalFileError, match=message) as error:
        load_grabcraft_json(path)
    assert "bad.json" in str(error.value)


def test_truncated_and_corrupt_array_files(tmp_path: Path, real_houses_dir: Path) -> None:
    original = (real_houses_dir / "craftassist_train_house.schematic.npy").read_bytes()
    truncated = tmp_path / "truncated.schematic.npy"
    truncated.write_bytes(original[: len(original) // 2])
    with pytest.raises(GoalFileError, match="truncated.schematic.npy"):
        load_craftassist_schematic(truncated)
    with pytest.raises(GoalFileError, match="truncated.schematic.npy"):
        load_structures(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 definitely not a zip file")
    with pytest.raises(GoalFileError, match="garbage.npz"):
        load_block_arrays(garbage)
    with pytest.raises(GoalFileError, match="file not found"):
        load_structures(tmp_path / "missing.npy")
    wrong_layout = tmp_path / "wrong.npy"
    np.save(wrong_layout, np.zeros((3, 3, 3, 3), dtype=np.uint8))
    with pytest.raises(GoalFileError, match=r"shape \(y, z, x, 2\)"):
        load_craftassist_schematic(wrong_layout)
    with pytest.raises(GoalFileError, match="unsupported file type '.txt'"):
        load_structures(tmp_path / "house.txt")


def test_plain_arrays(tmp_path: Path) -> None:
    goal = initial_world((6, 5, 6))
    goal[2, 2:4, 3] = PLANKS
    structure = np.zeros((2, 3, 2), dtype=np.uint8)
    structure[0, :, 0] = STONE
    np.save(tmp_path / "goal.npy", goal)
    np.savez(tmp_path / "both.npz", a=np.stack([goal, goal]), b=structure)
    assert [s.shape for s in load_block_arrays(tmp_path / "goal.npy")] == [(1, 3, 1)]
    loaded = load_block_arrays(tmp_path / "both.npz")
    assert len(loaded) == 3 and loaded[2].shape == (1, 3, 1)
    np.save(tmp_path / "float.npy", goal.astype(np.float32))
    with pytest.raises(GoalFileError, match="integer block ids"):
        load_block_arrays(tmp_path / "float.npy")
    np.save(tmp_path / "big_ids.npy", np.full((2, 2, 2), 12, dtype=np.uint8))
    with pytest.raises(GoalFileError, match=r"outside 0\.\.9"):
        load_block_arrays(tmp_path / "big_ids.npy")
    bad_bedrock = goal.copy()
    bad_bedrock[0, 0, 0] = AIR
    bad_bedrock[1, 3, 1] = BEDROCK
    np.save(tmp_path / "bedrock.npy", bad_bedrock)
    with pytest.raises(GoalFileError, match="bedrock outside a full y=0 layer"):
        load_block_arrays(tmp_path / "bedrock.npy")


def test_house_files_errors(tmp_path: Path) -> None:
    with pytest.raises(GoalFileError, match="not found"):
        HouseFiles(tmp_path / "nowhere").structures()
    with pytest.raises(GoalFileError, match="no structures found"):
        HouseFiles(tmp_path).structures()
    with pytest.raises(ValueError, match="at least one"):
        HouseFiles([])
