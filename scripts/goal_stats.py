"""Diversity statistics of a goal distribution: distinct goals, block counts, pairwise edit distance.

Draws ``--count`` goals (default 1,000 procedural train houses at 11×10×10) from a fixed seed and
reports:

- the number of distinct goals, exactly and up to horizontal translation, rotation and mirroring;
- the distribution of the number of blocks to place or change, i.e. the edit distance from the
  initial world ``d(s0, θ)`` (SPEC §4), and of the solid blocks above the ground;
- the mean edit distance over all pairs of goals (per cell 0 if equal, 2 if both non-air and
  different, else 1);
- for procedural houses, how often each design feature occurs;
- the mean time of one ``sample()`` call.

Prints a Markdown summary and writes the numbers as JSON.

Usage::

    python scripts/goal_stats.py --json goal_stats.json
    python scripts/goal_stats.py --source dataset:test --world-size 6 6 6 --count 250
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import numba
import numpy as np
from goal_options import goal_source_parser
from tqdm import tqdm

from mbag_env.blocks import AIR
from mbag_env.core.reward import edit_distance
from mbag_env.goals import canonical_digest, initial_world, make_goal_sampler, sample_house_design


@numba.njit
def _distances_to(goals: np.ndarray, index: int, out: np.ndarray) -> None:
    """``out[k] = d(goals[index + 1 + k], goals[index])`` with the core's edit distance."""
    for other in range(index + 1, goals.shape[0]):
        out[other - index - 1] = edit_distance(goals[other], goals[index])


def pairwise_edit_distances(goals: np.ndarray, progress: bool = True) -> np.ndarray:
    """All ``N*(N-1)/2`` pairwise edit distances of a goal stack ``(N, W, H, D)``, as int64 (the
    core's :func:`~mbag_env.core.reward.edit_distance`, pair ``(i, j > i)`` in order)."""
    goals = np.ascontiguousarray(goals)
    result = []
    for index in tqdm(range(len(goals) - 1), desc="pairwise edit distance", disable=not progress):
        row = np.empty(len(goals) - 1 - index, dtype=np.int64)
        _distances_to(goals, index, row)
        result.append(row)
    return np.concatenate(result) if result else np.zeros(0, dtype=np.int64)


def distribution(values: np.ndarray) -> dict[str, float]:
    """Summary statistics of ``values``."""
    values = np.asarray(values, dtype=np.float64)
    quantiles = np.percentile(values, [0, 5, 25, 50, 75, 95, 100])
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(quantiles[0]),
        "p5": float(quantiles[1]),
        "p25": float(quantiles[2]),
        "median": float(quantiles[3]),
        "p75": float(quantiles[4]),
        "p95": float(quantiles[5]),
        "max": float(quantiles[6]),
    }


def histogram(values: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Counts of ``values`` in ``bins`` equal-width bins."""
    counts, edges = np.histogram(values, bins=bins)
    return [
        {"from": float(edges[i]), "to": float(edges[i + 1]), "count": int(counts[i])}
        for i in range(len(counts))
    ]


def feature_frequencies(
    world_size: tuple[int, int, int], count: int, seed: int
) -> dict[str, dict[str, float]]:
    """How often each procedural design feature occurs in ``count`` raw designs (before the split filter)."""
    rng = np.random.default_rng(seed)
    counters: dict[str, Counter] = {
        name: Counter()
        for name in (
            "roof",
            "shape",
            "accent",
            "pillars",
            "door",
            "windows",
            "chimney",
            "porch",
            "fence",
            "loft",
        )
    }
    for _ in range(count):
        design = sample_house_design(rng, world_size)
        counters["roof"][design.roof_kind] += 1
        counters["shape"]["L" if len(design.rects) == 2 else "rectangle"] += 1
        counters["accent"][design.accent_style] += 1
        counters["pillars"][str(design.pillar_block != AIR)] += 1
        counters["door"][str(design.door is not None)] += 1
        counters["windows"][str(design.window_height > 0)] += 1
        counters["chimney"][str(design.chimney is not None)] += 1
        counters["porch"][str(design.porch_depth > 0)] += 1
        counters["fence"][str(design.fence_gap > 0)] += 1
        counters["loft"][str(design.loft)] += 1
    return {name: {key: value / count for key, value in sorted(c.items())} for name, c in counters.items()}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = goal_source_parser(__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json", type=Path, default=Path("goal_stats.json"), help="where to write the JSON results"
    )
    args = parser.parse_args(argv)
    if args.count < 2:
        parser.error("--count must be at least 2")
    world_size = tuple(args.world_size)
    sampler = make_goal_sampler(args.source, world_size)
    rng = np.random.default_rng(args.seed)
    sampler.sample(rng)  # warm-up: compile and load caches outside the timing
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    goals = np.stack([sampler.sample(rng) for _ in tqdm(range(args.count), desc="sampling")])
    sample_ms = (time.perf_counter() - start) / args.count * 1e3

    initial = initial_world(world_size)
    exact = len({goal.tobytes() for goal in goals})
    symmetric = len({canonical_digest(goal) for goal in goals})
    to_build = np.array([edit_distance(goal, initial) for goal in goals], dtype=np.int64)
    above_ground = np.count_nonzero(goals[:, :, 2:, :].reshape(len(goals), -1), axis=1)
    pairwise = pairwise_edit_distances(goals)

    results = {
        "source": args.source,
        "world_size": list(world_size),
        "count": args.count,
        "seed": args.seed,
        "distinct_goals": exact,
        "distinct_goals_up_to_symmetry": symmetric,
        "blocks_to_build": {**distribution(to_build), "histogram": histogram(to_build)},
        "solid_blocks_above_ground": distribution(above_ground),
        "mean_pairwise_edit_distance": float(pairwise.mean()),
        "pairwise_edit_distance": distribution(pairwise),
        "mean_sample_ms": sample_ms,
    }
    if args.source.startswith("houses"):
        results["feature_frequencies"] = feature_frequencies(world_size, args.count, args.seed)

    print(f"## Goal statistics: {args.source!r}, {args.count} goals of size {world_size}, seed {args.seed}\n")
    print("| statistic | value |\n|---|---|")
    print(f"| distinct goals | {exact} |")
    print(f"| distinct up to translation/rotation/mirroring | {symmetric} |")
    b = results["blocks_to_build"]
    print(
        f"| blocks to build d(s0, θ): mean ± std | {b['mean']:.1f} ± {b['std']:.1f} "
        f"(min {b['min']:.0f}, p5 {b['p5']:.0f}, median {b['median']:.0f}, "
        f"p95 {b['p95']:.0f}, max {b['max']:.0f}) |"
    )
    s = results["solid_blocks_above_ground"]
    print(f"| solid blocks above ground: mean (min–max) | {s['mean']:.1f} ({s['min']:.0f}–{s['max']:.0f}) |")
    p = results["pairwise_edit_distance"]
    print(f"| mean pairwise edit distance | {p['mean']:.1f} (median {p['median']:.0f}, min {p['min']:.0f}) |")
    print(f"| mean sample() time | {sample_ms:.3f} ms |")
    print("\nBlocks to build, histogram:\n\n| from | to | goals |\n|---|---|---|")
    for row in b["histogram"]:
        print(f"| {row['from']:.0f} | {row['to']:.0f} | {row['count']} |")
    if "feature_frequencies" in results:
        print("\nDesign features (share of raw designs):\n")
        for name, shares in results["feature_frequencies"].items():
            print(f"- {name}: " + ", ".join(f"{key} {value:.0%}" for key, value in shares.items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
