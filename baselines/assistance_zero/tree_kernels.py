"""Compiled MCTS kernels for the assistance POMDP (numba): many search trees stepped at once.

A *forest* holds ``B`` trees of at most ``M`` nodes. Every node stores a full copy of one world's
:class:`~mbag_env.core.state.BatchState` row, so a tree transition is one call of the core's
:func:`~mbag_env.core.step.resolve_step` with a given human action and assistant action: the rules
exist only in ``mbag_env/core``. Observations and masks of new nodes are written with the core's
:func:`~mbag_env.core.observe.write_world` and :func:`~mbag_env.core.masks.write_action_mask`.

The tree's reward is not the env's: the assistant does not know θ, so a transition's reward is
the *expected* edit-distance drop under a goal belief ``p̂(θ|h)``, which factorises over cells,
so a change at cell ``c`` from block ``o`` to ``n`` is worth ``Σ_k p̂(θ_c = k) (cost(o, k) −
cost(n, k))`` with the core's per-cell :func:`cell_cost`. As in the reference implementation
(MBAG's ``MbagMCTSNode.get_child`` and ``expand``), the acting player's own change is scored
under the belief of the node it acts from, and the human's change under the belief of the node
the step leads to, i.e. after the network has seen the human's action (a correct human placement
is then worth about +1, as it is to the value head). That part is added when the new node is
evaluated. With the goal visible (the AlphaZero builder) the belief is the goal's one-hot and
the reward is exactly the env's.

Selection is PUCT (``Q̃ + c·P·sqrt(N)/(1 + n)``), either flat over all actions or *bilevel*
(first the action type — NOOP, each move, PLACE, BREAK — then the action within the type, with
the prior renormalised within the type and ``N`` the type's visits), with the reference's value
conventions: ``Q̃ = (Q − min)/max(max − min, 0.01)`` is min–max normalised per node, over the
returns backed up into the node and into its edges; an edge never visited has the visit-weighted
mean ``Q`` of its type's visited edges (0 while the type is unvisited: then every action in it is
unvisited and the prior decides), and an action type never visited (or, in flat selection, an
action never visited) has the node's mean return ``V̄``. ``V̄`` and ``N`` count the node's own
evaluation as one visit, and ``V̄`` includes the reward of the step into the node (the
reference's ``total_value / number_visits``). The ablation ``first_play_reward`` (not the
reference) values an unvisited edge at ``V(node) + E[r(a)]`` instead, the node's value plus the
action's own expected reward under the node's belief, and an unvisited type at the best of its
actions' (this finds a rewarding action among many with a handful of simulations, where the
reference's rule needs a prior that already points to it). It mixes scales, though: ``V(node)``
omits the human's reward of the step, which every visited edge's return includes, so next to a
visited edge it undervalues every unvisited one. The option ``expected_reward_bonus`` (not the
reference either) keeps the reference's rule and adds the action's expected reward to it: an
unvisited edge is worth its type's visited mean ``Q`` (0 while the type is unvisited) plus
``E[r(a)]``, and an unvisited type ``V̄`` plus the best ``E[r(a)]`` among its actions, so an
expected gain is compared with returns of the same kind. One step of a simulation is
``(assistant action a, human action aᴴ ~ p̂(aᴴ|h))``; children are keyed by the pair.

The Python side (:mod:`baselines.assistance_zero.mcts`) calls :func:`select_leaves`, evaluates
the leaves' observations with the network in one batch, and calls :func:`expand_and_backup`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE, NUM_BLOCK_TYPES
from mbag_env.core.actions import (
    KIND_BREAK,
    KIND_MOVE,
    KIND_NOOP,
    KIND_PLACE,
    NOOP,
    decode_action,
    first_break_action,
    first_give_action,
    place_action,
)
from mbag_env.core.masks import write_action_mask
from mbag_env.core.observe import label_owner, write_world
from mbag_env.core.reward import SHAPING_ACTION, SHAPING_INCORRECT, SHAPING_NOOP, cell_cost
from mbag_env.core.state import (
    ENV_BEST_EDIT_DISTANCE,
    ENV_EDIT_DISTANCE,
    ENV_INITIAL_EDIT_DISTANCE,
    ENV_TERMINATED,
    ENV_TIMESTEP,
    NUM_ENV_FIELDS,
    NUM_PLAYER_FIELDS,
    PARAM_HORIZON,
    PARAM_NUM_PLAYERS,
    PLAYER_LAST_VALID,
    PLAYER_X,
    PLAYER_Y,
    PLAYER_Z,
)
from mbag_env.core.step import recount_world, resolve_step

NUM_ACTION_TYPES = 9
"""Action types of bilevel selection: NOOP, the six moves (one type each), PLACE and BREAK."""
TYPE_PLACE = 7
TYPE_BREAK = 8
FIRST_PLAY_REFERENCE = 0
"""First-play rule of the reference: the visited means (module docstring)."""
FIRST_PLAY_VALUE_PLUS_REWARD = 1
"""The ablation ``first_play_reward``: ``V(node) + E[r(a)]``."""
FIRST_PLAY_MEAN_PLUS_REWARD = 2
"""``expected_reward_bonus``: the reference's visited mean plus ``E[r(a)]``."""
MIN_Q_RANGE = 0.01
"""Smallest denominator of the per-node min–max normalisation of ``Q`` (the reference's)."""


