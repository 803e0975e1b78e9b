"""Hand-worked steps with known answers, run in both the core and the reference (SPEC §3–§4).

Each example builds a small situation, steps it in the compiled core and in the reference,
checks that the two agree in every quantity, and checks the hand-derived answer: validity,
rewards with shaping, inventories, counters, termination and truncation.
"""

from __future__ import annotations

import numpy as np
import pytest

from mbag_env.core.actions import ActionSpace
from mbag_env.core.observe import label_owner, viewer_label
from tests.core.harness import (
    CoreGame,
    Setup,
    assert_consistent_distance,
    assert_last_step_same,
    assert_same_state,
    reference_from_setup,
)
from tests.core.reference_rules import Shaping

AIR, BEDROCK, DIRT, COBBLESTONE, GLASS, PLANKS, WOOL = 0, 1, 2, 3, 4, 6, 9
SIZE = (5, 5, 5)


def initial_world(size=SIZE) -> np.ndarray:
    world = np.zeros(size, dtype=np.uint8)
    world[:, 0, :] = BEDROCK
    world[:, 1, :] = DIRT
    return world


def with_changes(world: np.ndarray, changes: dict) -> np.ndarray:
    world = world.copy()
    for cell, block in changes.items():
        world[cell] = block
    return world


class Pair:
    """A core game and a reference game of the same setup, stepped together."""

    def __init__(self, feet, goal_changes=None, world_changes=None, size=SIZE, **options):
        goal = with_changes(initial_world(size), goal_changes or {})
        blocks = with_changes(initial_world(size), world_changes) if world_changes else None
        self.setup = Setup(size=size, goal=goal, blocks=blocks, feet=feet, **options)
        self.core = CoreGame(self.setup)
        self.ref = reference_from_setup(self.setup)
        self.space = ActionSpace(size, self.setup.infinite_blocks)
        assert_same_state(self.core, self.ref, context="start")

    def mask(self, player: int) -> np.ndarray:
        mask = self.core.mask(player)
        assert mask.tolist() == self.ref.action_mask(player)
        return mask

    def valid(self, player: int, action: int) -> bool:
        return bool(self.mask(player)[action])

    def step(self, *actions: int) -> list[float]:
        core_rewards = self.core.step(list(actions))[0].tolist()
        ref_rewards = self.ref.step(list(actions))
        assert core_rewards == pytest.approx(ref_rewards, abs=1e-12)
        assert_same_state(self.core, self.ref, context=f"actions {actions}")
        assert_last_step_same(self.core, self.ref, context=f"actions {actions}")
        assert_consistent_distance(self.core)
        return ref_rewards

    def place(self, cell, block) -> int:
        return self.space.encode("place", cell, block)

    def brk(self, cell) -> int:
        return self.space.encode("break", cell)

    def give(self, cell, block) -> int:
        return self.space.encode("give", cell, block)

    def move(self, name: str) -> int:
        return self.space.encode("move", direction=name)


def test_reset_builds_the_initial_world_and_distance():
    pair = Pair([(0, 2, 0)], goal_changes={(1, 2, 1): PLANKS, (2, 1, 2): AIR, (3, 1, 3): WOOL})
    np.testing.assert_array_equal(pair.core.state.blocks[0], initial_world())
    assert pair.ref.distance == 1 + 1 + 2  # place; break; break and place


def test_correct_place_scores_one_and_completes_the_goal():
    pair = Pair([(0, 2, 0)], goal_changes={(1, 2, 1): PLANKS})
    action = pair.place((1, 2, 1), PLANKS)
    assert pair.valid(0, action)
    assert pair.step(action) == [1.0]
    assert pair.ref.distance == 0 and pair.ref.terminated and not pair.ref.truncated
    assert pair.ref.correct_places == [1] and pair.ref.last_interacted[1][2][1] == 1


def test_incorrect_place_with_shaping():
    shaping = [Shaping(noop=-1.0, action=0.5, incorrect_action=-0.25)]
    pair = Pair([(0, 2, 0)], goal_changes={(1, 2, 1): PLANKS}, shaping=shaping)
    assert pair.step(pair.place((1, 2, 1), GLASS)) == [-1.0 + 0.5 - 0.25]  # d: 1 -> 2 (glass≠planks)
    assert pair.ref.distance == 2 and pair.ref.incorrect_places == [1]
    assert pair.step(0) == [-1.0]  # NOOP: noop shaping only
    assert pair.step(pair.place((1, 2, 1), GLASS)) == [-1.0]  # now invalid: counts as a no-op
    assert pair.ref.last_valid == [False]


