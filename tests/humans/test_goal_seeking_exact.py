"""The compiled goal-seeking human against a plain from-scratch transcription of its rules.

The compiled human prunes its work (it stops trying candidates beyond reach, does not check its
start spot twice, answers a sky search whose start is under open sky without setting it up, and
skips search spots beyond reach of a target by a bound from the eye). None of that may change a
single action. Here the reference below recomputes every step from scratch with the core's rule
functions only (every candidate tried nearest first, every spot of the breadth-first search checked
against every target), in several world sizes and configurations, in vector envs of several worlds
whose assistant takes random valid actions that change the world under the human.
"""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE
from mbag_env.core.actions import MOVE_DIRECTIONS, NOOP, break_action, place_action
from mbag_env.core.rules import EYE_HEIGHT, body_fits, can_break, can_place_any
from mbag_env.core.state import (
    ENV_EDIT_DISTANCE,
    PARAM_INFINITE_BLOCKS,
    PARAM_NUM_PLAYERS,
    PARAM_TELEPORTATION,
    PLAYER_INVENTORY,
    PLAYER_LAST_ACTION,
    PLAYER_X,
    PLAYER_Y,
    PLAYER_Z,
)
from mbag_env.humans.goal_seeking import random_valid_move
from mbag_env.humans.world import HumanWorld
from tests.humans.helpers import human_world

HUMAN = 0


def _under_open_sky(blocks: np.ndarray, x: int, y: int, z: int) -> bool:
    return bool(np.all(blocks[x, y + 2 :, z] == AIR))


def _above_head(x: int, y: int, z: int, cell: tuple[int, int, int]) -> bool:
    return cell[0] == x and cell[2] == z and cell[1] >= y + 2


def _reaches_sky(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    start: tuple[int, int, int],
    extra: tuple[int, int, int] | None,
) -> bool:
    """Breadth-first search from ``start`` to a spot under open sky, ``extra`` counted as solid."""
    seen = {start}
    queue = deque([start])
    while queue:
        x, y, z = queue.popleft()
        if _under_open_sky(blocks, x, y, z) and (extra is None or not _above_head(x, y, z, extra)):
            return True
        for dx, dy, dz in MOVE_DIRECTIONS:
            spot = (x + int(dx), y + int(dy), z + int(dz))
            if spot in seen or not body_fits(blocks, player_ints, params[PARAM_NUM_PLAYERS], HUMAN, *spot):
                continue
            if extra is not None and extra in (spot, (spot[0], spot[1] + 1, spot[2])):
                continue
            seen.add(spot)
            queue.append(spot)
    return False


def _keeps_sky(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, spot: tuple[int, int, int], cell: tuple
) -> bool:
    if _under_open_sky(blocks, *spot) and not _above_head(*spot, cell):
        return True
    return _reaches_sky(blocks, player_ints, params, spot, cell)


def _acts_from(
    blocks: np.ndarray, player_ints: np.ndarray, params: np.ndarray, spot: tuple[int, int, int], cell: tuple
) -> bool:
    """Whether the human standing at ``spot`` could break or place ``cell`` (the rules alone)."""
    moved = player_ints.copy()
    moved[HUMAN, PLAYER_X], moved[HUMAN, PLAYER_Y], moved[HUMAN, PLAYER_Z] = spot
    if blocks[cell] == AIR:
        return bool(can_place_any(blocks, moved, params, HUMAN, *cell))
    return bool(can_break(blocks, moved, params, HUMAN, *cell))


