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


@numba.njit(cache=True)
def set_root(
    b: int,
    world_obs: np.ndarray,
    timestep: int,
    goal: np.ndarray,
    viewer: int,
    params: np.ndarray,
    node_blocks: np.ndarray,
    node_goal: np.ndarray,
    node_last: np.ndarray,
    node_env: np.ndarray,
    node_players: np.ndarray,
    node_layers: np.ndarray,
    node_solid: np.ndarray,
) -> None:
    """Rebuild tree ``b``'s root (node 0) state from ``viewer``'s observation.

    The observation holds everything the rules need with infinite blocks: blocks, player cells
    (feet = the lower of a player's two cells), and who last touched each cell; ``goal`` is the
    goal the tree plans against (θ if visible, else any fixed array: its rewards are unused).
    """
    num_players = params[PARAM_NUM_PLAYERS]
    width, height, depth = world_obs.shape[1], world_obs.shape[2], world_obs.shape[3]
    node_players[b, 0] = 0
    node_env[b, 0] = 0
    found = np.zeros(num_players, dtype=np.bool_)
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                node_blocks[b, 0, x, y, z] = world_obs[0, x, y, z]
                node_goal[b, x, y, z] = goal[x, y, z]
                label = world_obs[2, x, y, z]
                node_last[b, 0, x, y, z] = 0 if label == 0 else label_owner(label, viewer) + 1
                player_label = world_obs[1, x, y, z]
                if player_label > 0:
                    player = label_owner(player_label, viewer)
                    if player < num_players and not found[player]:
                        found[player] = True
                        node_players[b, 0, player, PLAYER_X] = x
                        node_players[b, 0, player, PLAYER_Y] = y
                        node_players[b, 0, player, PLAYER_Z] = z
    recount_world(node_blocks[b, 0], node_goal[b], node_env[b, 0], node_layers[b, 0], node_solid[b, 0])
    distance = node_env[b, 0, ENV_EDIT_DISTANCE]
    node_env[b, 0, ENV_INITIAL_EDIT_DISTANCE] = distance
    node_env[b, 0, ENV_BEST_EDIT_DISTANCE] = distance
    node_env[b, 0, ENV_TIMESTEP] = timestep


@numba.njit(cache=True)
def write_node_observation(
    b: int,
    node: int,
    viewer: int,
    human: int,
    params: np.ndarray,
    node_blocks: np.ndarray,
    node_goal: np.ndarray,
    node_last: np.ndarray,
    node_env: np.ndarray,
    node_players: np.ndarray,
    node_solid: np.ndarray,
    out_world: np.ndarray,
    out_timestep: np.ndarray,
    out_mask: np.ndarray,
    out_human_mask: np.ndarray,
) -> None:
    """Write node ``node`` of tree ``b``'s observation, the viewer's mask and the human's mask
    (when ``human >= 0``) into row ``b`` of the output buffers."""
    write_world(
        node_blocks[b, node],
        node_goal[b],
        node_last[b, node],
        node_players[b, node],
        params,
        viewer,
        out_world[b],
    )
    out_timestep[b] = node_env[b, node, ENV_TIMESTEP]
    write_action_mask(
        out_mask[b], node_blocks[b, node], node_solid[b, node], node_players[b, node], params, viewer
    )
    if human >= 0:
        write_action_mask(
            out_human_mask[b], node_blocks[b, node], node_solid[b, node], node_players[b, node], params, human
        )


@numba.njit(cache=True)
def clear_statistics(
    b: int,
    node: int,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    type_visits: np.ndarray,
    type_value: np.ndarray,
    node_visits: np.ndarray,
    node_value_sum: np.ndarray,
    node_min: np.ndarray,
    node_max: np.ndarray,
) -> None:
    """Zero the search statistics of node ``node`` of tree ``b`` (no visits, an empty value range)."""
    edge_visits[b, node, :] = 0
    edge_value[b, node, :] = 0.0
    type_visits[b, node, :] = 0
    type_value[b, node, :] = 0.0
    node_visits[b, node] = 0
    node_value_sum[b, node] = 0.0
    node_min[b, node] = np.inf
    node_max[b, node] = -np.inf