def test_break_rewards_and_what_cannot_be_broken():
    pair = Pair([(0, 2, 0)], goal_changes={(1, 1, 1): AIR}, world_changes={(0, 1, 1): AIR})
    assert pair.step(pair.brk((1, 1, 1))) == [1.0]  # goal digs here
    assert pair.ref.correct_breaks == [1]
    assert pair.step(pair.brk((1, 1, 0))) == [-1.0]  # goal keeps this dirt
    assert pair.ref.incorrect_breaks == [1]
    for cell in [(1, 0, 1), (0, 0, 1), (2, 2, 2)]:  # exposed bedrock (twice), air
        assert not pair.valid(0, pair.brk(cell))
    assert not pair.valid(0, pair.brk((3, 1, 4)))  # its only air face, on top, is 5.25 from the eye
    assert pair.step(pair.brk((1, 0, 1))) == [0.0] and pair.ref.last_valid == [False]


def test_reach_limit():
    pair = Pair([(0, 2, 0)], goal_changes={(4, 2, 4): PLANKS})
    # The only solid neighbour of (4, 2, 4) is the dirt below: its face is 5.88 from the eye.
    assert not pair.valid(0, pair.place((4, 2, 4), PLANKS))
    # (2, 2, 3): face (2.5, 2, 3.5) at sqrt(4 + 2.56 + 9) = 3.94: in reach.
    assert pair.valid(0, pair.place((2, 2, 3), PLANKS))


def test_a_wall_blocks_sight_and_glass_is_solid():
    wall = {(1, y, z): GLASS for y in range(2, 5) for z in range(5)}
    pair = Pair([(0, 2, 2)], world_changes=wall)
    mask = pair.mask(0)
    for cell in [(x, y, z) for x in range(2, 5) for y in range(5) for z in range(5)]:
        assert not mask[pair.brk(cell)], cell
        assert not mask[pair.place(cell, DIRT)], cell
    # The wall itself is in sight and can be broken; the player's own side is unaffected.
    assert mask[pair.brk((1, 3, 2))] and mask[pair.place((0, 2, 1), DIRT)]


def test_cannot_place_into_a_player():
    pair = Pair([(0, 2, 0), (1, 2, 0)])
    assert not pair.valid(0, pair.place((1, 2, 0), DIRT))  # the other's feet
    assert not pair.valid(0, pair.place((0, 2, 0), DIRT))  # own feet (dirt below, in reach)
    assert pair.valid(0, pair.place((0, 2, 1), DIRT))


def test_players_resolve_in_order():
    shaping = [Shaping(own_reward_prop=0.5, incorrect_action=-0.25), Shaping(own_reward_prop=0.5)]
    pair = Pair([(0, 2, 0), (2, 2, 0)], shaping=shaping, goal_changes={(4, 2, 4): WOOL})
    target = (1, 1, 1)
    # At the start of the step the cell holds dirt: player 1 cannot place there...
    assert not pair.valid(1, pair.place(target, DIRT))
    # ...but player 0 breaks it first, so player 1's place resolves against an air cell.
    rewards = pair.step(pair.brk(target), pair.place(target, DIRT))
    assert pair.ref.last_valid == [True, True]
    assert pair.ref.last_own_drop == [-1, 1] and pair.ref.distance == 1
    assert rewards == [0.5 * 0 + 0.5 * -1 - 0.25, 0.5 * 0 + 0.5 * 1]


def test_a_masked_valid_action_invalidated_by_an_earlier_player_is_a_no_op():
    shaping = [Shaping(), Shaping(noop=-0.5, own_reward_prop=1.0)]
    pair = Pair([(0, 2, 0), (2, 2, 0)], shaping=shaping, goal_changes={(1, 2, 1): PLANKS})
    cell = (1, 2, 1)
    assert pair.valid(0, pair.place(cell, PLANKS)) and pair.valid(1, pair.place(cell, GLASS))
    rewards = pair.step(pair.place(cell, PLANKS), pair.place(cell, GLASS))
    assert pair.ref.last_valid == [True, False]
    assert pair.ref.blocks[1][2][1] == PLANKS
    assert rewards == [1.0, 0.0 - 0.5]  # shared +1; player 1 keeps only its own 0 and the no-op term


def test_moves():
    pair = Pair([(0, 2, 0), (1, 2, 0), (0, 4, 1)], size=(3, 6, 3))
    assert not pair.valid(0, pair.move("-x"))  # out of the world
    assert not pair.valid(0, pair.move("+x"))  # into player 1
    assert not pair.valid(0, pair.move("-y"))  # into dirt
    assert pair.valid(0, pair.move("+y")) and pair.valid(0, pair.move("+z"))
    assert not pair.valid(2, pair.move("+y"))  # head would leave the world (H = 6)
    assert pair.valid(2, pair.move("-y"))  # (0, 3, 1) and (0, 4, 1) are free
    pair.step(pair.move("+z"), 0, 0)
    assert pair.ref.feet[0] == [0, 2, 1]
    assert not pair.valid(2, pair.move("-y"))  # now player 0's head is at (0, 3, 1)
    assert not pair.valid(0, pair.move("+y"))  # head into player 2's feet


