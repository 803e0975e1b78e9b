"""Compare Dreamer checkpoints with PPO, random and idle policies on held-out houses; plot curves.

Every policy plays the same episodes (``goal=houses:test`` by default, paired by world seed).
Checkpoints given under the same name are seeds of one method: the table shows the mean over
seeds with a 95 % confidence interval (Student t over the seeds' means) and the per-episode
pooled standard error. Example::

    PYTHONPATH=. python scripts/dreamer_compare.py --env mbag/Build-Small-v0 --episodes 64 \\
        --policy Dreamer=runs/dreamer_build_s1/checkpoints/final.pt \\
        --policy Dreamer=runs/dreamer_build_s2/checkpoints/final.pt \\
        --policy "PPO 49k"=runs/ref/ppo_build_small_s1/checkpoints/final.pt \\
        --json results/dreamer_build_compare.json \\
        --curves docs/dreamer_build_small.png --curve-run Dreamer=runs/dreamer_build_s1 \\
        --curve-run PPO=runs/ref/ppo_build_small_s1

It prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.common.evaluation import evaluate_policy, idle_policy, random_valid_policy
from baselines.common.policy import load_policy
from baselines.common.training_log import read_csv

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
"""Two-sided 95 % Student t quantiles by degrees of freedom."""

METRICS = ("goal_percentage", "episode_return", "completed", "length", "human_actions", "human_place_break")


def confidence_interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95 % half-width (Student t; NaN half-width for one value)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return float(array.mean()), float("nan")
    half = T_975.get(array.size - 1, 1.96) * array.std(ddof=1) / math.sqrt(array.size)
    return float(array.mean()), float(half)


def evaluate_all(
    policies: list[tuple[str, str]], env_id: str, episodes: int, num_envs: int, seed: int, env_kwargs: dict
) -> dict[str, dict[str, Any]]:
    """Per method: the per-seed summaries and the across-seed means with CIs."""
    per_method: dict[str, list[dict[str, float]]] = defaultdict(list)
    entries: list[tuple[str, Any]] = [(name, path) for name, path in policies]
    entries += [("random valid actions", "random"), ("idle (NOOP)", "idle")]
    for name, target in entries:
        start = time.perf_counter()
        torch.manual_seed(seed)  # Dreamer draws its latents from torch's global generator
        if target == "random":
            policy = random_valid_policy(seed)
        elif target == "idle":
            policy = idle_policy()
        else:
            policy = load_policy(target, seed=seed).act_batch
        stats = evaluate_policy(policy, env_id, episodes, num_envs=num_envs, seed=seed, env_kwargs=env_kwargs)
        summary = {**stats.summary(), "seconds": time.perf_counter() - start, "checkpoint": target}
        per_method[name].append(summary)
        print(
            f"{name} ({target}): goal {summary['goal_percentage']:.3f} return {summary['episode_return']:.2f}"
        )
    results: dict[str, dict[str, Any]] = {}
    for name, runs in per_method.items():
        combined: dict[str, Any] = {"seeds": len(runs), "runs": runs}
        for metric in METRICS:
            mean, half = confidence_interval([run[metric] for run in runs])
            pooled = float(np.mean([run[f"{metric}_stderr"] for run in runs]) / math.sqrt(len(runs)))
            combined[metric] = {"mean": mean, "ci95_over_seeds": half, "episode_stderr": pooled}
        results[name] = combined
    return results


def markdown_table(results: dict[str, dict[str, Any]], assist: bool) -> str:
    """Mean over seeds ± 95 % CI over seeds (± pooled per-episode standard error when one seed)."""
    metrics = [m for m in METRICS if assist or not (m.startswith("human") or m == "length")]
    lines = [
        "| policy | seeds | " + " | ".join(metrics) + " |",
        "|---|---|" + "---|" * len(metrics),
    ]
    for name, result in results.items():
        cells = []
        for metric in metrics:
            value = result[metric]
            if result["seeds"] > 1:
                cells.append(f"{value['mean']:.3f} ± {value['ci95_over_seeds']:.3f}")
            else:
                cells.append(f"{value['mean']:.3f} ± {value['episode_stderr']:.3f} (s.e.)")
        lines.append(f"| {name} | {result['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(
    runs: list[tuple[str, str]],
    metric: str,
    path: Path,
    title: str,
    levels: dict[str, float],
    max_steps: float,
) -> None:
    """``metric`` against env steps for each run folder's ``progress.csv`` (same name: same colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    colours: dict[str, str] = {}
    for name, run_dir in runs:
        rows = [r for r in read_csv(Path(run_dir) / "progress.csv") if math.isfinite(r.get(metric, math.nan))]
        rows = [r for r in rows if r["global_step"] <= max_steps]
        label = None if name in colours else name
        colour = colours.setdefault(name, f"C{len(colours)}")
        axis.plot(
            [r["global_step"] for r in rows], [r[metric] for r in rows], color=colour, alpha=0.8, label=label
        )
    for index, (label, level) in enumerate(levels.items()):
        axis.axhline(level, color=f"C{len(colours) + index}", linestyle="--", label=label)
    axis.set_xlabel("environment steps")
    axis.set_ylabel(metric)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def named(text: str) -> tuple[str, str]:
    """``"name=value"`` as a pair."""
    name, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, value


def main() -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", dest="env_id", required=True)
    parser.add_argument("--goal", default="houses:test")
    parser.add_argument("--env-kwargs", type=json.loads, default={})
    parser.add_argument("--policy", type=named, action="append", default=[], help="NAME=checkpoint.pt")
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", default=None)
    parser.add_argument("--curves", default=None, help="PNG of training curves of --curve-run folders")
    parser.add_argument("--curve-run", type=named, action="append", default=[], help="NAME=run folder")
    parser.add_argument("--curve-metric", default="episode/return")
    parser.add_argument("--curve-max-steps", type=float, default=math.inf)
    args = parser.parse_args()
    torch.set_num_threads(1)
    env_kwargs = {"goal": args.goal, **args.env_kwargs}
    results = evaluate_all(args.policy, args.env_id, args.episodes, args.num_envs, args.seed, env_kwargs)
    assist = "Assist" in args.env_id
    table = markdown_table(results, assist)
    print(f"\n{args.env_id}, {env_kwargs}, {args.episodes} episodes per seed\n\n{table}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        output = {
            "env_id": args.env_id,
            "env_kwargs": env_kwargs,
            "episodes": args.episodes,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(output, indent=2))
    if args.curves:
        key = "episode_return" if args.curve_metric == "episode/return" else args.curve_metric.split("/")[-1]
        levels = {
            f"{name} (test houses)": results[name][key]["mean"]
            for name in ("random valid actions", "idle (NOOP)")
            if key in results[name]
        }
        plot_curves(
            args.curve_run,
            args.curve_metric,
            Path(args.curves),
            f"{args.env_id}: training curves (training goals); dashed: reference policies",
            levels,
            args.curve_max_steps,
        )


if __name__ == "__main__":
    main()