@numba.njit(cache=True)
def prepare_roots(
    active: np.ndarray,
    world_obs: np.ndarray,
    timesteps: np.ndarray,
    goals: np.ndarray,
    viewer: int,
    human: int,
    params: np.ndarray,
    node_blocks: np.ndarray,
    node_goal: np.ndarray,
    node_last: np.ndarray,
    node_env: np.ndarray,
    node_players: np.ndarray,
    node_layers: np.ndarray,
    node_solid: np.ndarray,
    node_count: np.ndarray,
    node_first_child: np.ndarray,
    node_reward: np.ndarray,
    node_human_cell: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    type_visits: np.ndarray,
    type_value: np.ndarray,
    node_visits: np.ndarray,
    node_value_sum: np.ndarray,
    node_min: np.ndarray,
    node_max: np.ndarray,
    node_terminal: np.ndarray,
    path_length: np.ndarray,
    out_world: np.ndarray,
    out_timestep: np.ndarray,
    out_mask: np.ndarray,
    out_human_mask: np.ndarray,
) -> None:
    """Clear every active tree, set its root from the observation and write the root's
    observation and masks for the first network call."""
    for b in range(active.shape[0]):
        if not active[b]:
            continue
        node_count[b] = 1
        node_first_child[b, 0, :] = -1
        node_reward[b, 0] = 0.0
        node_human_cell[b, 0] = -1
        clear_statistics(
            b,
            0,
            edge_visits,
            edge_value,
            type_visits,
            type_value,
            node_visits,
            node_value_sum,
            node_min,
            node_max,
        )
        node_terminal[b, 0] = False
        path_length[b] = 0
        set_root(
            b,
            world_obs[b],
            timesteps[b],
            goals[b],
            viewer,
            params,
            node_blocks,
            node_goal,
            node_last,
            node_env,
            node_players,
            node_layers,
            node_solid,
        )
        write_node_observation(
            b,
            0,
            viewer,
            human,
            params,
            node_blocks,
            node_goal,
            node_last,
            node_env,
            node_players,
            node_solid,
            out_world,
            out_timestep,
            out_mask,
            out_human_mask,
        )


@numba.njit(cache=True)
def expand_node(
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
    node_blocks: np.ndarray,
    node_mask: np.ndarray,
    node_prior: np.ndarray,
    node_value: np.ndarray,
    node_belief: np.ndarray,
    node_human_probs: np.ndarray,
    node_type_prior: np.ndarray,
    node_type_valid: np.ndarray,
    node_fpu: np.ndarray,
    node_type_fpu: np.ndarray,
) -> None:
    """Store a node's network outputs, for bilevel selection each action type's prior mass and
    whether it has a valid action, and for ``first_play`` modes other than
    :data:`FIRST_PLAY_REFERENCE` the expected rewards the first-play values need (per action and
    the best of each type; with :data:`FIRST_PLAY_VALUE_PLUS_REWARD` the node's value added)."""
    node_mask[b, node] = mask
    node_prior[b, node] = prior
    node_value[b, node] = value
    node_belief[b, node] = belief
    node_human_probs[b, node] = human_probs
    node_type_prior[b, node, :] = 0.0
    node_type_valid[b, node, :] = False
    if first_play != FIRST_PLAY_REFERENCE:
        node_type_fpu[b, node, :] = -np.inf
    base = value if first_play == FIRST_PLAY_VALUE_PLUS_REWARD else 0.0
    blocks_flat = node_blocks[b, node].ravel()
    for action in range(mask.shape[0]):
        if mask[action]:
            kind = action_type(action, num_cells)
            node_type_prior[b, node, kind] += prior[action]
            node_type_valid[b, node, kind] = True
            if first_play != FIRST_PLAY_REFERENCE:
                fpu = base + expected_action_reward(blocks_flat, belief, action, num_cells, shaping_row)
                node_fpu[b, node, action] = fpu
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


