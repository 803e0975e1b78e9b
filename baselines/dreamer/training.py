"""Dreamer's training loop (collection on the vector env, replay, updates, logs, checkpoints), the
trained agent as a policy, and the command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.common import training_log
from baselines.common.checkpoint import (
    from_plain,
    load_checkpoint,
    resume_checkpoint,
    save_training_checkpoint,
)
from baselines.common.cli import add_config_options
from baselines.common.evaluation import random_valid_policy
from baselines.common.networks import ObservationSpec
from baselines.common.policy import BatchedPolicy
from baselines.common.seeding import setup_torch
from baselines.dreamer.core import NETWORK_SIZES, PRESETS, DreamerConfig, config_for_preset
from baselines.dreamer.networks import DreamerAgent, observation_tensors
from baselines.dreamer.replay import ReplayBuffer

# --------------------------------------------------------------------------------------- training


def make_envs(config: DreamerConfig) -> gym.vector.VectorEnv:
    """The batched vector env of ``config``."""
    return gym.make_vec(
        config.env_id, num_envs=config.num_envs, vectorization_mode="vector_entry_point", **config.env_kwargs
    )


def network_config(config: DreamerConfig) -> dict[str, Any]:
    """The size fields of ``config`` (stored as the checkpoint's ``network_config``)."""
    names = (*NETWORK_SIZES, "channel_embedding")
    return {name: getattr(config, name) for name in names}


REPLAY_STEP_KEY = "global_step"
"""Array in ``replay.npz`` holding the env step of the checkpoint it was saved with."""


def save_replay(path: Path, arrays: Mapping[str, np.ndarray], global_step: int) -> None:
    """Write the replay ``arrays`` and ``global_step`` to ``path`` atomically (temp file, ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        contents: dict[str, Any] = {REPLAY_STEP_KEY: np.array(global_step, dtype=np.int64), **arrays}
        np.savez(file, **contents)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def check_replay_step(
    arrays: Mapping[str, np.ndarray], replay_path: Path, checkpoint_step: int, checkpoint: str | Path
) -> None:
    """Refuse to resume from a checkpoint and a replay buffer saved at different env steps.

    Raises:
        ValueError: naming both files and both steps (or saying the replay records no step), and how
            to go on: resume from the checkpoint of the replay's step, or move the replay file away to
            start with an empty replay buffer.
    """
    remedy = (
        f"move {replay_path} away to resume with an empty replay buffer (random prefill runs again), "
        "or resume from the checkpoint saved with it"
    )
    if REPLAY_STEP_KEY not in arrays:
        raise ValueError(
            f"{replay_path} records no global step, so it cannot be matched with checkpoint {checkpoint} "
            f"(step {checkpoint_step}); {remedy}"
        )
    replay_step = int(arrays[REPLAY_STEP_KEY])
    if replay_step != checkpoint_step:
        raise ValueError(
            f"{replay_path} was saved at global step {replay_step} but checkpoint {checkpoint} at step "
            f"{checkpoint_step} (a run killed between the two writes, or an older checkpoint); refusing to "
            f"combine them: {remedy}"
        )


def train(config: DreamerConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train Dreamer; return a summary (steps, updates, run folder, checkpoint, throughput).

    Raises:
        FileExistsError: if a fresh run would overwrite a run folder's log.
        ValueError: if a resumed checkpoint does not match the env's spaces, or the ``replay.npz``
            beside it was saved at another global step (see :func:`check_replay_step`).
    """
    device = setup_torch(config)
    envs = make_envs(config)
    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    agent = DreamerAgent(spec, config).to(device)
    agent.set_rules(envs.unwrapped.batch.params, envs.unwrapped.agent)  # type: ignore[attr-defined]
    replay = ReplayBuffer(
        spec, config.num_envs, config.replay_capacity, seed=config.seed, goal=config.goal_head
    )
    run_dir, checkpoint_dir = Path(config.run_dir), Path(config.run_dir) / "checkpoints"
    env_step, updates, update_budget = 0, 0, 0.0
    payload = resume_checkpoint(run_dir, resume, spec, config.env_id, device)
    if payload is not None and resume is not None:
        agent.load_state_dict(payload["model"])
        agent.load_optimizer_state(payload["optimizer"])
        env_step, updates, update_budget = (
            int(payload["global_step"]),
            int(payload["updates"]),
            float(payload["update_budget"]),
        )
        replay_path = Path(resume).parent / "replay.npz"
        if replay_path.is_file():
            with np.load(replay_path) as arrays:
                check_replay_step(arrays, replay_path, env_step, resume)
                replay.load(arrays)
        else:
            print(
                f"no {replay_path}: the replay buffer starts empty (random prefill runs again)",
                file=sys.stderr,
            )
    log = training_log.open_training_log(run_dir, config, env_step if payload is not None else None)

    def save(name: str) -> Path:
        # Each file is written atomically, and both record env_step, so a kill between the two
        # writes leaves files that check_replay_step refuses to combine on resume.
        if config.save_replay:
            save_replay(checkpoint_dir / "replay.npz", replay.state(), env_step)
        return save_training_checkpoint(
            checkpoint_dir / name,
            "dreamer",
            config,
            spec,
            network_config(config),
            agent,
            agent.optimizer_state(),
            env_step,
            updates=updates,
            update_budget=update_budget,
        )

    def goals() -> np.ndarray | None:
        """θ of every world's current episode, for the privileged goal head."""
        return envs.unwrapped.batch.state.goal if config.goal_head else None  # type: ignore[attr-defined]

    random_policy = random_valid_policy(config.seed)
    observation, _ = envs.reset(seed=config.seed + env_step)
    reward = np.zeros(config.num_envs, np.float32)
    terminal = np.zeros(config.num_envs, bool)
    state = agent.initial_state(config.num_envs, device)
    has_human = getattr(envs.unwrapped, "agent", 0) != 0
    episodes = training_log.EpisodeTracker(config.num_envs)
    finished: dict[str, list[float]] = {key: [] for key in training_log.EPISODE_KEYS}
    stats_sum: dict[str, float] = {}
    timing = {"env": 0.0, "act": 0.0, "train": 0.0, "start": time.perf_counter(), "steps": 0, "updates": 0}
    minimum_rows = max(config.batch_length, config.prefill // config.num_envs)

    def write_log() -> None:
        nonlocal finished, stats_sum
        wall = time.perf_counter() - timing["start"]
        count = max(1, int(timing["updates"]))
        row = training_log.episode_metrics(finished, has_human)
        row.update({key: stats_sum.get(key, float("nan")) / count for key in LOSS_KEYS})
        row.update(
            {
                "updates": updates,
                "throughput/env_steps_per_s": timing["steps"] / wall,
                "throughput/updates_per_s": timing["updates"] / max(timing["train"], 1e-9),
                "throughput/env_seconds": timing["env"],
                "throughput/act_seconds": timing["act"],
                "throughput/train_seconds": timing["train"],
                "throughput/wall_seconds": wall,
            }
        )
        log.log(env_step, row)
        if finished["return"]:
            bar.set_postfix(
                ret=f"{np.mean(finished['return']):.2f}",
                goal=f"{np.mean(finished['goal_percentage']):.2f}",
                upd=updates,
            )
        finished = {key: [] for key in training_log.EPISODE_KEYS}
        stats_sum = {}
        timing.update(env=0.0, act=0.0, train=0.0, start=time.perf_counter(), steps=0, updates=0)

    bar = training_log.progress_bar(
        config.total_steps, env_step, f"dreamer {config.env_id}", not config.progress
    )
    next_log = (env_step // config.log_every + 1) * config.log_every
    next_checkpoint = (env_step // config.checkpoint_every + 1) * config.checkpoint_every
    with training_log.interruptible(partial(save, "last.pt"), checkpoint_dir / "last.pt", bar, log, envs):
        deadline = (
            time.perf_counter() + 60 * config.max_wall_minutes if config.max_wall_minutes > 0 else math.inf
        )
        while env_step < config.total_steps and time.perf_counter() < deadline:
            start = time.perf_counter()
            tensors = observation_tensors(observation, device)
            action_tensor, state = agent.act(tensors, state)
            if env_step < config.prefill or replay.count < minimum_rows:
                action_tensor = torch.as_tensor(random_policy(observation), device=device)
                state = (state[0], state[1], action_tensor)  # the filter must see the action taken
            action = action_tensor.cpu().numpy()
            replay.add(observation, reward, terminal, action, goals())
            timing["act"] += time.perf_counter() - start
            start = time.perf_counter()
            observation, reward, term, trunc, infos = envs.step(action)
            timing["env"] += time.perf_counter() - start
            reward, terminal = np.asarray(reward, np.float32), np.asarray(term, bool)
            episodes.step(reward, term, trunc, infos, finished)
            env_step += config.num_envs
            timing["steps"] += config.num_envs
            bar.update(config.num_envs)

            if env_step >= config.prefill and replay.count >= minimum_rows:
                update_budget += (
                    config.num_envs * config.train_ratio / (config.batch_size * config.batch_length)
                )
                start = time.perf_counter()
                while update_budget >= 1.0:
                    batch = replay.sample(config.batch_size, config.batch_length, device)
                    for key, value in agent.train_step(batch).items():
                        stats_sum[key] = stats_sum.get(key, 0.0) + value
                    update_budget -= 1.0
                    updates += 1
                    timing["updates"] += 1
                timing["train"] += time.perf_counter() - start

            if env_step >= next_log:
                next_log += config.log_every
                write_log()
            if env_step >= next_checkpoint:
                next_checkpoint += config.checkpoint_every
                save("last.pt")
    if timing["steps"]:
        write_log()
    save("last.pt")
    final = save("final.pt")
    training_log.plot_learning_curve(
        log.csv_path, run_dir / "learning_curve.png", title=f"Dreamer on {config.env_id}"
    )
    return {"global_step": env_step, "updates": updates, "run_dir": str(run_dir), "checkpoint": str(final)}


LOSS_KEYS = (
    "model/decoder",
    "model/mask",
    "model/goal",
    "model/reward",
    "model/continue",
    "model/vector",
    "model/kl",
    "model/total",
    "model/grad_norm",
    "actor/loss",
    "actor/entropy",
    "actor/return_scale",
    "actor/imagined_return",
    "actor/imagined_reward",
    "actor/imagined_place_break",
    "actor/imagined_valid",
    "critic/loss",
    "critic/value",
)
"""Training statistics logged (means over the updates of a log interval) to ``progress.csv``."""


# ------------------------------------------------------------------------------------ the policy
class DreamerPolicy(BatchedPolicy):
    """A trained Dreamer agent as an env policy (filters observations with the world model).

    Its ``model`` (see :class:`~baselines.common.policy.BatchedPolicy`) is the
    :class:`DreamerAgent`. It keeps the recurrent state between calls and resets a row when its
    ``timestep`` is 0 (a new episode) or when the batch size changes.
    """

    model: DreamerAgent

    def forget_worlds(self) -> None:
        """No recurrent state yet."""
        self.state: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def act_batch(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Actions ``(N,)`` for a vector env's observation dict."""
        tensors = observation_tensors(observations, self.device)
        batch = tensors["world"].shape[0]
        if self.state is None or self.state[0].shape[0] != batch:
            self.state = self.model.initial_state(batch, self.device)
        # The action draw uses the seeded generator; the latent draws use torch's global RNG.
        action, self.state = self.model.act(tensors, self.state, self.deterministic, self.generator)
        return action.cpu().numpy().astype(np.int64)


def agent_from_checkpoint(payload: Mapping[str, Any], device: torch.device | str = "cpu") -> DreamerAgent:
    """Rebuild the agent of a loaded checkpoint."""
    config = config_from_payload(payload)
    agent = DreamerAgent(ObservationSpec.from_dict(dict(payload["observation_spec"])), config)
    agent.load_state_dict(payload["model"])
    return agent.to(device)


def policy_from_checkpoint(
    payload: Mapping[str, Any],
    device: torch.device | str = "cpu",
    deterministic: bool = False,
    seed: int | None = None,
) -> DreamerPolicy:
    """The policy builder of ``algorithm == "dreamer"`` checkpoints (registered in pyproject.toml
    under :data:`~baselines.common.policy.CHECKPOINT_POLICIES`)."""
    return DreamerPolicy(agent_from_checkpoint(payload, device), device, deterministic, seed)


def config_from_payload(
    payload: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> DreamerConfig:
    """The :class:`DreamerConfig` of a loaded checkpoint, with fields replaced by ``overrides``.

    Raises:
        ValueError: for a non-Dreamer checkpoint or an unknown field.
    """
    if payload["algorithm"] != "dreamer":
        raise ValueError(f"a {payload['algorithm']!r} checkpoint is not a Dreamer one")
    known = {f.name for f in fields(DreamerConfig)}
    unknown = set(overrides or {}) - known
    if unknown:
        raise ValueError(f"unknown DreamerConfig fields {sorted(unknown)}")
    stored = from_plain(payload["config"])
    return DreamerConfig(
        **{key: value for key, value in stored.items() if key in known} | dict(overrides or {})
    )


# ------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The command-line parser; every option defaults to 'not given' (the preset or checkpoint decides)."""
    parser = argparse.ArgumentParser(
        prog="python -m baselines.dreamer",
        description="Train DreamerV3 on an mbag_env id.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--preset", choices=sorted(PRESETS))
    add_config_options(parser, DreamerConfig, defaults=False, skip=("preset",))
    parser.add_argument(
        "--resume", help="checkpoint to continue from (its config; options given here override it)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point (see the module docstring)."""
    args = vars(build_parser().parse_args(argv))
    resume = args.pop("resume", None)
    if resume is None:
        config = config_for_preset(args.pop("preset", "cpu-small"), **args)
    else:
        config = config_from_payload(load_checkpoint(resume), args)
    summary = train(config, resume=resume)
    print(json.dumps(summary, indent=2))
    return summary
