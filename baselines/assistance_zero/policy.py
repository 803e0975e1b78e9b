"""AssistanceZero / AlphaZero checkpoints as env policies: every move is an MCTS search.

:func:`policy_from_checkpoint` is registered (entry-point group ``baselines.checkpoint_policies`` in
``pyproject.toml``) as the policy builder of the ``assistance_zero`` and ``alpha_zero`` algorithms,
so ``load_policy(path)``, the leaderboard (``mbag-leaderboard``) and the play window accept these
checkpoints. The policy needs only the
observation: the search rebuilds the world from it (the assistant never sees θ).

An ablation can plan with another goal belief than the network's goal head: give
:class:`AssistanceZeroPolicy` a ``belief_source`` (a :data:`BeliefSource`, e.g. the exact posterior
:class:`~mbag_env.assistants.belief.ObservedGoalBelief`), and :func:`fixed_belief_evaluator` puts
that belief in place of the goal head's at every node of the search.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from baselines.assistance_zero.config import AZConfig
from baselines.assistance_zero.mcts import (
    BatchedMCTS,
    Evaluator,
    most_visited,
    network_evaluator,
    visit_policy,
)
from baselines.assistance_zero.network import LAST_INTERACTED_CHANNEL, AssistanceZeroNetwork, AZNetworkConfig
from baselines.common.checkpoint import from_plain
from baselines.common.networks import ObservationSpec, batch_timesteps, network_from_payload
from mbag_env import ENV_IDS
from mbag_env.blocks import AIR, NUM_BLOCK_TYPES, NUM_PLACEABLE
from mbag_env.config import MbagConfig
from mbag_env.core.actions import FIRST_PLACE
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


BeliefSource = Callable[[Mapping[str, np.ndarray]], np.ndarray]
"""``observations -> belief``: given a batch's observation dict (``world`` ``(B, C, W, H, D)``,
``timestep`` ``(B,)``), the goal belief ``(B, 10, W, H, D)`` to plan with, block type first as the
network's goal head lays it out. It is called once per :meth:`AssistanceZeroPolicy.act_batch`, on
every observation in order, so it may keep the episode's history (as
:class:`~mbag_env.assistants.belief.ObservedGoalBelief` does)."""


def fixed_belief_evaluator(evaluate: Evaluator, belief: Callable[[], np.ndarray]) -> Evaluator:
    """``evaluate`` with its goal belief replaced by ``belief()``, at every node of the search.

    The policy prior, the value and the human-action distribution still come from ``evaluate``
    (the network); only the returned belief ``(B, 10, W, H, D)`` is ``belief()``, read at each
    call. The caller sets it to the belief given the episode so far (the root's history) before a
    search, so the root gets exactly that belief. Nodes deeper in the tree get the *same* belief,
    the root's: the human actions along a tree path are hypothetical (sampled from the network's
    human-action head), not observations, so the exact posterior is not updated on them. (The
    network's own goal head, by contrast, sees each node's world and may shift its belief there.)

    Raises:
        ValueError: (from the returned evaluator) if ``belief()`` does not have the batch's shape.
    """

    def evaluate_with_belief(
        world: np.ndarray, timestep: np.ndarray, mask: np.ndarray, human_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        prior, value, _, human_probs = evaluate(world, timestep, mask, human_mask)
        fixed = np.asarray(belief(), dtype=np.float32)
        expected = (len(world), NUM_BLOCK_TYPES, *np.shape(world)[2:])
        if fixed.shape != expected:
            raise ValueError(f"the fixed goal belief must have shape {expected}, got {fixed.shape}")
        return prior, value, fixed, human_probs

    return evaluate_with_belief


HUMAN_OWNER = 2
"""The human's id in the assistant's ``last_interacted`` channel (1 is the assistant itself)."""


def without_breaks_of_human_blocks(
    visits: np.ndarray, q: np.ndarray, world: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Root visit counts ``(B, A)`` and mean returns ``(B, A)`` with every BREAK of a block the human
    (player 2 in the assistant's ``last_interacted`` channel) placed last set to 0 visits and
    ``-inf``, so that :func:`~baselines.assistance_zero.mcts.most_visited` never picks one.
    ``world`` is the assistant's observation ``(B, C, W, H, D)``; the inputs are not changed."""
    visits, q = visits.copy(), q.copy()
    cells = int(np.prod(world.shape[2:]))
    first_break = FIRST_PLACE + NUM_PLACEABLE * cells
    for row in range(len(world)):
        owners, blocks = world[row, LAST_INTERACTED_CHANNEL].ravel(), world[row, 0].ravel()
        human_blocks = np.flatnonzero((owners == HUMAN_OWNER) & (blocks != AIR))
        visits[row, first_break + human_blocks] = 0
        q[row, first_break + human_blocks] = -np.inf
    return visits, q