@numba.njit(cache=True, inline="always")
def action_type(action: int, num_cells: int) -> int:
    """The bilevel type of a flat action (NOOP 0, moves 1..6, PLACE 7, BREAK 8), from the core's
    action codec."""
    kind, argument, _ = decode_action(action, num_cells)
    if kind == KIND_NOOP:
        return 0
    if kind == KIND_MOVE:
        return 1 + argument
    if kind == KIND_PLACE:
        return TYPE_PLACE
    return TYPE_BREAK


@numba.njit(cache=True, inline="always")
def action_cell(action: int, num_cells: int) -> int:
    """The cell a PLACE/BREAK action names (C order), or -1 for NOOP and moves."""
    return decode_action(action, num_cells)[2]


@numba.njit(cache=True)
def expected_cell_change(belief: np.ndarray, cell: int, old: int, new: int) -> float:
    """``E[cost(old, θ_c) − cost(new, θ_c)]`` under ``belief`` ``(NUM_BLOCK_TYPES, V)``."""
    if old == new:
        return 0.0
    total = 0.0
    for block in range(NUM_BLOCK_TYPES):
        total += belief[block, cell] * (cell_cost(old, block) - cell_cost(new, block))
    return total


@numba.njit(cache=True)
def probability_increase(belief: np.ndarray, cell: int, old: int, new: int) -> float:
    """``P[cost(new, θ_c) > cost(old, θ_c)]`` under ``belief`` ``(NUM_BLOCK_TYPES, V)``: the chance
    that changing ``cell`` from ``old`` to ``new`` raises the edit distance (an incorrect action)."""
    if old == new:
        return 0.0
    total = 0.0
    for block in range(NUM_BLOCK_TYPES):
        if cell_cost(new, block) > cell_cost(old, block):
            total += belief[block, cell]
    return total


@numba.njit(cache=True)
def expected_shaping(
    shaping_row: np.ndarray, belief: np.ndarray, valid: bool, action: int, cell: int, old: int, new: int
) -> float:
    """The expected shaping term of the acting player's step (the env's
    :func:`~mbag_env.core.reward.shaped_rewards` under ``belief``): for a valid non-NOOP action the
    action term plus the incorrect-action term times :func:`probability_increase` of its change of
    ``cell`` (``-1``: none) from ``old`` to ``new``; else the NOOP term. ``shaping_row`` is the
    player's ``SHAPING_*`` row."""
    if not valid or action == NOOP:
        return shaping_row[SHAPING_NOOP]
    total = shaping_row[SHAPING_ACTION]
    if cell >= 0 and shaping_row[SHAPING_INCORRECT] != 0.0:
        total += shaping_row[SHAPING_INCORRECT] * probability_increase(belief, cell, old, new)
    return total


@numba.njit(cache=True)
def expected_action_reward(
    blocks_flat: np.ndarray, belief: np.ndarray, action: int, num_cells: int, shaping_row: np.ndarray
) -> float:
    """Expected reward of a valid ``action`` on the world ``blocks_flat`` ``(V,)`` if it succeeds: the
    edit-distance drop of a PLACE/BREAK (0 for NOOP and moves) plus :func:`expected_shaping`."""
    kind, slot, cell = decode_action(action, num_cells)
    if kind == KIND_PLACE or kind == KIND_BREAK:
        new = FIRST_PLACEABLE + slot if kind == KIND_PLACE else AIR
        old = blocks_flat[cell]
        change = expected_cell_change(belief, cell, old, new)
        return change + expected_shaping(shaping_row, belief, True, action, cell, old, new)
    return expected_shaping(shaping_row, belief, True, action, -1, 0, 0)


