"""Train beside several scripted humans at once: one vector env per human model, seen as one.

The compiled human of an ``mbag/Assist`` vector env is one model for all of its worlds.
:class:`ConcatVectorEnv` puts vector envs side by side (world ``k`` of the whole is world ``k −
offset`` of the env that holds it), so a self-play loop written for one vector env trains beside
a mix of humans unchanged. :func:`parse_humans` reads the ``human`` text of a training config:
one :meth:`~mbag_env.humans.scripted.HumanModel.parse` label, several separated by ``;``, or
``suite`` for the leaderboard's four (:data:`~mbag_env.evaluation.suites.SUITE_HUMANS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

from mbag_env.evaluation.suites import SUITE_HUMANS
from mbag_env.humans.scripted import HumanModel

SUITE_HUMANS_NAME = "suite"
"""The ``human`` text that stands for the leaderboard suites' four human models."""


def parse_humans(text: str) -> tuple[HumanModel, ...]:
    """The human models named by ``text``: ``"suite"``, or ``;``-separated ``HumanModel`` labels.

    Raises:
        ValueError: for an empty list, a label ``HumanModel.parse`` rejects, or a model named twice.
    """
    if text.strip() == SUITE_HUMANS_NAME:
        return SUITE_HUMANS
    labels = [label.strip() for label in text.split(";") if label.strip()]
    if not labels:
        raise ValueError(f"no human model in {text!r}")
    models = tuple(HumanModel.parse(label) for label in labels)
    if len(set(models)) != len(models):
        raise ValueError(f"{text!r} names a human model twice")
    return models


def split_worlds(num_envs: int, parts: int) -> list[int]:
    """``num_envs`` worlds shared as evenly as possible among ``parts`` envs (earlier ones get the
    remainder).

    Raises:
        ValueError: when there are fewer worlds than parts.
    """
    if num_envs < parts:
        raise ValueError(f"{num_envs} worlds cannot be shared among {parts} human models")
    base, extra = divmod(num_envs, parts)
    return [base + (index < extra) for index in range(parts)]


def make_assist_vector_env(
    env_id: str, num_envs: int, env_kwargs: dict[str, Any], humans: str
) -> gym.vector.VectorEnv:
    """``num_envs`` worlds of ``env_id`` beside the human models named by ``humans``
    (:func:`parse_humans`): one vector env when it names one, else a :class:`ConcatVectorEnv` with
    the worlds shared by :func:`split_worlds` in the order the models are named."""
    models = parse_humans(humans)
    envs = [
        gym.make_vec(
            env_id,
            num_envs=count,
            vectorization_mode="vector_entry_point",
            **{**env_kwargs, "human_policy": model},
        )
        for model, count in zip(models, split_worlds(num_envs, len(models)), strict=True)
    ]
    return envs[0] if len(envs) == 1 else ConcatVectorEnv(envs)


def world_goals(envs: gym.vector.VectorEnv) -> np.ndarray:
    """The goals ``(num_envs, W, H, D)`` of an mbag vector env or a :class:`ConcatVectorEnv` (copied)."""
    vector: Any = envs.unwrapped
    if isinstance(vector, ConcatVectorEnv):
        return vector.goals()
    return np.array(vector.batch.state.goal, copy=True)


class ConcatVectorEnv(gym.vector.VectorEnv):
    """Vector envs with equal spaces and autoreset mode, stepped as one of their summed size.

    ``reset(seed=s)`` seeds sub-env ``j`` with ``s + offset_j``, so each world gets the seed it
    would get as world ``offset_j + i`` of a single vector env. Observations, rewards, flags and the
    per-world ``info`` arrays are concatenated in order (``info`` keys every sub-env returns).

    Args:
        envs: the vector envs, in world order.

    Raises:
        ValueError: for no envs, or envs whose single spaces or autoreset modes differ.
    """

    def __init__(self, envs: Sequence[gym.vector.VectorEnv]) -> None:
        if not envs:
            raise ValueError("ConcatVectorEnv needs at least one vector env")
        first = envs[0]
        for env in envs[1:]:
            if (
                env.single_observation_space != first.single_observation_space
                or env.single_action_space != first.single_action_space
                or env.metadata.get("autoreset_mode") != first.metadata.get("autoreset_mode")
            ):
                raise ValueError("ConcatVectorEnv needs vector envs with equal spaces and autoreset modes")
        self.envs = list(envs)
        self.offsets = np.cumsum([0] + [env.num_envs for env in envs])
        self.num_envs = int(self.offsets[-1])
        self.metadata = dict(first.metadata)
        self.single_observation_space = first.single_observation_space
        self.single_action_space = first.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.agent = int(getattr(first.unwrapped, "agent", 0))
        """The acting player of every sub-env (the first one's)."""
        self.config = getattr(first.unwrapped, "config", None)
        """The first sub-env's game configuration (``MbagConfig``; the human is not part of it)."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every sub-env (sub-env ``j`` with ``seed + offset_j``)."""
        results = [
            env.reset(seed=None if seed is None else seed + int(offset), options=options)
            for env, offset in zip(self.envs, self.offsets[:-1], strict=True)
        ]
        return _concat_observations([obs for obs, _ in results]), _concat_infos([info for _, info in results])

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step each sub-env with its slice of ``actions`` ``(num_envs,)``."""
        actions = np.asarray(actions)
        results = [
            env.step(actions[self.offsets[j] : self.offsets[j + 1]]) for j, env in enumerate(self.envs)
        ]
        observations = _concat_observations([result[0] for result in results])
        rewards, terminated, truncated = (
            np.concatenate([result[k] for result in results]) for k in (1, 2, 3)
        )
        return observations, rewards, terminated, truncated, _concat_infos([result[4] for result in results])

    def goals(self) -> np.ndarray:
        """The goals ``(num_envs, W, H, D)`` of every world (copied), in world order."""
        return np.concatenate([world_goals(env) for env in self.envs])

    def close_extras(self, **kwargs: Any) -> None:
        """Close every sub-env."""
        for env in self.envs:
            env.close()


def _concat_observations(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _concat_infos(parts: list[dict[str, Any]]) -> dict[str, Any]:
    shared = set(parts[0]).intersection(*parts[1:])
    return {
        key: np.concatenate([np.asarray(part[key]) for part in parts]) for key in parts[0] if key in shared
    }
