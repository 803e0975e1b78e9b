"""Dreamer's configuration and the paper's transforms: symlog, two-hot, unimix, straight-through
sampling, free-bits KL balancing, λ-returns and the return scale."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from baselines.common.config_checks import require_in_range, require_positive_ints
from baselines.common.masking import masked_logits
from baselines.common.run_config import RunConfig

# ----------------------------------------------------------------------------------------- config
NETWORK_SIZES = ("deter", "stoch", "classes", "hidden", "mlp_layers", "cnn_depth", "cnn_stages")
"""The :class:`DreamerConfig` fields that size the networks (positive integers); with
``channel_embedding`` they are a checkpoint's ``network_config``."""

PRESETS: dict[str, dict[str, Any]] = {
    "cpu-small": {},
    "paper": dict(
        deter=512,
        stoch=32,
        classes=32,
        hidden=512,
        mlp_layers=2,
        cnn_depth=32,
        batch_size=16,
        batch_length=64,
        train_ratio=512,
        imagination_starts=0,
    ),
}
"""The two presets, as changes to :class:`DreamerConfig`'s defaults: ``cpu-small`` is those defaults
(256 GRU units, 16×16 latents, batch 16 × 32, train ratio 64, 64 imagination starts); ``paper`` is
size S of the paper's Table B.1 with the Crafter train ratio."""


IMAGINATION_MASKS = ("decoded", "learned", "sampled", "none")
"""The ways of masking actions in imagination (see :class:`DreamerConfig`)."""


@dataclass
class DreamerConfig(RunConfig):
    """Everything that defines a Dreamer run (stored in every checkpoint).

    The defaults are the ``cpu-small`` preset; :func:`config_for_preset` applies a preset.
    ``imagination_starts`` 0 means every posterior state of the batch (the paper).
    ``kl_scales``: ``"paper"`` (dyn 0.5, rep 0.1) or ``"official"`` (dyn 1.0, rep 0.1).
    ``imagination_mask``: ``"decoded"`` (the env's rules on the decoded world, the default),
    ``"learned"`` (a mask head, valid where ``p > 0.5``), ``"sampled"`` (the mask head, each action
    valid with its predicted probability) or ``"none"`` (all actions valid in imagination).
    ``goal_head``: train a head predicting the privileged goal θ from the latent state (an
    auxiliary loss for the assistant; a deviation from the paper, off by default).
    ``max_wall_minutes`` > 0 ends training (with a final checkpoint) after that much wall-clock time.
    The run fields are those of :class:`~baselines.common.run_config.RunConfig`; ``checkpoint_every``
    counts env steps here.
    """

    preset: str = "cpu-small"
    total_steps: int = 20_000
    num_envs: int = 8
    prefill: int = 1024
    replay_capacity: int = 100_000
    deter: int = 256
    stoch: int = 16
    classes: int = 16
    hidden: int = 256
    mlp_layers: int = 1
    cnn_depth: int = 16
    cnn_stages: int = 2
    channel_embedding: int = 8
    batch_size: int = 16
    batch_length: int = 32
    train_ratio: float = 64
    imagination_starts: int = 64
    imagination_horizon: int = 15
    gamma: float = 0.997
    lambda_: float = 0.95
    unimix: float = 0.01
    free_nats: float = 1.0
    kl_scales: str = "paper"
    prediction_scale: float = 1.0
    imagination_mask: str = "decoded"
    goal_head: bool = False
    actor_entropy: float = 3e-4
    return_scale_decay: float = 0.99
    slow_critic_rate: float = 0.02
    slow_critic_weight: float = 1.0
    model_lr: float = 1e-4
    model_eps: float = 1e-8
    model_clip: float = 1000.0
    actor_critic_lr: float = 3e-5
    actor_critic_eps: float = 1e-5
    actor_critic_clip: float = 100.0
    max_wall_minutes: float = 0.0
    log_every: int = 1024
    checkpoint_every: int = 8192
    save_replay: bool = True

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"DreamerConfig.preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        require_positive_ints(
            self,
            (
                "total_steps",
                "num_envs",
                *NETWORK_SIZES,
                "batch_size",
                "batch_length",
                "imagination_horizon",
                "log_every",
                "checkpoint_every",
                "replay_capacity",
            ),
        )
        require_in_range(self, ("gamma", "lambda_", "unimix", "return_scale_decay", "slow_critic_rate"), 0, 1)
        if self.kl_scales not in ("paper", "official"):
            raise ValueError(f"DreamerConfig.kl_scales must be 'paper' or 'official', got {self.kl_scales!r}")
        if self.imagination_mask not in IMAGINATION_MASKS:
            raise ValueError(
                f"DreamerConfig.imagination_mask must be one of {IMAGINATION_MASKS}, "
                f"got {self.imagination_mask!r}"
            )
        if self.train_ratio <= 0 or self.prefill < 0 or self.imagination_starts < 0:
            raise ValueError("DreamerConfig: train_ratio must be > 0, prefill and imagination_starts >= 0")
        self.fill_run_dir("dreamer")

    @property
    def kl_dyn_rep(self) -> tuple[float, float]:
        """The (dyn, rep) KL loss scales."""
        return (0.5, 0.1) if self.kl_scales == "paper" else (1.0, 0.1)