class Forest(NamedTuple):
    """The arrays of ``B`` search trees of at most ``M`` nodes, passed to every kernel as one value.

    Node ``0`` of each tree is its root; ``[b, node]`` indexes a node's row. Allocate with
    :func:`new_forest`.
    """

    node_blocks: np.ndarray
    """``(B, M, W, H, D)`` uint8: each node's blocks (with the next six fields, a core state)."""
    node_goal: np.ndarray
    """``(B, W, H, D)`` uint8: the goal the tree plans against (one per tree)."""
    node_last: np.ndarray
    """``(B, M, W, H, D)`` uint8: who last touched each cell (player + 1, 0: nobody)."""
    node_env: np.ndarray
    """``(B, M, NUM_ENV_FIELDS)`` int64: the core's per-world counters."""
    node_players: np.ndarray
    """``(B, M, P, NUM_PLAYER_FIELDS)`` int64: the core's per-player fields."""
    node_layers: np.ndarray
    """``(B, M, H)`` int32: the core's per-layer block counts."""
    node_solid: np.ndarray
    """``(B, M, W, H, D)`` uint8: the core's solidity cache."""
    node_count: np.ndarray
    """``(B,)`` int64: nodes in use per tree."""
    node_first_child: np.ndarray
    """``(B, M, A)`` int32: the first child reached by each action (-1: none)."""
    node_next_sibling: np.ndarray
    """``(B, M)`` int32: the next child of the same parent and action (-1: none)."""
    node_human_action: np.ndarray
    """``(B, M)`` int64: the human's action of the step into the node."""
    node_reward: np.ndarray
    """``(B, M)`` float64: the expected reward of the step into the node."""
    node_human_cell: np.ndarray
    """``(B, M)`` int64: the cell the human changed, until scored (-1: none)."""
    node_human_old: np.ndarray
    """``(B, M)`` uint8: that cell's block before the step."""
    node_terminal: np.ndarray
    """``(B, M)`` bool: the node ends the episode."""
    node_mask: np.ndarray
    """``(B, M, A)`` bool: the acting player's valid actions."""
    node_prior: np.ndarray
    """``(B, M, A)`` float32: the network's prior."""
    node_value: np.ndarray
    """``(B, M)`` float32: the network's value."""
    node_belief: np.ndarray
    """``(B, M, NUM_BLOCK_TYPES, V)`` float32: the network's goal belief."""
    node_human_probs: np.ndarray
    """``(B, M, A)`` float32: the network's human-action distribution."""
    node_type_prior: np.ndarray
    """``(B, M, NUM_ACTION_TYPES)`` float32: each action type's prior mass."""
    node_type_valid: np.ndarray
    """``(B, M, NUM_ACTION_TYPES)`` bool: the type has a valid action."""
    node_fpu: np.ndarray
    """``(B, M, A)`` float32: first-play values per action (``A = 0`` under the reference's rule)."""
    node_type_fpu: np.ndarray
    """``(B, M, NUM_ACTION_TYPES)`` float32: the best first-play value per type (likewise)."""
    edge_visits: np.ndarray
    """``(B, M, A)`` int32: visits of each edge."""
    edge_value: np.ndarray
    """``(B, M, A)`` float64: summed returns of each edge."""
    type_visits: np.ndarray
    """``(B, M, NUM_ACTION_TYPES)`` int32: visits of each action type."""
    type_value: np.ndarray
    """``(B, M, NUM_ACTION_TYPES)`` float64: summed returns of each action type."""
    node_visits: np.ndarray
    """``(B, M)`` int32: visits of the node (its own evaluation counts as one)."""
    node_value_sum: np.ndarray
    """``(B, M)`` float64: summed returns backed up into the node."""
    node_min: np.ndarray
    """``(B, M)`` float64: the lowest return seen at the node or its edges."""
    node_max: np.ndarray
    """``(B, M)`` float64: the highest such return."""
    path_nodes: np.ndarray
    """``(B, M)`` int64: the nodes of the current simulation's path."""
    path_actions: np.ndarray
    """``(B, M)`` int64: the actions taken from them."""
    path_length: np.ndarray
    """``(B,)`` int64: the path's length."""
    leaf: np.ndarray
    """``(B,)`` int64: the current simulation's leaf (-1: inactive tree)."""
    out_world: np.ndarray
    """``(B, C, W, H, D)`` uint8: the leaves' observations for the network."""
    out_timestep: np.ndarray
    """``(B,)`` int64: the leaves' timesteps."""
    out_mask: np.ndarray
    """``(B, A)`` bool: the acting player's valid actions at the leaves."""
    out_human_mask: np.ndarray
    """``(B, A)`` bool: the human's valid actions at the leaves."""


