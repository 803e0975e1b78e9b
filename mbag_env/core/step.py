"""Batch kernels: reset a world and resolve a step of many worlds.

Each kernel takes the :class:`~mbag_env.core.state.BatchState` arrays directly. Within a step
every player acts on the state it observed at the start of the step; then the actions resolve in
player order, each against the world as the previous one left it (SPEC §3).

The core never calls a scripted human: the humans (:mod:`mbag_env.humans`) sit above it and
use its rules. A player whose action is :data:`SCRIPTED_HUMAN` had its action chosen and stored
in ``PLAYER_LAST_ACTION`` by the batch step kernels of :mod:`mbag_env.envs.step_kernels`, which
then call :func:`resolve_step` (see the layer rule in the README's Layout section). The
observation writers live in :mod:`mbag_env.core.observe`.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import BEDROCK, DIRT, FIRST_PLACEABLE, NUM_PLACEABLE
from mbag_env.core import state
from mbag_env.core.actions import NOOP
from mbag_env.core.jit import kernel
from mbag_env.core.observe import update_mirror
from mbag_env.core.reward import count_layer_errors, edit_distance, shaped_rewards
from mbag_env.core.rules import (
    EFFECT_BREAK,
    EFFECT_NONE,
    EFFECT_PLACE,
    apply_action,
    count_solid_neighbours,
)

SCRIPTED_HUMAN = -1
"""Action value of a player whose action a compiled scripted human chose before the rules run: the
batch step kernels (:mod:`mbag_env.envs.step_kernels`) store the choice in ``PLAYER_LAST_ACTION``
and :func:`resolve_step` keeps it."""


@kernel()
def recount_world(
    blocks: np.ndarray,
    goal: np.ndarray,
    env_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
) -> None:
    """Recompute one world's derived state from its blocks and goal (arrays indexed by env):
    the edit distance, the per-layer error counts and the solid-neighbour counts.

    Call it after writing ``blocks`` or ``goal`` directly (for example to set up a test).
    """
    env_ints[state.ENV_EDIT_DISTANCE] = edit_distance(blocks, goal)
    count_layer_errors(blocks, goal, layer_errors)
    count_solid_neighbours(blocks, solid_neighbours)


@kernel()
def reset_world(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    env: int,
    start_positions: np.ndarray,
    rng_seed: int,
) -> None:
    """Reset world ``env`` to the initial world (bedrock, dirt, air) against its goal.

    ``goal[env]`` must already hold θ; ``start_positions`` is ``(P, 3)`` feet cells.
    """
    world = blocks[env]
    world[:, :, :] = 0
    world[:, 0, :] = BEDROCK
    world[:, 1, :] = DIRT
    last_interacted[env] = 0
    env_ints[env, :] = 0
    recount_world(world, goal[env], env_ints[env], layer_errors[env], solid_neighbours[env])
    distance = env_ints[env, state.ENV_EDIT_DISTANCE]
    env_ints[env, state.ENV_INITIAL_EDIT_DISTANCE] = distance
    env_ints[env, state.ENV_BEST_EDIT_DISTANCE] = distance
    env_ints[env, state.ENV_RNG] = rng_seed
    player_ints[env] = 0
    for player in range(params[state.PARAM_NUM_PLAYERS]):
        player_ints[env, player, state.PLAYER_X] = start_positions[player, 0]
        player_ints[env, player, state.PLAYER_Y] = start_positions[player, 1]
        player_ints[env, player, state.PLAYER_Z] = start_positions[player, 2]
        if params[state.PARAM_INFINITE_BLOCKS] == 0:
            for slot in range(NUM_PLACEABLE):
                player_ints[env, player, state.PLAYER_INVENTORY + FIRST_PLACEABLE + slot] = params[
                    state.PARAM_STARTING_INVENTORY
                ]


@kernel()
def resolve_step(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    shaping: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    mirror: np.ndarray,
    viewer: int,
) -> None:
    """Step one world (arrays already indexed by env) with one chosen action per player.

    Writes each player's reward into ``rewards``; the action taken, its validity and its
    edit-distance drop go into ``player_ints`` (``PLAYER_LAST_*``). A player whose action is
    :data:`SCRIPTED_HUMAN` takes the action already stored in its ``PLAYER_LAST_ACTION``.
    ``mirror`` is ``viewer``'s world observation ``(C, W, H, D)``, kept up to date cell by
    cell as the world changes (pass a ``(0, 1, 1, 1)`` array to skip that).
    """
    num_players = params[state.PARAM_NUM_PLAYERS]
    for player in range(num_players):
        if actions[player] != SCRIPTED_HUMAN:
            player_ints[player, state.PLAYER_LAST_ACTION] = actions[player]
    shared = 0
    for player in range(num_players):
        action = player_ints[player, state.PLAYER_LAST_ACTION]
        old_x = player_ints[player, state.PLAYER_X]
        old_y = player_ints[player, state.PLAYER_Y]
        old_z = player_ints[player, state.PLAYER_Z]
        effect, drop = apply_action(
            blocks, goal, last_interacted, player_ints, layer_errors, solid_neighbours, params, player, action
        )
        if mirror.shape[0] > 0 and effect != EFFECT_NONE:
            update_mirror(mirror, blocks, player_ints, player, viewer, action, effect, old_x, old_y, old_z)
        player_ints[player, state.PLAYER_LAST_VALID] = effect != EFFECT_NONE or action == NOOP
        player_ints[player, state.PLAYER_LAST_DELTA] = drop
        shared += drop
        if effect == EFFECT_PLACE:
            column = state.PLAYER_CORRECT_PLACES if drop > 0 else state.PLAYER_INCORRECT_PLACES
            player_ints[player, column] += 1
        elif effect == EFFECT_BREAK:
            column = state.PLAYER_CORRECT_BREAKS if drop > 0 else state.PLAYER_INCORRECT_BREAKS
            player_ints[player, column] += 1
    shaped_rewards(player_ints, shaping, num_players, shared, rewards)
    distance = env_ints[state.ENV_EDIT_DISTANCE] - shared
    env_ints[state.ENV_EDIT_DISTANCE] = distance
    env_ints[state.ENV_TIMESTEP] += 1
    if distance < env_ints[state.ENV_BEST_EDIT_DISTANCE]:
        env_ints[state.ENV_BEST_EDIT_DISTANCE] = distance
        env_ints[state.ENV_STEPS_WITHOUT_PROGRESS] = 0
    else:
        env_ints[state.ENV_STEPS_WITHOUT_PROGRESS] += 1
    env_ints[state.ENV_TERMINATED] = distance == 0 and params[state.PARAM_TERMINATE_ON_GOAL] != 0
    limit = params[state.PARAM_NO_PROGRESS_LIMIT]
    env_ints[state.ENV_TRUNCATED] = env_ints[state.ENV_TIMESTEP] >= params[state.PARAM_HORIZON] or (
        limit > 0 and env_ints[state.ENV_STEPS_WITHOUT_PROGRESS] >= limit
    )
