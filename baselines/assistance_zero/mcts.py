"""Batched MCTS for the assistance POMDP (and, with θ visible, plain AlphaZero).

:class:`BatchedMCTS` runs ``B`` searches at once: the tree work is compiled
(:mod:`baselines.assistance_zero.tree_kernels`) and each simulation makes one network call on
the ``B`` new leaves. The network is given as an *evaluator*::

    evaluate(world, timestep, mask, human_mask) -> (prior, value, belief, human_probs)

with ``world`` ``(B, C, W, H, D)`` uint8, ``timestep`` ``(B,)``, the acting player's and the
human's valid-action masks ``(B, A)``; it returns the masked policy ``(B, A)``, values ``(B,)``,
the goal belief ``(B, 10, W, H, D)`` and the masked human-action distribution ``(B, A)`` (zeros
where there is no human). :func:`network_evaluator` builds one from an
:class:`~baselines.assistance_zero.network.AssistanceZeroNetwork`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from mbag_env.blocks import NUM_BLOCK_TYPES
from mbag_env.compile_cache import package_kernel_cache
from mbag_env.config import MbagConfig
from mbag_env.core.reward import SHAPING_OWN_PROP
from mbag_env.envs.batch import WorldBatch

with package_kernel_cache():
    from baselines.assistance_zero import tree_kernels

Evaluator = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
]
"""``(world, timestep, mask, human_mask) -> (prior, value, belief, human_probs)`` (module docstring)."""


@dataclass(frozen=True)
class SearchConfig:
    """MCTS settings.

    Attributes:
        num_simulations: simulations per search (each adds at most one node).
        c_puct: PUCT exploration coefficient.
        bilevel: select the action type first, then the action within it.
        dirichlet_epsilon: weight ε of the root's two-level Dirichlet noise (0: none); see
            :func:`two_level_dirichlet_noise`.
        dirichlet_alpha: concentration α of the noise over the valid action types.
        gamma: discount of the backups.
        dirichlet_within_type: total concentration of the noise within an action type: each of
            the type's ``n`` valid actions gets ``α = dirichlet_within_type / n``.
        first_play_reward: an ablation, not the reference: value unvisited edges at ``V(node) +
            E[r(a)]`` (this code base's earlier rule) instead of the reference's visited means;
            see :mod:`~baselines.assistance_zero.tree_kernels`.
        expected_reward_bonus: not the reference either: value unvisited edges at the reference's
            visited mean plus ``E[r(a)]`` under the node's belief (types at ``V̄`` plus their
            best action's ``E[r(a)]``); exclusive with ``first_play_reward``.
        completed_q_scale: not the reference: when positive, every search also returns the
            *completed-Q policy* of Gumbel MuZero (Danihelka et al., 2022; see
            :func:`completed_q_policy`), ``softmax(log π + (completed_q_visit_offset + max N) ·
            completed_q_scale · q̂)``, as the policy target (0: off). Needs
            ``expected_reward_bonus`` (its first-play values complete the unvisited actions' Q).
        completed_q_visit_offset: ``c_visit`` of that policy (50 in Gumbel MuZero).
    """

    num_simulations: int = 16
    c_puct: float = 1.0
    bilevel: bool = True
    dirichlet_epsilon: float = 0.25
    dirichlet_alpha: float = 0.25
    gamma: float = 0.95
    dirichlet_within_type: float = 10.0
    first_play_reward: bool = False
    expected_reward_bonus: bool = False
    completed_q_scale: float = 0.0
    completed_q_visit_offset: float = 50.0

    def __post_init__(self) -> None:
        if not isinstance(self.num_simulations, int) or self.num_simulations < 1:
            raise ValueError(
                f"SearchConfig.num_simulations must be a positive integer, got {self.num_simulations!r}"
            )
        if self.c_puct <= 0 or self.dirichlet_alpha <= 0 or self.dirichlet_within_type <= 0:
            raise ValueError(
                "SearchConfig.c_puct, dirichlet_alpha and dirichlet_within_type must be positive"
            )
        if not 0.0 <= self.dirichlet_epsilon <= 1.0 or not 0.0 <= self.gamma <= 1.0:
            raise ValueError("SearchConfig.dirichlet_epsilon and gamma must lie in [0, 1]")
        if self.first_play_reward and self.expected_reward_bonus:
            raise ValueError("SearchConfig.first_play_reward and expected_reward_bonus exclude each other")
        if self.completed_q_scale < 0 or self.completed_q_visit_offset < 0:
            raise ValueError("SearchConfig.completed_q_scale and completed_q_visit_offset must be >= 0")
        if self.completed_q_scale > 0 and not self.expected_reward_bonus:
            raise ValueError("SearchConfig.completed_q_scale needs expected_reward_bonus")

    @property
    def first_play(self) -> int:
        """The kernels' first-play rule (``tree_kernels.FIRST_PLAY_*``)."""
        if self.first_play_reward:
            return tree_kernels.FIRST_PLAY_VALUE_PLUS_REWARD
        if self.expected_reward_bonus:
            return tree_kernels.FIRST_PLAY_MEAN_PLUS_REWARD
        return tree_kernels.FIRST_PLAY_REFERENCE


class SearchResult(NamedTuple):
    """What a search returns for each of its ``B`` roots (rows of inactive roots are zero)."""

    visits: np.ndarray
    """``(B, A)`` int: root visit counts per action."""
    root_value: np.ndarray
    """``(B,)``: the network's value of the root."""
    search_value: np.ndarray
    """``(B,)``: the visit-weighted mean return of the root's edges."""
    q: np.ndarray
    """``(B, A)``: mean backed-up return of each root edge (``-inf`` where never visited)."""
    belief: np.ndarray
    """``(B, 10, W, H, D)`` float32: the network's goal belief at the root."""
    mask: np.ndarray
    """``(B, A)`` bool: the acting player's valid actions at the root."""
    human_mask: np.ndarray
    """``(B, A)`` bool: the human's valid actions at the root (all False without a human)."""
    improved: np.ndarray | None = None
    """``(B, A)``: the completed-Q policy (:func:`completed_q_policy`) when
    ``SearchConfig.completed_q_scale`` is positive, else ``None``."""


class BatchedMCTS:
    """``num_trees`` search trees over worlds of ``env_config``, searched together.

    Args:
        env_config: the game (world size, players, rules); infinite blocks only.
        agent: the acting player (the assistant, 1, or the builder, 0).
        num_trees: ``B``, searches run per call.
        search: MCTS settings.
        goal_visible: the acting player sees θ (channel 3 of its observation): the tree uses it
            and has no human (AlphaZero); otherwise the tree's rewards come from the belief and
            the human (player 0) acts from ``p̂(aᴴ|h)``.

    Raises:
        ValueError: for finite blocks, or an assistant setting with other than two players.
    """

    def __init__(
        self, env_config: MbagConfig, agent: int, num_trees: int, search: SearchConfig, goal_visible: bool
    ) -> None:
        if not env_config.infinite_blocks:
            raise ValueError("the MCTS rebuilds states from observations and needs infinite_blocks=True")
        if not goal_visible and (env_config.num_players != 2 or agent != 1):
            raise ValueError(
                "AssistanceZero plans for the assistant (agent 1) beside one human (num_players=2), "
                f"got agent={agent}, num_players={env_config.num_players}"
            )
        self.search_config = search
        self.agent = agent
        self.human = -1 if goal_visible else 0
        self.goal_visible = goal_visible
        batch = WorldBatch(env_config, num_envs=1)
        self.params = batch.params
        self.shaping = batch.shaping
        if self.shaping[agent, SHAPING_OWN_PROP] != 0.0:
            raise ValueError(
                "the search scores the shared reward and supports the noop, action and incorrect_action "
                f"shaping terms only; got own_reward_prop={self.shaping[agent, SHAPING_OWN_PROP]} "
                f"for agent {agent}"
            )
        self.num_actions = batch.actions.n
        width, height, depth = env_config.world_size
        self.world_size = (width, height, depth)
        self.num_cells = width * height * depth
        self.channels = batch.num_channels(agent)
        self.num_trees = num_trees
        self.forest = tree_kernels.new_forest(
            num_trees,
            search.num_simulations + 1,
            self.num_actions,
            self.world_size,
            env_config.num_players,
            self.channels,
            search.first_play != tree_kernels.FIRST_PLAY_REFERENCE,
        )
        self.no_mirror = np.zeros((0, 1, 1, 1), dtype=np.uint8)
        self.zero_goals = np.zeros((num_trees, *self.world_size), dtype=np.uint8)
        self.types = np.array(
            [tree_kernels.action_type(a, self.num_cells) for a in range(self.num_actions)], dtype=np.int64
        )

    def search(
        self,
        world: np.ndarray,
        timestep: np.ndarray,
        evaluate: Evaluator,
        rng: np.random.Generator,
        active: np.ndarray | None = None,
    ) -> SearchResult:
        """Search from the observed states ``world`` ``(B, C, W, H, D)`` at ``timestep`` ``(B,)``.

        Only rows with ``active`` (default all) are searched; the network is still called on
        all ``B`` rows (inactive rows repeat stale inputs) so its batch shape stays fixed.

        Raises:
            ValueError: if the observations do not match the trees' world.
        """
        cfg = self.search_config
        B = self.num_trees
        world = np.ascontiguousarray(world, dtype=np.uint8)
        if world.shape != (B, self.channels, *self.world_size):
            raise ValueError(
                f"world must have shape {(B, self.channels, *self.world_size)}, got {world.shape}"
            )
        active = np.ones(B, dtype=np.bool_) if active is None else np.asarray(active, dtype=np.bool_)
        timestep = np.asarray(timestep, dtype=np.int64).reshape(B)  # a vector env's (B, 1) too
        goals = world[:, 3] if self.goal_visible else self.zero_goals
        goals = np.ascontiguousarray(goals)
        forest = self.forest
        tree_kernels.prepare_roots(
            forest, active, world, timestep, goals, self.agent, self.human, self.params
        )
        forest.leaf[:] = np.where(active, 0, -1)
        root_mask = forest.out_mask.copy()
        root_human_mask = forest.out_human_mask.copy() if self.human >= 0 else np.zeros_like(root_mask)
        outputs = evaluate(forest.out_world, forest.out_timestep, forest.out_mask, forest.out_human_mask)
        self._expand_and_backup(active, outputs)
        root_belief = forest.node_belief[:, 0].reshape(B, NUM_BLOCK_TYPES, *self.world_size).copy()
        # The network's prior before the noise, for the completed-Q policy only.
        root_prior = forest.node_prior[:, 0].copy() if cfg.completed_q_scale > 0 else None
        if cfg.dirichlet_epsilon > 0:
            self._add_root_noise(active, rng)
        for _ in range(cfg.num_simulations):
            uniforms = rng.random((B, forest.path_nodes.shape[1]))
            tree_kernels.select_leaves(
                forest,
                active,
                uniforms,
                cfg.c_puct,
                cfg.bilevel,
                cfg.first_play,
                self.agent,
                self.human,
                self.params,
                self.shaping,
                self.no_mirror,
            )
            outputs = evaluate(forest.out_world, forest.out_timestep, forest.out_mask, forest.out_human_mask)
            self._expand_and_backup(active, outputs)
        visits = np.where(active[:, None], forest.edge_visits[:, 0], 0)
        total = np.maximum(visits.sum(axis=1), 1)
        search_value = forest.edge_value[:, 0].sum(axis=1) / total
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(visits > 0, forest.edge_value[:, 0] / np.maximum(visits, 1), -np.inf)
        improved = None
        if root_prior is not None:
            improved = completed_q_policy(
                root_prior,
                root_mask & active[:, None],
                visits,
                forest.edge_value[:, 0],
                forest.node_fpu[:, 0],
                self.types,
                cfg.completed_q_scale,
                cfg.completed_q_visit_offset,
            )
        return SearchResult(
            visits=visits,
            root_value=np.where(active, forest.node_value[:, 0], 0.0),
            search_value=np.where(active, search_value, 0.0),
            q=q,
            belief=root_belief,
            mask=root_mask,
            human_mask=root_human_mask,
            improved=improved,
        )

    def _expand_and_backup(
        self, active: np.ndarray, outputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ) -> None:
        prior, value, belief, human_probs = outputs
        B = self.num_trees
        tree_kernels.expand_and_backup(
            self.forest,
            active,
            np.ascontiguousarray(prior, dtype=np.float32),
            np.ascontiguousarray(value, dtype=np.float32),
            np.ascontiguousarray(belief, dtype=np.float32).reshape(B, NUM_BLOCK_TYPES, self.num_cells),
            np.ascontiguousarray(human_probs, dtype=np.float32),
            self.search_config.gamma,
            self.search_config.first_play,
            self.shaping[self.agent],
        )

    def _add_root_noise(self, active: np.ndarray, rng: np.random.Generator) -> None:
        """Mix :func:`two_level_dirichlet_noise` into every active root's prior."""
        cfg, forest = self.search_config, self.forest
        for b in np.flatnonzero(active):
            valid = forest.node_mask[b, 0]
            prior = two_level_dirichlet_noise(
                forest.node_prior[b, 0],
                valid,
                self.types,
                cfg.dirichlet_epsilon,
                cfg.dirichlet_alpha,
                cfg.dirichlet_within_type,
                rng,
            )
            forest.node_prior[b, 0] = prior
            forest.node_type_prior[b, 0] = np.bincount(
                self.types[valid], weights=prior[valid], minlength=tree_kernels.NUM_ACTION_TYPES
            )


def two_level_dirichlet_noise(
    prior: np.ndarray,
    valid: np.ndarray,
    types: np.ndarray,
    epsilon: float,
    type_alpha: float,
    within_type: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The prior ``(A,)`` with root noise mixed in by action type first, then within each type.

    As in the reference (MBAG's ``MbagMCTSNode.expand``): ``η ~ Dir(type_alpha)`` over the action
    types with a valid action moves each type's mass to ``P'_t = (1 − ε) P_t + ε η_t``; within a
    type of ``n`` valid actions, ``ξ ~ Dir(within_type / n)`` and ``P'_a = P'_t ((1 − ε) P_a / P_t +
    ε ξ_a)``. The mass a type gets from the noise therefore does not depend on how many actions it
    has (a flat Dirichlet over all actions would hand almost all of it to PLACE). ``valid`` is the
    ``(A,)`` bool mask and ``types`` the ``(A,)`` action type of each action.
    """
    noisy = np.where(valid, prior, 0.0).astype(np.float64)
    present = np.unique(types[valid])
    type_noise = rng.dirichlet(np.full(len(present), type_alpha))
    for kind, eta in zip(present, type_noise, strict=True):
        members = np.flatnonzero(valid & (types == kind))
        mass = noisy[members].sum()
        share = noisy[members] / mass if mass > 0 else np.full(len(members), 1.0 / len(members))
        xi = rng.dirichlet(np.full(len(members), within_type / len(members)))
        noisy[members] = ((1 - epsilon) * mass + epsilon * eta) * ((1 - epsilon) * share + epsilon * xi)
    return noisy.astype(prior.dtype)


def completed_q(
    visits: np.ndarray, value_sum: np.ndarray, expected_reward: np.ndarray, types: np.ndarray
) -> np.ndarray:
    """Each root action's Q ``(B, A)``, completed for the unvisited ones as the search values them.

    A visited action has its mean backed-up return; an unvisited one the mean return of its
    type's visited edges plus its expected reward ``E[r(a)]`` under the root's belief, or, when
    no action of its type was visited, the root's visit-weighted mean return plus ``E[r(a)]``:
    the first-play values of ``expected_reward_bonus`` (:mod:`~.tree_kernels`), so the completed
    Q is what the search itself assumed for the actions it did not try.

    Args:
        visits: ``(B, A)`` root visit counts.
        value_sum: ``(B, A)`` summed backed-up returns of the root edges.
        expected_reward: ``(B, A)`` the expected reward of each action at the root.
        types: ``(A,)`` the action type of each action.
    """
    visits = np.asarray(visits, dtype=np.float64)
    value_sum = np.asarray(value_sum, dtype=np.float64)
    num_types = int(types.max()) + 1
    one_hot = np.eye(num_types)[types]  # (A, T)
    type_visits = visits @ one_hot
    type_sum = value_sum @ one_hot
    root_mean = value_sum.sum(axis=1) / np.maximum(visits.sum(axis=1), 1.0)
    type_mean = np.where(type_visits > 0, type_sum / np.maximum(type_visits, 1.0), root_mean[:, None])
    unvisited = type_mean[:, types] + expected_reward
    return np.where(visits > 0, value_sum / np.maximum(visits, 1.0), unvisited)


def completed_q_policy(
    prior: np.ndarray,
    mask: np.ndarray,
    visits: np.ndarray,
    value_sum: np.ndarray,
    expected_reward: np.ndarray,
    types: np.ndarray,
    scale: float,
    visit_offset: float,
) -> np.ndarray:
    """Gumbel MuZero's improved policy (Danihelka et al., 2022, eq. 11) at each root ``(B, A)``.

    ``π' = softmax(log π + σ(q̂))`` over the valid actions, with π the network's prior (before the
    root noise), ``q̂`` the :func:`completed_q` min–max normalised over the root's valid actions
    (range at least 0.01, as in the tree) and ``σ(q̂) = (visit_offset + max_a N(a)) · scale · q̂``.
    Unlike the visit counts of a 16-simulation search, it moves mass to every action whose
    (completed) value beats the others, visited or not. Rows without a valid action are zero.
    """
    q = completed_q(visits, value_sum, expected_reward, types)
    valid = np.asarray(mask, dtype=np.bool_)
    low = np.where(valid, q, np.inf).min(axis=1, keepdims=True)
    high = np.where(valid, q, -np.inf).max(axis=1, keepdims=True)
    any_valid = valid.any(axis=1, keepdims=True)
    low, high = np.where(any_valid, low, 0.0), np.where(any_valid, high, 0.0)
    normalised = (q - low) / np.maximum(high - low, 0.01)
    sigma = (visit_offset + np.asarray(visits).max(axis=1, keepdims=True)) * scale * normalised
    logits = np.log(np.maximum(np.asarray(prior, dtype=np.float64), 1e-30)) + sigma
    logits = np.where(valid, logits, -np.inf)
    logits -= np.where(any_valid, logits.max(axis=1, keepdims=True), 0.0)
    weights = np.where(valid, np.exp(logits), 0.0)
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)


def top_k_policy(policy: np.ndarray, k: int) -> np.ndarray:
    """``policy`` ``(B, A)`` keeping each row's ``k`` largest probabilities, renormalised (what a
    replay row of at most ``k`` actions can store)."""
    policy = np.asarray(policy, dtype=np.float64)
    if policy.shape[1] <= k:
        return policy
    kept = np.zeros_like(policy)
    top = np.argpartition(-policy, k - 1, axis=1)[:, :k]
    rows = np.arange(len(policy))[:, None]
    kept[rows, top] = policy[rows, top]
    total = kept.sum(axis=1, keepdims=True)
    return kept / np.where(total > 0, total, 1.0)


def most_visited(visits: np.ndarray, q: np.ndarray | None = None) -> np.ndarray:
    """The most visited action per row ``(B,)``; ties (common with few simulations) go to the higher
    mean return ``q`` (then the lower index)."""
    visits = np.asarray(visits, dtype=np.float64)
    if q is None:
        return visits.argmax(axis=1)
    best = visits == visits.max(axis=1, keepdims=True)
    return np.where(best, np.asarray(q, dtype=np.float64), -np.inf).argmax(axis=1)


def visit_policy(visits: np.ndarray, exponent: float, q: np.ndarray | None = None) -> np.ndarray:
    """The distribution to act from and to train the policy on: ``N^T`` normalised per row.

    ``T = exponent`` is the reference's ``temperature``: an exponent on the root visit counts, so
    ``T > 1`` is *sharper* than the visit frequencies (the reference trains and acts with 1.5).
    ``T = 0`` stands for greedy play (``N^0`` would be no policy at all): all mass on
    :func:`most_visited`, ties broken by ``q``.
    """
    visits = np.asarray(visits, dtype=np.float64)
    if exponent == 0:
        policy = np.zeros_like(visits)
        policy[np.arange(len(visits)), most_visited(visits, q)] = 1.0
        return policy
    powered = visits**exponent
    total = powered.sum(axis=1, keepdims=True)
    return powered / np.where(total > 0, total, 1.0)


def network_evaluator(model: torch.nn.Module, device: torch.device | str, goal_visible: bool) -> Evaluator:
    """An :data:`Evaluator` running ``model`` (an ``AssistanceZeroNetwork``) without gradients.

    With ``goal_visible`` the belief is the one-hot of the observed goal channel (θ is known).
    """
    from baselines.common.masking import masked_logits

    device = torch.device(device)

    @torch.no_grad()
    def evaluate(
        world: np.ndarray, timestep: np.ndarray, mask: np.ndarray, human_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        world_t = torch.as_tensor(world, device=device)
        output = model(world_t, torch.as_tensor(timestep, device=device, dtype=torch.float32))
        mask_t = torch.as_tensor(mask, device=device)
        prior = torch.softmax(masked_logits(output.policy_logits, mask_t), dim=-1)
        if goal_visible or output.goal_logits is None:
            belief = torch.nn.functional.one_hot(world_t[:, 3].long(), NUM_BLOCK_TYPES).permute(0, 4, 1, 2, 3)
            belief = belief.float()
        else:
            belief = torch.softmax(output.goal_logits, dim=1)
        if output.human_logits is not None and not goal_visible:
            human_t = torch.as_tensor(human_mask, device=device)
            human = torch.softmax(masked_logits(output.human_logits, human_t), dim=-1)
        else:
            human = torch.zeros_like(prior)
        return (
            prior.cpu().numpy(),
            output.value.cpu().numpy(),
            belief.cpu().numpy(),
            human.cpu().numpy(),
        )

    return evaluate