def new_forest(
    num_trees: int,
    max_nodes: int,
    num_actions: int,
    world_size: tuple[int, int, int],
    num_players: int,
    channels: int,
    first_play_values: bool,
) -> Forest:
    """Zeroed arrays of ``num_trees`` trees of ``max_nodes`` nodes (links at -1, NOOP valid in the
    network inputs so that rows of inactive trees are still valid); the first-play values get
    ``num_actions`` and :data:`NUM_ACTION_TYPES` entries only with ``first_play_values`` (a rule
    other than :data:`FIRST_PLAY_REFERENCE`: they are as large as the priors)."""
    B, M, A, T = num_trees, max_nodes, num_actions, NUM_ACTION_TYPES
    height = world_size[1]
    fpu_actions, fpu_types = (A, T) if first_play_values else (0, 0)
    out_mask = np.zeros((B, A), dtype=np.bool_)
    out_human_mask = np.zeros((B, A), dtype=np.bool_)
    out_mask[:, NOOP] = True
    out_human_mask[:, NOOP] = True
    return Forest(
        node_blocks=np.zeros((B, M, *world_size), dtype=np.uint8),
        node_goal=np.zeros((B, *world_size), dtype=np.uint8),
        node_last=np.zeros((B, M, *world_size), dtype=np.uint8),
        node_env=np.zeros((B, M, NUM_ENV_FIELDS), dtype=np.int64),
        node_players=np.zeros((B, M, num_players, NUM_PLAYER_FIELDS), dtype=np.int64),
        node_layers=np.zeros((B, M, height), dtype=np.int32),
        node_solid=np.zeros((B, M, *world_size), dtype=np.uint8),
        node_count=np.zeros(B, dtype=np.int64),
        node_first_child=np.full((B, M, A), -1, dtype=np.int32),
        node_next_sibling=np.full((B, M), -1, dtype=np.int32),
        node_human_action=np.zeros((B, M), dtype=np.int64),
        node_reward=np.zeros((B, M), dtype=np.float64),
        node_human_cell=np.full((B, M), -1, dtype=np.int64),
        node_human_old=np.zeros((B, M), dtype=np.uint8),
        node_terminal=np.zeros((B, M), dtype=np.bool_),
        node_mask=np.zeros((B, M, A), dtype=np.bool_),
        node_prior=np.zeros((B, M, A), dtype=np.float32),
        node_value=np.zeros((B, M), dtype=np.float32),
        node_belief=np.zeros((B, M, NUM_BLOCK_TYPES, math.prod(world_size)), dtype=np.float32),
        node_human_probs=np.zeros((B, M, A), dtype=np.float32),
        node_type_prior=np.zeros((B, M, T), dtype=np.float32),
        node_type_valid=np.zeros((B, M, T), dtype=np.bool_),
        node_fpu=np.zeros((B, M, fpu_actions), dtype=np.float32),
        node_type_fpu=np.zeros((B, M, fpu_types), dtype=np.float32),
        edge_visits=np.zeros((B, M, A), dtype=np.int32),
        edge_value=np.zeros((B, M, A), dtype=np.float64),
        type_visits=np.zeros((B, M, T), dtype=np.int32),
        type_value=np.zeros((B, M, T), dtype=np.float64),
        node_visits=np.zeros((B, M), dtype=np.int32),
        node_value_sum=np.zeros((B, M), dtype=np.float64),
        node_min=np.zeros((B, M), dtype=np.float64),
        node_max=np.zeros((B, M), dtype=np.float64),
        path_nodes=np.zeros((B, M), dtype=np.int64),
        path_actions=np.zeros((B, M), dtype=np.int64),
        path_length=np.zeros(B, dtype=np.int64),
        leaf=np.zeros(B, dtype=np.int64),
        out_world=np.zeros((B, channels, *world_size), dtype=np.uint8),
        out_timestep=np.zeros(B, dtype=np.int64),
        out_mask=out_mask,
        out_human_mask=out_human_mask,
    )