def config_for_preset(preset: str, **overrides: Any) -> DreamerConfig:
    """A :class:`DreamerConfig` with the preset's sizes, then ``overrides``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    return DreamerConfig(**{"preset": preset, **PRESETS[preset], **overrides})


# ------------------------------------------------------------------------ the paper's transforms
def symlog(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) log(1 + |x|)``."""
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) (exp(|x|) − 1)``, the inverse of :func:`symlog`."""
    return torch.sign(x) * torch.expm1(x.abs())


class TwoHot(nn.Module):
    """Two-hot encoding of ``symlog(x)`` over ``num_bins`` equally spaced bins in [low, high]."""

    def __init__(self, num_bins: int = 255, low: float = -20.0, high: float = 20.0) -> None:
        super().__init__()
        self.register_buffer("bins", torch.linspace(low, high, num_bins), persistent=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Weights ``(..., num_bins)`` on the two bins around ``symlog(x)`` (clipped to the range)."""
        bins: torch.Tensor = self.bins  # type: ignore[assignment]
        y = symlog(x).clamp(bins[0], bins[-1])
        above = torch.searchsorted(bins, y.contiguous(), right=True).clamp(1, len(bins) - 1)
        below = above - 1
        weight_above = (y - bins[below]) / (bins[above] - bins[below])
        target = torch.zeros(*y.shape, len(bins), device=y.device)
        target.scatter_(-1, below.unsqueeze(-1), (1 - weight_above).unsqueeze(-1))
        target.scatter_add_(-1, above.unsqueeze(-1), weight_above.unsqueeze(-1))
        return target

    def decode(self, probabilities: torch.Tensor) -> torch.Tensor:
        """``symexp`` of the expected bin: the prediction of a softmax (or an encoding)."""
        return symexp((probabilities * self.bins).sum(-1))

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """The predicted value of ``logits``."""
        return self.decode(torch.softmax(logits, -1))

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy ``−log p(target)`` of the two-hot target, per element."""
        return -(self.encode(target) * torch.log_softmax(logits, -1)).sum(-1)


def unimix_probs(logits: torch.Tensor, unimix: float) -> torch.Tensor:
    """``(1 − unimix) softmax(logits) + unimix / classes`` over the last axis."""
    return (1 - unimix) * torch.softmax(logits, -1) + unimix / logits.shape[-1]


def straight_through_sample(probabilities: torch.Tensor) -> torch.Tensor:
    """A one-hot sample forward, the gradient of ``probabilities`` backward."""
    flat = probabilities.reshape(-1, probabilities.shape[-1])
    index = torch.multinomial(flat, 1).squeeze(-1)
    one_hot = F.one_hot(index, probabilities.shape[-1]).reshape(probabilities.shape).float()
    return one_hot + (probabilities - probabilities.detach())  # exactly one-hot forward


def sample_categorical(probabilities: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One index per row of ``probabilities`` ``(N, n)`` by inverting the CDF (an action of
    probability 0 is never drawn: its CDF step is empty)."""
    cdf = probabilities.cumsum(-1)
    u = torch.rand(len(cdf), 1, device=cdf.device, generator=generator) * cdf[:, -1:]
    index = torch.searchsorted(cdf, u, right=True).squeeze(-1)
    # u < total, so index < n; guard the float edge u == total with the most likely action.
    return torch.where(index >= cdf.shape[-1], probabilities.argmax(-1), index)