def reference_action(world: HumanWorld) -> int:
    """The goal-seeking human's action (module docstring of :mod:`mbag_env.humans.goal_seeking`),
    from scratch."""
    blocks, goal, player_ints, layer_errors, env_ints, params = world
    width, height, depth = blocks.shape
    num_cells = blocks.size
    teleportation = params[PARAM_TELEPORTATION] != 0
    infinite = params[PARAM_INFINITE_BLOCKS] != 0
    position = (
        int(player_ints[HUMAN, PLAYER_X]),
        int(player_ints[HUMAN, PLAYER_Y]),
        int(player_ints[HUMAN, PLAYER_Z]),
    )
    keep_sky = not (
        teleportation
        or env_ints[ENV_EDIT_DISTANCE] == 1
        or not _reaches_sky(blocks, player_ints, params, position, None)
    )
    eye = np.array(position, dtype=np.float64) + (0.5, EYE_HEIGHT, 0.5)
    stuck = False
    for y in range(height):
        if layer_errors[y] == 0:
            continue
        candidates: list[tuple[int, int, int]] = []
        for x in range(width):
            for z in range(depth):
                block, wanted = blocks[x, y, z], goal[x, y, z]
                if block == wanted:
                    continue
                neighbours = [
                    blocks[x + dx, y + dy, z + dz]
                    for dx, dy, dz in MOVE_DIRECTIONS
                    if 0 <= x + dx < width and 0 <= y + dy < height and 0 <= z + dz < depth
                ]
                if block != AIR and not (IS_BREAKABLE[block] and any(n == AIR for n in neighbours)):
                    continue
                if block == AIR:
                    if not any(n != AIR for n in neighbours):
                        continue
                    if not infinite and player_ints[HUMAN, PLAYER_INVENTORY + wanted] <= 0:
                        continue
                occupant = [
                    other
                    for other in range(params[PARAM_NUM_PLAYERS])
                    if (player_ints[other, PLAYER_X], player_ints[other, PLAYER_Z]) == (x, z)
                    and y - player_ints[other, PLAYER_Y] in (0, 1)
                ]
                if occupant and occupant[0] != HUMAN:
                    continue
                candidates.append((x, y, z))
        if not candidates:
            continue
        # Nearest to the eye first, the scan order on ties (squared distances, rounded as integers).
        distances = [round(100 * float(np.sum((np.add(cell, 0.5) - eye) ** 2))) for cell in candidates]
        for index in sorted(range(len(candidates)), key=lambda i: (distances[i], i)):
            cell = candidates[index]
            flat = (cell[0] * height + cell[1]) * depth + cell[2]
            if blocks[cell] != AIR:
                if can_break(blocks, player_ints, params, HUMAN, *cell):
                    return break_action(flat, num_cells)
            elif can_place_any(blocks, player_ints, params, HUMAN, *cell) and (
                not keep_sky or _keeps_sky(blocks, player_ints, params, position, cell)
            ):
                return place_action(int(goal[cell]) - FIRST_PLACEABLE, flat, num_cells)
        if not teleportation:
            first_move = {position: 6}
            queue = deque([position])
            while queue:
                spot = queue.popleft()
                for cell in candidates:
                    if _acts_from(blocks, player_ints, params, spot, cell) and (
                        not keep_sky
                        or blocks[cell] != AIR
                        or _keeps_sky(blocks, player_ints, params, spot, cell)
                    ):
                        move = first_move[spot]
                        if move < 6:
                            return 1 + move
                        queue.clear()
                        break
                else:
                    for direction, (dx, dy, dz) in enumerate(MOVE_DIRECTIONS):
                        neighbour = (spot[0] + int(dx), spot[1] + int(dy), spot[2] + int(dz))
                        if neighbour in first_move or not body_fits(
                            blocks, player_ints, params[PARAM_NUM_PLAYERS], HUMAN, *neighbour
                        ):
                            continue
                        first_move[neighbour] = direction if first_move[spot] == 6 else first_move[spot]
                        queue.append(neighbour)
        stuck = True
    if stuck and not teleportation:
        return int(random_valid_move(blocks, player_ints, env_ints, params, HUMAN))
    return NOOP


CONFIGS = {
    "Assist-Small": ("mbag/Assist-Small-v0", {}),
    "Assist 11x10x10": ("mbag/Assist-v0", {"horizon": 120}),
    "8x6x7, finite blocks": ("mbag/Assist-Small-v0", {"world_size": (8, 6, 7), "infinite_blocks": False}),
    "Assist-Small, teleportation": ("mbag/Assist-Small-v0", {"teleportation": True}),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_compiled_goal_seeking_human_matches_the_from_scratch_reference(name: str) -> None:
    env_id, kwargs = CONFIGS[name]
    num_envs = 4
    vector = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    observations, _ = vector.reset(seed=21)
    inner = vector.unwrapped
    state = inner.batch.state  # type: ignore[attr-defined]
    params = inner.batch.params  # type: ignore[attr-defined]
    rng = np.random.default_rng(21)
    compared = moves = 0
    for _ in range(300):
        expected = [
            reference_action(human_world(state, env, params, state.env_ints[env].copy()))
            for env in range(num_envs)
        ]
        acting = ~inner._autoreset & (state.env_ints[:, ENV_EDIT_DISTANCE] > 0)  # type: ignore[attr-defined]
        # The assistant: a random valid action most steps (it changes the world under the human).
        actions = np.zeros(num_envs, dtype=np.int64)
        for env in range(num_envs):
            if rng.random() < 0.7:
                valid = np.flatnonzero(observations["action_mask"][env])
                actions[env] = valid[rng.integers(len(valid))]
        observations, *_ = vector.step(actions)
        for env in np.flatnonzero(acting):
            assert state.player_ints[env, HUMAN, PLAYER_LAST_ACTION] == expected[env], (name, env)
            compared += 1
            moves += 1 <= expected[env] <= 6
    assert compared > 600
    assert moves > 10 or kwargs.get("teleportation")  # with teleportation the human never moves