@numba.njit(cache=True)
def set_root(
    forest: Forest,
    b: int,
    world_obs: np.ndarray,
    timestep: int,
    goal: np.ndarray,
    viewer: int,
    params: np.ndarray,
) -> None:
    """Rebuild tree ``b``'s root (node 0) state from ``viewer``'s observation.

    The observation holds everything the rules need with infinite blocks: blocks, player cells
    (feet = the lower of a player's two cells), and who last touched each cell; ``goal`` is the
    goal the tree plans against (θ if visible, else any fixed array: its rewards are unused).
    """
    num_players = params[PARAM_NUM_PLAYERS]
    width, height, depth = world_obs.shape[1], world_obs.shape[2], world_obs.shape[3]
    node_blocks, node_env, node_players = forest.node_blocks, forest.node_env, forest.node_players
    node_players[b, 0] = 0
    node_env[b, 0] = 0
    found = np.zeros(num_players, dtype=np.bool_)
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                node_blocks[b, 0, x, y, z] = world_obs[0, x, y, z]
                forest.node_goal[b, x, y, z] = goal[x, y, z]
                label = world_obs[2, x, y, z]
                forest.node_last[b, 0, x, y, z] = 0 if label == 0 else label_owner(label, viewer) + 1
                player_label = world_obs[1, x, y, z]
                if player_label > 0:
                    player = label_owner(player_label, viewer)
                    if player < num_players and not found[player]:
                        found[player] = True
                        node_players[b, 0, player, PLAYER_X] = x
                        node_players[b, 0, player, PLAYER_Y] = y
                        node_players[b, 0, player, PLAYER_Z] = z
    recount_world(
        node_blocks[b, 0],
        forest.node_goal[b],
        node_env[b, 0],
        forest.node_layers[b, 0],
        forest.node_solid[b, 0],
    )
    distance = node_env[b, 0, ENV_EDIT_DISTANCE]
    node_env[b, 0, ENV_INITIAL_EDIT_DISTANCE] = distance
    node_env[b, 0, ENV_BEST_EDIT_DISTANCE] = distance
    node_env[b, 0, ENV_TIMESTEP] = timestep


@numba.njit(cache=True)
def write_node_observation(
    forest: Forest, b: int, node: int, viewer: int, human: int, params: np.ndarray
) -> None:
    """Write node ``node`` of tree ``b``'s observation, the viewer's mask and the human's mask
    (when ``human >= 0``) into row ``b`` of the network inputs ``forest.out_*``."""
    blocks, solid, players = (
        forest.node_blocks[b, node],
        forest.node_solid[b, node],
        forest.node_players[b, node],
    )
    write_world(
        blocks, forest.node_goal[b], forest.node_last[b, node], players, params, viewer, forest.out_world[b]
    )
    forest.out_timestep[b] = forest.node_env[b, node, ENV_TIMESTEP]
    write_action_mask(forest.out_mask[b], blocks, solid, players, params, viewer)
    if human >= 0:
        write_action_mask(forest.out_human_mask[b], blocks, solid, players, params, human)


@numba.njit(cache=True)
def clear_node(forest: Forest, b: int, node: int) -> None:
    """Make node ``node`` of tree ``b`` a fresh leaf: no children, no visits, an empty value range."""
    forest.node_first_child[b, node, :] = -1
    forest.edge_visits[b, node, :] = 0
    forest.edge_value[b, node, :] = 0.0
    forest.type_visits[b, node, :] = 0
    forest.type_value[b, node, :] = 0.0
    forest.node_visits[b, node] = 0
    forest.node_value_sum[b, node] = 0.0
    forest.node_min[b, node] = np.inf
    forest.node_max[b, node] = -np.inf


@numba.njit(cache=True)
def prepare_roots(
    forest: Forest,
    active: np.ndarray,
    world_obs: np.ndarray,
    timesteps: np.ndarray,
    goals: np.ndarray,
    viewer: int,
    human: int,
    params: np.ndarray,
) -> None:
    """Clear every active tree, set its root from the observation and write the root's
    observation and masks for the first network call."""
    for b in range(active.shape[0]):
        if not active[b]:
            continue
        forest.node_count[b] = 1
        forest.node_reward[b, 0] = 0.0
        forest.node_human_cell[b, 0] = -1
        clear_node(forest, b, 0)
        forest.node_terminal[b, 0] = False
        forest.path_length[b] = 0
        set_root(forest, b, world_obs[b], timesteps[b], goals[b], viewer, params)
        write_node_observation(forest, b, 0, viewer, human, params)


@numba.njit(cache=True)
def expand_node(
    forest: Forest,
    b: int,
    node: int,
    mask: np.ndarray,
    prior: np.ndarray,
    value: float,
    belief: np.ndarray,
    human_probs: np.ndarray,
    num_cells: int,
    first_play: int,
    shaping_row: np.ndarray,
) -> None:
    """Store a node's network outputs, for bilevel selection each action type's prior mass and
    whether it has a valid action, and for ``first_play`` modes other than
    :data:`FIRST_PLAY_REFERENCE` the expected rewards the first-play values need (per action and
    the best of each type; with :data:`FIRST_PLAY_VALUE_PLUS_REWARD` the node's value added)."""
    node_type_prior, node_type_valid, node_type_fpu = (
        forest.node_type_prior,
        forest.node_type_valid,
        forest.node_type_fpu,
    )
    forest.node_mask[b, node] = mask
    forest.node_prior[b, node] = prior
    forest.node_value[b, node] = value
    forest.node_belief[b, node] = belief
    forest.node_human_probs[b, node] = human_probs
    node_type_prior[b, node, :] = 0.0
    node_type_valid[b, node, :] = False
    if first_play != FIRST_PLAY_REFERENCE:
        node_type_fpu[b, node, :] = -np.inf
    base = value if first_play == FIRST_PLAY_VALUE_PLUS_REWARD else 0.0
    blocks_flat = forest.node_blocks[b, node].ravel()
    for action in range(mask.shape[0]):
        if mask[action]:
            kind = action_type(action, num_cells)
            node_type_prior[b, node, kind] += prior[action]
            node_type_valid[b, node, kind] = True
            if first_play != FIRST_PLAY_REFERENCE:
                fpu = base + expected_action_reward(blocks_flat, belief, action, num_cells, shaping_row)
                forest.node_fpu[b, node, action] = fpu
                node_type_fpu[b, node, kind] = max(node_type_fpu[b, node, kind], fpu)


