"""The noise models: ε-random valid actions agree with the action mask, and Boltzmann choices
follow their utilities and never make a wrong place or break."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mbag_env
from mbag_env.blocks import AIR, FIRST_PLACEABLE, NUM_PLACEABLE
from mbag_env.core.actions import FIRST_PLACE
from mbag_env.core.rules import EYE_HEIGHT
from mbag_env.core.state import ENV_RNG, PLAYER_X, PLAYER_Y, PLAYER_Z
from mbag_env.humans import HumanModel
from mbag_env.humans.noise import action_is_valid, boltzmann_useful_action, valid_action
from tests.humans.helpers import (
    CI_HOUSES,
    SMALL,
    SMALL_HORIZON,
    held_out_goals,
    human_world,
    solo_episode,
)


def random_states(env: mbag_env.MbagEnv, steps: int, seed: int):
    """Yield the env after each of ``steps`` random valid joint steps (both players random)."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(steps):
        yield env
        mask = env.action_masks()
        _, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"infinite_blocks": False, "starting_inventory": 2},
        {"teleportation": True},
        {"world_size": (5, 7, 4), "num_players": 3},
    ],
    ids=["infinite", "finite", "teleportation", "three-players"],
)
def test_valid_action_enumerates_exactly_the_mask(fields: dict) -> None:
    config = {"world_size": SMALL, "num_players": 2, "horizon": 1000, **fields}

    def human_plays_randomly(observation: dict) -> int:
        rng = np.random.default_rng(int(observation["timestep"].item()))
        return int(rng.choice(np.flatnonzero(observation["action_mask"])))

    checked = 0
    played = mbag_env.MbagEnv(agent=1, human_policy=human_plays_randomly, **config)
    for env in random_states(played, 60, seed=1):
        state = env.batch.state
        for player in range(env.config.num_players):
            observation = env.batch.first_observation(player, env.batch.observation_buffers(player), True)
            expected = np.flatnonzero(observation["action_mask"])
            args = (state.blocks[0], state.player_ints[0], env.batch.params, player)
            count = valid_action(*args, -1)
            assert count == len(expected)
            enumerated = sorted(valid_action(*args, index) for index in range(count))
            assert enumerated == list(expected)
            assert valid_action(*args, count) == -1
            if checked % 10 == 0:
                single = [action_is_valid(*args, action) for action in range(len(observation["action_mask"]))]
                np.testing.assert_array_equal(single, observation["action_mask"])
            checked += 1
    assert checked > 0


def test_epsilon_one_takes_only_valid_actions_of_every_kind() -> None:
    goal = held_out_goals(SMALL)[1]
    completed, taken = solo_episode(goal, HumanModel("goal_seeking", epsilon=1.0), 300, seed=4)
    assert not completed
    actions = np.array(taken)
    volume = goal.size
    assert (actions == 0).any() and ((actions >= 1) & (actions <= 6)).any()
    assert ((actions >= FIRST_PLACE) & (actions < FIRST_PLACE + NUM_PLACEABLE * volume)).any()
    # With one player every chosen action is valid in the state it was chosen in: replay it.
    env = mbag_env.MbagEnv(world_size=SMALL, num_players=1, goal=goal, horizon=300)
    env.reset(seed=4)
    for action in actions:
        assert env.action_masks()[action]
        env.step(int(action))


