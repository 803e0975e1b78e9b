"""Belief pretraining: the goal head's term of loss (1) on what an idle assistant would observe.

The goal term of AssistanceZero's loss, ``−log p̂(θ|h)``, is supervised: its target is the true
goal, which training knows, and its input is only the assistant's observation. In self-play the head
learns it from the searched episodes alone, and early in a run the belief is too vague for the
search to place blocks it is sure of (a 2-hour run with the incorrect-action penalty placed or broke
in 0.7 % of its moves over its first 64k steps; docs/results.md, session 15). Pretraining fits that
term first, for a fixed number of minibatch updates, on episodes of the training task's own humans
beside an assistant that does NOOP: the observations an assistant gets while it has not acted yet,
with the goals of the training split. It uses the run's network and optimizer, runs inside the run's
time budget, and is off unless ``AZConfig.pretrain_belief_updates`` is set (an addition to the
reference algorithm, which learns the belief from self-play only).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from baselines.assistance_zero.losses import goal_nll
from baselines.assistance_zero.network import AssistanceZeroNetwork
from baselines.common.mixed_humans import world_goals
from baselines.common.networks import batch_timesteps
from mbag_env.core.actions import NOOP


def collect_idle_assistant_states(envs: Any, num_states: int, seed: int) -> dict[str, np.ndarray]:
    """``num_states`` (rounded up to whole vector steps) observations of the assistant doing NOOP in
    ``envs`` (an Assist vector env, reset here with ``seed``), with each world's goal: ``world``
    ``(n, C, W, H, D)`` uint8, ``timestep`` ``(n,)`` and ``goal`` ``(n, W, H, D)`` uint8.

    Raises:
        ValueError: if ``num_states`` is not positive.
    """
    if num_states < 1:
        raise ValueError(f"num_states must be positive, got {num_states}")
    observations, _ = envs.reset(seed=seed)
    num_envs = envs.num_envs
    idle = np.full(num_envs, NOOP, dtype=np.int64)
    worlds, timesteps, goals = [], [], []
    for _ in range(-(-num_states // num_envs)):
        worlds.append(observations["world"].copy())
        timesteps.append(batch_timesteps(observations["timestep"], num_envs).copy())
        goals.append(world_goals(envs))
        observations, *_ = envs.step(idle)
    return {
        "world": np.concatenate(worlds),
        "timestep": np.concatenate(timesteps),
        "goal": np.concatenate(goals).astype(np.uint8),
    }


def pretrain_belief(
    model: AssistanceZeroNetwork,
    optimizer: torch.optim.Optimizer,
    states: dict[str, np.ndarray],
    updates: int,
    batch_size: int,
    max_grad_norm: float,
    rng: np.random.Generator,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """``updates`` minibatch steps of the goal cross-entropy (:func:`~.losses.goal_nll`) on
    minibatches of ``batch_size`` drawn with ``rng`` from ``states``
    (:func:`collect_idle_assistant_states`), clipped to ``max_grad_norm`` as in training.

    Returns ``goal_nll_first`` and ``goal_nll_last`` (the mean over the first and the last tenth
    of the updates), ``updates`` and ``seconds``.

    Raises:
        ValueError: if the network has no goal head or ``updates`` is not positive.
    """
    if model.goal_head is None:
        raise ValueError("belief pretraining needs a network with a goal head (AssistanceZero)")
    if updates < 1:
        raise ValueError(f"updates must be positive, got {updates}")
    start = time.perf_counter()
    model.train()
    tensors = {key: torch.from_numpy(value) for key, value in states.items()}
    losses = []
    for _ in range(updates):
        index = torch.from_numpy(rng.integers(0, len(tensors["world"]), batch_size))
        output = model(tensors["world"][index].to(device), tensors["timestep"][index].to(device))
        assert output.goal_logits is not None
        loss = goal_nll(torch.log_softmax(output.goal_logits, dim=1), tensors["goal"][index].to(device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(float(loss.detach()))
    tenth = max(updates // 10, 1)
    return {
        "goal_nll_first": float(np.mean(losses[:tenth])),
        "goal_nll_last": float(np.mean(losses[-tenth:])),
        "updates": float(updates),
        "seconds": time.perf_counter() - start,
    }