def masked_unimix_log_probs(logits: torch.Tensor, mask: torch.Tensor, unimix: float) -> torch.Tensor:
    """Log-probabilities of the actor: mask first, then unimix spread over the *valid* actions only.

    Invalid actions get probability exactly 0 (log −inf); valid ones at least ``unimix / #valid``.
    """
    probabilities = torch.softmax(masked_logits(logits, mask), -1)
    valid = mask.float()
    probabilities = (1 - unimix) * probabilities + unimix * valid / valid.sum(-1, keepdim=True)
    return torch.where(mask, probabilities.clamp_min(1e-30).log(), torch.full_like(logits, -math.inf))


def masked_entropy(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Entropy over the valid actions of :func:`masked_unimix_log_probs`."""
    safe = torch.where(mask, log_probs, torch.zeros_like(log_probs))
    return -(safe.exp() * safe * mask).sum(-1)


def kl_losses(
    posterior_logits: torch.Tensor, prior_logits: torch.Tensor, unimix: float, free_nats: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The dyn and rep losses ``max(free, KL)`` (per element), and the raw KL.

    ``dyn = KL[sg(posterior) || prior]`` trains the prior; ``rep = KL[posterior || sg(prior)]``
    trains the representation. Both are summed over the latents; below ``free_nats`` they are
    constant (no gradient).
    """

    def kl(post: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        p, q = unimix_probs(post, unimix), unimix_probs(prior, unimix)
        return (p * (p.log() - q.log())).sum((-2, -1))

    dyn = kl(posterior_logits.detach(), prior_logits)
    rep = kl(posterior_logits, prior_logits.detach())
    return dyn.clamp_min(free_nats), rep.clamp_min(free_nats), dyn.detach()


def lambda_returns(
    rewards: torch.Tensor, continues: torch.Tensor, values: torch.Tensor, gamma: float, lambda_: float
) -> torch.Tensor:
    """λ-returns ``(H, N)``: ``R_t = r_{t+1} + γ c_{t+1} ((1 − λ) v_{t+1} + λ R_{t+1})``, ``R_H = v_H``.

    Args:
        rewards, continues: ``(H, N)``: reward and continue flag on *arriving* at states 1..H.
        values: ``(H + 1, N)``: values of states 0..H.
    """
    returns = [values[-1]]
    for t in reversed(range(rewards.shape[0])):
        bootstrap = (1 - lambda_) * values[t + 1] + lambda_ * returns[-1]
        returns.append(rewards[t] + gamma * continues[t] * bootstrap)
    return torch.stack(returns[::-1][:-1])


class ReturnScale:
    """``S``: an EMA of the 95th − 5th percentile range of λ-returns; advantages are divided by
    ``max(1, S)``."""

    def __init__(self, decay: float = 0.99) -> None:
        self.decay = decay
        self.value = 0.0

    def update(self, returns: torch.Tensor) -> float:
        """Fold a batch of returns into the EMA; return the divisor ``max(1, S)``."""
        flat = returns.detach().float().flatten()
        spread = float(torch.quantile(flat, 0.95) - torch.quantile(flat, 0.05))
        self.value = self.decay * self.value + (1 - self.decay) * spread
        return max(1.0, self.value)