@numba.njit(cache=True, inline="always")
def first_play_value(first_play: int, reference: float, expected: np.ndarray, index: int) -> float:
    """The value of an unvisited edge or type: the reference's ``reference`` value, with
    :data:`FIRST_PLAY_MEAN_PLUS_REWARD` plus ``expected[index]`` (its expected reward), with
    :data:`FIRST_PLAY_VALUE_PLUS_REWARD` ``expected[index]`` alone (it holds ``V + E[r]``).
    ``expected`` is empty under :data:`FIRST_PLAY_REFERENCE` and then never read."""
    if first_play == FIRST_PLAY_VALUE_PLUS_REWARD:
        return expected[index]
    if first_play == FIRST_PLAY_MEAN_PLUS_REWARD:
        return reference + expected[index]
    return reference


@numba.njit(cache=True, inline="always")
def normalised_q(q: float, low: float, high: float) -> float:
    """``q`` min–max normalised with a node's value range ``[low, high]``."""
    return (q - low) / max(high - low, MIN_Q_RANGE)


@numba.njit(cache=True, inline="always")
def puct_score(
    value_sum: float,
    visits: int,
    first_play: int,
    unvisited: float,
    expected: np.ndarray,
    index: int,
    prior: float,
    root: float,
    c_puct: float,
    low: float,
    high: float,
) -> float:
    """The PUCT score of one edge or action type: its mean return (unvisited:
    :func:`first_play_value` of ``unvisited``, ``expected``, ``index``) min–max normalised to the
    node's ``[low, high]``, plus ``c_puct · prior · root / (1 + visits)`` (``root``: √ of the
    parent's visits)."""
    if visits > 0:
        q = value_sum / visits
    else:
        q = first_play_value(first_play, unvisited, expected, index)
    return normalised_q(q, low, high) + c_puct * prior * root / (1.0 + visits)


@numba.njit(cache=True)
def select_action(
    forest: Forest, b: int, node: int, c_puct: float, bilevel: bool, first_play: int, num_cells: int
) -> int:
    """PUCT choice at an expanded node (flat, or type first then action within the type), with
    the value conventions of the module docstring."""
    mask = forest.node_mask[b, node]
    prior = forest.node_prior[b, node]
    edge_visits, edge_value = forest.edge_visits, forest.edge_value
    type_visits, type_value, node_type_prior = forest.type_visits, forest.type_value, forest.node_type_prior
    low, high = forest.node_min[b, node], forest.node_max[b, node]
    total = max(forest.node_visits[b, node], 1)
    node_mean = forest.node_value_sum[b, node] / total
    # Flat selection: every action, unvisited ones at the node's mean, N the node's visits.
    start, stop = 0, mask.shape[0]
    unvisited_q = node_mean
    parent_visits = total
    type_prior = 1.0
    if bilevel:
        chosen_type = -1
        best = -np.inf
        root = math.sqrt(total)
        for kind in range(NUM_ACTION_TYPES):
            if not forest.node_type_valid[b, node, kind]:
                continue
            score = puct_score(
                type_value[b, node, kind],
                type_visits[b, node, kind],
                first_play,
                node_mean,
                forest.node_type_fpu[b, node],
                kind,
                node_type_prior[b, node, kind],
                root,
                c_puct,
                low,
                high,
            )
            if score > best:
                best = score
                chosen_type = kind
        visits = type_visits[b, node, chosen_type]
        unvisited_q = type_value[b, node, chosen_type] / visits if visits > 0 else 0.0
        parent_visits = max(visits, 1)
        type_prior = max(node_type_prior[b, node, chosen_type], 1e-12)
        if chosen_type < TYPE_PLACE:
            start, stop = chosen_type, chosen_type + 1
        elif chosen_type == TYPE_PLACE:
            start, stop = place_action(0, 0, num_cells), first_break_action(num_cells)
        else:
            start, stop = first_break_action(num_cells), first_give_action(num_cells)
    root = math.sqrt(parent_visits)
    best = -np.inf
    chosen = 0
    for action in range(start, stop):
        if not mask[action]:
            continue
        score = puct_score(
            edge_value[b, node, action],
            edge_visits[b, node, action],
            first_play,
            unvisited_q,
            forest.node_fpu[b, node],
            action,
            prior[action] / type_prior,
            root,
            c_puct,
            low,
            high,
        )
        if score > best:
            best = score
            chosen = action
    return chosen


