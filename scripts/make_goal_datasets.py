"""Generate the shipped goal datasets in ``assets/goals/`` from fixed seeds, and their manifest.

Each dataset holds distinct procedural houses (no two equal up to horizontal translation,
rotation or mirroring) drawn from one split, so the ``train`` and ``test`` sets are disjoint by
construction (see ``mbag_env.goals.splits``). Files are written byte-for-byte reproducibly; run with
``--check`` to regenerate in memory and compare against the manifest without writing anything.

Usage::

    python scripts/make_goal_datasets.py            # (re)write assets/goals/
    python scripts/make_goal_datasets.py --check    # verify the shipped files
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mbag_env.goals import HOUSE_GENERATOR_VERSION, ProceduralHouseSampler, canonical_digest, goal_split
from mbag_env.goals.datasets import (
    MANIFEST_NAME,
    DatasetInfo,
    dataset_name,
    save_goal_dataset,
    sha256_file,
    sha256_goals,
)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset to generate."""

    split: str
    world_size: tuple[int, int, int]
    count: int
    seed: int


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("train", (11, 10, 10), 5000, 1101),
    DatasetSpec("test", (11, 10, 10), 500, 1102),
    DatasetSpec("train", (6, 6, 6), 3000, 601),
    DatasetSpec("test", (6, 6, 6), 500, 602),
)
"""The shipped datasets: the paper's world size and the small preset, a train and a test set each."""

MAX_DRAWS_PER_GOAL = 50
"""Give up if this many draws per requested goal do not yield enough distinct houses."""


def generate_goals(spec: DatasetSpec, progress: bool = True) -> np.ndarray:
    """Draw ``spec.count`` distinct houses of ``spec.split`` from ``default_rng(spec.seed)``."""
    sampler = ProceduralHouseSampler(spec.world_size, spec.split)
    rng = np.random.default_rng(spec.seed)
    seen: set[int] = set()
    goals: list[np.ndarray] = []
    draws = 0
    with tqdm(total=spec.count, desc=dataset_name(spec.split, spec.world_size), disable=not progress) as bar:
        while len(goals) < spec.count:
            draws += 1
            if draws > MAX_DRAWS_PER_GOAL * spec.count:
                raise RuntimeError(
                    f"only {len(goals)} distinct {spec.split} houses of size {spec.world_size} "
                    f"in {draws} draws; ask for fewer than {spec.count}"
                )
            goal = sampler.sample(rng)
            digest = canonical_digest(goal)
            if digest in seen:
                continue
            seen.add(digest)
            goals.append(goal)
            bar.update(1)
    stack = np.stack(goals)
    if any(goal_split(goal) != spec.split for goal in stack):
        raise RuntimeError(f"a generated goal is not in the {spec.split!r} split")
    return stack


def build(out_dir: Path, progress: bool = True) -> list[DatasetInfo]:
    """Write every dataset of :data:`DATASETS` and the manifest to ``out_dir``; return the entries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in DATASETS:
        goals = generate_goals(spec, progress)
        name = dataset_name(spec.split, spec.world_size)
        file = f"{name}.npz"
        digest = save_goal_dataset(out_dir / file, goals)
        entries.append(
            DatasetInfo(
                name=name,
                file=file,
                split=spec.split,
                world_size=spec.world_size,
                count=len(goals),
                seed=spec.seed,
                generator="mbag_env.goals.ProceduralHouseSampler",
                generator_version=HOUSE_GENERATOR_VERSION,
                sha256=digest,
                goals_sha256=sha256_goals(goals),
            )
        )
    manifest = {
        "description": (
            "Shipped goal datasets. Each .npz holds one uint8 array 'goals' of shape (N, W, H, D). "
            "The 'test' sets are the leaderboard's held-out houses; training code must not use them. "
            "Regenerate with scripts/make_goal_datasets.py."
        ),
        "datasets": [entry.as_json() for entry in entries],
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return entries


def check(out_dir: Path) -> bool:
    """Regenerate every dataset in a temporary folder; compare with the files and manifest in ``out_dir``."""
    shipped = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))["datasets"]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build(Path(tmp))
    ok = True
    for entry in fresh:
        match = next((d for d in shipped if d["name"] == entry.name), None)
        if match is None:
            print(f"MISSING  {entry.name}: not in the shipped manifest")
            ok = False
            continue
        if match["goals_sha256"] != entry.goals_sha256:
            print(f"DIFFERS  {entry.name}: regenerated goals differ (generator changed? bump its version)")
            ok = False
        elif sha256_file(out_dir / entry.file) != match["sha256"]:
            print(f"CORRUPT  {entry.name}: {entry.file} does not match the manifest's sha256")
            ok = False
        else:
            print(f"OK       {entry.name}: {entry.count} goals")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "assets" / "goals",
        help="folder for the datasets and manifest (default: the repository's assets/goals/)",
    )
    parser.add_argument(
        "--check", action="store_true", help="verify the shipped files instead of writing them"
    )
    args = parser.parse_args(argv)
    if args.check:
        return 0 if check(args.out) else 1
    entries = build(args.out)
    total = 0
    print("| dataset | split | world size | goals | seed | size (KiB) |\n|---|---|---|---|---|---|")
    for entry in entries:
        size = (args.out / entry.file).stat().st_size
        total += size
        print(
            f"| {entry.name} | {entry.split} | {entry.world_size} | {entry.count} | {entry.seed} "
            f"| {size / 1024:.1f} |"
        )
    print(f"total: {total / 1024:.1f} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
