"""Compare a trained checkpoint with the reference policies on an mbag env; plot its learning curve.

For a builder (``mbag/Build-*``) the reference is a uniformly random valid-action policy; for an
assistant (``mbag/Assist-*``) it is the idle assistant (always NOOP), which leaves the scripted
human to build alone. All policies meet the same goals (paired by world seed). Example::

    python -m baselines.evaluate runs/ppo-Assist-Small-v0-s1/checkpoints/final.pt \\
        --env mbag/Assist-Small-v0 --goal houses:test --episodes 100 \\
        --json results/ppo_assist_small.json --curve docs/ppo_assist_small.png

It prints a Markdown table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.common.checkpoint import load_checkpoint
from baselines.common.evaluation import evaluate_policy, idle_policy, random_valid_policy
from baselines.common.policy import load_policy
from baselines.common.training_log import plot_learning_curve
from mbag_env.evaluation.atomic import atomic_write_text

ALGORITHM_LABELS = {
    "ppo": "PPO",
    "assistance_zero": "AssistanceZero",
    "alpha_zero": "AlphaZero",
    "dreamer": "Dreamer",
    "option_critic": "option-critic",
    "ppo_options": "PPO over options",
}
"""Table labels of the checkpoints' ``algorithm`` keys (others are shown as written)."""

COLUMNS = (
    ("goal_percentage", "goal %", 3),
    ("completed", "completed", 2),
    ("episode_return", "return", 2),
    ("length", "length", 1),
    ("human_place_break", "human place/break", 1),
    ("human_actions", "human actions", 1),
)


def compare(
    checkpoint: str | Path,
    env_id: str,
    episodes: int,
    env_kwargs: dict[str, Any],
    num_envs: int = 16,
    seed: int = 12345,
    deterministic: bool = False,
) -> dict[str, dict[str, float]]:
    """Summaries (see :meth:`EpisodeStats.summary`) of the checkpoint and the reference policies,
    keyed by label (the checkpoint's from :data:`ALGORITHM_LABELS`)."""
    policies = {
        checkpoint_label(checkpoint): load_policy(
            checkpoint, deterministic=deterministic, seed=seed
        ).act_batch,
        "random valid actions": random_valid_policy(seed),
        "idle (NOOP)": idle_policy(),
    }
    results = {}
    for name, policy in policies.items():
        start = time.perf_counter()
        stats = evaluate_policy(policy, env_id, episodes, num_envs=num_envs, seed=seed, env_kwargs=env_kwargs)
        results[name] = {**stats.summary(), "seconds": time.perf_counter() - start}
    return results


def checkpoint_label(checkpoint: str | Path) -> str:
    """The table label of a checkpoint: its algorithm's name (e.g. ``PPO``, ``AssistanceZero``)."""
    algorithm = str(load_checkpoint(checkpoint)["algorithm"])
    return ALGORITHM_LABELS.get(algorithm, algorithm)


def markdown_table(results: dict[str, dict[str, float]], assist: bool) -> str:
    """The comparison as a Markdown table (mean ± standard error)."""
    columns = [c for c in COLUMNS if assist or not c[0].startswith("human")]
    lines = [
        "| policy | episodes | " + " | ".join(title for _, title, _ in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for name, summary in results.items():
        cells = [
            f"{summary[key]:.{digits}f} ± {summary[key + '_stderr']:.{digits}f}" for key, _, digits in columns
        ]
        lines.append(f"| {name} | {int(summary['episodes'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m baselines.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--env", dest="env_id", required=True)
    parser.add_argument("--goal", default="houses:test", help="goal source (default: the test split)")
    parser.add_argument("--env-kwargs", type=json.loads, default={}, help="more env keyword arguments (JSON)")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--deterministic", action="store_true", help="greedy actions instead of samples")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--curve", default=None, help="write the run's learning curve PNG here")
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.torch_threads))

    env_kwargs = {"goal": args.goal, **args.env_kwargs}
    results = compare(
        args.checkpoint, args.env_id, args.episodes, env_kwargs, args.num_envs, args.seed, args.deterministic
    )
    assist = "Assist" in args.env_id
    print(f"{args.env_id}, goal={args.goal}, {args.episodes} episodes, checkpoint {args.checkpoint}\n")
    print(markdown_table(results, assist))
    output = {
        "env_id": args.env_id,
        "env_kwargs": env_kwargs,
        "checkpoint": str(args.checkpoint),
        "results": results,
    }
    if args.json:
        atomic_write_text(args.json, json.dumps(output, indent=2))
    if args.curve:
        run_dir = Path(args.checkpoint).resolve().parent.parent
        reference = "idle (NOOP)" if assist else "random valid actions"
        train_goal = "training goals"
        plot_learning_curve(
            run_dir / "progress.csv",
            args.curve,
            metrics=("episode/goal_percentage", "episode/human_place_break")
            if assist
            else ("episode/goal_percentage", "episode/return"),
            title=f"{checkpoint_label(args.checkpoint)} on {args.env_id} ({train_goal}); "
            f"dashed: {reference} on goal={args.goal}",
            reference_lines={
                "episode/goal_percentage": {reference: results[reference]["goal_percentage"]},
                "episode/return": {reference: results[reference]["episode_return"]},
                "episode/human_place_break": {reference: results[reference]["human_place_break"]},
            },
        )
    return output


if __name__ == "__main__":
    main()
