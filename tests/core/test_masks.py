"""The action mask is exact, and the incremental edit distance never drifts (SPEC §3, §4).

Exhaustive check: in several random states, every action of every player is stepped from a
copy of the state (all copies in one batch, one action per world, the other players doing
NOOP). ``mask[a]`` must be True exactly when stepping ``a`` changed the world, a position or
an inventory, and the step must report the same validity. NOOP is always True.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from mbag_env.blocks import NUM_BLOCK_TYPES
from mbag_env.core.masks import mask_scratch_size, refresh_action_mask
from mbag_env.core.state import ENV_EDIT_DISTANCE, PLAYER_INVENTORY, PLAYER_LAST_VALID, PLAYER_X
from tests.core.harness import (
    CoreGame,
    assert_consistent_distance,
    call_kernel,
    random_setup,
    reference_from_setup,
    state_field_names,
)
from tests.core.reference_rules import decode

CONFIGURATIONS = [
    pytest.param(
        size,
        players,
        infinite,
        teleport,
        id=f"{size}-P{players}-{'inf' if infinite else 'finite'}-{'tele' if teleport else 'reach'}",
    )
    for size, players, infinite, teleport in itertools.product(
        [(3, 4, 3), (5, 5, 5), (4, 6, 3)], [1, 2, 3], [True, False], [False, True]
    )
]


def kind_of(core: CoreGame, action: int) -> str:
    return decode(core.setup.size, core.setup.infinite_blocks, action).kind


def replicate(core: CoreGame, copies: int) -> CoreGame:
    """A batch of ``copies`` worlds, each a copy of world 0 of ``core``."""
    batch = CoreGame(core.setup, num_envs=copies)
    for name in state_field_names():
        getattr(batch.state, name)[:] = getattr(core.state, name)[0]
    return batch


def random_valid_steps(core: CoreGame, rng: np.random.Generator, steps: int) -> None:
    """Step with actions drawn from each player's current mask (mostly) or at random."""
    for _ in range(steps):
        actions = []
        for player in range(core.setup.num_players):
            mask = core.mask(player)
            if rng.random() < 0.8:
                actions.append(int(rng.choice(np.flatnonzero(mask))))
            else:
                actions.append(int(rng.integers(core.n_actions)))
        core.step(actions)


def changes_by_action(core: CoreGame, player: int) -> tuple[np.ndarray, np.ndarray]:
    """For every action a: did stepping a (others NOOP) change anything; did the step call it valid."""
    n = core.n_actions
    batch = replicate(core, n)
    actions = np.zeros((n, core.setup.num_players), dtype=np.int64)
    actions[:, player] = np.arange(n)
    batch.step(actions)
    s0, s = core.state, batch.state
    blocks_changed = (s.blocks != s0.blocks[0]).reshape(n, -1).any(axis=1)
    # Positions (x, y, z) and the ten inventory counts of every player.
    columns = slice(PLAYER_X, PLAYER_INVENTORY + NUM_BLOCK_TYPES)
    assert columns.stop - columns.start == 13
    players_changed = (s.player_ints[:, :, columns] != s0.player_ints[0, :, columns]).reshape(n, -1)
    players_changed = players_changed.any(axis=1)
    reported_valid = s.player_ints[:, player, PLAYER_LAST_VALID] != 0
    return blocks_changed | players_changed, reported_valid


@pytest.mark.parametrize("size, players, infinite, teleport", CONFIGURATIONS)
def test_mask_marks_exactly_the_actions_that_change_something(size, players, infinite, teleport):
    rng = np.random.default_rng(hash((size, players, infinite, teleport)) % 2**32)
    kinds_seen = set()
    for trial in range(3):
        setup = random_setup(
            rng,
            size,
            players,
            infinite_blocks=infinite,
            teleportation=teleport,
            scramble=trial > 0,
            starting_inventory=1,
            random_inventories=trial == 2,
        )
        core = CoreGame(setup)
        random_valid_steps(core, rng, steps=int(rng.integers(0, 6)))
        for player in range(players):
            mask = core.mask(player)
            assert mask[0], "NOOP must always be valid"
            changed, reported_valid = changes_by_action(core, player)
            assert not changed[0], "NOOP changed the state"
            mismatched = np.flatnonzero(mask[1:] != changed[1:]) + 1
            assert mismatched.size == 0, (
                f"trial {trial} player {player}: mask and effect disagree on actions {mismatched[:10]}"
            )
            np.testing.assert_array_equal(reported_valid, mask, err_msg="step's action_valid != mask")
            kinds_seen.update(kind_of(core, int(a)) for a in np.flatnonzero(mask))
    assert {"place", "break"} <= kinds_seen, kinds_seen
    assert ("move" in kinds_seen) == (not teleport), "MOVE is valid exactly when teleportation is off"


