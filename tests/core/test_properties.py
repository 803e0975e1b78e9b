"""Property tests: the compiled core and the pure-Python reference play identical games.

Random situations (world sizes from the smallest allowed up, non-cubic and tall ones, 1–3 players,
infinite and finite blocks, teleportation on and off, random goals and optionally random
worlds and positions) are stepped with random joint actions in both implementations. After
every step the worlds, positions, inventories, edit distances, rewards, episode flags and
every player's action mask must be identical.

Actions are biased toward valid ones: half of them are drawn from the acting player's mask at
the start of the step, so most steps really change the world (and later players sometimes
find their masked-valid action invalidated by an earlier player, which must then be a no-op).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mbag_env.core.actions import ActionSpace
from mbag_env.envs.step_kernels import step_worlds
from mbag_env.envs.world_threads import WORLD_THREADS
from tests.core.harness import (
    CoreGame,
    Setup,
    assert_consistent_distance,
    assert_last_step_same,
    assert_same_state,
    random_setup,
    reference_from_setup,
)
from tests.core.reference_rules import ReferenceGame, Shaping, decode

SIZES = [(3, 4, 3), (5, 5, 5), (6, 6, 6), (7, 5, 4), (4, 6, 3), (3, 10, 4)]
"""The smallest allowed world, the small preset, non-cubic ones, and a tall one (cells up to
six above the feet are in reach)."""

PROPERTY_SETTINGS = settings(
    max_examples=90,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

shaping_values = st.sampled_from([0.0, 0.0, 0.5, -0.25, 1.0, -1.0])
shapings = st.builds(
    Shaping,
    noop=shaping_values,
    action=shaping_values,
    incorrect_action=shaping_values,
    own_reward_prop=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
)


@st.composite
def setups(draw, sizes=SIZES) -> Setup:
    size = draw(st.sampled_from(sizes))
    players = draw(st.integers(1, 3))
    infinite = draw(st.booleans())
    return random_setup(
        np.random.default_rng(draw(st.integers(0, 2**32 - 1))),
        size,
        players,
        infinite_blocks=infinite,
        teleportation=draw(st.booleans()),
        scramble=draw(st.booleans()),
        starting_inventory=0 if infinite else draw(st.integers(0, 3)),
        random_inventories=not infinite and draw(st.booleans()),
        shaping=draw(st.lists(shapings, min_size=players, max_size=players)),
        horizon=draw(st.integers(1, 30)),
        terminate_on_goal=draw(st.booleans()),
        no_progress_limit=draw(st.integers(0, 6)),
    )


def draw_action(data, mask: np.ndarray, label: str) -> int:
    """Half the time a valid action from ``mask``, else a move, a NOOP or any index."""
    kinds = ["valid"] * 5 + ["move"] * 2 + ["noop"] + ["any"] * 2
    how = data.draw(st.sampled_from(kinds), label=f"{label} kind")
    if how == "valid":
        valid = np.flatnonzero(mask)
        return int(valid[data.draw(st.integers(0, len(valid) - 1), label=label)])
    if how == "move":
        return data.draw(st.integers(1, 6), label=label)
    if how == "noop":
        return 0
    return data.draw(st.integers(0, len(mask) - 1), label=label)


def assert_same_masks(core: CoreGame, ref: ReferenceGame, context: str) -> list[np.ndarray]:
    masks = []
    for player in range(ref.num_players):
        core_mask = core.mask(player)
        ref_mask = np.array(ref.action_mask(player), dtype=bool)
        if not np.array_equal(core_mask, ref_mask):
            space = ActionSpace(ref.size, ref.infinite_blocks)
            differing = np.flatnonzero(core_mask != ref_mask)[:6]
            wrong = [(space.describe(int(a)), bool(ref_mask[a])) for a in differing]
            pytest.fail(f"mask of player {player} differs ({context}); (action, reference) e.g. {wrong}")
        assert core_mask[0], "NOOP must always be valid"
        masks.append(ref_mask)
    return masks


@PROPERTY_SETTINGS
@given(setup=setups(), data=st.data())
def test_core_plays_like_the_reference(setup: Setup, data):
    core = CoreGame(setup)
    ref = reference_from_setup(setup)
    assert_same_state(core, ref, context="after reset")
    assert_consistent_distance(core)
    steps = data.draw(st.integers(1, 12), label="steps")
    for t in range(steps):
        masks = assert_same_masks(core, ref, context=f"before step {t}")
        actions = [draw_action(data, masks[p], f"step {t} player {p}") for p in range(ref.num_players)]
        core_rewards = core.step(actions)[0]
        ref_rewards = ref.step(actions)
        context = f"step {t}, actions {actions}"
        assert core_rewards.tolist() == pytest.approx(ref_rewards, abs=1e-12), context
        assert_same_state(core, ref, context=context)
        assert_last_step_same(core, ref, context=context)
        assert_consistent_distance(core)
        for action, valid in zip(actions, ref.last_valid, strict=True):
            event(f"{decode(ref.size, ref.infinite_blocks, action).kind} {'valid' if valid else 'invalid'}")
    assert_same_masks(core, ref, context="at the end")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup=setups(sizes=[(3, 4, 3), (6, 6, 6), (7, 5, 4)]), data=st.data())
def test_batched_worlds_step_independently(setup: Setup, data):
    """Three copies of a world in one batch, each with its own actions, one sometimes inactive:
    every world follows its own reference game and an inactive world does not change."""
    num_envs = 3
    core = CoreGame(setup, num_envs=num_envs)
    refs = [reference_from_setup(setup) for _ in range(num_envs)]
    for t in range(data.draw(st.integers(1, 8), label="steps")):
        active = np.array([True, data.draw(st.booleans(), label=f"step {t} env 1 active"), True])
        actions = np.zeros((num_envs, setup.num_players), dtype=np.int64)
        for env, ref in enumerate(refs):
            for p in range(setup.num_players):
                actions[env, p] = draw_action(data, np.array(ref.action_mask(p)), f"step {t} env {env} p {p}")
        before = {name: getattr(core.state, name)[1].copy() for name in ("blocks", "env_ints", "player_ints")}
        rewards = core.step(actions, active=active)
        for env, ref in enumerate(refs):
            if not active[env]:
                for name, value in before.items():
                    np.testing.assert_array_equal(getattr(core.state, name)[env], value, err_msg=name)
                continue
            ref_rewards = ref.step(actions[env].tolist())
            assert rewards[env].tolist() == pytest.approx(ref_rewards, abs=1e-12)
            assert_same_state(core, ref, env=env, context=f"env {env} step {t}")
            assert_consistent_distance(core, env=env)


def test_biased_random_play_exercises_every_action_kind():
    """The action sampler of the property tests really reaches places, breaks, moves and gives
    (valid ones), and the core agrees with the reference all along (fixed seeds)."""
    rng = np.random.default_rng(2024)
    done = {"move": 0, "place": 0, "break": 0, "give": 0, "invalid": 0}
    for episode in range(12):
        infinite = episode % 2 == 0
        setup = random_setup(
            rng,
            SIZES[episode % len(SIZES)],
            1 + episode % 3,
            infinite_blocks=infinite,
            teleportation=episode % 4 == 1,
            scramble=episode % 3 == 0,
            starting_inventory=2,
        )
        core, ref = CoreGame(setup), reference_from_setup(setup)
        for t in range(10):
            masks = [np.array(ref.action_mask(p)) for p in range(ref.num_players)]
            actions = []
            for mask in masks:
                valid = np.flatnonzero(mask)
                actions.append(int(rng.choice(valid)) if rng.random() < 0.7 else int(rng.integers(len(mask))))
            core_rewards = core.step(actions)[0]
            assert core_rewards.tolist() == pytest.approx(ref.step(actions), abs=1e-12)
            assert_same_state(core, ref, context=f"episode {episode} step {t}")
            for action, valid in zip(actions, ref.last_valid, strict=True):
                kind = decode(ref.size, ref.infinite_blocks, action).kind
                if not valid:
                    done["invalid"] += 1
                elif kind != "noop":
                    done[kind] += 1
    assert all(count > 0 for count in done.values()), done


THREADS = 3


def step_worlds_on_threads(**arguments):
    """``step_worlds`` called by three threads at once (:mod:`mbag_env.envs.world_threads`), the
    worlds handed out one at a time, each thread with its own scratch row."""
    rows = np.zeros((THREADS, arguments["scratch"].shape[0]), dtype=np.int32)

    def run(thread: int) -> None:
        step_worlds(**{**arguments, "scratch": rows[thread]})

    WORLD_THREADS.run(run, THREADS)


step_worlds_on_threads.__signature__ = inspect.signature(step_worlds.py_func)  # type: ignore[attr-defined]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup=setups(), data=st.data())
def test_threaded_step_matches_the_serial_one(setup: Setup, data):
    """``step_worlds`` run by three threads sharing one batch leaves every array as one call does."""
    num_envs = 5
    serial_game, threaded_game = CoreGame(setup, num_envs), CoreGame(setup, num_envs)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="action seed"))
    for _ in range(6):
        actions = np.zeros((num_envs, setup.num_players), dtype=np.int64)
        for env in range(num_envs):
            for player in range(setup.num_players):
                valid = np.flatnonzero(serial_game.mask(player, env))
                actions[env, player] = (
                    rng.choice(valid) if rng.random() < 0.7 else rng.integers(serial_game.n_actions)
                )
        active = rng.random(num_envs) < 0.8
        expected = serial_game.step(actions, active)
        got = threaded_game.step(actions, active, kernel=step_worlds_on_threads)
        np.testing.assert_array_equal(got[active], expected[active])
        for name in ("blocks", "last_interacted", "env_ints", "player_ints", "layer_errors"):
            np.testing.assert_array_equal(
                getattr(threaded_game.state, name), getattr(serial_game.state, name)
            )
