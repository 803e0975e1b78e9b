"""A/B of the single env's step: two source trees of mbag_env, each timed in its own process, rounds
interleaved so that both see the same machine load; the median round of each and the ratio.

Each round times, in CPU µs per step (the median of five blocks), for ``mbag/Build-v0`` and
``mbag/Assist-v0`` (masks on, 11×10×10): the unwrapped and the wrapped NOOP step, the loop of
random valid actions (``rng.choice(np.flatnonzero(mask))``), the sampling alone and their
difference (the env's part of a random valid step). Make the "before" tree with, for example,
``git archive <commit> mbag_env assets | tar -x -C /tmp/mbag_before``; run each tree once first so
that its numba cache is compiled.

Usage::

    python scripts/ab_single_step.py --before /tmp/mbag_before --after . --rounds 6 --seconds 0.5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from step_timing import per_call_us, random_valid_stepper


def time_env(env_id: str, seconds: float) -> dict[str, float]:
    """The timings of one env id (see the module docstring)."""
    import gymnasium as gym
    import numpy as np

    env = gym.make(env_id)
    single = env.unwrapped
    env.reset(seed=0)

    def noop(stepper: Any) -> Callable[[], None]:
        def step() -> None:
            _, _, terminated, truncated, _ = stepper.step(0)
            if terminated or truncated:
                stepper.reset()

        return step

    out = {
        f"{env_id} unwrapped step, NOOP": per_call_us(noop(single), seconds),
        f"{env_id} wrapped step, NOOP": per_call_us(noop(env), seconds),
    }
    loop, current_mask = random_valid_stepper(env, seed=3)
    rng = np.random.default_rng(1)

    looped = per_call_us(loop, seconds)
    mask = current_mask()
    sampling = per_call_us(lambda: rng.choice(np.flatnonzero(mask)), seconds)
    out[f"{env_id} random valid: loop"] = looped
    out[f"{env_id} random valid: sampling alone"] = sampling
    out[f"{env_id} random valid: the env's part"] = looped - sampling
    return out


def worker(seconds: float) -> dict[str, Any]:
    """One round, timing the mbag_env importable from the current directory."""
    sys.path.insert(0, os.getcwd())
    import mbag_env

    out: dict[str, Any] = {"tree": mbag_env.__file__}
    for env_id in ("mbag/Build-v0", "mbag/Assist-v0"):
        out.update(time_env(env_id, seconds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="source tree holding the 'before' mbag_env")
    parser.add_argument("--after", type=Path, default=Path("."), help="source tree of 'after'")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=0.5, help="seconds per timed part")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.seconds)))
        return
    if args.before is None:
        parser.error("--before is required")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    load_before = os.getloadavg()[0]
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--seconds", str(args.seconds)]
    for round_index in range(args.rounds):
        order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
        for name in order:
            done = subprocess.run(command, cwd=trees[name], capture_output=True, text=True, check=True)
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"before: {results['before'][0]['tree']}\nafter: {results['after'][0]['tree']}\n")
    title = f"CPU µs per step (median of {args.rounds} interleaved rounds)"
    print(f"| {title} | before | after | before / after |")
    print("|---|---|---|---|")
    for key in results["after"][0]:
        if key == "tree":
            continue
        before = statistics.median(row[key] for row in results["before"])
        after = statistics.median(row[key] for row in results["after"])
        print(f"| {key} | {before:.2f} | {after:.2f} | {before / after:.2f}× |")
    print(f"\nload average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
