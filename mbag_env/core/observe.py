"""Observation writers: each player's view of a world, written by the batch kernels.

:func:`write_world` writes one world's ``(C, W, H, D)`` channels for a viewer,
:func:`write_inventory` its block counts, :func:`write_observation` one world's whole observation
(mask included, written afresh or refreshed) and :func:`write_observations` every world's into
``(N, ...)`` buffers. :func:`update_mirror` keeps a viewer's world
observation up to date cell by cell as the step (:func:`~mbag_env.core.step.resolve_step`)
changes the world. Player tags are relabelled per viewer by :func:`viewer_label` and back by
:func:`label_owner`.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import FIRST_PLACEABLE, NUM_PLACEABLE
from mbag_env.core.actions import cell_coordinates, decode_action
from mbag_env.core.jit import claim_range, kernel
from mbag_env.core.masks import refresh_action_mask, write_action_mask
from mbag_env.core.rules import EFFECT_BREAK, EFFECT_MOVE, EFFECT_PLACE
from mbag_env.core.state import (
    ENV_TIMESTEP,
    INFINITE_BLOCK_COUNT,
    PARAM_INFINITE_BLOCKS,
    PARAM_NUM_PLAYERS,
    PLAYER_INVENTORY,
    PLAYER_X,
    PLAYER_Y,
    PLAYER_Z,
)

NUM_OBS_CHANNELS_WITH_GOAL = 4
NUM_OBS_CHANNELS_WITHOUT_GOAL = 3


@kernel()
def update_mirror(
    mirror: np.ndarray,
    blocks: np.ndarray,
    player_ints: np.ndarray,
    player: int,
    viewer: int,
    action: int,
    effect: int,
    old_x: int,
    old_y: int,
    old_z: int,
) -> None:
    """Apply one action's change to ``viewer``'s observation ``mirror``.

    :func:`~mbag_env.core.step.resolve_step` calls it after each action that changed the world.
    """
    label = viewer_label(player + 1, viewer)
    if effect == EFFECT_MOVE:
        mirror[1, old_x, old_y, old_z] = 0
        mirror[1, old_x, old_y + 1, old_z] = 0
        x = player_ints[player, PLAYER_X]
        y = player_ints[player, PLAYER_Y]
        z = player_ints[player, PLAYER_Z]
        mirror[1, x, y, z] = label
        mirror[1, x, y + 1, z] = label
    elif effect == EFFECT_PLACE or effect == EFFECT_BREAK:
        _, height, depth = blocks.shape
        _, _, cell = decode_action(action, blocks.size)
        x, y, z = cell_coordinates(cell, height, depth)
        mirror[0, x, y, z] = blocks[x, y, z]
        mirror[2, x, y, z] = label


@kernel(inline="always")
def viewer_label(stored: int, viewer: int) -> int:
    """Relabel a stored player tag (0 nobody, ``1 + index``) as seen by ``viewer``.

    The viewer is 1, the other players 2, 3, ... in index order, nobody stays 0.
    """
    if stored == 0:
        return 0
    player = stored - 1
    if player == viewer:
        return 1
    return player + 2 if player < viewer else player + 1


@kernel(inline="always")
def label_owner(label: int, viewer: int) -> int:
    """The player index behind a non-zero player label seen by ``viewer`` (the inverse of
    :func:`viewer_label`: 1 is the viewer, 2, 3, ... the other players in index order)."""
    if label == 1:
        return viewer
    other = label - 2
    return other if other < viewer else other + 1


@kernel()
def write_world(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    viewer: int,
    world_out: np.ndarray,
) -> None:
    """Write one world's ``(C, W, H, D)`` observation for ``viewer`` (arrays indexed by env).

    Channels: blocks, players (1 self, 2.. others in index order), last interacted (same
    labels), and the goal when ``C == 4``.
    """
    width, height, depth = blocks.shape
    with_goal = world_out.shape[0] == NUM_OBS_CHANNELS_WITH_GOAL
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                world_out[0, x, y, z] = blocks[x, y, z]
                world_out[1, x, y, z] = 0
                world_out[2, x, y, z] = viewer_label(last_interacted[x, y, z], viewer)
                if with_goal:
                    world_out[3, x, y, z] = goal[x, y, z]
    for player in range(params[PARAM_NUM_PLAYERS]):
        x = player_ints[player, PLAYER_X]
        y = player_ints[player, PLAYER_Y]
        z = player_ints[player, PLAYER_Z]
        world_out[1, x, y, z] = viewer_label(player + 1, viewer)
        world_out[1, x, y + 1, z] = viewer_label(player + 1, viewer)


@kernel()
def write_inventory(
    player_ints: np.ndarray, params: np.ndarray, viewer: int, inventory_out: np.ndarray
) -> None:
    """Write ``viewer``'s block counts (a large constant per placeable type with infinite blocks)."""
    infinite = params[PARAM_INFINITE_BLOCKS] != 0
    for block in range(inventory_out.shape[0]):
        if infinite:
            is_placeable = FIRST_PLACEABLE <= block < FIRST_PLACEABLE + NUM_PLACEABLE
            inventory_out[block] = INFINITE_BLOCK_COUNT if is_placeable else 0
        else:
            inventory_out[block] = player_ints[viewer, PLAYER_INVENTORY + block]


