"""Goal datasets: the shipped train/test sets in ``assets/goals/`` and ``.npz`` goal files in general.

The shipped sets live in the repository's top-level ``assets/goals/``; a wheel carries them as
``mbag_env/_assets/goals/`` (see :func:`assets_dir`).

A goal dataset file is an ``.npz`` holding one ``uint8`` array ``goals`` of shape ``(N, W, H, D)``.
:func:`save_goal_dataset` writes it byte-for-byte reproducibly (fixed zip timestamps), so the
SHA-256 recorded in the manifest identifies the file.

``assets/goals/manifest.json`` lists the shipped datasets, each with its split, world size, count,
seed, generator and generator version, the file's SHA-256 and the SHA-256 of the goal array's
bytes. :func:`load_shipped_goals` checks the file against the manifest before using it. The
``test`` datasets are the leaderboard's held-out houses; nothing draws from them unless asked by
name (``"dataset:test"``).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mbag_env.goals.loaders import GoalFileError, read_block_array_file
from mbag_env.goals.splits import check_split_name
from mbag_env.goals.validation import _world_size_tuple, validate_goal

MANIFEST_NAME = "manifest.json"
DATASET_KEY = "goals"


PACKAGED_ASSETS = "_assets"
"""The folder inside the installed ``mbag_env`` package that holds the shipped assets of a wheel."""

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The ``mbag_env`` package folder (found from this file, not by importing the package above it)."""


def _repository_assets_dir() -> Path:
    """``assets/`` of the source checkout around the ``mbag_env`` package (it may not exist)."""
    return _PACKAGE_DIR.parent / "assets"


def _packaged_assets_dir() -> Path:
    """``mbag_env/_assets/``: the shipped assets of a wheel or ``pip install .`` (it may not exist)."""
    return _PACKAGE_DIR / PACKAGED_ASSETS


def assets_dir() -> Path:
    """The folder of the shipped assets (the goal datasets in ``goals/``).

    In a source checkout (an editable install, or ``mbag_env`` imported from the repository) it is
    the repository's top-level ``assets/`` folder, recognised by a ``pyproject.toml`` beside it;
    otherwise (a wheel or ``pip install .``) it is the package data ``mbag_env/_assets/``, which the
    build copies from that folder.

    Raises:
        FileNotFoundError: naming every place looked at, if neither exists.
    """
    repository = _repository_assets_dir()
    if repository.is_dir() and (repository.parent / "pyproject.toml").is_file():
        return repository
    packaged = _packaged_assets_dir()
    if packaged.is_dir():
        return packaged
    raise FileNotFoundError(
        f"no shipped assets folder: looked for the repository's top-level {repository} (with a "
        f"pyproject.toml beside it) and the installed package data {packaged}; reinstall mbag_env "
        "(pip install . or a wheel built from the repository ships the goal datasets, pip install -e . "
        "uses the checkout's assets/)"
    )


def goal_assets_dir() -> Path:
    """``assets/goals/``, where the shipped goal datasets and their manifest live."""
    path = assets_dir() / "goals"
    if not path.is_dir():
        raise FileNotFoundError(
            f"the goal datasets folder {path} does not exist; create it with scripts/make_goal_datasets.py"
        )
    return path


def dataset_name(split: str, world_size: Sequence[int]) -> str:
    """The name of the shipped dataset for ``split`` and ``world_size``, e.g. ``houses_11x10x10_train``."""
    width, height, depth = _world_size_tuple(world_size)
    return f"houses_{width}x{height}x{depth}_{check_split_name(split)}"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sha256_goals(goals: np.ndarray) -> str:
    """Hex SHA-256 of a goal stack's shape and ``uint8`` bytes (independent of the file's packing)."""
    goals = np.ascontiguousarray(goals, dtype=np.uint8)
    return hashlib.sha256(np.asarray(goals.shape, dtype=np.int64).tobytes() + goals.tobytes()).hexdigest()


