"""Masked categorical distributions over the flat action space.

Invalid actions get a logit of :data:`MASKED_LOGIT`, whose probability underflows to exactly 0 in
float32, so sampling can never pick one; entropies count only valid actions.
"""

from __future__ import annotations

import torch

MASKED_LOGIT = -1e9
"""Logit given to invalid actions (exp of it minus any real logit is exactly 0 in float32)."""


def masked_logits(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``logits`` with invalid actions (``mask`` False) set to :data:`MASKED_LOGIT`.

    Raises:
        ValueError: if the shapes differ or a row of ``mask`` has no valid action.
    """
    if mask is None:
        return logits
    if mask.shape != logits.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} differs from logits shape {tuple(logits.shape)}")
    if not bool(mask.any(dim=-1).all()):
        raise ValueError("an action mask has no valid action (NOOP should always be valid)")
    return torch.where(mask.bool(), logits, torch.full_like(logits, MASKED_LOGIT))


def masked_log_probs(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Log-probabilities ``(B, n)`` of the masked categorical distribution."""
    return torch.log_softmax(masked_logits(logits, mask), dim=-1)


def sample_masked(
    logits: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Sample one action per row ``(B,)`` from the masked distribution (never an invalid action)."""
    probabilities = torch.softmax(masked_logits(logits, mask), dim=-1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


def masked_entropy(log_probs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Entropy ``(B,)`` of the distributions given by ``log_probs`` (from :func:`masked_log_probs`)."""
    terms = log_probs.exp() * log_probs
    if mask is not None:
        terms = torch.where(mask.bool(), terms, torch.zeros_like(terms))
    return -terms.sum(dim=-1)
