"""PPO's clipped losses, shared by the baselines that run PPO updates (flat PPO, PPO over options and
option-critic's PPOC)."""

from __future__ import annotations

import torch


def normalize_advantages(advantages: torch.Tensor, enabled: bool = True) -> torch.Tensor:
    """``advantages`` scaled to mean 0 and standard deviation 1 over the minibatch (unchanged when not
    ``enabled`` or when the minibatch holds a single one)."""
    if enabled and len(advantages) > 1:
        return (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages


def clipped_policy_loss(advantages: torch.Tensor, ratio: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped surrogate loss: the mean of ``max(-A r, -A clamp(r, 1 - clip, 1 + clip))`` for the
    probability ratios ``r`` of the new to the old policy."""
    return torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - clip, 1 + clip)).mean()


def clipped_value_loss(
    new_values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip: float, clip_vloss: bool
) -> torch.Tensor:
    """Half the mean squared error of ``new_values`` against ``returns``; with ``clip_vloss`` the larger
    of that error and the one of the values moved at most ``clip`` from ``old_values`` (the rollout's)."""
    if not clip_vloss:
        return 0.5 * ((new_values - returns) ** 2).mean()
    clipped = old_values + torch.clamp(new_values - old_values, -clip, clip)
    return 0.5 * torch.max((new_values - returns) ** 2, (clipped - returns) ** 2).mean()