@pytest.mark.parametrize("size", [(3, 4, 3), (4, 5, 3)])
@pytest.mark.parametrize("infinite", [True, False])
@pytest.mark.parametrize("teleport", [False, True])
def test_reference_mask_marks_exactly_the_actions_that_change_something(size, infinite, teleport):
    """The same exactness for the reference (so that comparing masks compares the rules)."""
    rng = np.random.default_rng(7)
    setup = random_setup(
        rng, size, 2, infinite_blocks=infinite, teleportation=teleport, scramble=True, starting_inventory=1
    )
    ref = reference_from_setup(setup)
    for player in range(2):
        mask = ref.action_mask(player)
        assert mask[0]
        for action, valid in enumerate(mask):
            game = copy.deepcopy(ref)
            before = (copy.deepcopy(game.blocks), copy.deepcopy(game.feet), copy.deepcopy(game.inventories))
            game.step([action if p == player else 0 for p in range(2)])
            changed = (game.blocks, game.feet, game.inventories) != before
            assert changed == (valid and action != 0), f"player {player} action {action}"


@pytest.mark.parametrize("infinite", [True, False])
@pytest.mark.parametrize("teleport", [False, True])
@pytest.mark.parametrize("size", [(3, 4, 3), (6, 6, 6), (7, 5, 4)])
def test_incremental_edit_distance_equals_recomputation(size, infinite, teleport):
    rng = np.random.default_rng(11)
    for trial in range(3):
        setup = random_setup(
            rng,
            size,
            1 + trial,
            infinite_blocks=infinite,
            teleportation=teleport,
            scramble=trial == 1,
            starting_inventory=3,
        )
        core = CoreGame(setup, num_envs=1)
        assert_consistent_distance(core)
        distances = {int(core.state.env_ints[0, ENV_EDIT_DISTANCE])}
        for _ in range(60):
            random_valid_steps(core, rng, steps=1)
            assert_consistent_distance(core)
            distances.add(int(core.state.env_ints[0, ENV_EDIT_DISTANCE]))
        assert len(distances) > 1, "the random steps never changed the edit distance"


@pytest.mark.parametrize(
    "size, players, infinite, teleport",
    [
        ((11, 10, 10), 2, True, False),
        ((7, 6, 7), 3, True, False),
        ((6, 6, 6), 2, False, False),
        ((6, 6, 6), 2, True, True),
    ],
)
def test_refreshed_mask_equals_the_mask_written_afresh(size, players, infinite, teleport):
    """``refresh_action_mask`` after each step (scrambled worlds, every player as the viewer,
    viewers idle half of the steps so that the local update runs) gives exactly the mask
    ``write_action_mask`` writes from the new state."""
    rng = np.random.default_rng(hash((size, players, infinite, teleport)) % 2**32)
    local_updates = 0
    for trial in range(4):
        setup = random_setup(
            rng, size, players, infinite_blocks=infinite, teleportation=teleport, scramble=trial > 0,
            starting_inventory=3,
        )  # fmt: skip
        core = CoreGame(setup)
        masks = [core.mask(player) for player in range(players)]
        scratches = [np.zeros(mask_scratch_size(int(np.prod(size))), dtype=np.int32) for _ in range(players)]
        for _ in range(60):
            actions = []
            for player in range(players):
                draw = rng.random()
                if draw < 0.5:
                    actions.append(0)
                elif draw < 0.9:
                    actions.append(int(rng.choice(np.flatnonzero(masks[player]))))
                else:
                    actions.append(int(rng.integers(core.n_actions)))
            core.step(actions)
            for player in range(players):
                call_kernel(
                    refresh_action_mask,
                    core.arrays(0),
                    mask=masks[player],
                    params=core.params,
                    player=player,
                    scratch=scratches[player],
                )
                fresh = core.mask(player)
                mismatched = np.flatnonzero(masks[player] != fresh)
                assert mismatched.size == 0, (
                    f"trial {trial} player {player}: entries {mismatched[:10]} differ"
                )
                local_updates += actions[player] == 0 and any(actions)
    assert local_updates > 50