class AssistanceZeroPolicy:
    """Acts by MCTS with an :class:`AssistanceZeroNetwork` (never a masked action).

    Args:
        model: the network.
        config: the run's configuration (env, search settings).
        device: where the network runs.
        deterministic: play the most visited action, ties to the higher mean return (else sample
            ``N^T`` normalised, ``T`` the config's ``eval_temperature`` exponent, whose default 0
            also plays the most visited action); with the config's ``eval_completed_q``, always
            the argmax of the completed-Q policy.
        seed: seed of the search's and the sampling's random numbers.
        num_simulations: simulations per move (default: the config's ``eval_simulations``).
        belief_source: an ablation: plan with this goal belief (a :data:`BeliefSource`, called on
            each batch of observations before its search) instead of the network's goal head's,
            through :func:`fixed_belief_evaluator`; ``None`` (default) plans with the network's.
        keep_human_blocks: a diagnostic constraint: never play BREAK on a block the human placed
            last (:func:`without_breaks_of_human_blocks`), whatever the search prefers.

    Raises:
        ValueError: for a ``belief_source`` with a goal-visible (AlphaZero) configuration, whose
            search uses the observed goal.
    """

    def __init__(
        self,
        model: AssistanceZeroNetwork,
        config: AZConfig,
        device: torch.device | str = "cpu",
        deterministic: bool = True,
        seed: int | None = None,
        num_simulations: int | None = None,
        belief_source: BeliefSource | None = None,
        keep_human_blocks: bool = False,
    ) -> None:
        self.device = torch.device(device)
        self.keep_human_blocks = keep_human_blocks
        self.model = model.to(self.device).eval()
        self.config = config
        self.deterministic = deterministic
        self.rng = np.random.default_rng(seed)
        env_config, self.agent = env_config_of(config)
        if config.eval_horizon:
            env_config = replace(env_config, horizon=config.eval_horizon)
        self.env_config = env_config
        """The game the search plans in: the training env's, with ``config.eval_horizon`` if set."""
        search = config.search_config(evaluation=True)
        if num_simulations is not None:
            search = replace(search, num_simulations=num_simulations)
        self.search_config = search
        self.network_evaluate = network_evaluator(self.model, self.device, config.goal_visible)
        """The network's :data:`~baselines.assistance_zero.mcts.Evaluator`."""
        if belief_source is not None and config.goal_visible:
            raise ValueError("belief_source needs a goal-hidden (AssistanceZero) configuration")
        self.belief_source = belief_source
        self._planning_belief: np.ndarray | None = None
        self.evaluate: Evaluator = (
            self.network_evaluate
            if belief_source is None
            else fixed_belief_evaluator(self.network_evaluate, self._current_planning_belief)
        )
        """What the search calls: the network's evaluator, or with ``belief_source`` the network
        with the source's belief (:func:`fixed_belief_evaluator`)."""
        self._searches: dict[int, BatchedMCTS] = {}
        self.last_belief: np.ndarray | None = None
        """The goal belief ``(B, 10, W, H, D)`` at the roots of the last :meth:`act_batch` call (the
        ``belief_source``'s when there is one)."""

    def _current_planning_belief(self) -> np.ndarray:
        if self._planning_belief is None:
            raise RuntimeError("no belief from belief_source yet: act_batch sets it before each search")
        return self._planning_belief

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
        if self.belief_source is not None:
            self._planning_belief = np.asarray(self.belief_source(observations), dtype=np.float32)
        result = self._search_for(len(world)).search(
            world, batch_timesteps(observations["timestep"], len(world)), self.evaluate, self.rng
        )
        self.last_belief = result.belief
        if self.config.eval_completed_q and result.improved is not None:
            return result.improved.argmax(axis=1).astype(np.int64)
        visits, q = result.visits, result.q
        if self.keep_human_blocks:
            visits, q = without_breaks_of_human_blocks(visits, q, world)
        if self.deterministic or self.config.eval_temperature == 0:
            return most_visited(visits, q).astype(np.int64)
        policy = visit_policy(visits, self.config.eval_temperature)
        return np.array([self.rng.choice(policy.shape[1], p=row) for row in policy], dtype=np.int64)

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """The action for one env's observation dict."""
        batched = {key: np.asarray(value)[None] for key, value in observation.items() if key != "info"}
        return int(self.act_batch(batched)[0])

    __call__ = act


def model_from_payload(payload: Mapping[str, Any]) -> tuple[AssistanceZeroNetwork, AZConfig]:
    """The network and run configuration stored in a loaded checkpoint."""
    model = network_from_payload(payload, AssistanceZeroNetwork, config_type=AZNetworkConfig)
    return model, AZConfig.from_dict(from_plain(payload["config"]))


def policy_from_checkpoint(
    payload: Mapping[str, Any],
    device: str | torch.device = "cpu",
    deterministic: bool = False,
    seed: int | None = None,
) -> AssistanceZeroPolicy:
    """The registered policy builder (``baselines.checkpoint_policies``): a loaded checkpoint as a policy.

    ``deterministic=True`` plays the most visited action; ``False`` (the loader's default) samples
    from the visit counts raised to the run's ``eval_temperature`` exponent (0 by default: the most
    visited action).
    """
    model, config = model_from_payload(payload)
    return AssistanceZeroPolicy(model, config, device=device, deterministic=deterministic, seed=seed)
