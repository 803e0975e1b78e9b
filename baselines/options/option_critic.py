"""Option-critic for MBAG, PPO-style (PPOC), in one file: read top to bottom.

**Which algorithm.** This is PPOC, the proximal option-critic of Klissarov, Bacon, Harb and
Precup (2017, "Learnings options end-to-end for continuous action tasks", arXiv:1712.00004):
the option-critic architecture of Bacon, Harb and Precup (2017) trained with PPO's clipped
surrogate and GAE, and a softmax policy over options. We chose PPOC over DAC (Zhang and Whiteson,
2019) because it keeps one actor-critic update (DAC runs two interleaved PPO problems on augmented
MDPs), so the file can mirror :mod:`baselines.ppo` line for line and use its defaults.

**Network.** ``K`` options (default 4) share the flat PPO network's trunk (the 3-D convolutional
:class:`~baselines.common.networks.WorldEncoder`, mean/max pooling and the global MLP). Each option
``ω`` has a masked spatial intra-option policy head ``π_ω(a|s)`` laid out like the flat action
space, and a termination head ``β_ω(s) = σ(·)``; a critic head gives ``Q_Ω(s, ω)`` and a softmax
head the policy over options ``π_Ω(ω|s)``; ``V_Ω(s) = Σ_ω π_Ω(ω|s) Q_Ω(s, ω)``.

**Acting.** At each step the current option ``ω`` terminates with probability ``β_ω(s)`` (always
at an episode's first state); a terminated option is replaced by ``ω ~ π_Ω(·|s)``; the action
is ``a ~ π_ω(·|s)`` over the valid actions only.

**Losses** (one minibatch, PPO's defaults):

* intra-option policy: PPO's clipped surrogate on ``log π_ω(a|s)`` with GAE advantages whose
  baseline is ``Q_Ω(s, ω)`` (bootstrapping with ``Q_Ω(s', ω')`` of the option actually run next,
  i.e. an unbiased sample of ``U(s', ω) = (1 − β_ω(s')) Q_Ω(s', ω) + β_ω(s') V_Ω(s')``), entropy
  bonus ``ent_coef``;
* policy over options: the clipped surrogate on ``log π_Ω(ω|s)`` at the states where an option
  was chosen, with advantage ``G − V_Ω(s)``, entropy bonus ``option_ent_coef = 0.01``;
* critic: ``(Q_Ω(s, ω) − G)²`` with PPO's value clipping;
* termination (Bacon et al., 2017, Theorem 2): ``β_ω(s')·(Q_Ω(s', ω) − V_Ω(s') + ξ)`` with the
  bracket held fixed, for the option ``ω`` that was running when the env reached ``s'``. So the
  gradient is ``−∇β_ω(s')·(A_Ω(s', ω) + ξ)`` ascended (descended as a loss): options that are
  better than average at ``s'`` terminate less. β is evaluated at the **next** state ``s'`` (the
  state *reached*, where the termination is decided), not at the state ``s`` where the option
  acted — a known bug of some public implementations — and the term is masked at an episode's
  first state, where no option was running. ``ξ = 0.01`` (``termination_reg``) favours longer
  options; the optional deliberation cost ``η`` (Harb et al., 2018, "When waiting is not an
  option") is charged as ``−η`` reward at every switch of option within an episode and adds ``η``
  to the termination margin.

The autoreset handling is :mod:`baselines.ppo`'s (next-step autoreset; the resetting steps are no
decisions and are left out of every loss). Diagnostics (:mod:`baselines.options.diagnostics`) go
into ``progress.csv`` as ``options/*``: choices and steps per option, mean duration, termination
rate, mean β per option, the entropy of ``π_Ω`` and of each ``π_ω``, and the mean pairwise KL
between the option policies.

::

    python -m baselines.options.option_critic --env mbag/Build-Small-v0 --total-steps 49152
    python -m baselines.options.option_critic \
        --resume runs/option_critic-Build-Small-v0-s1/checkpoints/last.pt

:func:`policy_from_checkpoint` (used by :func:`baselines.common.policy.load_policy`) makes a policy
for the leaderboard and the play window.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

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
from baselines.common.networks import (
    NUM_GLOBAL_ACTIONS,
    NetworkConfig,
    ObservationSpec,
    TrunkNetwork,
    flatten_action_logits,
    layer_init,
    network_from_payload,
    observation_to_tensors,
)
from baselines.common.policy import BatchedPolicy
from baselines.common.run_config import PPOFamilyConfig
from baselines.common.seeding import setup_torch
from baselines.options.diagnostics import OptionUsage, finished_episode_lists, plot_option_curves
from baselines.ppo import compute_gae

__all__ = [
    "OptionCriticConfig",
    "OptionCriticNetwork",
    "OptionCriticPolicy",
    "main",
    "option_values",
    "policy_from_checkpoint",
    "termination_loss",
    "train",
]


# ----------------------------------------------------------------------------------------- config
@dataclass
class OptionCriticConfig(PPOFamilyConfig):
    """Everything that defines an option-critic run (stored in every checkpoint).

    The fields of :class:`~baselines.common.run_config.PPOFamilyConfig` (shared with
    :class:`baselines.ppo.PPOConfig`, same defaults and meaning), and:

    Attributes:
        num_options: ``K``.
        termination_reg: ``ξ``, added to the option advantage in the termination loss.
        deliberation_cost: ``η`` (0: off), see the module docstring.
        option_ent_coef: entropy bonus of the policy over options.
        termination_coef: weight of the termination loss.
    """

    positive_ints: ClassVar[tuple[str, ...]] = (*PPOFamilyConfig.positive_ints, "num_options")

    num_options: int = 4
    termination_reg: float = 0.01
    deliberation_cost: float = 0.0
    option_ent_coef: float = 0.01
    termination_coef: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require_in_range(self, ("clip_coef",), 0.0, 10.0)
        if self.deliberation_cost < 0:
            raise ValueError(
                f"OptionCriticConfig.deliberation_cost must be >= 0, got {self.deliberation_cost}"
            )
        self.fill_run_dir("option_critic")

    @property
    def num_iterations(self) -> int:
        """Rollout-and-update iterations."""
        return max(1, self.total_steps // self.batch_size)


# ---------------------------------------------------------------------------------------- network
class OptionCriticOutput(NamedTuple):
    """What the network says about a batch of states (``B`` states, ``K`` options, ``A`` actions)."""

    action_logits: torch.Tensor
    """``(B, K, A)`` unmasked intra-option policy logits, in env action order."""
    termination: torch.Tensor
    """``(B, K)`` ``β_ω(s)`` in (0, 1)."""
    option_q: torch.Tensor
    """``(B, K)`` ``Q_Ω(s, ω)``."""
    option_logits: torch.Tensor
    """``(B, K)`` logits of the policy over options ``π_Ω``."""


class OptionCriticNetwork(TrunkNetwork):
    """Shared trunk + per-option spatial policy heads, termination heads, ``Q_Ω`` and ``π_Ω``.

    Args:
        spec: the env's observation spec.
        num_options: ``K``.
        config: trunk sizes (as for the flat :class:`~baselines.common.networks.ActorCritic`).
    """

    def __init__(
        self, spec: ObservationSpec, num_options: int = 4, config: NetworkConfig | None = None
    ) -> None:
        super().__init__(spec, config)
        self.num_options = num_options
        hidden, global_hidden = self.config.hidden_channels, self.config.global_hidden
        self.context = layer_init(nn.Linear(global_hidden, hidden))
        # One spatial head per option, computed together: K * (7 global + kinds per cell) logits.
        self.global_policy = layer_init(nn.Linear(global_hidden, num_options * NUM_GLOBAL_ACTIONS), std=0.01)
        self.cell_policy = layer_init(
            nn.Conv3d(hidden + self.encoder.in_channels, num_options * spec.cell_action_kinds, 1), std=0.01
        )
        self.termination_head = layer_init(nn.Linear(global_hidden, num_options), std=0.01)
        self.q_head = layer_init(nn.Linear(global_hidden, num_options), std=1.0)
        self.option_head = layer_init(nn.Linear(global_hidden, num_options), std=0.01)

    def forward(self, observation: Mapping[str, torch.Tensor]) -> OptionCriticOutput:
        """See :class:`OptionCriticOutput`."""
        features = self.trunk(observation)
        hidden = features.hidden
        cell_logits = features.cell_logits(self.context, self.cell_policy)
        batch, kinds = hidden.shape[0], self.spec.cell_action_kinds
        cell_logits = cell_logits.view(batch * self.num_options, kinds, *features.cells.shape[2:])
        global_logits = self.global_policy(hidden).view(batch * self.num_options, NUM_GLOBAL_ACTIONS)
        logits = flatten_action_logits(global_logits, cell_logits).view(batch, self.num_options, -1)
        return OptionCriticOutput(
            action_logits=logits,
            termination=torch.sigmoid(self.termination_head(hidden)),
            option_q=self.q_head(hidden),
            option_logits=self.option_head(hidden),
        )


def option_values(output: OptionCriticOutput) -> torch.Tensor:
    """``V_Ω(s) = Σ_ω π_Ω(ω|s) Q_Ω(s, ω)`` ``(B,)``."""
    return (torch.softmax(output.option_logits, dim=-1) * output.option_q).sum(dim=-1)


def termination_loss(
    termination: torch.Tensor,
    option_q: torch.Tensor,
    state_value: torch.Tensor,
    previous_option: torch.Tensor,
    episode_start: torch.Tensor,
    margin: float,
) -> torch.Tensor:
    """The option-critic termination loss ``mean β_ω(s')·(Q_Ω(s', ω) − V_Ω(s') + margin)``.

    Row ``b`` is a state ``s'`` the env *reached* while option ``previous_option[b]`` was running;
    ``termination``, ``option_q`` and ``state_value`` are the network's outputs *at that state*.
    The bracket is held fixed (no gradient to the critic), so minimising this raises ``β`` where
    the option is worse than ``V_Ω`` by more than ``margin`` and lowers it elsewhere. Rows with
    ``episode_start`` (no option was running) add nothing.

    Args:
        termination, option_q: ``(B, K)``.
        state_value: ``(B,)``.
        previous_option: ``(B,)`` long (any value where ``episode_start``).
        episode_start: ``(B,)`` bool.
        margin: ``ξ`` (+ ``η``).
    """
    valid = ~episode_start.bool()
    option = previous_option.clamp(min=0).long()[:, None]
    beta = termination.gather(1, option).squeeze(1)
    advantage = (option_q.gather(1, option).squeeze(1) - state_value + margin).detach()
    terms = torch.where(valid, beta * advantage, torch.zeros_like(beta))
    return terms.sum() / valid.sum().clamp(min=1)


# ---------------------------------------------------------------------------------------- rollout
@dataclass
class Rollout:
    """One rollout, ``(T, N, ...)``: the state ``s_t`` seen at step ``t``, the option that was
    running when it was reached (``previous_options``, -1 at an episode start), the option run
    from it, whether that option was newly chosen there, and the usual PPO data."""

    world: torch.Tensor
    inventory: torch.Tensor
    timestep: torch.Tensor
    action_mask: torch.Tensor
    options: torch.Tensor
    previous_options: torch.Tensor
    episode_start: torch.Tensor
    chose: torch.Tensor
    actions: torch.Tensor
    action_logprobs: torch.Tensor
    option_logprobs: torch.Tensor
    values: np.ndarray
    state_values: np.ndarray
    betas: np.ndarray
    rewards: np.ndarray
    env_rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    resetting: np.ndarray
    next_value: np.ndarray

    def observation(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The flat-indexed (``t * N + n``) observations as network input."""
        return {
            "world": self.world.flatten(0, 1)[index],
            "inventory": self.inventory.flatten(0, 1)[index],
            "timestep": self.timestep.flatten(0, 1)[index],
        }


class RolloutCollector:
    """Steps the vector env with the option-critic policy and keeps the option state across rollouts.

    Args:
        envs: the batched vector env.
        config: the run's configuration.
        device: where the network runs.
        seed: seed of the first reset.
    """

    def __init__(
        self, envs: gym.vector.VectorEnv, config: OptionCriticConfig, device: torch.device, seed: int
    ) -> None:
        self.envs, self.config, self.device = envs, config, device
        self.next_obs, _ = envs.reset(seed=seed)
        count = config.num_envs
        self.episodes = training_log.EpisodeTracker(count)
        self.next_episode_start = np.ones(count, dtype=bool)
        self.current_option = torch.full((count,), -1, dtype=torch.long)
        self.option_duration = np.zeros(count, dtype=np.int64)

    @torch.no_grad()
    def collect(
        self, network: OptionCriticNetwork, usage: OptionUsage, finished: dict[str, list[float]]
    ) -> tuple[Rollout, float]:
        """Run ``num_steps`` steps in every world; return the rollout and the seconds in ``env.step``."""
        config, device = self.config, self.device
        T, N = config.num_steps, config.num_envs
        space = self.envs.single_observation_space
        world = torch.zeros((T, N, *space["world"].shape), dtype=torch.uint8, device=device)
        inventory = torch.zeros((T, N, *space["inventory"].shape), dtype=torch.float32, device=device)
        timestep = torch.zeros((T, N), dtype=torch.float32, device=device)
        action_mask = torch.zeros((T, N, network.spec.n_actions), dtype=torch.bool, device=device)
        long = {"dtype": torch.long, "device": device}
        options, previous_options, actions = (torch.zeros((T, N), **long) for _ in range(3))
        episode_start = torch.zeros((T, N), dtype=torch.bool, device=device)
        chose = torch.zeros((T, N), dtype=torch.bool, device=device)
        action_logprobs = torch.zeros((T, N), device=device)
        option_logprobs = torch.zeros((T, N), device=device)
        values, state_values, betas, rewards, env_rewards = (np.zeros((T, N), np.float32) for _ in range(5))
        terminated, truncated, resetting = (np.zeros((T, N), bool) for _ in range(3))
        env_seconds = 0.0
        network.eval()
        for step in range(T):
            tensors = observation_to_tensors(self.next_obs, device)
            world[step], inventory[step] = tensors["world"], tensors["inventory"]
            timestep[step], action_mask[step] = tensors["timestep"], tensors["action_mask"]
            resetting[step] = self.episodes.resetting
            output = network(tensors)
            state_value = option_values(output)
            previous = self.current_option.to(device)
            start = torch.as_tensor(self.next_episode_start, device=device)
            # β of the running option at the state just reached (s'), where termination is decided.
            beta_previous = output.termination.gather(1, previous.clamp(min=0)[:, None]).squeeze(1)
            beta_previous = torch.where(start, torch.ones_like(beta_previous), beta_previous)
            terminate = start | (torch.rand(N, device=device) < beta_previous)
            option_log_probs = torch.log_softmax(output.option_logits, dim=-1)
            new_option = torch.multinomial(option_log_probs.exp(), 1).squeeze(1)
            option = torch.where(terminate, new_option, previous)
            logits = output.action_logits[torch.arange(N, device=device), option]
            action = sample_masked(logits, tensors["action_mask"])
            q_taken = output.option_q.gather(1, option[:, None]).squeeze(1)
            # A resetting step only restarts its world: its value is U(s_final, ω) for bootstrapping.
            continuing = (1 - beta_previous) * output.option_q.gather(
                1, previous.clamp(min=0)[:, None]
            ).squeeze(1)
            final_value = torch.where(start, state_value, continuing + beta_previous * state_value)
            resetting_now = torch.as_tensor(self.episodes.resetting, device=device)
            values[step] = torch.where(resetting_now, final_value, q_taken).cpu().numpy()
            state_values[step] = state_value.cpu().numpy()
            betas[step] = beta_previous.cpu().numpy()
            options[step], previous_options[step], actions[step] = option, previous, action
            episode_start[step], chose[step] = start & ~resetting_now, terminate & ~resetting_now
            action_logprobs[step] = (
                masked_log_probs(logits, tensors["action_mask"]).gather(1, action[:, None]).squeeze(1)
            )
            option_logprobs[step] = option_log_probs.gather(1, option[:, None]).squeeze(1)

            env_start = time.perf_counter()
            self.next_obs, reward, term, trunc, infos = self.envs.step(action.cpu().numpy())
            env_seconds += time.perf_counter() - env_start
            stepped = ~self.episodes.resetting
            switched = (chose[step] & ~episode_start[step]).cpu().numpy()
            env_rewards[step] = reward
            rewards[step] = reward - config.deliberation_cost * switched
            terminated[step], truncated[step] = term, trunc

            # Diagnostics and the option state for the next step.
            option_numpy = option.cpu().numpy()
            ended_option = chose[step].cpu().numpy() & ~self.next_episode_start & stepped
            for world_index in np.flatnonzero(ended_option):
                usage.record_end(int(previous[world_index]), int(self.option_duration[world_index]), True)
            self.option_duration = np.where(chose[step].cpu().numpy(), 0, self.option_duration)
            for world_index in np.flatnonzero(stepped):
                if chose[step, world_index]:
                    usage.record_choice(int(option_numpy[world_index]))
                feet = np.argwhere(tensors["world"][world_index, 1].cpu().numpy() == 1)
                usage.record_step(
                    int(option_numpy[world_index]),
                    int(action[world_index]),
                    feet[np.argmin(feet[:, 1])] if len(feet) else None,
                )
            self.option_duration += stepped
            # After a resetting step no option runs; at an episode's last step the option stays, so
            # the resetting step can value the final state with it (U(s_final, ω)).
            self.current_option = torch.where(torch.as_tensor(self.episodes.resetting), -1, option.cpu())
            # The first state after a resetting step starts an episode.
            self.next_episode_start = self.episodes.resetting.copy()
            ending = self.episodes.step(reward, term, trunc, infos, finished)
            for world_index in np.flatnonzero(ending):
                usage.record_end(
                    int(option_numpy[world_index]), int(self.option_duration[world_index]), False
                )
            self.option_duration[ending] = 0

        output = network(observation_to_tensors(self.next_obs, device))
        state_value = option_values(output)
        previous = self.current_option.to(device)
        beta = output.termination.gather(1, previous.clamp(min=0)[:, None]).squeeze(1)
        continuing = (1 - beta) * output.option_q.gather(1, previous.clamp(min=0)[:, None]).squeeze(1)
        next_value = torch.where(previous < 0, state_value, continuing + beta * state_value).cpu().numpy()
        rollout = Rollout(
            world, inventory, timestep, action_mask, options, previous_options, episode_start, chose, actions,
            action_logprobs, option_logprobs, values, state_values, betas, rewards, env_rewards, terminated,
            truncated, resetting, next_value,
        )  # fmt: skip
        return rollout, env_seconds


# ------------------------------------------------------------------------------------------ update
def minibatch_losses(
    network: OptionCriticNetwork,
    rollout: Rollout,
    index: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    config: OptionCriticConfig,
) -> dict[str, torch.Tensor]:
    """All loss terms of one minibatch (flat indices into the rollout's decision steps).

    Returns:
        ``loss`` (the weighted sum to minimise) and each term: ``policy``, ``option_policy``,
        ``value``, ``termination``, ``entropy`` (intra-option, of the running option),
        ``option_entropy``, ``approx_kl``, ``clipfrac``.
    """
    output = network(rollout.observation(index))
    mask = rollout.action_mask.flatten(0, 1)[index]
    option = rollout.options.flatten()[index]
    rows = torch.arange(len(index), device=index.device)
    log_probs = masked_log_probs(output.action_logits[rows, option], mask)
    new_logprob = log_probs.gather(1, rollout.actions.flatten()[index][:, None]).squeeze(1)
    log_ratio = new_logprob - rollout.action_logprobs.flatten()[index]
    ratio = log_ratio.exp()
    advantage = normalize_advantages(advantages[index], config.norm_adv)
    clip = config.clip_coef
    policy_loss = clipped_policy_loss(advantage, ratio, clip)

    # Policy over options, at the states where an option was chosen.
    chose = rollout.chose.flatten()[index]
    option_log_probs = torch.log_softmax(output.option_logits, dim=-1)
    option_ratio = (
        option_log_probs.gather(1, option[:, None]).squeeze(1) - rollout.option_logprobs.flatten()[index]
    ).exp()
    stored_state_value = torch.as_tensor(rollout.state_values.reshape(-1), device=index.device)[index]
    option_advantage = returns[index] - stored_state_value
    if chose.any():
        chosen_advantage = normalize_advantages(option_advantage[chose], config.norm_adv)
        option_policy_loss = clipped_policy_loss(chosen_advantage, option_ratio[chose], clip)
    else:
        option_policy_loss = torch.zeros((), device=index.device)

    # Critic Q_Ω(s, ω) of the option run from s.
    q_taken = output.option_q.gather(1, option[:, None]).squeeze(1)
    old_value = torch.as_tensor(rollout.values.reshape(-1), device=index.device)[index]
    value_loss = clipped_value_loss(q_taken, old_value, returns[index], clip, config.clip_vloss)

    # Termination of the option that was running when s (= s' of the previous step) was reached.
    termination = termination_loss(
        output.termination,
        output.option_q,
        option_values(output),
        rollout.previous_options.flatten()[index],
        rollout.episode_start.flatten()[index],
        config.termination_reg + config.deliberation_cost,
    )
    entropy = masked_entropy(log_probs, mask).mean()
    option_entropy = -(option_log_probs.exp() * option_log_probs).sum(dim=-1).mean()
    loss = (
        policy_loss
        + option_policy_loss
        - config.ent_coef * entropy
        - config.option_ent_coef * option_entropy
        + config.vf_coef * value_loss
        + config.termination_coef * termination
    )
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clipfrac = ((ratio - 1.0).abs() > clip).float().mean()
    return {
        "loss": loss,
        "policy": policy_loss,
        "option_policy": option_policy_loss,
        "value": value_loss,
        "termination": termination,
        "entropy": entropy,
        "option_entropy": option_entropy,
        "approx_kl": approx_kl,
        "clipfrac": clipfrac,
    }


@torch.no_grad()
def option_policy_diagnostics(
    network: OptionCriticNetwork, rollout: Rollout, sample: int = 256
) -> dict[str, float]:
    """On up to ``sample`` decision states of the rollout: the entropy of ``π_Ω``, of each intra-option
    policy, the mean ``β`` per option, and the mean pairwise KL ``KL(π_i || π_j)`` between option
    policies at the same states (0 would mean the options act identically)."""
    decisions = torch.as_tensor(np.flatnonzero(~rollout.resetting.reshape(-1)))
    if len(decisions) == 0:
        return {}
    index = decisions[torch.randperm(len(decisions))[:sample]]
    output = network(rollout.observation(index))
    mask = rollout.action_mask.flatten(0, 1)[index]
    K = network.num_options
    log_probs = torch.stack([masked_log_probs(output.action_logits[:, k], mask) for k in range(K)], dim=1)
    result: dict[str, float] = {}
    option_log_probs = torch.log_softmax(output.option_logits, dim=-1)
    result["options/policy_over_options_entropy"] = float(
        -(option_log_probs.exp() * option_log_probs).sum(-1).mean()
    )
    for k in range(K):
        result[f"options/intra_entropy_{k}"] = float(masked_entropy(log_probs[:, k], mask).mean())
        result[f"options/mean_beta_{k}"] = float(output.termination[:, k].mean())
    probabilities = log_probs.exp()
    kls = []
    for i in range(K):
        for j in range(K):
            if i != j:
                terms = torch.where(
                    mask,
                    probabilities[:, i] * (log_probs[:, i] - log_probs[:, j]),
                    torch.zeros_like(probabilities[:, i]),
                )
                kls.append(float(terms.sum(-1).mean()))
    result["options/mean_pairwise_kl"] = float(np.mean(kls)) if kls else 0.0
    return result


# ---------------------------------------------------------------------------------------- training
def make_envs(config: OptionCriticConfig) -> gym.vector.VectorEnv:
    """The batched vector env of ``config``."""
    return gym.make_vec(
        config.env_id, num_envs=config.num_envs, vectorization_mode="vector_entry_point", **config.env_kwargs
    )


def option_names(num_options: int) -> list[str]:
    """``["0", "1", ...]``: learned options have no names."""
    return [str(k) for k in range(num_options)]


def train(config: OptionCriticConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train option-critic; return a summary (final step, run folder, checkpoint, throughput).

    Raises:
        ValueError: if the checkpoint does not match the env's spaces.
        FileExistsError: if a fresh run would write into a folder that already holds a log.
    """
    device = setup_torch(config)
    envs = make_envs(config)
    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    if "action_mask" not in envs.single_observation_space.spaces:
        raise ValueError("option-critic here needs action masks in the observation (leave action_masks=True)")
    network = OptionCriticNetwork(spec, config.num_options, config.network_config()).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate, eps=1e-5)
    run_dir = Path(config.run_dir)
    checkpoint_dir = run_dir / "checkpoints"
    names = option_names(config.num_options)
    world_size = tuple(spec.world_shape[1:])

    global_step, start_iteration = 0, 1
    payload = resume_checkpoint(run_dir, resume, spec, config.env_id, device)
    if payload is not None:
        network.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        global_step, start_iteration = int(payload["global_step"]), int(payload["iteration"]) + 1
    log = training_log.open_training_log(run_dir, config, global_step if payload is not None else None)

    def save(name: str, iteration: int) -> Path:
        return training_log.save_model_checkpoint(
            checkpoint_dir / name,
            "option_critic",
            config,
            spec,
            network,
            optimizer,
            global_step,
            num_options=config.num_options,
            iteration=iteration,
        )

    collector = RolloutCollector(
        envs, config, device, seed=config.seed + (start_iteration - 1) * config.num_envs
    )
    total_usage = OptionUsage(names, world_size)  # type: ignore[arg-type]
    has_human = getattr(envs.unwrapped, "agent", 0) != 0
    bar = training_log.progress_bar(
        config.num_iterations * config.batch_size, global_step, config.env_id, not config.progress
    )
    last_iteration, updating = start_iteration - 1, False

    def save_if_whole() -> None:
        if not updating:  # mid-update the network and optimizer are half-way: keep the older file
            save("last.pt", last_iteration)

    with training_log.interruptible(save_if_whole, checkpoint_dir / "last.pt", bar, log, envs):
        for iteration in range(start_iteration, config.num_iterations + 1):
            if config.anneal_lr:
                optimizer.param_groups[0]["lr"] = (
                    1.0 - (iteration - 1.0) / config.num_iterations
                ) * config.learning_rate
            collect_start = time.perf_counter()
            usage = OptionUsage(names, world_size)  # type: ignore[arg-type]
            finished = finished_episode_lists(has_human)
            rollout, env_seconds = collector.collect(network, usage, finished)
            collect_seconds = time.perf_counter() - collect_start
            global_step += config.batch_size
            advantages, returns = compute_gae(
                rollout.rewards, rollout.values, rollout.terminated, rollout.truncated, rollout.resetting,
                rollout.next_value, config.gamma, config.gae_lambda,
            )  # fmt: skip

            update_start = time.perf_counter()
            updating = True
            network.train()
            decisions = np.flatnonzero(~rollout.resetting.reshape(-1))
            b_advantages = torch.as_tensor(advantages.reshape(-1), device=device)
            b_returns = torch.as_tensor(returns.reshape(-1), device=device)
            minibatch_size = max(1, len(decisions) // config.num_minibatches)
            sums: dict[str, list[float]] = {}
            for _epoch in range(config.update_epochs):
                np.random.shuffle(decisions)
                for start in range(0, len(decisions) - minibatch_size + 1, minibatch_size):
                    index = torch.as_tensor(decisions[start : start + minibatch_size], device=device)
                    losses = minibatch_losses(network, rollout, index, b_advantages, b_returns, config)
                    optimizer.zero_grad()
                    losses["loss"].backward()
                    nn.utils.clip_grad_norm_(network.parameters(), config.max_grad_norm)
                    optimizer.step()
                    for key, value in losses.items():
                        sums.setdefault(key, []).append(float(value.detach()))
            update_seconds = time.perf_counter() - update_start
            updating = False

            network.eval()
            diagnostics = option_policy_diagnostics(network, rollout)
            total_usage.cell_maps += usage.cell_maps
            total_usage.position_maps += usage.position_maps
            steps = config.batch_size
            option_metrics = usage.metrics()
            training_log.log_iteration(
                log,
                global_step,
                {
                    "iteration": iteration,
                    **training_log.episode_metrics(finished),
                    **{
                        f"losses/{key}": float(np.mean(values))
                        for key, values in sums.items()
                        if key != "loss"
                    },
                    **option_metrics,
                    **diagnostics,
                },
                optimizer.param_groups[0]["lr"],
                training_log.throughput_metrics(steps, collect_seconds, update_seconds, env_seconds),
                bar,
                steps,
                finished,
                dur=f"{option_metrics['options/mean_duration']:.1f}",
            )
            last_iteration = iteration
            if iteration % config.checkpoint_every == 0:
                save("last.pt", iteration)
    title = f"Option-critic (K={config.num_options}) on {config.env_id}"
    final = training_log.finish_run(save, last_iteration, log, title)
    extra = ("options/mean_duration", "options/policy_over_options_entropy", "options/mean_pairwise_kl")
    plot_option_curves(log.csv_path, run_dir / "option_curves.png", names, extra, title=title)
    np.save(run_dir / "option_cell_maps.npy", total_usage.cell_maps)
    np.save(run_dir / "option_position_maps.npy", total_usage.position_maps)
    return training_log.training_summary(global_step, last_iteration, run_dir, final, log.csv_path)


# ------------------------------------------------------------------------------------------ policy
class OptionCriticPolicy(BatchedPolicy):
    """Plays a trained option-critic (an :class:`OptionCriticNetwork` as the ``model`` of
    :class:`~baselines.common.policy.BatchedPolicy`): ``act(observation) -> int`` (one env) and
    ``act_batch``.

    The running option of each world persists between calls until its termination ``β`` fires
    (sampled; with ``deterministic`` when ``β > 0.5``, and the greedy option and action). A world
    whose ``timestep`` is 0 starts a new episode.
    """

    model: OptionCriticNetwork

    def forget_worlds(self) -> None:
        """No world has a running option."""
        self.current_option = torch.zeros(0, dtype=torch.long, device=self.device)
        self.last_beta = torch.zeros(0, device=self.device)
        self.last_terminated = torch.zeros(0, dtype=torch.bool, device=self.device)
        """Per world: whether the last action's option was newly chosen (β fired or a new episode)."""

    @torch.no_grad()
    def act_batch(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Actions ``(N,)`` for a vector env's batched observations."""
        tensors = observation_to_tensors(dict(observations), self.device)
        count = tensors["world"].shape[0]
        if len(self.current_option) != count:
            self.current_option = torch.full((count,), -1, dtype=torch.long, device=self.device)
        output = self.model(tensors)
        previous = torch.where(tensors["timestep"] == 0, -1, self.current_option)
        beta = output.termination.gather(1, previous.clamp(min=0)[:, None]).squeeze(1)
        if self.deterministic:
            terminate = (previous < 0) | (beta > 0.5)
            new_option = output.option_logits.argmax(dim=-1)
        else:
            uniform = torch.rand(count, generator=self.generator, device=self.device)
            terminate = (previous < 0) | (uniform < beta)
            new_option = torch.multinomial(
                torch.softmax(output.option_logits, -1), 1, generator=self.generator
            ).squeeze(1)
        option = torch.where(terminate, new_option, previous)
        self.current_option, self.last_beta, self.last_terminated = option, beta, terminate
        logits = output.action_logits[torch.arange(count, device=self.device), option]
        return self.choose(logits, tensors.get("action_mask")).cpu().numpy().astype(np.int64)


def policy_from_checkpoint(
    payload: Mapping[str, Any],
    device: str | torch.device = "cpu",
    deterministic: bool = False,
    seed: int | None = None,
) -> OptionCriticPolicy:
    """The :class:`OptionCriticPolicy` of a loaded ``option_critic`` checkpoint (for
    :func:`baselines.common.policy.load_policy`)."""
    network = network_from_payload(payload, OptionCriticNetwork, int(payload["num_options"]))
    return OptionCriticPolicy(network, device, deterministic, seed)


# ---------------------------------------------------------------------------------------------- CLI
COMMAND = TrainingCommand(
    "python -m baselines.options.option_critic",
    "Train option-critic (PPOC) on an mbag_env id.",
    OptionCriticConfig,
    "option_critic",
    train,
)
"""The training command line (``--help`` lists its options)."""
config_from_checkpoint = COMMAND.config_from_checkpoint
main = COMMAND.main


if __name__ == "__main__":
    main()
