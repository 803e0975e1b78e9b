"""Evaluation-time variants of the shipped AssistanceZero checkpoint, as leaderboard factories.

Diagnostics, not assistants to rank: each changes how the trained network's search is *used*, to
measure what a failure costs. Run them with the leaderboard's ``module:factory`` specs, e.g.::

    mbag-leaderboard idle keep=baselines.assistance_zero.eval_variants:keep_human_blocks --quick

* :func:`keep_human_blocks`: the session-8 headline checkpoint that never breaks a block the
  human placed last (its stalled episodes broke the same human-placed block again and again);
* :func:`search_penalty`: the same checkpoint whose search scores the ``incorrect_action``
  shaping of −1 in expectation (the ``cpu-2h-careful`` preset's term) without retraining;
* :func:`owner_exact_belief`: the ablation that separates learning from search: the session-9
  owner-prior checkpoint's search planning with the Bayesian assistant's exact posterior
  (:func:`~baselines.assistance_zero.diagnostics.exact_belief`, the fair prior of training
  houses) instead of its learnt goal head;
* :func:`owner_full_horizon`: the session-9 checkpoint whose search plans to the evaluated env's
  horizon (``AZConfig.eval_horizon``) instead of ending the episode at its training horizon of 30.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baselines.assistance_zero.config import PRESETS
from baselines.assistance_zero.policy import AssistanceZeroPolicy, model_from_payload
from baselines.common.checkpoint import load_checkpoint

OWNER_CHECKPOINT = (
    Path(__file__).resolve().parents[2]
    / "assets/checkpoints/assistance_zero_cpu_small_h30_careful_owner_suite_s1.pt"
)
"""The session-9 checkpoint (owner goal prior, incorrect-action penalty, four suite humans)."""

HEADLINE_CHECKPOINT = (
    Path(__file__).resolve().parents[2] / "assets/checkpoints/assistance_zero_cpu_small_h30_cq_suite_2h_s1.pt"
)
"""The session-8 AssistanceZero checkpoint the variants use (2 CPU-hours beside the suite's humans)."""


def _checkpoint_policy(
    path: Path,
    seed: int | None,
    keep: bool = False,
    belief_source: Any = None,
    eval_horizon: int = 0,
    **env_kwargs: Any,
) -> AssistanceZeroPolicy:
    model, config = model_from_payload(load_checkpoint(path))
    config = config.replace(  # eval_horizon 0: the one the checkpoint stores
        env_kwargs={**config.env_kwargs, **env_kwargs}, eval_horizon=eval_horizon or config.eval_horizon
    )
    return AssistanceZeroPolicy(model, config, seed=seed, keep_human_blocks=keep, belief_source=belief_source)


def keep_human_blocks(seed: int | None = None) -> AssistanceZeroPolicy:
    """The headline checkpoint with ``keep_human_blocks``: no BREAK of a block the human placed last."""
    return _checkpoint_policy(HEADLINE_CHECKPOINT, seed, keep=True)


def search_penalty(seed: int | None = None) -> AssistanceZeroPolicy:
    """The headline checkpoint whose search adds −1 for each expected incorrect place or break (the
    ``cpu-2h-careful`` preset's ``reward_shaping``)."""
    shaping = PRESETS["cpu-2h-careful"]["env_kwargs"]["reward_shaping"]
    return _checkpoint_policy(HEADLINE_CHECKPOINT, seed, reward_shaping=shaping)


def owner_exact_belief(env: Any, seed: int | None = None) -> AssistanceZeroPolicy:
    """The owner-prior checkpoint planning with the exact posterior (an ablation, not an assistant
    to rank as AssistanceZero): its policy, value and human heads, the Bayesian assistant's goal
    belief for ``env``'s world size."""
    from baselines.assistance_zero.diagnostics import exact_belief

    world_size = tuple(int(size) for size in env.unwrapped.config.world_size)
    return _checkpoint_policy(OWNER_CHECKPOINT, seed, belief_source=exact_belief(world_size, 1))


def owner_full_horizon(env: Any, seed: int | None = None) -> AssistanceZeroPolicy:
    """The owner-prior checkpoint with ``eval_horizon`` set to ``env``'s horizon: its search no longer
    takes step 30, the end of its training episodes, for the end of the episode (session 16)."""
    return _checkpoint_policy(OWNER_CHECKPOINT, seed, eval_horizon=int(env.unwrapped.config.horizon))
