"""Benchmark the environment: single-env Gymnasium speed, vector-env throughput, reset time, memory.

Prints a Markdown table and writes JSON (``--output``, default ``results/benchmark_env.json``).
Figures are steps per second on this machine; compare numbers from one run only, as ratios.
Each rate is given twice: per wall-clock second, and per second of CPU time used by this
process (all its threads). On a machine shared with other jobs the wall-clock rate falls with
the load while the CPU-time rate mostly does not; on an idle machine a single-threaded row has
both equal, and a multi-threaded row (vector env, N >= 64) has wall >= CPU rate.

Usage::

    python scripts/benchmark_env.py            # full run (about two minutes)
    python scripts/benchmark_env.py --quick    # a few seconds per row
    python scripts/benchmark_env.py --batched-assist-only   # the batched Assist rows alone

``--batched-assist-only`` times only the vector ``mbag/Assist-v0`` and ``mbag/Assist-Small-v0``
envs at N = 1024 with masks off and on (the scripted human inside, idle assistant); with
``PYTHONPATH`` set to another source tree of ``mbag_env`` it times that tree, for before/after
runs one after the other on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

import mbag_env  # noqa: F401  (registers the mbag/ ids)


def time_loop(step: Callable[[], None], seconds: float) -> tuple[float, float]:
    """Call ``step`` repeatedly for about ``seconds``; return calls per wall-clock second and
    calls per CPU second of this process."""
    step()  # compile / warm up outside the timed region
    calls = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            step()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            cpu = max(time.process_time() - cpu_start, 1e-9)
            return calls / (now - start), calls / cpu


def single_env_rate(env_id: str, policy: str, seconds: float) -> tuple[float, float]:
    """Steps per second of ``gym.make(env_id)`` with masks on, under ``policy``.

    ``idle`` always takes NOOP; ``random-valid`` takes a uniformly random valid action from the
    observation's mask (the sampling cost is included, as in a real agent loop).
    """
    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    state = {"observation": env.reset(seed=0)[0]}

    def step() -> None:
        if policy == "idle":
            action = 0
        else:
            valid = np.flatnonzero(state["observation"]["action_mask"])
            action = int(valid[rng.integers(len(valid))])
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()
        state["observation"] = observation

    return time_loop(step, seconds)


def vector_env_rate(
    env_id: str, num_envs: int, masks: bool, policy: str, seconds: float
) -> tuple[float, float]:
    """Env-steps per second of the batched vector env (``copy=False``, actions drawn in advance)."""
    vector = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", action_masks=masks, copy=False
    )
    vector.reset(seed=0)
    rng = np.random.default_rng(0)
    n_actions = vector.single_action_space.n
    if policy == "idle":
        batches = [np.zeros(num_envs, dtype=np.int64)]
    else:
        batches = [rng.integers(n_actions, size=num_envs) for _ in range(16)]
    counter = {"i": 0}

    def step() -> None:
        vector.step(batches[counter["i"] % len(batches)])
        counter["i"] += 1

    wall, cpu = time_loop(step, seconds)
    return wall * num_envs, cpu * num_envs


def reset_time(env_id: str, repeats: int = 200) -> float:
    """Mean seconds per ``reset()`` (goal sampling included)."""
    env = gym.make(env_id)
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(repeats):
        env.reset()
    return (time.perf_counter() - start) / repeats


def memory_per_env(env_id: str, num_envs: int = 256) -> int:
    """Bytes of state plus observation buffers per world in the vector env."""
    vector = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point").unwrapped
    state = vector.batch.state
    arrays = [state.blocks, state.goal, state.last_interacted, state.env_ints, state.player_ints]
    arrays += [state.layer_errors, vector.batch.human_scratch, *vector._buffers.values()]
    return int(sum(array.nbytes for array in arrays) / num_envs)


def run_all_rows(seconds: float, record: Callable[..., None]) -> None:
    """The full benchmark's rows (single env, vector env, reset, memory), each passed to ``record``."""
    for env_id in ("mbag/Assist-v0", "mbag/Build-v0"):
        for policy in ("idle", "random-valid"):
            wall, cpu = single_env_rate(env_id, policy, seconds)
            record("single env, gym.make, masks on", env_id, policy, wall, "steps/s", cpu)
    for env_id in ("mbag/Build-v0", "mbag/Assist-v0"):
        for num_envs in (1, 64, 1024):
            for masks in (False, True):
                policy = "random" if env_id == "mbag/Build-v0" else "idle"
                wall, cpu = vector_env_rate(env_id, num_envs, masks, policy, seconds)
                detail = f"N={num_envs}, masks {'on' if masks else 'off'}, {policy}"
                record("vector env", env_id, detail, wall, "steps/s", cpu)
    for env_id in ("mbag/Assist-v0", "mbag/Assist-Small-v0"):
        record("reset", env_id, "mean time", reset_time(env_id) * 1e6, "µs")
        record("memory", env_id, "per world in the vector env", memory_per_env(env_id) / 1024, "KiB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="time each row for 1 s instead of 5 s")
    parser.add_argument(
        "--batched-assist-only",
        action="store_true",
        help="time only the vector Assist envs (N=1024, masks off/on, both sizes)",
    )
    parser.add_argument("--output", type=Path, default=Path("results/benchmark_env.json"))
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 5.0
    rows: list[dict[str, object]] = []

    def record(
        kind: str, env_id: str, detail: str, rate: float, unit: str, cpu_rate: float | None = None
    ) -> None:
        row = {"kind": kind, "env": env_id, "detail": detail, "value": rate, "unit": unit}
        cpu_text = "–"
        if cpu_rate is not None:
            row["value_per_cpu_second"] = cpu_rate
            cpu_text = f"{cpu_rate:,.0f}"
        rows.append(row)
        print(f"| {kind} | {env_id} | {detail} | {rate:,.0f} {unit} | {cpu_text} |", flush=True)

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"mbag_env from {Path(mbag_env.__file__).parent}")
    print("| benchmark | env | setting | result | per CPU second |\n|---|---|---|---|---|")
    if args.batched_assist_only:
        for env_id in ("mbag/Assist-v0", "mbag/Assist-Small-v0"):
            for masks in (False, True):
                wall, cpu = vector_env_rate(env_id, 1024, masks, "idle", seconds)
                detail = f"N=1024, masks {'on' if masks else 'off'}, idle"
                record("vector env", env_id, detail, wall, "steps/s", cpu)
    else:
        run_all_rows(seconds, record)
    load_after = os.getloadavg()[0]
    print(f"load average after: {load_after:.2f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "mbag_env": str(Path(mbag_env.__file__).parent),
        "cpu_count": os.cpu_count(),
        "load_average_after": load_after,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    args.output.write_text(
        json.dumps({"machine": machine, "rows": rows, "seconds_per_row": seconds}, indent=2)
    )
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
