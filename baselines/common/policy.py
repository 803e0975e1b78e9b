"""Trained actor-critic networks as env policies: ``act(observation) -> int`` for one env.

:func:`load_policy` turns a checkpoint into an object that satisfies :class:`mbag_env.Policy`, so a
trained network can play as the assistant (or the builder) in the play and leaderboard scripts, or
be handed to ``gymnasium.make(..., human_policy=...)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines.common.checkpoint import load_checkpoint
from baselines.common.masking import masked_logits, sample_masked
from baselines.common.networks import ActorCritic, NetworkConfig, ObservationSpec, observation_to_tensors
from baselines.common.seeding import sampling_generator


class BatchedPolicy(ABC):
    """Base of the baselines' trained policies: subclasses give ``act_batch`` (a vector env's batched
    observations to actions ``(N,)``); this class keeps the network (:attr:`model`, in eval mode on
    the device), the greedy switch and the sampling generator, and adds ``act(observation) -> int``
    for one env, with the shape check, and :meth:`choose`, the masked greedy-or-sampled choice.

    Args:
        model: the trained network; its ``spec`` is the observation spec it was built for.
        device: where to run the network.
        deterministic: greedy choices instead of samples.
        seed: seed of the sampling generator (``None``: from torch's global RNG).
    """

    def __init__(
        self,
        model: nn.Module,
        device: torch.device | str = "cpu",
        deterministic: bool = False,
        seed: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.deterministic = deterministic
        self.generator = sampling_generator(self.device, seed)
        self.model = model.to(self.device).eval()
        self.forget_worlds()

    def forget_worlds(self) -> None:  # noqa: B027  (an optional hook, not an abstract method)
        """Clear what the policy keeps per world between calls (nothing here; subclasses with a
        memory, such as a running option or a recurrent state, override it)."""

    @property
    def spec(self) -> ObservationSpec:
        """The observation spec the network was built for."""
        spec: ObservationSpec = self.model.spec
        return spec

    def choose(self, logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Per row of ``logits``, the most likely valid choice (``deterministic``) or a sample among
        the valid ones (``mask``: ``True`` where valid; ``None``: all valid)."""
        if self.deterministic:
            return masked_logits(logits, mask).argmax(dim=-1)
        return sample_masked(logits, mask, generator=self.generator)

    @abstractmethod
    def act_batch(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Actions ``(N,)`` for batched observations (a vector env's observation dict)."""

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """The action for one env's observation dict (``world``, ``inventory``, ``timestep``,
        optionally ``action_mask``).

        Raises:
            ValueError: if the observation does not match the network's spec.
        """
        world = np.asarray(observation["world"])
        if world.shape != self.spec.world_shape:
            raise ValueError(
                f"observation world has shape {world.shape}, but the policy was trained on "
                f"{self.spec.world_shape} (channels, W, H, D)"
            )
        batched = {key: np.asarray(value)[None] for key, value in observation.items() if key != "info"}
        return int(self.act_batch(batched)[0])

    def __call__(self, observation: Mapping[str, np.ndarray]) -> int:
        """Same as :meth:`act`."""
        return self.act(observation)


class ActorCriticPolicy(BatchedPolicy):
    """Acts with an :class:`~baselines.common.networks.ActorCritic` (the ``model`` of
    :class:`BatchedPolicy`), never choosing a masked action."""

    @torch.no_grad()
    def act_batch(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Actions ``(N,)`` for batched observations (a vector env's observation dict)."""
        tensors = observation_to_tensors(dict(observations), self.device)
        logits, _ = self.model(tensors)
        return self.choose(logits, tensors.get("action_mask")).cpu().numpy().astype(np.int64)


def model_from_checkpoint(payload: Mapping[str, object]) -> ActorCritic:
    """Rebuild the network stored in a loaded checkpoint (see :func:`load_checkpoint`)."""
    spec = ObservationSpec.from_dict(dict(payload["observation_spec"]))  # type: ignore[arg-type]
    config = NetworkConfig(**dict(payload["network_config"]))  # type: ignore[arg-type]
    model = ActorCritic(spec, config)
    model.load_state_dict(payload["model"])  # type: ignore[arg-type]
    return model


CHECKPOINT_POLICIES = "baselines.checkpoint_policies"
"""The entry point group (declared in ``pyproject.toml``) in which each algorithm registers, under its
checkpoint ``algorithm`` name, the ``module:function(payload, device, deterministic, seed)`` that
builds its policy. Algorithms without an entry (PPO) hold an :class:`ActorCritic` and load as
:class:`ActorCriticPolicy`; so this module names no algorithm."""


def registered_policy_builder(algorithm: str) -> Callable[..., Any] | None:
    """The policy builder registered for checkpoints of ``algorithm`` (see :data:`CHECKPOINT_POLICIES`),
    or ``None`` when none is.

    Raises:
        ValueError: when several are registered under that name.
    """
    found = entry_points(group=CHECKPOINT_POLICIES, name=algorithm)
    if not found:
        return None
    values = sorted({entry.value for entry in found})
    if len(values) > 1:
        raise ValueError(f"several policy builders are registered for algorithm {algorithm!r}: {values}")
    return next(iter(found)).load()


def load_policy(
    checkpoint_path: str | Path,
    device: str | torch.device = "cpu",
    deterministic: bool = False,
    seed: int | None = None,
) -> Any:
    """Load a baseline checkpoint (from ``python -m baselines.ppo`` or any other baseline) as a policy.

    The result has ``act(observation) -> int`` for one env's observation dict, and
    ``act_batch(observations) -> np.ndarray`` for a vector env's. The checkpoint's ``algorithm``
    picks the policy class (see :data:`CHECKPOINT_POLICIES`).

    Args:
        checkpoint_path: a ``.pt`` file written by a baseline.
        device: where to run the network.
        deterministic: greedy actions instead of samples from the policy.
        seed: seed for sampling.

    Raises:
        FileNotFoundError, ValueError: see :func:`~baselines.common.checkpoint.load_checkpoint`.
    """
    payload = load_checkpoint(checkpoint_path, map_location=device)
    algorithm = str(payload["algorithm"])
    build = registered_policy_builder(algorithm)
    if build is not None:
        return build(payload, device=device, deterministic=deterministic, seed=seed)
    if "network_config" not in payload:
        raise ValueError(
            f"{checkpoint_path}: no policy builder is registered for algorithm {algorithm!r} (entry point "
            f"group {CHECKPOINT_POLICIES!r}); after a change to pyproject.toml, pip install -e . refreshes it"
        )
    return ActorCriticPolicy(model_from_checkpoint(payload), device, deterministic, seed)
