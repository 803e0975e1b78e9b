"""Benchmark the compiled scripted humans: vector-env throughput of ``mbag/Assist`` per human model.

The assistant always does NOOP, so the figures show what each human kind and noise model costs
inside the batched step (masks off, ``copy=False``). Prints a Markdown table and writes JSON
(``--output``, default ``results/benchmark_humans.json``). Compare numbers from one run only.

Usage::

    python scripts/benchmark_humans.py            # about a minute
    python scripts/benchmark_humans.py --quick    # a few seconds per row
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import mbag_env
from mbag_env.humans import HumanModel

MODELS = (
    HumanModel("goal_seeking"),
    HumanModel("layer_builder"),
    HumanModel("goal_seeking", epsilon=0.1),
    HumanModel("goal_seeking", temperature=0.5),
    HumanModel("goal_seeking", epsilon=0.1, temperature=0.5),
    HumanModel("layer_builder", act_every=2),
    HumanModel("goal_seeking", epsilon=1.0),
)
"""The models measured: the two kinds, each noise model alone, the leaderboard's noisy human,
and a fully random human (ε = 1)."""


def vector_rate(env_id: str, model: HumanModel, num_envs: int, seconds: float) -> float:
    """Env-steps per second of the vector env with ``model`` as the human and a NOOP assistant."""
    vector = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        human_policy=model,
        action_masks=False,
        copy=False,
    )
    vector.reset(seed=0)
    actions = np.zeros(num_envs, dtype=np.int64)
    vector.step(actions)  # compile / warm up outside the timed region
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            vector.step(actions)
        steps += 10 * num_envs
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short timings (noisier)")
    parser.add_argument("--num-envs", type=int, default=256, help="worlds per vector env (default: 256)")
    parser.add_argument("--output", type=Path, default=Path("results/benchmark_humans.json"))
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else 4.0
    rows: list[dict[str, Any]] = []
    for env_id in ("mbag/Assist-Small-v0", "mbag/Assist-v0"):
        baseline = None
        for model in MODELS:
            rate = vector_rate(env_id, model, args.num_envs, seconds)
            baseline = baseline or rate
            relative = rate / baseline
            rows.append({"env": env_id, "human": model.label, "steps_per_second": rate, "relative": relative})
            print(f"{env_id:22s} {model.label:42s} {rate:12,.0f} steps/s ({relative:.2f}×)", flush=True)
    print()
    print(f"| env | human | steps/s (N={args.num_envs}) | vs goal_seeking |")
    print("|---|---|---:|---:|")
    for row in rows:
        print(
            f"| {row['env']} | `{row['human']}` | {row['steps_per_second']:,.0f} | {row['relative']:.2f}× |"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "mbag_env": mbag_env.__version__,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "num_envs": args.num_envs,
        "seconds_per_row": seconds,
        "rows": rows,
    }
    args.output.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