def test_finite_blocks_place_break_and_inventory():
    pair = Pair(
        [(0, 2, 0)],
        infinite_blocks=False,
        starting_inventory=1,
        goal_changes={(1, 2, 1): PLANKS, (2, 2, 1): PLANKS},
    )
    assert pair.ref.inventories[0][PLANKS] == 1
    pair.step(pair.place((1, 2, 1), PLANKS))
    assert pair.ref.inventories[0][PLANKS] == 0
    assert not pair.valid(0, pair.place((2, 2, 1), PLANKS))  # none left
    pair.step(pair.brk((1, 1, 0)))  # breaking dirt gives the breaker a dirt block
    assert pair.ref.inventories[0][DIRT] == 2
    pair.step(pair.brk((1, 2, 1)))  # and breaking planks gives planks back
    assert pair.ref.inventories[0][PLANKS] == 1


def test_give_rules():
    inventories = np.zeros((3, 10), dtype=np.int64)
    inventories[0, PLANKS] = 2
    inventories[1, WOOL] = 1
    pair = Pair([(1, 2, 1), (2, 2, 2), (3, 2, 1)], infinite_blocks=False, inventories=inventories)
    assert pair.valid(0, pair.give((2, 2, 2), PLANKS))  # diagonal neighbour: Chebyshev 1
    assert not pair.valid(0, pair.give((3, 2, 1), PLANKS))  # two cells away
    assert not pair.valid(0, pair.give((2, 3, 2), PLANKS))  # a head cell, not feet
    assert not pair.valid(0, pair.give((1, 2, 1), PLANKS))  # own feet
    assert not pair.valid(0, pair.give((2, 2, 2), WOOL))  # holds no wool
    pair.step(pair.give((2, 2, 2), PLANKS), pair.give((1, 2, 1), WOOL), 0)
    assert pair.ref.inventories[0][PLANKS] == 1 and pair.ref.inventories[1][PLANKS] == 1
    assert pair.ref.inventories[0][WOOL] == 1 and pair.ref.inventories[1][WOOL] == 0


def test_teleportation():
    inventories = np.zeros((2, 10), dtype=np.int64)
    inventories[0, PLANKS] = 1
    pair = Pair(
        [(0, 2, 0), (4, 2, 4)],
        teleportation=True,
        infinite_blocks=False,
        inventories=inventories,
        world_changes={(2, 2, 2): COBBLESTONE, (2, 3, 2): COBBLESTONE},
    )
    assert not pair.mask(0)[1:7].any()  # MOVE is never valid
    assert pair.valid(0, pair.place((4, 2, 0), PLANKS))  # far away: reach ignored
    assert pair.valid(0, pair.place((4, 2, 4), PLANKS))  # a player's feet: bodies ignored
    assert not pair.valid(0, pair.place((0, 4, 4), PLANKS))  # mid-air: no solid neighbour
    assert not pair.valid(0, pair.brk((2, 1, 2)))  # enclosed dirt: no air neighbour
    assert pair.valid(0, pair.brk((2, 3, 2)))
    assert pair.valid(0, pair.give((4, 2, 4), PLANKS))  # any distance
    pair.step(pair.place((4, 2, 0), PLANKS), 0)
    assert pair.ref.blocks[4][2][0] == PLANKS and pair.ref.inventories[0][PLANKS] == 0


def test_horizon_and_no_progress_truncation():
    pair = Pair([(0, 2, 0)], goal_changes={(1, 2, 1): PLANKS}, horizon=3, no_progress_limit=0)
    pair.step(0)
    pair.step(0)
    assert not pair.ref.truncated
    pair.step(0)
    assert pair.ref.truncated and not pair.ref.terminated

    pair = Pair([(0, 2, 0)], goal_changes={(1, 2, 1): PLANKS, (2, 2, 1): PLANKS}, no_progress_limit=2)
    pair.step(pair.place((1, 2, 1), PLANKS))  # progress
    pair.step(0)
    assert not pair.ref.truncated
    pair.step(pair.place((3, 2, 1), GLASS))  # a step that makes things worse is no progress
    assert pair.ref.last_valid == [True] and pair.ref.distance == 2
    assert pair.ref.truncated


def test_goal_completion_does_not_terminate_when_disabled():
    pair = Pair([(0, 2, 0)], goal_changes={(1, 2, 1): PLANKS}, terminate_on_goal=False)
    assert pair.step(pair.place((1, 2, 1), PLANKS)) == [1.0]
    assert pair.ref.distance == 0 and not pair.ref.terminated


def test_label_owner_inverts_viewer_label_for_every_viewer() -> None:
    for num_players in range(1, 5):
        for viewer in range(num_players):
            labels = [viewer_label(player + 1, viewer) for player in range(num_players)]
            assert sorted(labels) == list(range(1, num_players + 1)) and labels[viewer] == 1
            assert [label_owner(label, viewer) for label in labels] == list(range(num_players))