@kernel(nogil=True)
def write_observations(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    viewer: int,
    full_world: np.ndarray,
    world_out: np.ndarray,
    inventory_out: np.ndarray,
    timestep_out: np.ndarray,
    mask_out: np.ndarray,
    mask_scratch: np.ndarray,
    next_world: np.ndarray,
    chunk_size: int,
) -> None:
    """Write ``viewer``'s observations of every world into ``(N, ...)`` buffers.

    The world channels and the action mask are written afresh only where ``full_world[n]``;
    elsewhere the buffers must hold ``viewer``'s observation of world ``n`` before its last
    step: ``world_out[n]`` a mirror the step kept up to date
    (:func:`~mbag_env.core.step.resolve_step`) and ``mask_out[n]`` the mask then, which
    :func:`~mbag_env.core.masks.refresh_action_mask` brings up to date with ``mask_scratch``
    (one int32 row of :func:`~mbag_env.core.masks.mask_scratch_size` entries, shared by the
    worlds in turn and kept by the caller between calls). Inventory and timestep are always
    written; no mask when ``mask_out`` is ``(N, 0)``. The worlds are taken ``chunk_size`` at a
    time from the shared counter ``next_world`` as in
    :func:`~mbag_env.envs.step_kernels.step_worlds`: threads calling it at once with one counter
    (and a ``mask_scratch`` row each) share the batch.
    """
    while True:
        first, stop = claim_range(next_world, chunk_size, blocks.shape[0])
        if first >= stop:
            return
        for env in range(first, stop):
            write_observation(
                blocks[env],
                goal[env],
                last_interacted[env],
                env_ints[env],
                player_ints[env],
                solid_neighbours[env],
                params,
                viewer,
                world_out[env],
                inventory_out[env],
                timestep_out[env : env + 1],
                mask_out[env],
                full_world[env],
                not full_world[env],
                mask_scratch,
            )


@kernel()
def write_observation(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    viewer: int,
    world_out: np.ndarray,
    inventory_out: np.ndarray,
    timestep_out: np.ndarray,
    mask_out: np.ndarray,
    world_afresh: bool,
    refresh_mask: bool,
    mask_scratch: np.ndarray,
) -> None:
    """Write ``viewer``'s observation of one world (arrays indexed by env; ``timestep_out`` ``(1,)``,
    ``mask_out`` ``(0,)`` for no mask).

    The world channels are written afresh with ``world_afresh``; otherwise ``world_out`` must be
    the mirror the last step kept up to date. The mask is brought up to date from the last step's
    effects with ``refresh_mask`` (``mask_out`` must then hold ``viewer``'s mask from before that
    step; :func:`~mbag_env.core.masks.refresh_action_mask` with ``mask_scratch``), else written
    afresh. Inventory and timestep are always written.
    """
    if world_afresh:
        write_world(blocks, goal, last_interacted, player_ints, params, viewer, world_out)
    write_inventory(player_ints, params, viewer, inventory_out)
    timestep_out[0] = env_ints[ENV_TIMESTEP]
    if mask_out.shape[0] > 0:
        if refresh_mask:
            refresh_action_mask(mask_out, blocks, solid_neighbours, player_ints, params, viewer, mask_scratch)
        else:
            write_action_mask(mask_out, blocks, solid_neighbours, player_ints, params, viewer)