@numba.njit(cache=True)
def select_action(
    b: int,
    node: int,
    c_puct: float,
    bilevel: bool,
    first_play: int,
    num_cells: int,
    node_mask: np.ndarray,
    node_prior: np.ndarray,
    node_type_prior: np.ndarray,
    node_type_valid: np.ndarray,
    node_fpu: np.ndarray,
    node_type_fpu: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    type_visits: np.ndarray,
    type_value: np.ndarray,
    node_visits: np.ndarray,
    node_value_sum: np.ndarray,
    node_min: np.ndarray,
    node_max: np.ndarray,
) -> int:
    """PUCT choice at an expanded node (flat, or type first then action within the type), with
    the value conventions of the module docstring."""
    mask = node_mask[b, node]
    prior = node_prior[b, node]
    low, high = node_min[b, node], node_max[b, node]
    total = max(node_visits[b, node], 1)
    node_mean = node_value_sum[b, node] / total
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
            if not node_type_valid[b, node, kind]:
                continue
            visits = type_visits[b, node, kind]
            if visits > 0:
                q = type_value[b, node, kind] / visits
            else:
                q = first_play_value(first_play, node_mean, node_type_fpu[b, node], kind)
            explore = c_puct * node_type_prior[b, node, kind] * root / (1.0 + visits)
            score = normalised_q(q, low, high) + explore
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
        visits = edge_visits[b, node, action]
        if visits > 0:
            q = edge_value[b, node, action] / visits
        else:
            q = first_play_value(first_play, unvisited_q, node_fpu[b, node], action)
        score = normalised_q(q, low, high) + c_puct * (prior[action] / type_prior) * root / (1.0 + visits)
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
def select_leaves(
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
    node_blocks: np.ndarray,
    node_goal: np.ndarray,
    node_last: np.ndarray,
    node_env: np.ndarray,
    node_players: np.ndarray,
    node_layers: np.ndarray,
    node_solid: np.ndarray,
    node_count: np.ndarray,
    node_first_child: np.ndarray,
    node_next_sibling: np.ndarray,
    node_human_action: np.ndarray,
    node_reward: np.ndarray,
    node_human_cell: np.ndarray,
    node_human_old: np.ndarray,
    node_terminal: np.ndarray,
    node_mask: np.ndarray,
    node_prior: np.ndarray,
    node_belief: np.ndarray,
    node_human_probs: np.ndarray,
    node_type_prior: np.ndarray,
    node_type_valid: np.ndarray,
    node_fpu: np.ndarray,
    node_type_fpu: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    type_visits: np.ndarray,
    type_value: np.ndarray,
    node_visits: np.ndarray,
    node_value_sum: np.ndarray,
    node_min: np.ndarray,
    node_max: np.ndarray,
    path_nodes: np.ndarray,
    path_actions: np.ndarray,
    path_length: np.ndarray,
    leaf: np.ndarray,
    out_world: np.ndarray,
    out_timestep: np.ndarray,
    out_mask: np.ndarray,
    out_human_mask: np.ndarray,
) -> None:
    """One simulation's descent in every active tree.

    From the root, pick an action by PUCT, sample the human's action from the node's
    ``p̂(aᴴ|h)`` (``uniforms[b, depth]``), and follow the child for the pair; at a pair not seen
    yet, create the child by stepping a copy of the node's state with the core's ``resolve_step``,
    store the acting player's expected reward under the node's belief and keep the cell the
    human changed for :func:`expand_and_backup` to score under the child's belief. The new node
    (or a terminal node reached) is the leaf: ``leaf[b]``, with its observation written for the
    network call.
    """
    num_cells = node_blocks.shape[2] * node_blocks.shape[3] * node_blocks.shape[4]
    num_players = params[PARAM_NUM_PLAYERS]
    horizon = params[PARAM_HORIZON]
    actions = np.zeros(num_players, dtype=np.int64)
    rewards = np.zeros(num_players, dtype=np.float64)
    max_depth = path_nodes.shape[1]
    for b in range(active.shape[0]):
        if not active[b]:
            leaf[b] = -1
            continue
        node = 0
        depth = 0
        while True:
            if node_terminal[b, node] or depth >= max_depth:
                leaf[b] = node
                break
            action = select_action(
                b,
                node,
                c_puct,
                bilevel,
                first_play,
                num_cells,
                node_mask,
                node_prior,
                node_type_prior,
                node_type_valid,
                node_fpu,
                node_type_fpu,
                edge_visits,
                edge_value,
                type_visits,
                type_value,
                node_visits,
                node_value_sum,
                node_min,
                node_max,
            )
            human_action = 0
            if human >= 0:
                human_action = sample_index(node_human_probs[b, node], uniforms[b, depth])
            path_nodes[b, depth] = node
            path_actions[b, depth] = action
            depth += 1
            child = node_first_child[b, node, action]
            while child >= 0 and node_human_action[b, child] != human_action:
                child = node_next_sibling[b, child]
            if child >= 0:
                node = child
                continue
            # A new node: copy the state and step it with (human action, assistant action).
            child = node_count[b]
            node_count[b] += 1
            node_blocks[b, child] = node_blocks[b, node]
            node_last[b, child] = node_last[b, node]
            node_env[b, child] = node_env[b, node]
            node_players[b, child] = node_players[b, node]
            node_layers[b, child] = node_layers[b, node]
            node_solid[b, child] = node_solid[b, node]
            actions[:] = 0
            actions[viewer] = action
            if human >= 0:
                actions[human] = human_action
            resolve_step(
                node_blocks[b, child],
                node_goal[b],
                node_last[b, child],
                node_env[b, child],
                node_players[b, child],
                node_layers[b, child],
                node_solid[b, child],
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
            node_reward[b, child] = expected_shaping(
                shaping[viewer],
                node_belief[b, node],
                node_players[b, child, viewer, PLAYER_LAST_VALID] != 0,
                action,
                own_cell,
                own_old,
                own_new,
            )
            if own_cell >= 0:
                node_reward[b, child] += expected_cell_change(
                    node_belief[b, node], own_cell, own_old, own_new
                )
            # The human's change (a cell the assistant did not act on: a shared cell changes once).
            human_cell = action_cell(human_action, num_cells) if human >= 0 else -1
            node_human_cell[b, child] = human_cell if human_cell != own_cell else -1
            if human_cell >= 0:
                node_human_old[b, child] = before[human_cell]
            node_terminal[b, child] = (
                node_env[b, child, ENV_TIMESTEP] >= horizon or node_env[b, child, ENV_TERMINATED] != 0
            )
            node_human_action[b, child] = human_action
            node_next_sibling[b, child] = node_first_child[b, node, action]
            node_first_child[b, node, action] = child
            node_first_child[b, child, :] = -1
            clear_statistics(
                b,
                child,
                edge_visits,
                edge_value,
                type_visits,
                type_value,
                node_visits,
                node_value_sum,
                node_min,
                node_max,
            )
            leaf[b] = child
            break
        path_length[b] = depth
        write_node_observation(
            b,
            leaf[b],
            viewer,
            human,
            params,
            node_blocks,
            node_goal,
            node_last,
            node_env,
            node_players,
            node_solid,
            out_world,
            out_timestep,
            out_mask,
            out_human_mask,
        )


@numba.njit(cache=True)
def expand_and_backup(
    active: np.ndarray,
    leaf: np.ndarray,
    masks: np.ndarray,
    priors: np.ndarray,
    values: np.ndarray,
    beliefs: np.ndarray,
    human_probs: np.ndarray,
    gamma: float,
    first_play: int,
    shaping_row: np.ndarray,
    node_blocks: np.ndarray,
    node_reward: np.ndarray,
    node_human_cell: np.ndarray,
    node_human_old: np.ndarray,
    node_terminal: np.ndarray,
    node_mask: np.ndarray,
    node_prior: np.ndarray,
    node_value: np.ndarray,
    node_belief: np.ndarray,
    node_human_probs: np.ndarray,
    node_type_prior: np.ndarray,
    node_type_valid: np.ndarray,
    node_fpu: np.ndarray,
    node_type_fpu: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    type_visits: np.ndarray,
    type_value: np.ndarray,
    node_visits: np.ndarray,
    node_value_sum: np.ndarray,
    node_min: np.ndarray,
    node_max: np.ndarray,
    path_nodes: np.ndarray,
    path_actions: np.ndarray,
    path_length: np.ndarray,
) -> None:
    """Store the leaves' network outputs, score the human's step into a new leaf under the leaf's
    belief, and back the discounted return up each path.

    A terminal leaf is worth 0; otherwise its value is the network's ``V(h)``. Each node on the
    path, from the leaf up, gets the sample ``G = r + γ G_child`` (``r`` the reward of the step
    into it, 0 at the root), and so does the edge into it; the node's and its parent's value
    ranges widen to include ``G`` (the reference's backup).
    """
    num_cells = node_blocks.shape[2] * node_blocks.shape[3] * node_blocks.shape[4]
    for b in range(active.shape[0]):
        if not active[b] or leaf[b] < 0:
            continue
        node = leaf[b]
        belief = beliefs[b].reshape(NUM_BLOCK_TYPES, num_cells)
        expand_node(
            b,
            node,
            masks[b],
            priors[b],
            values[b],
            belief,
            human_probs[b],
            num_cells,
            first_play,
            shaping_row,
            node_blocks,
            node_mask,
            node_prior,
            node_value,
            node_belief,
            node_human_probs,
            node_type_prior,
            node_type_valid,
            node_fpu,
            node_type_fpu,
        )
        cell = node_human_cell[b, node]
        if cell >= 0:
            new = node_blocks[b, node].ravel()[cell]
            node_reward[b, node] += expected_cell_change(belief, cell, node_human_old[b, node], new)
            node_human_cell[b, node] = -1  # scored once, on the node's first evaluation
        ret = 0.0 if node_terminal[b, node] else float(values[b])
        depth = path_length[b]
        while True:
            ret = node_reward[b, node] + gamma * ret
            node_visits[b, node] += 1
            node_value_sum[b, node] += ret
            node_min[b, node] = min(node_min[b, node], ret)
            node_max[b, node] = max(node_max[b, node], ret)
            if depth == 0:
                break
            depth -= 1
            parent = path_nodes[b, depth]
            action = path_actions[b, depth]
            edge_visits[b, parent, action] += 1
            edge_value[b, parent, action] += ret
            kind = action_type(action, num_cells)
            type_visits[b, parent, kind] += 1
            type_value[b, parent, kind] += ret
            node_min[b, parent] = min(node_min[b, parent], ret)
            node_max[b, parent] = max(node_max[b, parent], ret)
            node = parent
