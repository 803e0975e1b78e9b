"""The shipped goal datasets in assets/goals/ and the .npz dataset format."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import mbag_env.goals.datasets as datasets_module
from mbag_env.goals import (
    GoalFileError,
    assets_dir,
    canonical_digest,
    find_shipped_dataset,
    goal_assets_dir,
    goal_split,
    hidden_changes_mask,
    initial_world,
    is_buildable,
    load_goal_dataset,
    load_shipped_goals,
    read_manifest,
    save_goal_dataset,
    validate_goal,
)
from mbag_env.goals.datasets import sha256_file, sha256_goals

from .conftest import REPO_ROOT, load_script

SHIPPED_SIZES = [(11, 10, 10), (6, 6, 6)]


def test_assets_dir_is_the_repository_folder() -> None:
    assert assets_dir() == REPO_ROOT / "assets"
    assert goal_assets_dir() == REPO_ROOT / "assets" / "goals"


def test_manifest_lists_train_and_test_at_both_sizes() -> None:
    entries = read_manifest()
    assert {(e.split, e.world_size) for e in entries} == {
        (s, w) for s in ("train", "test") for w in SHIPPED_SIZES
    }
    for entry in entries:
        assert (goal_assets_dir() / entry.file).is_file()
        assert entry.count > 0 and entry.generator_version >= 1
    total = sum((goal_assets_dir() / p.name).stat().st_size for p in goal_assets_dir().iterdir())
    assert total < 2 * 1024 * 1024


@pytest.mark.parametrize("world_size", SHIPPED_SIZES)
def test_shipped_goals_are_valid_distinct_and_disjoint(world_size: tuple[int, int, int]) -> None:
    digests = {}
    for split in ("train", "test"):
        info = find_shipped_dataset(split, world_size)
        assert info is not None
        goals = load_shipped_goals(split, world_size)
        assert goals.shape == (info.count, *world_size) and goals.dtype == np.uint8
        assert sha256_goals(goals) == info.goals_sha256
        digests[split] = set()
        for goal in goals:
            validate_goal(goal, world_size)
            assert is_buildable(goal)
            assert not hidden_changes_mask(goal).any()
            assert goal_split(goal) == split
            digests[split].add(canonical_digest(goal))
        assert len(digests[split]) == info.count, "no duplicates, even up to rotation and mirroring"
    assert not digests["train"] & digests["test"]


def test_shipped_datasets_match_the_generator() -> None:
    """The first goals of each shipped dataset regenerate exactly from its seed (catches a generator
    change that was not followed by a version bump and a regeneration)."""
    script = load_script("make_goal_datasets")
    for spec in script.DATASETS:
        shipped = load_shipped_goals(spec.split, spec.world_size)
        fresh = script.generate_goals(
            script.DatasetSpec(spec.split, spec.world_size, 25, spec.seed), progress=False
        )
        assert np.array_equal(fresh, shipped[:25])


def test_missing_shipped_dataset_lists_the_available_ones() -> None:
    with pytest.raises(
        ValueError, match=r"no shipped 'test' goal dataset for world size \(7, 7, 7\); available:.*6, 6, 6"
    ):
        load_shipped_goals("test", (7, 7, 7))
    with pytest.raises(ValueError, match="expected one of train, test"):
        load_shipped_goals("val", (6, 6, 6))


def test_save_is_reproducible_and_round_trips(tmp_path: Path) -> None:
    goals = np.stack([initial_world((4, 5, 4))] * 3)
    goals[1, 2, 2, 2] = 6
    first = save_goal_dataset(tmp_path / "a.npz", goals)
    second = save_goal_dataset(tmp_path / "b.npz", goals)
    assert first == second == sha256_file(tmp_path / "a.npz")
    assert np.array_equal(load_goal_dataset(tmp_path / "a.npz"), goals)
    with pytest.raises(ValueError, match="y=0 must be all bedrock"):
        save_goal_dataset(tmp_path / "c.npz", np.zeros((1, 4, 5, 4), dtype=np.uint8))


def test_bad_dataset_files(tmp_path: Path) -> None:
    with pytest.raises(GoalFileError, match="not found"):
        load_goal_dataset(tmp_path / "missing.npz")
    goals = np.stack([initial_world((4, 5, 4))] * 20)
    save_goal_dataset(tmp_path / "good.npz", goals)
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(GoalFileError, match="truncated.npz"):
        load_goal_dataset(tmp_path / "truncated.npz")
    np.savez(tmp_path / "two.npz", a=goals, b=goals)
    with pytest.raises(GoalFileError, match="expected an array named 'goals'"):
        load_goal_dataset(tmp_path / "two.npz")
    bad = goals.copy()
    bad[3, 0, 0, 0] = 0
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(GoalFileError, match="bad.npy: invalid goal"):
        load_goal_dataset(tmp_path / "bad.npy")


def test_manifest_entries_match_files() -> None:
    raw = json.loads((goal_assets_dir() / "manifest.json").read_text())
    for entry in raw["datasets"]:
        assert sha256_file(goal_assets_dir() / entry["file"]) == entry["sha256"]


def _npz_with_header(path: Path, header: dict, data: bytes) -> Path:
    """An .npz whose ``goals.npy`` has a handwritten header (claiming any shape) over ``data``."""
    text = repr(header).encode("latin1").ljust(118) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("goals.npy", member)
    return path


def test_oversized_dataset_is_refused_from_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = _npz_with_header(
        tmp_path / "huge.npz", {"descr": "|u1", "fortran_order": False, "shape": (2**40, 4, 4, 4)}, b"\0" * 64
    )
    with pytest.raises(GoalFileError, match=r"huge\.npz.*more than the \d+ allowed"):
        load_goal_dataset(huge)
    wide = _npz_with_header(
        tmp_path / "wide.npz", {"descr": "|u1", "fortran_order": False, "shape": (1, 4, 4, 300)}, b""
    )
    with pytest.raises(GoalFileError, match=r"wide\.npz.*axis 3 has 300 cells"):
        load_goal_dataset(wide)
    short = _npz_with_header(
        tmp_path / "short.npz", {"descr": "<i8", "fortran_order": False, "shape": (5, 4, 4, 4)}, b"\1" * 100
    )
    with pytest.raises(GoalFileError, match=r"short\.npz.*truncated"):
        load_goal_dataset(short)
    goals = np.stack([initial_world((4, 5, 4))] * 3)
    save_goal_dataset(tmp_path / "ok.npz", goals)
    monkeypatch.setattr("mbag_env.goals.loaders.MAX_ARRAY_CELLS", goals.size - 1)
    with pytest.raises(GoalFileError, match=r"ok\.npz.*\(240 cells\), more than the 239"):
        load_goal_dataset(tmp_path / "ok.npz")
    monkeypatch.setattr("mbag_env.goals.loaders.MAX_ARRAY_CELLS", goals.size)
    assert np.array_equal(load_goal_dataset(tmp_path / "ok.npz"), goals)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.stack([initial_world((4, 5, 4))] * 2).astype(np.float32), "integer block ids"),
        (np.stack([initial_world((4, 5, 4))] * 2).astype(np.bool_), "integer block ids"),
        (np.zeros((2, 3), dtype=np.uint8), r"\(N, X, Y, Z\)"),
        (np.zeros((0, 4, 5, 4), dtype=np.uint8), "non-empty"),
        (np.full((1, 4, 5, 4), 12, dtype=np.int64), "invalid goal.*block id"),
        (np.stack([initial_world((4, 5, 4)) - 2]).astype(np.int8), "invalid goal.*block id -2"),
    ],
)
def test_wrong_dtype_shape_or_ids_are_goal_file_errors(
    tmp_path: Path, array: np.ndarray, message: str
) -> None:
    path = tmp_path / "odd.npz"
    np.savez(path, goals=array)
    with pytest.raises(GoalFileError, match=rf"odd\.npz.*{message}"):
        load_goal_dataset(path)


def test_every_truncation_and_damaged_header_is_a_goal_file_error(tmp_path: Path) -> None:
    goals = np.stack([initial_world((4, 5, 4))] * 3)
    goals[1, 2, 2, 2] = 6
    save_goal_dataset(tmp_path / "good.npz", goals)
    data = (tmp_path / "good.npz").read_bytes()
    damaged = tmp_path / "damaged.npz"
    for cut in range(len(data)):
        damaged.write_bytes(data[:cut])
        with pytest.raises(GoalFileError, match="damaged.npz"):
            load_goal_dataset(damaged)
    # The central directory's flag bits (bit 0: encrypted) and compression method made zipfile raise
    # RuntimeError and NotImplementedError; a flipped data byte, zlib.error or a bad CRC.
    central = data.index(b"PK\x01\x02")
    for offset, value in [
        (central + 8, 1),
        (central + 10, 99),
        (len(data) // 3, data[len(data) // 3] ^ 0xFF),
    ]:
        flipped = bytearray(data)
        flipped[offset] = value
        damaged.write_bytes(bytes(flipped))
        with pytest.raises(GoalFileError, match="damaged.npz"):
            load_goal_dataset(damaged)


def _fake_package(root: Path) -> Path:
    """A stand-in for the ``mbag_env`` package folder, ``root/mbag_env`` (what the datasets module
    finds from its own path)."""
    (root / "mbag_env").mkdir(parents=True, exist_ok=True)
    return (root / "mbag_env").resolve()


def _copy_shipped_goals(folder: Path) -> None:
    """Copy the manifest and the 6×6×6 test dataset of the repository into ``folder/goals``."""
    goals = folder / "goals"
    goals.mkdir(parents=True)
    source = REPO_ROOT / "assets" / "goals"
    (goals / "manifest.json").write_bytes((source / "manifest.json").read_bytes())
    name = "houses_6x6x6_test.npz"
    (goals / name).write_bytes((source / name).read_bytes())


def test_assets_dir_falls_back_to_the_installed_package_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wheel's layout: site-packages/mbag_env/_assets/goals; a stray site-packages/assets (from some
    # other distribution, with no pyproject.toml beside it) must not be taken for the repository's.
    site = tmp_path / "site-packages"
    monkeypatch.setattr(datasets_module, "_PACKAGE_DIR", _fake_package(site))
    (site / "assets" / "goals").mkdir(parents=True)
    packaged = site / "mbag_env" / "_assets"
    _copy_shipped_goals(packaged)
    assert assets_dir() == packaged.resolve()
    assert goal_assets_dir() == packaged.resolve() / "goals"
    goals = load_shipped_goals("test", (6, 6, 6))
    info = find_shipped_dataset("test", (6, 6, 6))
    assert info is not None and goals.shape == (info.count, 6, 6, 6)


def test_assets_dir_prefers_the_source_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "checkout"
    monkeypatch.setattr(datasets_module, "_PACKAGE_DIR", _fake_package(checkout))
    (checkout / "pyproject.toml").write_text("[project]\nname = 'mbag_env'\n")
    (checkout / "assets" / "goals").mkdir(parents=True)
    (checkout / "mbag_env" / "_assets" / "goals").mkdir(parents=True)  # stale build leftovers
    assert assets_dir() == checkout.resolve() / "assets"


def test_assets_dir_names_every_place_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    monkeypatch.setattr(datasets_module, "_PACKAGE_DIR", _fake_package(site))
    with pytest.raises(FileNotFoundError) as error:
        assets_dir()
    message = str(error.value)
    assert str(site.resolve() / "assets") in message
    assert str(site.resolve() / "mbag_env" / "_assets") in message