def python_utilities(env: mbag_env.MbagEnv, player: int) -> dict[int, float]:
    """The useful actions of ``player`` and their utilities, computed from the mask in Python:
    valid correct places and breaks in the lowest layer with a workable cell, utility -distance."""
    state = env.batch.state
    blocks, goal = state.blocks[0], state.goal[0]
    mask = env.batch.first_observation(player, env.batch.observation_buffers(player), True)["action_mask"]
    width, height, depth = blocks.shape
    volume = blocks.size
    px, py, pz = (int(state.player_ints[0, player, c]) for c in (PLAYER_X, PLAYER_Y, PLAYER_Z))
    finishing = int((blocks != goal).sum()) == 1 and blocks[blocks != goal][0] == AIR

    def neighbours(x: int, y: int, z: int) -> list[int]:
        cells = [(x + 1, y, z), (x - 1, y, z), (x, y + 1, z), (x, y - 1, z), (x, y, z + 1), (x, y, z - 1)]
        return [
            int(blocks[c]) for c in cells if 0 <= c[0] < width and 0 <= c[1] < height and 0 <= c[2] < depth
        ]

    def workable(x: int, y: int, z: int) -> bool:
        if blocks[x, y, z] == goal[x, y, z]:
            return False
        if blocks[x, y, z] != AIR:
            return blocks[x, y, z] != 1 and AIR in neighbours(x, y, z)
        return any(block != AIR for block in neighbours(x, y, z))

    layers = [y for y in range(height) if any(workable(x, y, z) for x in range(width) for z in range(depth))]
    if not layers:
        return {}
    y = layers[0]
    utilities = {}
    for x in range(width):
        for z in range(depth):
            cell = (x * height + y) * depth + z
            if blocks[x, y, z] == goal[x, y, z]:
                continue
            if blocks[x, y, z] != AIR:
                action = FIRST_PLACE + NUM_PLACEABLE * volume + cell
            else:
                if x == px and z == pz and y >= py + 2 and not finishing:
                    continue
                action = FIRST_PLACE + (int(goal[x, y, z]) - FIRST_PLACEABLE) * volume + cell
            if mask[action]:
                distance = math.dist((x + 0.5, y + 0.5, z + 0.5), (px + 0.5, py + EYE_HEIGHT, pz + 0.5))
                utilities[action] = -distance
    return utilities


def boltzmann(env: mbag_env.MbagEnv, temperature: float, rng_state: int) -> int:
    state = env.batch.state
    env_ints = state.env_ints[0].copy()
    env_ints[ENV_RNG] = rng_state
    return boltzmann_useful_action(human_world(state, 0, env.batch.params, env_ints), 0, temperature)


def test_boltzmann_choice_follows_the_utilities() -> None:
    goal = held_out_goals(SMALL)[9]
    env = mbag_env.MbagEnv(world_size=SMALL, num_players=1, goal=goal, horizon=SMALL_HORIZON)
    env.reset(seed=0)
    # Let the goal-seeking builder work a while, then compare at several states.
    checked = 0
    rng = np.random.default_rng(0)
    for step in range(40):
        utilities = python_utilities(env, 0)
        if utilities:
            best = max(utilities.values())
            chosen = boltzmann(env, 1e-4, 12345 + step)
            assert chosen in utilities and utilities[chosen] == pytest.approx(best)
            if len(utilities) >= 3:
                # At temperature 1 the empirical frequencies match the softmax.
                actions = list(utilities)
                weights = np.exp(np.array([utilities[a] for a in actions]))
                expected = weights / weights.sum()
                draws = [boltzmann(env, 1.0, int(seed)) for seed in rng.integers(1, 2**62, size=3000)]
                counts = np.array([draws.count(a) for a in actions])
                assert set(draws) <= set(actions)
                assert np.abs(counts / len(draws) - expected).max() < 0.04
                checked += 1
        else:
            assert boltzmann(env, 1.0, 7) == -1
        mask = env.action_masks()
        useful = list(utilities)
        action = useful[0] if useful and rng.random() < 0.7 else int(rng.choice(np.flatnonzero(mask[:7])))
        env.step(action)
    assert checked >= 3


def test_boltzmann_human_never_makes_a_wrong_place_or_break() -> None:
    goals = held_out_goals(SMALL)
    volume = goals[0].size
    first_break = FIRST_PLACE + NUM_PLACEABLE * volume
    model = HumanModel("goal_seeking", temperature=3.0)
    for house in CI_HOUSES[:5]:
        completed, actions = solo_episode(goals[house], model, SMALL_HORIZON)
        assert completed
        # Replay its actions as a builder agent: every place and break it made earned +1.
        env = mbag_env.MbagEnv(world_size=SMALL, num_players=1, goal=goals[house], horizon=SMALL_HORIZON)
        env.reset(seed=0)
        for action in actions:
            _, reward, _, _, _ = env.step(action)
            if FIRST_PLACE <= action < first_break + volume:
                assert reward == 1.0
