"""Evaluate batched policies on the vector env: goal percentage, return and the human's effort.

Policies here are functions ``observations -> actions`` over a vector env's batched observation
dict. :func:`random_valid_policy` and :func:`idle_policy` are the reference points the PPO results
are compared with. World ``i`` of an evaluation seeded ``s`` replays the same goals for every
policy (the env draws goals from per-world generators), so comparisons are paired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import gymnasium as gym
import numpy as np

from baselines.common.training_log import EpisodeTracker
from mbag_env.core.actions import NOOP

BatchPolicy = Callable[[Mapping[str, np.ndarray]], np.ndarray]
"""A function from a vector env's observation dict to one action per world."""


@dataclass
class EpisodeStats:
    """Per-episode results of an evaluation (one list entry per finished episode)."""

    goal_percentage: list[float] = field(default_factory=list)
    episode_return: list[float] = field(default_factory=list)
    length: list[int] = field(default_factory=list)
    human_actions: list[int] = field(default_factory=list)
    """Non-NOOP actions of player 0 (the scripted human in ``Assist`` envs)."""
    human_place_break: list[int] = field(default_factory=list)
    """PLACE/BREAK actions of player 0."""
    completed: list[bool] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Means (and standard errors) of every statistic."""
        result: dict[str, float] = {"episodes": float(len(self.goal_percentage))}
        for statistic in fields(self):
            name = statistic.name
            values = np.asarray(getattr(self, name), dtype=np.float64)
            result[name] = float(values.mean()) if values.size else float("nan")
            result[f"{name}_stderr"] = (
                float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")
            )
        return result


def random_valid_policy(seed: int = 0) -> BatchPolicy:
    """Uniformly random valid actions (from each world's ``action_mask``)."""
    rng = np.random.default_rng(seed)

    def act(observations: Mapping[str, np.ndarray]) -> np.ndarray:
        mask = np.asarray(observations["action_mask"])
        # Gumbel-max over the valid actions: one vectorised draw per world.
        scores = np.where(mask, rng.random(mask.shape), -1.0)
        return scores.argmax(axis=1).astype(np.int64)

    return act


def idle_policy() -> BatchPolicy:
    """Always NOOP (the 'no assistant' reference of the assistance task)."""

    def act(observations: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.full(len(observations["timestep"]), NOOP, dtype=np.int64)

    return act


def evaluate_policy(
    policy: BatchPolicy,
    env_id: str,
    num_episodes: int,
    num_envs: int = 8,
    seed: int = 12345,
    env_kwargs: Mapping[str, Any] | None = None,
) -> EpisodeStats:
    """Run ``policy`` on ``gymnasium.make_vec(env_id, ...)`` until ``num_episodes`` episodes end.

    Every world plays ``ceil(num_episodes / num_envs)`` episodes and the first ``num_episodes``
    finished ones (in world order) are kept, so the goals do not depend on the policy.

    Raises:
        ValueError: for a non-positive ``num_episodes`` or ``num_envs``.
    """
    if num_episodes < 1 or num_envs < 1:
        raise ValueError(f"num_episodes and num_envs must be positive, got {num_episodes}, {num_envs}")
    num_envs = min(num_envs, num_episodes)
    per_world = -(-num_episodes // num_envs)
    envs = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **dict(env_kwargs or {})
    )
    episodes: list[list[dict[str, float]]] = [[] for _ in range(num_envs)]
    tracker = EpisodeTracker(num_envs)
    try:
        observations, _ = envs.reset(seed=seed)
        while min(len(done) for done in episodes) < per_world:
            observations, rewards, terminated, truncated, infos = envs.step(policy(observations))
            for world in np.flatnonzero(tracker.step(rewards, terminated, truncated, infos)):
                if len(episodes[world]) < per_world:
                    episodes[world].append(tracker.episode(int(world)))
    finally:
        envs.close()
    kept = [episode for world_episodes in episodes for episode in world_episodes][:num_episodes]
    return EpisodeStats(
        goal_percentage=[episode["goal_percentage"] for episode in kept],
        episode_return=[episode["return"] for episode in kept],
        length=[int(episode["length"]) for episode in kept],
        human_actions=[int(episode["human_actions"]) for episode in kept],
        human_place_break=[int(episode["human_place_break"]) for episode in kept],
        completed=[bool(episode["completed"]) for episode in kept],
    )
