"""Dreamer's training speed per preset, thread count and device: prints a table, writes JSON.

One *update* is what the training loop runs per ``batch_size × batch_length / train_ratio`` env
steps: the world model on a replayed batch of ``batch_size × batch_length`` steps, imagination
from ``imagination_starts`` posterior states for ``imagination_horizon`` steps (with the run's
imagination mask), and the actor and critic updates. The replay is first filled with random valid
actions on the batched vector env, as the training loop's prefill does. Reported per setting:

* ``updates_per_s`` (median over the timed updates, after ``--warmup`` untimed ones);
* ``act_ms``: one filtering + acting step for all ``num_envs`` worlds;
* ``env_steps_per_s``: what a training run reaches at the preset's train ratio,
  ``1 / (1 / (updates_per_s × steps_per_update) + act_s / num_envs)``, env stepping not counted.

Machines are shared and noisy: compare settings measured in one run. Example::

    python scripts/benchmark_dreamer.py --env mbag/Build-Small-v0 --preset cpu-small paper \\
        --threads 1 2 --updates 10 --json results/benchmark_dreamer.json

The command line is :func:`main`; ``scripts/benchmark_dreamer.py`` is a thin wrapper over it
(``python -m baselines.dreamer.benchmark`` runs the same). :func:`benchmark` measures one setting.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from baselines.common.evaluation import random_valid_policy
from baselines.common.networks import ObservationSpec
from baselines.common.seeding import seed_everything, select_device, set_torch_threads
from baselines.dreamer.core import PRESETS, config_for_preset
from baselines.dreamer.networks import DreamerAgent, observation_tensors
from baselines.dreamer.replay import ReplayBuffer
from baselines.dreamer.training import make_envs
from mbag_env.evaluation.atomic import atomic_write_text


def benchmark(
    env_id: str, preset: str, threads: int, device_name: str, updates: int, warmup: int, seed: int
) -> dict[str, Any]:
    """Time ``updates`` Dreamer updates and ``updates`` acting steps of one preset and thread count."""
    set_torch_threads(threads)
    seed_everything(seed)
    device = select_device(device_name)
    config = config_for_preset(preset, env_id=env_id, seed=seed, torch_threads=threads, device=device_name)
    envs = make_envs(config)
    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    agent = DreamerAgent(spec, config).to(device)
    agent.set_rules(envs.unwrapped.batch.params, envs.unwrapped.agent)  # type: ignore[attr-defined]
    replay = ReplayBuffer(spec, config.num_envs, 4 * config.batch_length * config.num_envs, seed=seed)
    policy = random_valid_policy(seed)
    observation, _ = envs.reset(seed=seed)
    reward, terminal = np.zeros(config.num_envs, np.float32), np.zeros(config.num_envs, bool)
    for _ in range(2 * config.batch_length):
        action = policy(observation)
        replay.add(observation, reward, terminal, action)
        observation, reward, term, _, _ = envs.step(action)
        reward, terminal = np.asarray(reward, np.float32), np.asarray(term, bool)

    update_seconds = []
    for index in range(warmup + updates):
        batch = replay.sample(config.batch_size, config.batch_length, device)
        start = time.perf_counter()
        agent.train_step(batch)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if index >= warmup:
            update_seconds.append(time.perf_counter() - start)

    state = agent.initial_state(config.num_envs, device)
    act_seconds = []
    with torch.no_grad():
        for index in range(warmup + updates):
            start = time.perf_counter()
            action_tensor, state = agent.act(observation_tensors(observation, device), state)
            action = action_tensor.cpu().numpy()
            if index >= warmup:
                act_seconds.append(time.perf_counter() - start)
            observation, _, _, _, _ = envs.step(action)
    envs.close()

    updates_per_s = 1.0 / float(np.median(update_seconds))
    act_s = float(np.median(act_seconds))
    steps_per_update = config.batch_size * config.batch_length / config.train_ratio
    return {
        "env_id": env_id,
        "preset": preset,
        "threads": threads,
        "device": str(device),
        "parameters": sum(p.numel() for p in agent.parameters()),
        "updates_timed": updates,
        "updates_per_s": updates_per_s,
        "update_s_min": float(np.min(update_seconds)),
        "update_s_max": float(np.max(update_seconds)),
        "act_ms": 1000.0 * act_s,
        "num_envs": config.num_envs,
        "train_ratio": config.train_ratio,
        "env_steps_per_update": steps_per_update,
        "env_steps_per_s": 1.0 / (1.0 / (updates_per_s * steps_per_update) + act_s / config.num_envs),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring); ``argv`` defaults to ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", dest="env_id", default="mbag/Build-Small-v0")
    parser.add_argument("--preset", nargs="+", default=["cpu-small"], choices=sorted(PRESETS))
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--updates", type=int, default=10, help="timed updates per setting")
    parser.add_argument("--warmup", type=int, default=2, help="untimed updates first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.updates < 1 or args.warmup < 0:
        parser.error("--updates must be ≥ 1 and --warmup ≥ 0")
    rows = []
    print("| preset | threads | device | parameters | updates/s | act ms | env steps/s at train ratio |")
    print("|---|---|---|---|---|---|---|")
    for preset in args.preset:
        for threads in args.threads:
            row = benchmark(args.env_id, preset, threads, args.device, args.updates, args.warmup, args.seed)
            rows.append(row)
            print(
                f"| {preset} | {threads} | {row['device']} | {row['parameters'] / 1e6:.1f} M "
                f"| {row['updates_per_s']:.3f} | {row['act_ms']:.1f} "
                f"| {row['env_steps_per_s']:.2f} (ratio {row['train_ratio']}) |",
                flush=True,
            )
    if args.json:
        atomic_write_text(args.json, json.dumps({"env_id": args.env_id, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
