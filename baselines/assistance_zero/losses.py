"""Loss (1) of AssistanceZero on a replay minibatch.

    L = λ_policy·KL(π_MCTS ‖ π) + λ_value·(V − G)² − λ_reward·log p̂(θ|h)
        + λ_prev·KL(p̂_t(θ) ‖ p̂(θ|h)) − λ_action·log p̂(aᴴ|h)

averaged over the minibatch, where ``p̂_t(θ)`` is the belief the acting network had when the step
was played (stored in the replay). The goal belief factorises over cells, so ``log p̂(θ|h)`` and
the KL are sums over cells; both are divided by the number of cells ``V`` here (a mean over
cells), which is how the reference implementation (MBAG's ``MbagAlphaZeroPolicy.loss``)
normalises its goal cross-entropy and previous-goal KL, so its weights carry over unchanged: value
0.01, goal 3, previous-goal KL ramped 0 → 30, human action 1 (and a gradient-norm clip of 10,
applied in training). Like the reference, the KL runs from the stored belief to the current one,
``Σ_k p̂_t(k) (log p̂_t(k) − log p̂(k|h))`` per cell. The reference's policy term is the cross
entropy ``−Σ π_MCTS log π`` and its human term the KL from the human policy's distribution; the KL
and the sampled action's negative log-likelihood here have the same gradients (in expectation for
the human term). π and p̂(aᴴ|h) are masked to the acting player's and the human's valid actions.
The goal and human terms are 0 for a network without those heads (the goal-visible AlphaZero
builder).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from baselines.assistance_zero.network import AssistanceZeroNetwork, NetworkOutput
from baselines.common.masking import masked_log_probs

PROBABILITY_FLOOR = 1e-6
"""Lower bound on stored probabilities before taking logs (the anchor belief is float16)."""


@dataclass(frozen=True)
class LossWeights:
    """The λ's of loss (1); the defaults are the reference's (``prev`` at the end of its ramp)."""

    policy: float = 1.0
    value: float = 0.01
    reward: float = 3.0
    prev: float = 30.0
    action: float = 1.0


def dense_policy(actions: torch.Tensor, probs: torch.Tensor, num_actions: int) -> torch.Tensor:
    """π_MCTS ``(B, A)`` from the replay's sparse ``(B, S)`` actions and probabilities."""
    target = torch.zeros(actions.shape[0], num_actions, dtype=probs.dtype, device=probs.device)
    return target.scatter_add_(1, actions, probs)


def goal_nll(log_belief: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """``−log p̂(θ|h)`` divided by the number of cells (the mean over cells and the batch), from
    the belief's log-probabilities ``(B, 10, W, H, D)`` and the true goals ``(B, W, H, D)``."""
    return -log_belief.gather(1, goal.long().unsqueeze(1)).mean()


def loss_terms(output: NetworkOutput, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The five unweighted terms of loss (1), each a scalar averaged over the minibatch.

    Keys: ``policy_kl``, ``value``, ``goal_nll``, ``prev_goal_kl``, ``human_action_nll`` (the last
    three are 0 when the network has no goal or human head).
    """
    log_pi = masked_log_probs(output.policy_logits, batch["mask"])
    target = dense_policy(batch["policy_actions"], batch["policy_probs"], log_pi.shape[1])
    positive = target > 0
    safe_target = torch.where(positive, target, torch.ones_like(target))
    policy_kl = torch.where(positive, target * (safe_target.log() - log_pi), torch.zeros_like(target)).sum(1)
    zero = output.value.new_zeros(())
    terms = {
        "policy_kl": policy_kl.mean(),
        "value": ((output.value - batch["returns"]) ** 2).mean(),
        "goal_nll": zero,
        "prev_goal_kl": zero,
        "human_action_nll": zero,
    }
    if output.goal_logits is not None:
        log_belief = torch.log_softmax(output.goal_logits, dim=1)  # (B, 10, W, H, D)
        terms["goal_nll"] = goal_nll(log_belief, batch["goal"])
        anchor = batch["belief"].float().clamp(min=PROBABILITY_FLOOR)
        anchor = anchor / anchor.sum(dim=1, keepdim=True)
        terms["prev_goal_kl"] = (anchor * (anchor.log() - log_belief)).sum(dim=1).mean()
    if output.human_logits is not None:
        # The human's own choice is valid for it; marking it keeps the log finite even if a
        # stored mask (computed from the rebuilt state) disagreed.
        human_action = batch["human_action"].long()
        human_mask = batch["human_mask"].clone()
        human_mask[torch.arange(len(human_action)), human_action] = True
        log_human = masked_log_probs(output.human_logits, human_mask)
        terms["human_action_nll"] = -log_human.gather(1, human_action[:, None]).mean()
    return terms


def az_loss(
    model: AssistanceZeroNetwork, batch: dict[str, torch.Tensor], weights: LossWeights
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted total of :func:`loss_terms` on ``batch`` (tensors from
    :meth:`ReplayBuffer.sample`) and every term's value as ``losses/<name>``."""
    terms = loss_terms(model(batch["world"], batch["timestep"]), batch)
    total = (
        weights.policy * terms["policy_kl"]
        + weights.value * terms["value"]
        + weights.reward * terms["goal_nll"]
        + weights.prev * terms["prev_goal_kl"]
        + weights.action * terms["human_action_nll"]
    )
    values = {f"losses/{name}": float(term.detach()) for name, term in terms.items()}
    values["losses/total"] = float(total.detach())
    return total, values
