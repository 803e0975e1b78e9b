"""PPO over hand-designed options: a policy over options trained on the semi-MDP of :mod:`.smdp`.

The learner picks one of the role's hand-designed options (:mod:`.hand_designed`) whenever the
previous one has ended; the option then acts until its termination condition fires. The network is
the flat PPO network's trunk (:class:`~baselines.common.networks.WorldEncoder`, mean/max pooling
and the global MLP) with a head of one logit per option (options outside their initiation set are
masked out, like invalid actions) and a value head.

**Semi-MDP returns.** An option that ran ``k`` steps gives the reward ``R = Σ_{i<k} γ^i r_i``
and discounts what follows by ``γ^k``, so the TD error of decision ``t`` is
``δ_t = R_t + γ^{k_t} V(s_{t+1}) − V(s_t)`` and GAE is ``A_t = δ_t + γ^{k_t} λ A_{t+1}``
(:func:`compute_smdp_gae`). The defaults are :class:`baselines.ppo.PPOConfig`'s; ``num_steps``
counts *decisions* per world per rollout, and ``total_steps`` counts *primitive* env steps, so
runs compare with flat PPO at equal env steps.

::

    python -m baselines.options.ppo_options --env mbag/Build-Small-v0 --total-steps 49152
    python -m baselines.options.ppo_options --env mbag/Assist-Small-v0 --total-steps 49152
    python -m baselines.options.ppo_options --resume runs/ppo_options-Build-Small-v0-s1/checkpoints/last.pt

A run folder holds ``progress.csv`` (with ``options/*`` diagnostics), TensorBoard events,
``learning_curve.png``, ``option_curves.png``, ``option_maps/`` (a PNG per option of where it
acts) and ``checkpoints/{last,final}.pt``; :func:`policy_from_checkpoint` (used by
:func:`baselines.common.policy.load_policy`) turns a checkpoint into a policy for the leaderboard
and the play window.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from baselines.common.losses import clipped_policy_loss, clipped_value_loss, normalize_advantages
from baselines.common.masking import masked_entropy, masked_log_probs, sample_masked
from baselines.common.networks import (
    NetworkConfig,
    ObservationSpec,
    TrunkNetwork,
    layer_init,
    network_from_payload,
    observation_to_tensors,
)
from baselines.common.policy import BatchedPolicy
from baselines.common.run_config import PPOFamilyConfig
from baselines.common.seeding import setup_torch
from baselines.options.diagnostics import OptionUsage, finished_episode_lists, plot_option_curves
from baselines.options.hand_designed import ROLE_OPTIONS, OptionRunner, role_for_env
from baselines.options.smdp import OptionsEnv
from mbag_env.core.actions import FIRST_PLACE

__all__ = [
    "OptionPolicyNetwork",
    "OptionsPolicy",
    "PPOOptionsConfig",
    "compute_smdp_gae",
    "main",
    "policy_from_checkpoint",
    "train",
]


# ----------------------------------------------------------------------------------------- config
@dataclass
class PPOOptionsConfig(PPOFamilyConfig):
    """Everything that defines a run of PPO over options (stored in every checkpoint).

    The fields and defaults are those of :class:`~baselines.common.run_config.PPOFamilyConfig`
    (shared with :class:`baselines.ppo.PPOConfig`), except:

    Attributes:
        role: ``"builder"`` or ``"assistant"`` (whose hand-designed options); default from the id.
        total_steps: *primitive* env steps to train for (summed over worlds).
        num_steps: option *decisions* per world per rollout.
    """

    num_steps: int = 16
    role: str = field(default="", metadata={"help": "builder or assistant (default: from the env id)"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.role:
            self.role = role_for_env(self.env_id)
        if self.role not in ROLE_OPTIONS:
            raise ValueError(
                f"PPOOptionsConfig.role must be one of {sorted(ROLE_OPTIONS)}, got {self.role!r}"
            )
        self.fill_run_dir("ppo_options")


# ---------------------------------------------------------------------------------------- network
class OptionPolicyNetwork(TrunkNetwork):
    """Policy over options and value: the flat PPO trunk with ``num_options`` logits.

    Args:
        spec: the underlying env's observation spec.
        num_options: how many options to choose from.
        config: trunk sizes (as for :class:`~baselines.common.networks.ActorCritic`).
    """

    def __init__(self, spec: ObservationSpec, num_options: int, config: NetworkConfig | None = None) -> None:
        super().__init__(spec, config)
        self.num_options = num_options
        self.option_head = layer_init(nn.Linear(self.config.global_hidden, num_options), std=0.01)
        self.value_head = layer_init(nn.Linear(self.config.global_hidden, 1), std=1.0)

    def forward(self, observation: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Unmasked option logits ``(B, num_options)`` and values ``(B,)``."""
        hidden = self.trunk(observation).hidden
        return self.option_head(hidden), self.value_head(hidden).squeeze(1)