@numba.njit(cache=True)
def sample_index(probs: np.ndarray, uniform: float) -> int:
    """Inverse-CDF sample from ``probs`` (last positive entry on rounding)."""
    running = 0.0
    last = 0
    for index in range(probs.shape[0]):
        p = probs[index]
        if p > 0.0:
            running += p
            last = index
            if uniform < running:
                return index
    return last


@numba.njit(cache=True)
def add_child(
    forest: Forest,
    b: int,
    node: int,
    action: int,
    human_action: int,
    viewer: int,
    human: int,
    params: np.ndarray,
    shaping: np.ndarray,
    no_mirror: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
) -> int:
    """Create the child of ``node`` for the pair (``action``, ``human_action``) and return it.

    The child's state is a copy of the node's stepped with the core's ``resolve_step``; it stores
    the acting player's expected reward under the node's belief and keeps the cell the human
    changed for :func:`expand_and_backup` to score under the child's belief. ``actions`` and
    ``rewards`` are scratch rows of one entry per player.
    """
    num_cells = forest.node_blocks.shape[2] * forest.node_blocks.shape[3] * forest.node_blocks.shape[4]
    node_blocks, node_env, node_players = forest.node_blocks, forest.node_env, forest.node_players
    child = forest.node_count[b]
    forest.node_count[b] += 1
    node_blocks[b, child] = node_blocks[b, node]
    forest.node_last[b, child] = forest.node_last[b, node]
    node_env[b, child] = node_env[b, node]
    node_players[b, child] = node_players[b, node]
    forest.node_layers[b, child] = forest.node_layers[b, node]
    forest.node_solid[b, child] = forest.node_solid[b, node]
    actions[:] = 0
    actions[viewer] = action
    if human >= 0:
        actions[human] = human_action
    resolve_step(
        node_blocks[b, child],
        forest.node_goal[b],
        forest.node_last[b, child],
        node_env[b, child],
        node_players[b, child],
        forest.node_layers[b, child],
        forest.node_solid[b, child],
        params,
        shaping,
        actions,
        rewards,
        no_mirror,
        viewer,
    )
    before = node_blocks[b, node].ravel()
    own_cell = action_cell(action, num_cells)
    own_old = before[own_cell] if own_cell >= 0 else 0
    own_new = node_blocks[b, child].ravel()[own_cell] if own_cell >= 0 else 0
    forest.node_reward[b, child] = expected_shaping(
        shaping[viewer],
        forest.node_belief[b, node],
        node_players[b, child, viewer, PLAYER_LAST_VALID] != 0,
        action,
        own_cell,
        own_old,
        own_new,
    )
    if own_cell >= 0:
        forest.node_reward[b, child] += expected_cell_change(
            forest.node_belief[b, node], own_cell, own_old, own_new
        )
    # The human's change (a cell the assistant did not act on: a shared cell changes once).
    human_cell = action_cell(human_action, num_cells) if human >= 0 else -1
    forest.node_human_cell[b, child] = human_cell if human_cell != own_cell else -1
    if human_cell >= 0:
        forest.node_human_old[b, child] = before[human_cell]
    forest.node_terminal[b, child] = (
        node_env[b, child, ENV_TIMESTEP] >= params[PARAM_HORIZON] or node_env[b, child, ENV_TERMINATED] != 0
    )
    forest.node_human_action[b, child] = human_action
    forest.node_next_sibling[b, child] = forest.node_first_child[b, node, action]
    forest.node_first_child[b, node, action] = child
    clear_node(forest, b, child)
    return child


