"""Evaluate batched policies on the vector env: goal percentage, return and the human's effort.

Policies here are functions ``observations -> actions`` over a vector env's batched observation
dict. :func:`random_valid_policy` and :func:`idle_policy` are the reference points the PPO results
are compared with. World ``i`` of an evaluation seeded ``s`` replays the same goals for every
policy (the env draws goals from per-world generators), so comparisons are paired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from mbag_env.core.actions import FIRST_PLACE, NOOP

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
        for name in (
            "goal_percentage",
            "episode_return",
            "length",
            "human_actions",
            "human_place_break",
            "completed",
        ):
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
    episodes: list[list[tuple[float, float, int, int, int, bool]]] = [[] for _ in range(num_envs)]
    try:
        observations, _ = envs.reset(seed=seed)
        returns = np.zeros(num_envs)
        lengths = np.zeros(num_envs, dtype=np.int64)
        human_actions = np.zeros(num_envs, dtype=np.int64)
        human_place_break = np.zeros(num_envs, dtype=np.int64)
        resetting = np.zeros(num_envs, dtype=bool)
        while min(len(done) for done in episodes) < per_world:
            actions = policy(observations)
            observations, rewards, terminated, truncated, infos = envs.step(actions)
            stepped = ~resetting
            returns += np.where(stepped, rewards, 0.0)
            lengths += stepped
            human = np.asarray(infos["human_action"])
            human_actions += stepped & (human != NOOP)
            human_place_break += stepped & (human >= FIRST_PLACE)
            ended = (terminated | truncated) & stepped
            for world in np.flatnonzero(ended):
                if len(episodes[world]) < per_world:
                    episodes[world].append(
                        (
                            float(infos["goal_percentage"][world]),
                            float(returns[world]),
                            int(lengths[world]),
                            int(human_actions[world]),
                            int(human_place_break[world]),
                            bool(terminated[world]),
                        )
                    )
            returns[ended] = 0.0
            lengths[ended] = 0
            human_actions[ended] = 0
            human_place_break[ended] = 0
            resetting = ended
    finally:
        envs.close()
    stats = EpisodeStats()
    for world_episodes in episodes:
        for goal_percentage, episode_return, length, human, place_break, completed in world_episodes:
            stats.goal_percentage.append(goal_percentage)
            stats.episode_return.append(episode_return)
            stats.length.append(length)
            stats.human_actions.append(human)
            stats.human_place_break.append(place_break)
            stats.completed.append(completed)
    for name in (
        "goal_percentage",
        "episode_return",
        "length",
        "human_actions",
        "human_place_break",
        "completed",
    ):
        setattr(stats, name, getattr(stats, name)[:num_episodes])
    return stats
