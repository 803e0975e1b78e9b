"""AssistanceZero / AlphaZero checkpoints as env policies: every move is an MCTS search.

:func:`policy_from_checkpoint` is the entry of :data:`baselines.common.policy.POLICY_LOADERS` for
the ``assistance_zero`` and ``alpha_zero`` algorithms, so ``load_policy(path)``, the leaderboard
(``mbag-leaderboard``) and the play window accept these checkpoints. The policy needs only the
observation: the search rebuilds the world from it (the assistant never sees θ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from baselines.assistance_zero.config import AZConfig
from baselines.assistance_zero.mcts import (
    BatchedMCTS,
    most_visited,
    network_evaluator,
    visit_policy,
)
from baselines.assistance_zero.network import AssistanceZeroNetwork, AZNetworkConfig
from baselines.common.checkpoint import from_plain
from baselines.common.networks import ObservationSpec
from mbag_env import ENV_IDS
from mbag_env.config import MbagConfig
from mbag_env.envs.single import config_from_arguments

ENV_ONLY_KEYS = ("agent", "human_policy", "render_mode")
"""Env keyword arguments that are not :class:`MbagConfig` fields."""


def env_config_of(config: AZConfig) -> tuple[MbagConfig, int]:
    """The game configuration and acting player of a run's env (``env_id`` + ``env_kwargs``).

    Raises:
        ValueError: for an env id that is not an ``mbag/`` id.
    """
    if config.env_id not in ENV_IDS:
        raise ValueError(f"{config.env_id!r} is not a registered mbag id ({sorted(ENV_IDS)})")
    fields_ = {**ENV_IDS[config.env_id], **config.env_kwargs}
    agent = int(fields_.get("agent", 0))  # type: ignore[call-overload]
    return config_from_arguments(None, {k: v for k, v in fields_.items() if k not in ENV_ONLY_KEYS}), agent


class AssistanceZeroPolicy:
    """Acts by MCTS with an :class:`AssistanceZeroNetwork` (never a masked action).

    Args:
        model: the network.
        config: the run's configuration (env, search settings).
        device: where the network runs.
        deterministic: play the most visited action, ties to the higher mean return (else sample
            ``N^T`` normalised, ``T`` the config's ``eval_temperature`` exponent, whose default 0
            also plays the most visited action).
        seed: seed of the search's and the sampling's random numbers.
        num_simulations: simulations per move (default: the config's ``eval_simulations``).
    """

    def __init__(
        self,
        model: AssistanceZeroNetwork,
        config: AZConfig,
        device: torch.device | str = "cpu",
        deterministic: bool = True,
        seed: int | None = None,
        num_simulations: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.config = config
        self.deterministic = deterministic
        self.rng = np.random.default_rng(seed)
        self.env_config, self.agent = env_config_of(config)
        search = config.search_config(evaluation=True)
        if num_simulations is not None:
            search = replace(search, num_simulations=num_simulations)
        self.search_config = search
        self.evaluate = network_evaluator(self.model, self.device, config.goal_visible)
        self._searches: dict[int, BatchedMCTS] = {}
        self.last_belief: np.ndarray | None = None
        """The goal belief ``(B, 10, W, H, D)`` at the roots of the last :meth:`act_batch` call."""

    @property
    def spec(self) -> ObservationSpec:
        """The observation spec the network was built for."""
        return self.model.spec

    def _search_for(self, batch: int) -> BatchedMCTS:
        if batch not in self._searches:
            self._searches[batch] = BatchedMCTS(
                self.env_config, self.agent, batch, self.search_config, self.config.goal_visible
            )
        return self._searches[batch]

    def act_batch(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Actions ``(N,)`` for a vector env's observation dict (one search per world)."""
        world = np.asarray(observations["world"])
        if world.shape[1:] != self.spec.world_shape:
            raise ValueError(
                f"observation world has shape {world.shape[1:]}, but the policy was trained on "
                f"{self.spec.world_shape} (channels, W, H, D)"
            )
        result = self._search_for(len(world)).search(
            world, np.asarray(observations["timestep"]), self.evaluate, self.rng
        )
        self.last_belief = result.belief
        if self.deterministic or self.config.eval_temperature == 0:
            return most_visited(result.visits, result.q).astype(np.int64)
        policy = visit_policy(result.visits, self.config.eval_temperature)
        return np.array([self.rng.choice(policy.shape[1], p=row) for row in policy], dtype=np.int64)

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """The action for one env's observation dict."""
        batched = {key: np.asarray(value)[None] for key, value in observation.items() if key != "info"}
        return int(self.act_batch(batched)[0])

    __call__ = act


def model_from_payload(payload: Mapping[str, Any]) -> tuple[AssistanceZeroNetwork, AZConfig]:
    """The network and run configuration stored in a loaded checkpoint."""
    spec = ObservationSpec.from_dict(dict(payload["observation_spec"]))
    model = AssistanceZeroNetwork(spec, AZNetworkConfig(**dict(payload["network_config"])))
    model.load_state_dict(payload["model"])
    return model, AZConfig.from_dict(from_plain(payload["config"]))


def policy_from_checkpoint(
    payload: Mapping[str, Any],
    device: str | torch.device = "cpu",
    deterministic: bool = False,
    seed: int | None = None,
) -> AssistanceZeroPolicy:
    """The :data:`~baselines.common.policy.POLICY_LOADERS` entry: a loaded checkpoint as a policy.

    ``deterministic=True`` plays the most visited action; ``False`` (the loader's default) samples
    from the visit counts raised to the run's ``eval_temperature`` exponent (0 by default: the most
    visited action).
    """
    model, config = model_from_payload(payload)
    return AssistanceZeroPolicy(model, config, device=device, deterministic=deterministic, seed=seed)