@numba.njit(cache=True)
def select_leaves(
    forest: Forest,
    active: np.ndarray,
    uniforms: np.ndarray,
    c_puct: float,
    bilevel: bool,
    first_play: int,
    viewer: int,
    human: int,
    params: np.ndarray,
    shaping: np.ndarray,
    no_mirror: np.ndarray,
) -> None:
    """One simulation's descent in every active tree.

    From the root, pick an action by PUCT, sample the human's action from the node's
    ``p̂(aᴴ|h)`` (``uniforms[b, depth]``), and follow the child for the pair; at a pair not seen
    yet, create the child (:func:`add_child`). The new node (or a terminal node reached) is the
    leaf: ``forest.leaf[b]``, with its observation written for the network call.
    """
    num_cells = forest.node_blocks.shape[2] * forest.node_blocks.shape[3] * forest.node_blocks.shape[4]
    num_players = params[PARAM_NUM_PLAYERS]
    actions = np.zeros(num_players, dtype=np.int64)
    rewards = np.zeros(num_players, dtype=np.float64)
    max_depth = forest.path_nodes.shape[1]
    leaf = forest.leaf
    for b in range(active.shape[0]):
        if not active[b]:
            leaf[b] = -1
            continue
        node = 0
        depth = 0
        while True:
            if forest.node_terminal[b, node] or depth >= max_depth:
                leaf[b] = node
                break
            action = select_action(forest, b, node, c_puct, bilevel, first_play, num_cells)
            human_action = 0
            if human >= 0:
                human_action = sample_index(forest.node_human_probs[b, node], uniforms[b, depth])
            forest.path_nodes[b, depth] = node
            forest.path_actions[b, depth] = action
            depth += 1
            child = forest.node_first_child[b, node, action]
            while child >= 0 and forest.node_human_action[b, child] != human_action:
                child = forest.node_next_sibling[b, child]
            if child >= 0:
                node = child
                continue
            leaf[b] = add_child(
                forest,
                b,
                node,
                action,
                human_action,
                viewer,
                human,
                params,
                shaping,
                no_mirror,
                actions,
                rewards,
            )
            break
        forest.path_length[b] = depth
        write_node_observation(forest, b, leaf[b], viewer, human, params)


@numba.njit(cache=True)
def backup(forest: Forest, b: int, node: int, ret: float, gamma: float, num_cells: int) -> None:
    """Back the discounted return up tree ``b``'s current path from its leaf ``node`` (worth
    ``ret``): each node on the path gets ``G = r + γ G_child``, and so does the edge into it."""
    depth = forest.path_length[b]
    node_min, node_max = forest.node_min, forest.node_max
    while True:
        ret = forest.node_reward[b, node] + gamma * ret
        forest.node_visits[b, node] += 1
        forest.node_value_sum[b, node] += ret
        node_min[b, node] = min(node_min[b, node], ret)
        node_max[b, node] = max(node_max[b, node], ret)
        if depth == 0:
            break
        depth -= 1
        parent = forest.path_nodes[b, depth]
        action = forest.path_actions[b, depth]
        forest.edge_visits[b, parent, action] += 1
        forest.edge_value[b, parent, action] += ret
        kind = action_type(action, num_cells)
        forest.type_visits[b, parent, kind] += 1
        forest.type_value[b, parent, kind] += ret
        node_min[b, parent] = min(node_min[b, parent], ret)
        node_max[b, parent] = max(node_max[b, parent], ret)
        node = parent


@numba.njit(cache=True)
def expand_and_backup(
    forest: Forest,
    active: np.ndarray,
    priors: np.ndarray,
    values: np.ndarray,
    beliefs: np.ndarray,
    human_probs: np.ndarray,
    gamma: float,
    first_play: int,
    shaping_row: np.ndarray,
) -> None:
    """Store the leaves' network outputs (for the masks in ``forest.out_mask``), score the human's
    step into a new leaf under the leaf's belief, and back the discounted return up each path.

    A terminal leaf is worth 0; otherwise its value is the network's ``V(h)``. Each node on the
    path, from the leaf up, gets the sample ``G = r + γ G_child`` (``r`` the reward of the step
    into it, 0 at the root), and so does the edge into it; the node's and its parent's value
    ranges widen to include ``G`` (the reference's backup).
    """
    num_cells = forest.node_blocks.shape[2] * forest.node_blocks.shape[3] * forest.node_blocks.shape[4]
    for b in range(active.shape[0]):
        node = forest.leaf[b]
        if not active[b] or node < 0:
            continue
        belief = beliefs[b].reshape(NUM_BLOCK_TYPES, num_cells)
        expand_node(
            forest,
            b,
            node,
            forest.out_mask[b],
            priors[b],
            values[b],
            belief,
            human_probs[b],
            num_cells,
            first_play,
            shaping_row,
        )
        cell = forest.node_human_cell[b, node]
        if cell >= 0:
            new = forest.node_blocks[b, node].ravel()[cell]
            forest.node_reward[b, node] += expected_cell_change(
                belief, cell, forest.node_human_old[b, node], new
            )
            forest.node_human_cell[b, node] = -1  # scored once, on the node's first evaluation
        ret = 0.0 if forest.node_terminal[b, node] else float(values[b])
        backup(forest, b, node, ret, gamma, num_cells)