def save_goal_dataset(path: str | Path, goals: np.ndarray) -> str:
    """Write ``goals`` ``(N, W, H, D)`` to a compressed ``.npz`` with fixed timestamps; return its SHA-256.

    Every goal is checked with :func:`mbag_env.goals.validate_goal` first.
    """
    goals = np.asarray(goals)
    if goals.ndim != 4 or goals.shape[0] == 0:
        raise ValueError(f"a goal dataset must be a non-empty (N, W, H, D) array, got shape {goals.shape}")
    goals = np.stack([validate_goal(goal, goals.shape[1:]) for goal in goals])
    path = Path(path)
    info = zipfile.ZipInfo(f"{DATASET_KEY}.npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(info, "w") as member:
            np.lib.format.write_array(member, goals, allow_pickle=False)
    return sha256_file(path)


def load_goal_dataset(path: str | Path) -> np.ndarray:
    """Read a goal dataset (``.npz`` with a ``goals`` array, or ``.npy``) as a validated stack
    ``(N, W, H, D)``.

    A single goal ``(W, H, D)`` is returned as a stack of one. The array's header is read first
    (:func:`mbag_env.goals.loaders.read_block_array_file`): it must have an integer dtype, each of
    ``W, H, D`` at most :data:`~mbag_env.goals.loaders.MAX_STRUCTURE_EXTENT` cells and all goals
    together at most :data:`~mbag_env.goals.loaders.MAX_ARRAY_CELLS` cells, so a damaged or hostile
    header cannot make it allocate more than that.

    Raises:
        GoalFileError: naming the file if it is missing, unreadable, truncated, corrupt, too large,
            of another dtype or layout, or holds no valid goals (block ids outside 0..9, bedrock
            not exactly the ``y = 0`` layer).
    """
    path = Path(path)

    def select(names: list[str]) -> list[str]:
        if DATASET_KEY in names:
            return [DATASET_KEY]
        if len(names) == 1:
            return names
        raise GoalFileError(
            f"{path}: expected an array named {DATASET_KEY!r} (or a single array), "
            f"found {', '.join(names) or 'none'}"
        )

    (goals,) = read_block_array_file(path, "goal dataset", select).values()
    if goals.ndim == 3:
        goals = goals[None]
    if goals.shape[0] == 0 or 0 in goals.shape:
        raise GoalFileError(f"{path}: goals must be a non-empty (N, W, H, D) array, got shape {goals.shape}")
    try:
        return np.stack([validate_goal(goal, goals.shape[1:]) for goal in goals])
    except ValueError as error:
        raise GoalFileError(f"{path}: invalid goal: {error}") from error


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of ``assets/goals/manifest.json``."""

    name: str
    file: str
    split: str
    world_size: tuple[int, int, int]
    count: int
    seed: int
    generator: str
    generator_version: int
    sha256: str
    goals_sha256: str

    def as_json(self) -> dict:
        """The entry as written in the manifest."""
        return {
            "name": self.name,
            "file": self.file,
            "split": self.split,
            "world_size": list(self.world_size),
            "count": self.count,
            "seed": self.seed,
            "generator": self.generator,
            "generator_version": self.generator_version,
            "sha256": self.sha256,
            "goals_sha256": self.goals_sha256,
        }


def read_manifest(folder: Path | None = None) -> list[DatasetInfo]:
    """The datasets listed in ``manifest.json`` of ``folder`` (default: :func:`goal_assets_dir`)."""
    folder = goal_assets_dir() if folder is None else Path(folder)
    path = folder / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise GoalFileError(f"goal dataset manifest not found: {path}") from error
    except (OSError, json.JSONDecodeError) as error:
        raise GoalFileError(f"could not read goal dataset manifest {path}: {error}") from error
    try:
        return [
            DatasetInfo(
                name=str(entry["name"]),
                file=str(entry["file"]),
                split=check_split_name(entry["split"]),
                world_size=_world_size_tuple(entry["world_size"]),
                count=int(entry["count"]),
                seed=int(entry["seed"]),
                generator=str(entry["generator"]),
                generator_version=int(entry["generator_version"]),
                sha256=str(entry["sha256"]),
                goals_sha256=str(entry["goals_sha256"]),
            )
            for entry in raw["datasets"]
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise GoalFileError(f"{path}: malformed manifest entry: {error!r}") from error


def find_shipped_dataset(split: str, world_size: Sequence[int]) -> DatasetInfo | None:
    """The manifest entry for ``split`` at ``world_size``, or None if no such dataset ships."""
    check_split_name(split)
    size = _world_size_tuple(world_size)
    for info in read_manifest():
        if info.split == split and info.world_size == size:
            return info
    return None


def load_shipped_goals(split: str, world_size: Sequence[int]) -> np.ndarray:
    """The shipped ``split`` dataset at ``world_size`` as an ``(N, W, H, D)`` stack, checked against
    the manifest.

    Raises:
        ValueError: if no dataset ships for that split and size (the message lists those that do).
        GoalFileError: if the file is missing or does not match the manifest's SHA-256.
    """
    info = find_shipped_dataset(split, world_size)
    if info is None:
        available = ", ".join(f"{d.split} {d.world_size}" for d in read_manifest()) or "none"
        raise ValueError(
            f"no shipped {split!r} goal dataset for world size {_world_size_tuple(world_size)}; "
            f"available: {available}"
        )
    path = goal_assets_dir() / info.file
    if not path.is_file():
        raise GoalFileError(f"shipped goal dataset {path} listed in the manifest is missing")
    digest = sha256_file(path)
    if digest != info.sha256:
        raise GoalFileError(
            f"{path} does not match the manifest (sha256 {digest}, expected {info.sha256}); "
            "regenerate it with scripts/make_goal_datasets.py"
        )
    goals = load_goal_dataset(path)
    if goals.shape != (info.count, *info.world_size):
        raise GoalFileError(
            f"{path}: holds goals of shape {goals.shape}, the manifest says {(info.count, *info.world_size)}"
        )
    return goals