# -------------------------------------------------------------------------------------------- GAE
def compute_smdp_gae(
    rewards: np.ndarray,
    discounts: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE over option decisions (arrays ``(T, N)``).

    ``rewards[t]`` is the option's discounted reward ``Σ γ^i r_i``, ``discounts[t]`` is ``γ^k``
    for its duration ``k``, and ``next_values[t]`` the value of the state where it ended (the
    episode's final observation when it ended there: used only on truncation). An episode end at
    ``t`` stops the advantage recursion.

    Returns:
        ``(advantages, returns)``, both float32 ``(T, N)``.
    """
    terminated = np.asarray(terminated, dtype=bool)
    ended = terminated | np.asarray(truncated, dtype=bool)
    advantages = np.zeros_like(rewards, dtype=np.float32)
    last = np.zeros(rewards.shape[1], dtype=np.float32)
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + discounts[t] * np.where(terminated[t], 0.0, next_values[t]) - values[t]
        last = (delta + discounts[t] * gae_lambda * np.where(ended[t], 0.0, last)).astype(np.float32)
        advantages[t] = last
    return advantages, (advantages + values).astype(np.float32)


# ---------------------------------------------------------------------------------------- training
def make_option_envs(config: PPOOptionsConfig) -> list[OptionsEnv]:
    """One :class:`OptionsEnv` per world."""
    options = ROLE_OPTIONS[config.role]
    return [
        OptionsEnv(gym.make(config.env_id, **config.env_kwargs), options(), gamma=config.gamma)
        for _ in range(config.num_envs)
    ]


def _stack(observations: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.stack([np.asarray(o[key]) for o in observations]) for key in observations[0]}


def train(config: PPOOptionsConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train PPO over options; return a summary (final step, run folder, checkpoint, throughput).

    Raises:
        ValueError: if a checkpoint to resume does not match the env's spaces.
        FileExistsError: if a fresh run would write into a folder that already holds a log.
    """
    device = setup_torch(config)
    envs = make_option_envs(config)
    base_space = envs[0].env.observation_space
    spec = ObservationSpec.from_spaces(base_space, envs[0].env.action_space)
    names = envs[0].option_names
    num_options = len(names)
    agent = OptionPolicyNetwork(spec, num_options, config.network_config()).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.learning_rate, eps=1e-5)
    run_dir = Path(config.run_dir)
    checkpoint_dir = run_dir / "checkpoints"
    world_size = tuple(spec.world_shape[1:])
    usage_total = OptionUsage(names, world_size)  # type: ignore[arg-type]

    global_step, iteration = 0, 0
    payload = resume_checkpoint(run_dir, resume, spec, config.env_id, device)
    if payload is not None:
        agent.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        global_step, iteration = int(payload["global_step"]), int(payload["iteration"])
    log = training_log.open_training_log(run_dir, config, global_step if payload is not None else None)

    def save(name: str, iteration: int) -> Path:
        return training_log.save_model_checkpoint(
            checkpoint_dir / name,
            "ppo_options",
            config,
            spec,
            agent,
            optimizer,
            global_step,
            option_names=names,
            role=config.role,
            iteration=iteration,
        )

    N = config.num_envs
    observations = [env.reset(seed=config.seed + iteration * N + i)[0] for i, env in enumerate(envs)]
    episode_return = np.zeros(N)
    episode_length = np.zeros(N, dtype=np.int64)
    episode_human_place_break = np.zeros(N, dtype=np.int64)
    has_human = config.role == "assistant"
    bar = training_log.progress_bar(config.total_steps, global_step, config.env_id, not config.progress)
    updating = False

    def save_if_whole() -> None:
        if not updating:  # mid-update the network and optimizer are half-way: keep the older file
            save("last.pt", iteration)

    with training_log.interruptible(save_if_whole, checkpoint_dir / "last.pt", bar, log, *envs):
        while global_step < config.total_steps:
            iteration += 1
            if config.anneal_lr:
                optimizer.param_groups[0]["lr"] = config.learning_rate * max(
                    1.0 - global_step / config.total_steps, 0.05
                )
            # ---- rollout: T option decisions per world
            collect_start = time.perf_counter()
            env_seconds = 0.0
            usage = OptionUsage(names, world_size)  # type: ignore[arg-type]
            finished = finished_episode_lists(has_human)
            keys = ("obs", "option_mask", "options", "logprobs", "values", "rewards", "discounts")
            keys += ("terminated", "truncated", "final_obs")
            buffers: dict[str, list[Any]] = {key: [] for key in keys}
            agent.eval()
            steps_this_iteration = 0
            for _ in range(config.num_steps):
                batch = _stack([{k: v for k, v in o.items() if k != "option_mask"} for o in observations])
                option_mask = torch.as_tensor(np.stack([o["option_mask"] for o in observations]).astype(bool))
                with torch.no_grad():
                    logits, value = agent(observation_to_tensors(batch, device))
                    option = sample_masked(logits, option_mask.to(device))
                    logprob = (
                        masked_log_probs(logits, option_mask.to(device)).gather(1, option[:, None]).squeeze(1)
                    )
                buffers["obs"].append(batch)
                buffers["option_mask"].append(option_mask)
                buffers["options"].append(option.cpu())
                buffers["logprobs"].append(logprob.cpu())
                buffers["values"].append(value.cpu().numpy())
                rewards, discounts = np.zeros(N, np.float32), np.zeros(N, np.float32)
                terminated, truncated = np.zeros(N, bool), np.zeros(N, bool)
                final_obs: list[dict[str, np.ndarray] | None] = [None] * N
                env_start = time.perf_counter()
                for world, env in enumerate(envs):
                    chosen = int(option[world])
                    usage.record_choice(chosen)
                    observation, reward, term, trunc, info = env.step(chosen)
                    duration = info["option_duration"]
                    for action in info["option_actions"]:
                        usage.record_step(chosen, action)
                    usage.record_end(chosen, duration, terminated=not (term or trunc))
                    rewards[world], discounts[world] = reward, info["option_discount"]
                    terminated[world], truncated[world] = term, trunc
                    steps_this_iteration += duration
                    episode_return[world] += info["option_reward_sum"]
                    episode_length[world] += duration
                    if has_human:
                        humans = info["option_human_actions"]
                        episode_human_place_break[world] += sum(1 for a in humans if a >= FIRST_PLACE)
                    if term or trunc:
                        finished["return"].append(float(episode_return[world]))
                        finished["length"].append(float(episode_length[world]))
                        finished["goal_percentage"].append(float(info["goal_percentage"]))
                        finished["completed"].append(float(term))
                        if has_human:
                            finished["human_place_break"].append(float(episode_human_place_break[world]))
                        episode_return[world], episode_length[world] = 0.0, 0
                        episode_human_place_break[world] = 0
                        if trunc:
                            final_obs[world] = {k: v for k, v in observation.items() if k != "option_mask"}
                        observation, _ = env.reset()
                    observations[world] = observation
                env_seconds += time.perf_counter() - env_start
                buffers["rewards"].append(rewards)
                buffers["discounts"].append(discounts)
                buffers["terminated"].append(terminated)
                buffers["truncated"].append(truncated)
                buffers["final_obs"].append(final_obs)
                if global_step + steps_this_iteration >= config.total_steps:
                    break  # the budget counts primitive steps: stop the last rollout early
            T = len(buffers["rewards"])
            # Values of the states where each option ended: the next decision's state, or the
            # final observation of a truncated episode (the last row: the state after the rollout).
            with torch.no_grad():
                after = _stack([{k: v for k, v in o.items() if k != "option_mask"} for o in observations])
                next_value_last = agent(observation_to_tensors(after, device))[1].cpu().numpy()
                values = np.stack(buffers["values"])
                next_values = np.concatenate([values[1:], next_value_last[None]], axis=0)
                truncated_at = [
                    (t, w) for t in range(T) for w in range(N) if buffers["final_obs"][t][w] is not None
                ]
                if truncated_at:
                    finals = _stack([buffers["final_obs"][t][w] for t, w in truncated_at])
                    final_values = agent(observation_to_tensors(finals, device))[1].cpu().numpy()
                    for (t, w), final_value in zip(truncated_at, final_values, strict=True):
                        next_values[t, w] = final_value
            collect_seconds = time.perf_counter() - collect_start
            global_step += steps_this_iteration

            advantages, returns = compute_smdp_gae(
                np.stack(buffers["rewards"]),
                np.stack(buffers["discounts"]),
                values,
                next_values,
                np.stack(buffers["terminated"]),
                np.stack(buffers["truncated"]),
                config.gae_lambda,
            )

            # ---- update
            update_start = time.perf_counter()
            updating = True
            agent.train()
            b_obs = observation_to_tensors(
                {k: np.concatenate([b[k] for b in buffers["obs"]]) for k in buffers["obs"][0]}, device
            )
            b_option_mask = torch.cat(buffers["option_mask"]).to(device)
            b_options = torch.cat(buffers["options"]).to(device)
            b_logprobs = torch.cat(buffers["logprobs"]).to(device)
            b_advantages = torch.as_tensor(advantages.reshape(-1), device=device)
            b_returns = torch.as_tensor(returns.reshape(-1), device=device)
            b_values = torch.as_tensor(values.reshape(-1), device=device)
            indices = np.arange(T * N)
            minibatch_size = max(1, len(indices) // config.num_minibatches)
            stats: dict[str, float] = {}
            for _epoch in range(config.update_epochs):
                np.random.shuffle(indices)
                for start in range(0, len(indices) - minibatch_size + 1, minibatch_size):
                    index = torch.as_tensor(indices[start : start + minibatch_size], device=device)
                    logits, new_value = agent({key: value[index] for key, value in b_obs.items()})
                    log_probs = masked_log_probs(logits, b_option_mask[index])
                    new_logprob = log_probs.gather(1, b_options[index][:, None]).squeeze(1)
                    entropy = masked_entropy(log_probs, b_option_mask[index]).mean()
                    log_ratio = new_logprob - b_logprobs[index]
                    ratio = log_ratio.exp()
                    advantage = normalize_advantages(b_advantages[index], config.norm_adv)
                    policy_loss = clipped_policy_loss(advantage, ratio, config.clip_coef)
                    value_loss = clipped_value_loss(
                        new_value, b_values[index], b_returns[index], config.clip_coef, config.clip_vloss
                    )
                    loss = policy_loss - config.ent_coef * entropy + config.vf_coef * value_loss
                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
                    optimizer.step()
                    with torch.no_grad():
                        stats = {
                            "losses/policy": policy_loss.item(),
                            "losses/value": value_loss.item(),
                            "losses/option_entropy": entropy.item(),
                            "losses/approx_kl": ((ratio - 1) - log_ratio).mean().item(),
                        }
            update_seconds = time.perf_counter() - update_start
            updating = False

            # ---- logging
            usage_total.cell_maps += usage.cell_maps
            episode_means = training_log.episode_metrics(finished)
            throughput = training_log.throughput_metrics(
                steps_this_iteration, collect_seconds, update_seconds, env_seconds
            )
            training_log.log_iteration(
                log,
                global_step,
                {"iteration": iteration, **episode_means, **stats, **usage.metrics()},
                optimizer.param_groups[0]["lr"],
                throughput,
                bar,
                min(steps_this_iteration, config.total_steps - bar.n),
                finished,
            )
            if iteration % config.checkpoint_every == 0:
                save("last.pt", iteration)
    title = f"PPO over {config.role} options on {config.env_id}"
    final = training_log.finish_run(save, iteration, log, title)
    plot_option_curves(
        log.csv_path, run_dir / "option_curves.png", names, ("losses/option_entropy",), title=title
    )
    np.save(run_dir / "option_cell_maps.npy", usage_total.cell_maps)
    return training_log.training_summary(global_step, iteration, run_dir, final, log.csv_path)


# ------------------------------------------------------------------------------------------ policy
class OptionsPolicy(BatchedPolicy):
    """Plays a trained policy over hand-designed options: ``act(observation) -> int`` for one env
    and ``act_batch(observations)`` for a vector env.

    It keeps one :class:`OptionRunner` per world: the network picks an option (among the
    available ones) whenever the previous one has ended, and the option picks the primitive
    actions. A world whose ``timestep`` is 0 starts a new episode.

    Args:
        model: the trained network.
        role: ``"builder"`` or ``"assistant"``.
        device, deterministic, seed: as for :class:`~baselines.common.policy.BatchedPolicy`
            (``deterministic``: the most likely option instead of a sample).
    """

    model: OptionPolicyNetwork

    def __init__(
        self,
        model: OptionPolicyNetwork,
        role: str,
        device: torch.device | str = "cpu",
        deterministic: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(model, device, deterministic, seed)
        self.role = role

    def forget_worlds(self) -> None:
        """No world has an option runner yet."""
        self.runners: list[OptionRunner] = []
        self.chosen: list[int] = []
        """The option that produced each world's last action (for diagnostics)."""

    def _runner(self) -> OptionRunner:
        return OptionRunner(ROLE_OPTIONS[self.role](), goal_visible=self.role == "builder")

    @torch.no_grad()
    def act_batch(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Actions ``(N,)`` for a vector env's batched observations."""
        count = len(np.asarray(observations["timestep"]))
        while len(self.runners) < count:
            self.runners.append(self._runner())
            self.chosen.append(-1)
        singles = [
            {key: np.asarray(value)[world] for key, value in observations.items()} for world in range(count)
        ]
        needs_option = []
        for world, observation in enumerate(singles):
            runner = self.runners[world]
            if np.asarray(observation["timestep"]).item() == 0 or runner._view is None:
                runner.reset(observation)
            else:
                runner.observe(observation)  # ends the running option if it terminates here
            if runner.current is None:
                needs_option.append(world)
        if needs_option:
            batch = {
                k: np.stack([np.asarray(singles[w][k]) for w in needs_option])
                for k in ("world", "inventory", "timestep")
            }
            logits, _ = self.model(observation_to_tensors(batch, self.device))
            mask = torch.as_tensor(
                np.stack([self.runners[w].available() for w in needs_option]), device=self.device
            )
            options = self.choose(logits, mask)
            for world, option in zip(needs_option, options.tolist(), strict=True):
                self.runners[world].begin(int(option))
        actions = np.zeros(count, dtype=np.int64)
        for world in range(count):
            self.chosen[world] = int(self.runners[world].current)  # type: ignore[arg-type]
            actions[world] = self.runners[world].act()
        return actions


def policy_from_checkpoint(
    payload: Mapping[str, Any],
    device: str | torch.device = "cpu",
    deterministic: bool = False,
    seed: int | None = None,
) -> OptionsPolicy:
    """The :class:`OptionsPolicy` of a loaded ``ppo_options`` checkpoint (for
    :func:`baselines.common.policy.load_policy`)."""
    model = network_from_payload(payload, OptionPolicyNetwork, len(payload["option_names"]))
    return OptionsPolicy(model, str(payload["role"]), device, deterministic, seed)


# ---------------------------------------------------------------------------------------------- CLI
COMMAND = TrainingCommand(
    "python -m baselines.options.ppo_options",
    "Train PPO over hand-designed options on an mbag_env id.",
    PPOOptionsConfig,
    "ppo_options",
    train,
)
"""The training command line (``--help`` lists its options)."""
config_from_checkpoint = COMMAND.config_from_checkpoint
main = COMMAND.main


if __name__ == "__main__":
    main()
