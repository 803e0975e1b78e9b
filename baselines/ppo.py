"""PPO for MBAG, in the CleanRL style: one file, read top to bottom.

Proximal Policy Optimization (Schulman et al., 2017) with the usual details (Huang et al., "The
37 implementation details of PPO"): GAE, the clipped surrogate, value clipping, an entropy bonus,
per-minibatch advantage normalisation, learning-rate annealing, several epochs of minibatches and
gradient clipping. It runs on the batched vector env
(``gymnasium.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point")``) with the
spatial actor-critic of :mod:`baselines.common.networks` and invalid actions masked out.

**Autoreset.** The vector env uses Gymnasium's *next-step* autoreset: after a world ends (terminated
or truncated) its next ``step`` ignores the action, resets it and returns the new episode's first
observation with reward 0. Such a step is not an agent decision, so the rollout marks it
(``resetting``) and leaves it out of GAE and out of every loss. GAE stops at every episode end and
bootstraps with ``V(final observation)`` only on truncation (the final observation is the one
stored at the following ``resetting`` step, or the observation after the rollout).

Two uses::

    # a builder that sees the goal
    python -m baselines.ppo --env mbag/Build-Small-v0 --total-steps 200000
    # an assistant beside the compiled scripted human
    python -m baselines.ppo --env mbag/Assist-Small-v0 --total-steps 200000
    # continue an interrupted run (step counter, optimizer state and RNG state are restored)
    python -m baselines.ppo --resume runs/ppo-Build-Small-v0-s1/checkpoints/last.pt

A run folder holds ``progress.csv``, TensorBoard events, ``learning_curve.png`` and
``checkpoints/{last,final}.pt``. :func:`load_policy` turns a checkpoint into a policy with
``act(observation) -> int``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.common import training_log
from baselines.common.checkpoint import resume_checkpoint
from baselines.common.cli import TrainingCommand
from baselines.common.config_checks import require_in_range
from baselines.common.losses import clipped_policy_loss, clipped_value_loss, normalize_advantages
from baselines.common.masking import masked_entropy, masked_log_probs, sample_masked
from baselines.common.mixed_humans import make_assist_vector_env, parse_humans, split_worlds
from baselines.common.networks import ActorCritic, ObservationSpec, observation_to_tensors
from baselines.common.policy import ActorCriticPolicy, load_policy
from baselines.common.run_config import PPOFamilyConfig
from baselines.common.seeding import setup_torch

__all__ = ["PPOConfig", "compute_gae", "load_policy", "main", "train", "ActorCriticPolicy"]


# ----------------------------------------------------------------------------------------- config
@dataclass
class PPOConfig(PPOFamilyConfig):
    """Everything that defines a PPO run (stored in every checkpoint): the fields of
    :class:`~baselines.common.run_config.PPOFamilyConfig` (which documents them) and

    Attributes:
        human: for ``mbag/Assist`` ids, the compiled scripted human(s) to train beside: ``""``
            (the env's default, goal-seeking), a ``HumanModel.parse`` label, several separated by
            ``;``, or ``suite`` for the leaderboard's four (:mod:`baselines.common.mixed_humans`).
        target_kl: stop the epochs early when the approximate KL exceeds it (``None``: never).
    """

    human: str = ""
    target_kl: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require_in_range(self, ("clip_coef",), 0.0, 10.0)
        if self.learning_rate <= 0:
            raise ValueError(f"PPOConfig.learning_rate must be positive, got {self.learning_rate}")
        if self.human:
            if "/Assist" not in self.env_id:
                raise ValueError(f"PPOConfig.human needs an mbag/Assist id, got env_id={self.env_id!r}")
            split_worlds(self.num_envs, len(parse_humans(self.human)))
        self.fill_run_dir("ppo")

    @property
    def num_iterations(self) -> int:
        """Rollout-and-update iterations (``total_steps // batch_size``, at least 1)."""
        return max(1, self.total_steps // self.batch_size)


# ------------------------------------------------------------------------------------------ GAE
def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    resetting: np.ndarray,
    next_value: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates under next-step autoreset.

    All arrays are ``(T, N)`` except ``next_value`` ``(N,)``, the value of the observation after
    the rollout. Step ``t`` is a real decision unless ``resetting[t]`` (the world ended at
    ``t - 1`` and this step only reset it); those steps get advantage 0 and return their value.
    An episode that ends at ``t`` does not pass advantages back from ``t + 1``; it bootstraps with
    the value of the next stored observation (its final observation) only if truncated.

    Returns:
        ``(advantages, returns)``, both ``(T, N)`` float32.
    """
    terminated = np.asarray(terminated, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool)
    resetting = np.asarray(resetting, dtype=bool)
    num_steps = rewards.shape[0]
    advantages = np.zeros_like(rewards, dtype=np.float32)
    last_advantage = np.zeros(rewards.shape[1], dtype=np.float32)
    for t in reversed(range(num_steps)):
        following_value = next_value if t == num_steps - 1 else values[t + 1]
        ended = terminated[t] | truncated[t]
        delta = rewards[t] + gamma * np.where(terminated[t], 0.0, following_value) - values[t]
        last_advantage = delta + gamma * gae_lambda * np.where(ended, 0.0, last_advantage)
        last_advantage = np.where(resetting[t], 0.0, last_advantage).astype(np.float32)
        advantages[t] = last_advantage
    return advantages, (advantages + values).astype(np.float32)


# ------------------------------------------------------------------------------------ training
def make_envs(config: PPOConfig) -> gym.vector.VectorEnv:
    """The batched vector env of ``config`` (beside ``config.human`` when it names humans)."""
    if config.human:
        return make_assist_vector_env(config.env_id, config.num_envs, dict(config.env_kwargs), config.human)
    return gym.make_vec(
        config.env_id, num_envs=config.num_envs, vectorization_mode="vector_entry_point", **config.env_kwargs
    )


def train(config: PPOConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train PPO; return a summary (final step, run folder, checkpoint and throughput numbers).

    Args:
        config: the run's configuration (when resuming, the caller usually builds it from the
            checkpoint with :func:`config_from_checkpoint`).
        resume: a checkpoint to continue from: its network, optimizer, step counter and RNG
            states are restored. The env's worlds start fresh episodes (partial episodes in
            flight at the interruption are dropped).

    Raises:
        ValueError: if the checkpoint does not match the env's observation and action spaces.
        FileExistsError: if a fresh run would write into a run folder that already has a log.
    """
    device = setup_torch(config)
    envs = make_envs(config)
    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    if "action_mask" not in envs.single_observation_space.spaces:
        raise ValueError("PPO here needs action masks in the observation (leave action_masks=True)")
    agent = ActorCritic(spec, config.network_config()).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.learning_rate, eps=1e-5)
    run_dir = Path(config.run_dir)
    checkpoint_dir = run_dir / "checkpoints"

    global_step, start_iteration = 0, 1
    payload = resume_checkpoint(run_dir, resume, spec, config.env_id, device)
    if payload is not None:
        agent.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        global_step = int(payload["global_step"])
        start_iteration = int(payload["iteration"]) + 1
    log = training_log.open_training_log(run_dir, config, global_step if payload is not None else None)

    def save(name: str, iteration: int) -> Path:
        return training_log.save_model_checkpoint(
            checkpoint_dir / name, "ppo", config, spec, agent, optimizer, global_step, iteration=iteration
        )

    # Rollout storage, (T, N, ...). World observations stay uint8 and masks bool.
    T, N = config.num_steps, config.num_envs
    space = envs.single_observation_space
    obs_world = torch.zeros((T, N, *space["world"].shape), dtype=torch.uint8, device=device)
    obs_inventory = torch.zeros((T, N, *space["inventory"].shape), dtype=torch.float32, device=device)
    obs_timestep = torch.zeros((T, N), dtype=torch.float32, device=device)
    obs_mask = torch.zeros((T, N, spec.n_actions), dtype=torch.bool, device=device)
    actions = torch.zeros((T, N), dtype=torch.long, device=device)
    logprobs = torch.zeros((T, N), dtype=torch.float32, device=device)
    values = np.zeros((T, N), dtype=np.float32)
    rewards = np.zeros((T, N), dtype=np.float32)
    terminated = np.zeros((T, N), dtype=bool)
    truncated = np.zeros((T, N), dtype=bool)
    resetting = np.zeros((T, N), dtype=bool)

    # The worlds' seeds differ per (re)start so a resumed run does not replay the first goals.
    next_obs, _ = envs.reset(seed=config.seed + (start_iteration - 1) * N)
    episodes = training_log.EpisodeTracker(N)
    has_human = getattr(envs.unwrapped, "agent", 0) != 0  # player 0 is then the scripted human

    bar = training_log.progress_bar(
        config.num_iterations * config.batch_size, global_step, config.env_id, not config.progress
    )
    last_iteration = start_iteration - 1
    title = f"PPO on {config.env_id}"
    updating = False

    def save_if_whole() -> None:
        # Interrupted while collecting: the network and optimizer are exactly as after the last
        # finished iteration, so save them. Mid-update they are half-way, so keep the older file.
        if not updating:
            save("last.pt", last_iteration)

    with training_log.interruptible(save_if_whole, checkpoint_dir / "last.pt", bar, log, envs):
        for iteration in range(start_iteration, config.num_iterations + 1):
            if config.anneal_lr:
                fraction = 1.0 - (iteration - 1.0) / config.num_iterations
                optimizer.param_groups[0]["lr"] = fraction * config.learning_rate

            # ---- rollout
            collect_start = time.perf_counter()
            env_seconds = 0.0
            finished: dict[str, list[float]] = {key: [] for key in training_log.EPISODE_KEYS}
            agent.eval()
            for step in range(T):
                tensors = observation_to_tensors(next_obs, device)
                obs_world[step] = tensors["world"]
                obs_inventory[step] = tensors["inventory"]
                obs_timestep[step] = tensors["timestep"]
                obs_mask[step] = tensors["action_mask"]
                resetting[step] = episodes.resetting
                with torch.no_grad():
                    logits, value = agent(tensors)
                    action = sample_masked(logits, tensors["action_mask"])
                    logprobs[step] = (
                        masked_log_probs(logits, tensors["action_mask"]).gather(1, action[:, None]).squeeze(1)
                    )
                actions[step] = action
                values[step] = value.cpu().numpy()

                env_start = time.perf_counter()
                next_obs, reward, term, trunc, infos = envs.step(action.cpu().numpy())
                env_seconds += time.perf_counter() - env_start
                rewards[step], terminated[step], truncated[step] = reward, term, trunc
                episodes.step(reward, term, trunc, infos, finished)
            with torch.no_grad():
                next_value = agent.value(observation_to_tensors(next_obs, device)).cpu().numpy()
            collect_seconds = time.perf_counter() - collect_start
            global_step += T * N

            # ---- advantages (resetting steps carry no decision: advantage 0, left out below)
            advantages, returns = compute_gae(
                rewards, values, terminated, truncated, resetting, next_value, config.gamma, config.gae_lambda
            )

            # ---- update
            update_start = time.perf_counter()
            updating = True
            agent.train()
            decisions = np.flatnonzero(~resetting.reshape(-1))
            b_world = obs_world.reshape(T * N, *obs_world.shape[2:])
            b_inventory = obs_inventory.reshape(T * N, -1)
            b_timestep = obs_timestep.reshape(-1)
            b_mask = obs_mask.reshape(T * N, -1)
            b_actions = actions.reshape(-1)
            b_logprobs = logprobs.reshape(-1)
            b_advantages = torch.as_tensor(advantages.reshape(-1), device=device)
            b_returns = torch.as_tensor(returns.reshape(-1), device=device)
            b_values = torch.as_tensor(values.reshape(-1), device=device)
            minibatch_size = max(1, len(decisions) // config.num_minibatches)
            clip_fractions: list[float] = []
            stats: dict[str, float] = {}
            for _epoch in range(config.update_epochs):
                np.random.shuffle(decisions)
                for start in range(0, len(decisions) - minibatch_size + 1, minibatch_size):
                    index = torch.as_tensor(decisions[start : start + minibatch_size], device=device)
                    mask = b_mask[index]
                    logits, new_value = agent(
                        {
                            "world": b_world[index],
                            "inventory": b_inventory[index],
                            "timestep": b_timestep[index],
                        }
                    )
                    log_probs = masked_log_probs(logits, mask)
                    new_logprob = log_probs.gather(1, b_actions[index][:, None]).squeeze(1)
                    entropy = masked_entropy(log_probs, mask)
                    log_ratio = new_logprob - b_logprobs[index]
                    ratio = log_ratio.exp()
                    with torch.no_grad():
                        approx_kl = ((ratio - 1) - log_ratio).mean()
                        clip_fractions.append(float(((ratio - 1.0).abs() > config.clip_coef).float().mean()))

                    mb_advantages = normalize_advantages(b_advantages[index], config.norm_adv)
                    policy_loss = clipped_policy_loss(mb_advantages, ratio, config.clip_coef)
                    value_loss = clipped_value_loss(
                        new_value, b_values[index], b_returns[index], config.clip_coef, config.clip_vloss
                    )

                    entropy_loss = entropy.mean()
                    loss = policy_loss - config.ent_coef * entropy_loss + config.vf_coef * value_loss
                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
                    optimizer.step()
                    stats = {
                        "losses/policy": policy_loss.item(),
                        "losses/value": value_loss.item(),
                        "losses/entropy": entropy_loss.item(),
                        "losses/approx_kl": approx_kl.item(),
                    }
                if config.target_kl is not None and stats and stats["losses/approx_kl"] > config.target_kl:
                    break
            update_seconds = time.perf_counter() - update_start
            updating = False

            # ---- logging
            decided_values, decided_returns = values.reshape(-1)[decisions], returns.reshape(-1)[decisions]
            variance = np.var(decided_returns)
            explained = (
                float("nan")
                if variance == 0
                else float(1 - np.var(decided_returns - decided_values) / variance)
            )
            steps_this_iteration = T * N
            throughput = training_log.throughput_metrics(
                steps_this_iteration, collect_seconds, update_seconds, env_seconds
            )
            episode_means = training_log.episode_metrics(finished, has_human)
            training_log.log_iteration(
                log,
                global_step,
                {
                    "iteration": iteration,
                    **episode_means,
                    **stats,
                    "losses/clipfrac": float(np.mean(clip_fractions)) if clip_fractions else float("nan"),
                    "losses/explained_variance": explained,
                },
                optimizer.param_groups[0]["lr"],
                throughput,
                bar,
                steps_this_iteration,
                finished,
                ret=f"{episode_means['episode/return']:.2f}",
            )
            last_iteration = iteration
            if iteration % config.checkpoint_every == 0:
                save("last.pt", iteration)
                training_log.plot_run_curve(log, title)
    final = training_log.finish_run(save, last_iteration, log, title)
    return training_log.training_summary(global_step, last_iteration, run_dir, final, log.csv_path)


# ------------------------------------------------------------------------------------------ CLI
COMMAND = TrainingCommand(
    "python -m baselines.ppo",
    "Train PPO on an mbag_env id (a builder or an assistant).",
    PPOConfig,
    "ppo",
    train,
)
"""The training command line (``--help`` lists its options)."""
config_from_checkpoint = COMMAND.config_from_checkpoint
main = COMMAND.main


if __name__ == "__main__":
    main()
