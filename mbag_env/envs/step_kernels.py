"""The batch step kernels: the compiled scripted humans choose, then the core's rules resolve.

They sit above both :mod:`mbag_env.core` and :mod:`mbag_env.humans` (the layer rule of the
README's Layout section: the core never imports the humans, who use its rules). The human is
not handed to the core's step as a compiled function: numba cannot cache (``cache=True``) a
kernel that takes a function argument, and such a call could not be inlined; so this module
calls the human, stores its choice in ``PLAYER_LAST_ACTION`` and hands the step to
:func:`mbag_env.core.step.resolve_step`, which keeps that action for every player marked
:data:`~mbag_env.core.step.SCRIPTED_HUMAN`.
"""

from __future__ import annotations

import numpy as np

from mbag_env.core.jit import claim_range, kernel
from mbag_env.core.observe import write_observation
from mbag_env.core.state import PARAM_NUM_PLAYERS, PLAYER_LAST_ACTION
from mbag_env.core.step import SCRIPTED_HUMAN, resolve_step
from mbag_env.humans.scripted import scripted_human_action


@kernel()
def step_world_with_humans(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    shaping: np.ndarray,
    human_model: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    scratch: np.ndarray,
    mirror: np.ndarray,
    viewer: int,
) -> None:
    """Step one world (arrays already indexed by env) with one action per player.

    Players whose action is :data:`~mbag_env.core.step.SCRIPTED_HUMAN` act as ``human_model``
    (a :class:`~mbag_env.humans.HumanModel` vector) chooses, on the state at the start of the
    step; ``scratch`` is the scripted human's work array (see
    :func:`~mbag_env.humans.goal_seeking.human_scratch_size`). The rest is
    :func:`~mbag_env.core.step.resolve_step`: rewards, ``PLAYER_LAST_*``, the ``mirror``.
    """
    for player in range(params[PARAM_NUM_PLAYERS]):
        if actions[player] == SCRIPTED_HUMAN:
            player_ints[player, PLAYER_LAST_ACTION] = scripted_human_action(
                human_model, blocks, goal, player_ints, layer_errors, env_ints, params, player, scratch
            )
    resolve_step(
        blocks,
        goal,
        last_interacted,
        env_ints,
        player_ints,
        layer_errors,
        solid_neighbours,
        params,
        shaping,
        actions,
        rewards,
        mirror,
        viewer,
    )


@kernel(nogil=True)
def step_worlds(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    shaping: np.ndarray,
    human_model: np.ndarray,
    actions: np.ndarray,
    active: np.ndarray,
    rewards: np.ndarray,
    scratch: np.ndarray,
    mirror: np.ndarray,
    viewer: int,
    next_world: np.ndarray,
    chunk_size: int,
) -> None:
    """Step the worlds ``n`` with ``active[n]`` (:func:`step_world_with_humans` on each).

    ``actions`` and ``rewards`` are ``(N, P)``, ``mirror`` ``(N, C, W, H, D)`` (or
    ``(N, 0, 1, 1, 1)``); ``scratch`` is one int32 row of
    :func:`~mbag_env.humans.goal_seeking.human_scratch_size` entries that the scripted humans of
    the worlds use in turn (work space within a call only). The worlds are taken ``chunk_size``
    at a time from the shared counter ``next_world`` (int64 ``(1,)``, zero at first;
    :func:`~mbag_env.core.jit.claim_worlds`) until none is left: alone, a call steps them all in
    order; threads that call it at once with one counter (and a scratch row each) share the batch
    without the GIL (:mod:`mbag_env.envs.world_threads`).
    """
    while True:
        first, stop = claim_range(next_world, chunk_size, blocks.shape[0])
        if first >= stop:
            return
        for env in range(first, stop):
            if not active[env]:
                continue
            step_world_with_humans(
                blocks[env],
                goal[env],
                last_interacted[env],
                env_ints[env],
                player_ints[env],
                layer_errors[env],
                solid_neighbours[env],
                params,
                shaping,
                human_model,
                actions[env],
                rewards[env],
                scratch,
                mirror[env],
                viewer,
            )


@kernel()
def step_and_observe(
    blocks: np.ndarray,
    goal: np.ndarray,
    last_interacted: np.ndarray,
    env_ints: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    solid_neighbours: np.ndarray,
    params: np.ndarray,
    shaping: np.ndarray,
    human_model: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    scratch: np.ndarray,
    viewer: int,
    observed_goal: np.ndarray,
    world_out: np.ndarray,
    inventory_out: np.ndarray,
    timestep_out: np.ndarray,
    mask_out: np.ndarray,
    observation_current: np.ndarray,
    mask_scratch: np.ndarray,
) -> None:
    """The single env's whole compiled step: :func:`step_world_with_humans` on one world (arrays
    indexed by env), then ``viewer``'s observation written into ``world_out`` ``(C, W, H, D)``,
    ``inventory_out``, ``timestep_out`` ``(1,)`` and ``mask_out`` (``(0,)`` for no mask), in one
    numba dispatch instead of two.

    ``observation_current`` (int64 ``(1,)``) is 1 when the buffers hold ``viewer``'s observation
    of the state this step starts from (the previous call wrote them); the caller sets it to 0
    whenever anything else changes the state (reset, ``set_state``). While it is 1:

    * the world channels are kept up to date by the step, cell by cell (``world_out`` is the
      step's mirror, as in the vector env), instead of rewritten;
    * the action mask is brought up to date by :func:`~mbag_env.core.masks.refresh_action_mask`
      (with ``mask_scratch``, int32 of :func:`~mbag_env.core.masks.mask_scratch_size` entries):
      kept as it is when no action of the step took effect (the mask is a function of the
      blocks, the players' positions and the viewer's inventory), else the entries the effects
      can have changed, or the whole mask, recomputed.

    ``observed_goal`` is what the goal channel shows (θ, or zeros for a viewer who may not see it).
    """
    current = observation_current[0] != 0
    step_world_with_humans(
        blocks,
        goal,
        last_interacted,
        env_ints,
        player_ints,
        layer_errors,
        solid_neighbours,
        params,
        shaping,
        human_model,
        actions,
        rewards,
        scratch,
        world_out,
        viewer,
    )
    write_observation(
        blocks,
        observed_goal,
        last_interacted,
        env_ints,
        player_ints,
        solid_neighbours,
        params,
        viewer,
        world_out,
        inventory_out,
        timestep_out,
        mask_out,
        not current,
        current,
        mask_scratch,
    )
    observation_current[0] = 1
