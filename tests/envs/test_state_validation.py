"""``set_state`` checks every value the compiled kernels rely on (mbag_env.core.validation).

A valid state comes from a real env after a few random masked steps; hypothesis mutates one entry of
one field. Out-of-range or inconsistent values must raise a ``ValueError`` naming the field, the index
and the value, and leave the env untouched; in-range mutations that keep the state consistent must be
accepted, and stepping from them must work. The cases that crashed the process before the checks
existed (a player at x = 10**9 segfaulted ``write_observations``) run in a subprocess, so a crash fails
the test instead of killing pytest.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mbag_env
from mbag_env.blocks import AIR, BEDROCK, NUM_BLOCK_TYPES
from mbag_env.core.state import (
    ENV_BEST_EDIT_DISTANCE,
    ENV_EDIT_DISTANCE,
    ENV_INITIAL_EDIT_DISTANCE,
    ENV_RNG,
    ENV_STEPS_WITHOUT_PROGRESS,
    ENV_TERMINATED,
    ENV_TIMESTEP,
    ENV_TRUNCATED,
    INFINITE_BLOCK_COUNT,
    PLAYER_CORRECT_BREAKS,
    PLAYER_CORRECT_PLACES,
    PLAYER_INCORRECT_BREAKS,
    PLAYER_INCORRECT_PLACES,
    PLAYER_INVENTORY,
    PLAYER_LAST_ACTION,
    PLAYER_LAST_DELTA,
    PLAYER_LAST_VALID,
    PLAYER_X,
    PLAYER_Y,
    PLAYER_Z,
)
from mbag_env.core.validation import StateError, derived_fields

SIZE = (6, 6, 6)
WIDTH, HEIGHT, DEPTH = SIZE
PLAYERS = 2
HORIZON = 100
OUT_OF_RANGE_EXAMPLES = 1000
IN_RANGE_EXAMPLES = 300
FUZZ_SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def make_env() -> mbag_env.MbagEnv:
    return mbag_env.MbagEnv(
        world_size=SIZE,
        num_players=PLAYERS,
        agent=1,
        horizon=HORIZON,
        infinite_blocks=False,
        starting_inventory=3,
    )


def random_masked_step(env: mbag_env.MbagEnv, rng: np.random.Generator) -> tuple[Any, ...]:
    return env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))


@cache
def valid_state() -> dict[str, Any]:
    """A state after 12 random masked steps (placements, breaks and moves happened)."""
    env = make_env()
    env.reset(seed=3)
    rng = np.random.default_rng(5)
    for _ in range(12):
        random_masked_step(env, rng)
    state = env.get_state()
    assert not state["needs_reset"] and state["world"]["env_ints"][ENV_EDIT_DISTANCE] > 0
    return state


@cache
def shared_env() -> mbag_env.MbagEnv:
    env = make_env()
    env.reset(seed=0)
    return env


def fresh_state() -> dict[str, Any]:
    return copy.deepcopy(valid_state())


def assert_same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["needs_reset"] == b["needs_reset"]
    for name, value in a["world"].items():
        np.testing.assert_array_equal(value, b["world"][name], err_msg=name)


def test_real_states_round_trip() -> None:
    env = shared_env()
    env.set_state(valid_state())
    assert_same_state(env.get_state(), valid_state())
    never_reset = make_env()
    never_reset.set_state(never_reset.get_state())  # the all-zero row before reset is accepted
    rng = np.random.default_rng(1)
    for _ in range(HORIZON):  # every state of an episode is accepted, up to the end
        env.set_state(env.get_state())
        _, _, terminated, truncated, _ = random_masked_step(env, rng)
        if terminated or truncated:
            break
    assert env.get_state()["needs_reset"]
    env.set_state(env.get_state())


# --------------------------------------------------------------------------- out of range
Mutation = tuple[str, tuple[int, ...], int]
"""(field, index within the row, new value)."""


def _cell(draw: Callable[..., Any], low_y: int = 0) -> tuple[int, int, int]:
    return (
        draw(st.integers(0, WIDTH - 1)),
        draw(st.integers(low_y, HEIGHT - 1)),
        draw(st.integers(0, DEPTH - 1)),
    )


def _outside(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers outside ``[low, high]`` (int64), near the edges and far away."""
    return st.one_of(
        st.integers(-(2**62), low - 1),
        st.integers(high + 1, 2**62),
        st.sampled_from([low - 1, high + 1, -(10**9), 10**9]),
    )


@st.composite
def bad_mutations(draw: Callable[..., Any]) -> Mutation:
    state = valid_state()["world"]
    ints = state["env_ints"]
    player = draw(st.integers(0, PLAYERS - 1))
    kind = draw(
        st.sampled_from(
            [
                "block_id",
                "goal_id",
                "bedrock_layer",
                "bedrock_above",
                "last_interacted",
                "position",
                "inventory",
                "inventory_air",
                "counter",
                "last_action",
                "last_valid",
                "last_delta",
                "timestep",
                "edit_distance",
                "initial_best",
                "steps_without_progress",
                "flag",
                "terminated",
                "layer_errors",
                "solid_neighbours",
            ]
        )
    )
    if kind in ("block_id", "goal_id"):
        field = "blocks" if kind == "block_id" else "goal"
        return field, _cell(draw), draw(st.integers(NUM_BLOCK_TYPES, 255))
    if kind == "bedrock_layer":
        field = draw(st.sampled_from(["blocks", "goal"]))
        x, _, z = _cell(draw)
        return field, (x, 0, z), draw(st.sampled_from([AIR, *range(2, NUM_BLOCK_TYPES)]))
    if kind == "bedrock_above":
        return draw(st.sampled_from(["blocks", "goal"])), _cell(draw, low_y=1), BEDROCK
    if kind == "last_interacted":
        return "last_interacted", _cell(draw), draw(st.integers(PLAYERS + 1, 255))
    if kind == "position":
        column, high = draw(
            st.sampled_from([(PLAYER_X, WIDTH - 1), (PLAYER_Y, HEIGHT - 2), (PLAYER_Z, DEPTH - 1)])
        )
        return "player_ints", (player, column), draw(_outside(0, high))
    if kind == "inventory":
        column = PLAYER_INVENTORY + draw(st.integers(2, NUM_BLOCK_TYPES - 1))
        return "player_ints", (player, column), draw(_outside(0, INFINITE_BLOCK_COUNT))
    if kind == "inventory_air":
        column = PLAYER_INVENTORY + draw(st.sampled_from([AIR, BEDROCK]))
        return "player_ints", (player, column), draw(st.integers(1, INFINITE_BLOCK_COUNT))
    if kind == "counter":
        column = draw(
            st.sampled_from(
                [
                    PLAYER_CORRECT_PLACES,
                    PLAYER_INCORRECT_PLACES,
                    PLAYER_CORRECT_BREAKS,
                    PLAYER_INCORRECT_BREAKS,
                ]
            )
        )
        return "player_ints", (player, column), draw(st.integers(-(2**62), -1))
    if kind == "last_action":
        return (
            "player_ints",
            (player, PLAYER_LAST_ACTION),
            draw(_outside(0, shared_env().batch.actions.n - 1)),
        )
    if kind == "last_valid":
        return "player_ints", (player, PLAYER_LAST_VALID), draw(_outside(0, 1))
    if kind == "last_delta":
        return "player_ints", (player, PLAYER_LAST_DELTA), draw(_outside(-1, 1))
    if kind == "timestep":
        return "env_ints", (ENV_TIMESTEP,), draw(_outside(0, HORIZON))
    if kind == "edit_distance":
        true = int(ints[ENV_EDIT_DISTANCE])
        return (
            "env_ints",
            (ENV_EDIT_DISTANCE,),
            draw(st.integers(-(2**62), 2**62).filter(lambda v: v != true)),
        )
    if kind == "initial_best":
        column = draw(st.sampled_from([ENV_INITIAL_EDIT_DISTANCE, ENV_BEST_EDIT_DISTANCE]))
        value = draw(_outside(0, 2 * WIDTH * HEIGHT * DEPTH))
        return "env_ints", (column,), value
    if kind == "steps_without_progress":
        return "env_ints", (ENV_STEPS_WITHOUT_PROGRESS,), draw(_outside(0, int(ints[ENV_TIMESTEP])))
    if kind == "flag":
        return "env_ints", (draw(st.sampled_from([ENV_TERMINATED, ENV_TRUNCATED])),), draw(_outside(0, 1))
    if kind == "terminated":  # the goal is not complete in this state
        return "env_ints", (ENV_TERMINATED,), 1
    if kind == "layer_errors":
        y = draw(st.integers(0, HEIGHT - 1))
        true = int(state["layer_errors"][y])
        return "layer_errors", (y,), draw(st.integers(0, 2**31 - 1).filter(lambda v: v != true))
    x, y, z = _cell(draw)
    true = int(state["solid_neighbours"][x, y, z])
    return "solid_neighbours", (x, y, z), draw(st.integers(0, 255).filter(lambda v: v != true))


@settings(FUZZ_SETTINGS, max_examples=OUT_OF_RANGE_EXAMPLES)
@given(bad_mutations())
def test_out_of_range_values_are_rejected_naming_field_index_and_value(mutation: Mutation) -> None:
    field, index, value = mutation
    env = shared_env()
    env.set_state(valid_state())
    state = fresh_state()
    state["world"][field][index] = value
    with pytest.raises(ValueError) as raised:
        env.set_state(state)
    error = raised.value
    assert isinstance(error, StateError), error
    assert (error.field, error.index, error.value) == (field, index, value)
    message = str(error)
    assert f"'{field}'" in message and str(index) in message and str(value) in message
    assert_same_state(env.get_state(), valid_state())  # nothing was written


def test_consistency_rules() -> None:
    env = shared_env()
    ended = fresh_state()
    ended["world"]["env_ints"][ENV_TIMESTEP] = HORIZON
    ended["world"]["env_ints"][ENV_TRUNCATED] = 1
    env.set_state({**ended, "needs_reset": True})  # an episode that ended at the horizon
    with pytest.raises(ValueError, match="needs_reset'] must be True"):
        env.set_state(ended)
    not_truncated = fresh_state()
    not_truncated["world"]["env_ints"][ENV_TIMESTEP] = HORIZON
    with pytest.raises(StateError, match=r"ENV_TRUNCATED\) holds 0: with timestep 100, horizon 100"):
        env.set_state(not_truncated)
    best = fresh_state()
    ints = best["world"]["env_ints"]
    ints[ENV_BEST_EDIT_DISTANCE] = ints[ENV_INITIAL_EDIT_DISTANCE] + 1
    with pytest.raises(StateError, match="exceeds the initial one"):
        env.set_state(best)
    counters = fresh_state()
    counters["world"]["player_ints"][0, PLAYER_CORRECT_PLACES] = 13  # 12 steps were taken
    with pytest.raises(StateError, match="more than the 12 steps taken"):
        env.set_state(counters)
    invalid = fresh_state()
    invalid["world"]["player_ints"][1, PLAYER_LAST_VALID] = 0
    invalid["world"]["player_ints"][1, PLAYER_LAST_DELTA] = 1
    with pytest.raises(StateError, match="an invalid action changes nothing"):
        env.set_state(invalid)
    wrong_dtype = fresh_state()
    wrong_dtype["world"]["player_ints"] = wrong_dtype["world"]["player_ints"].astype(np.int32)
    expected = r"'player_ints' holds shape \(2, 20\) and dtype int32: expected .* dtype int64"
    with pytest.raises(StateError, match=expected):
        env.set_state(wrong_dtype)
    with pytest.raises(ValueError, match="needs_reset'] must be True or False"):
        env.set_state({**fresh_state(), "needs_reset": "no"})
    assert_same_state(env.get_state(), ended | {"needs_reset": True})


def test_parallel_env_set_state_is_checked() -> None:
    env = mbag_env.parallel_env(world_size=SIZE)
    env.reset(seed=2)
    state = env.get_state()
    env.set_state(state)
    bad = copy.deepcopy(state)
    bad["world"]["player_ints"][1, PLAYER_Z] = 10**9
    with pytest.raises(
        StateError, match=r"'player_ints' at index \(1, 2\) \(player 1, PLAYER_Z\) holds 1000000000"
    ):
        env.set_state(bad)
    with pytest.raises(ValueError, match="must list all of"):
        env.set_state({**state, "agents": ["human", "nobody"]})
    ended = copy.deepcopy(state)
    ended["world"]["env_ints"][ENV_TIMESTEP] = env.config.horizon
    ended["world"]["env_ints"][ENV_TRUNCATED] = 1
    with pytest.raises(ValueError, match="must be empty"):
        env.set_state(ended)
    env.set_state({**ended, "agents": []})
    assert env.agents == []


# ----------------------------------------------------------------------------- in range
@st.composite
def good_mutations(draw: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    state = fresh_state()
    world = state["world"]
    player = draw(st.integers(0, PLAYERS - 1))
    kind = draw(st.sampled_from(["position", "inventory", "timestep", "block", "rng", "last_interacted"]))
    if kind == "position":  # anywhere the body is inside the world, even inside blocks
        world["player_ints"][player, PLAYER_X] = draw(st.integers(0, WIDTH - 1))
        world["player_ints"][player, PLAYER_Y] = draw(st.integers(0, HEIGHT - 2))
        world["player_ints"][player, PLAYER_Z] = draw(st.integers(0, DEPTH - 1))
    elif kind == "inventory":
        column = PLAYER_INVENTORY + draw(st.integers(2, NUM_BLOCK_TYPES - 1))
        world["player_ints"][player, column] = draw(st.integers(0, INFINITE_BLOCK_COUNT - 1))
    elif kind == "timestep":
        world["env_ints"][ENV_TIMESTEP] = draw(st.integers(12, HORIZON - 1))
    elif kind == "block":  # a different block, with the derived counts recomputed
        world["blocks"][_cell(draw, low_y=1)] = draw(st.sampled_from([AIR, *range(2, NUM_BLOCK_TYPES)]))
        distance, layer_errors, solid_neighbours = derived_fields(world["blocks"], world["goal"])
        world["env_ints"][ENV_EDIT_DISTANCE] = distance
        world["layer_errors"][:] = layer_errors
        world["solid_neighbours"][:] = solid_neighbours
    elif kind == "rng":
        world["env_ints"][ENV_RNG] = draw(st.integers(-(2**63), 2**63 - 1))
    else:
        world["last_interacted"][_cell(draw)] = draw(st.integers(0, PLAYERS))
    return kind, state


@settings(FUZZ_SETTINGS, max_examples=IN_RANGE_EXAMPLES)
@given(good_mutations(), st.integers(0, 2**32 - 1))
def test_in_range_consistent_states_are_accepted_and_step(
    mutation: tuple[str, dict[str, Any]], seed: int
) -> None:
    kind, state = mutation
    env = shared_env()
    observation = env.set_state(state)
    assert_same_state(env.get_state(), state)
    world = state["world"]
    np.testing.assert_array_equal(observation["world"][0], world["blocks"])
    inventory = world["player_ints"][1, PLAYER_INVENTORY : PLAYER_INVENTORY + NUM_BLOCK_TYPES]
    np.testing.assert_array_equal(observation["inventory"], inventory)
    x, y, z = world["player_ints"][1, :3]
    assert observation["world"][1, x, y, z] == 1 and observation["world"][1, x, y + 1, z] == 1
    rng = np.random.default_rng(seed)
    for _ in range(3):
        _, reward, terminated, truncated, info = random_masked_step(env, rng)
        assert info["timestep"] <= HORIZON and abs(reward) <= 2
        env.set_state(env.get_state())  # every state the kernels produce is accepted again
        if terminated or truncated:
            break


# ------------------------------------------------------------------ former crashes, in a subprocess
CRASH_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import mbag_env
    from mbag_env.core.state import ENV_EDIT_DISTANCE, ENV_TIMESTEP, PLAYER_X, PLAYER_Y, PLAYER_Z

    CASES = {
        "x = 10**9": ("player_ints", (0, PLAYER_X), 10**9),
        "z = -10**9": ("player_ints", (1, PLAYER_Z), -(10**9)),
        "head above the world": ("player_ints", (0, PLAYER_Y), 5),
        "block id 200": ("blocks", (2, 2, 2), 200),
        "goal id 250": ("goal", (3, 3, 3), 250),
        "timestep 10**18": ("env_ints", (ENV_TIMESTEP,), 10**18),
        "negative edit distance": ("env_ints", (ENV_EDIT_DISTANCE,), -5),
        "label 200": ("last_interacted", (1, 2, 1), 200),
    }
    for name, (field, index, value) in CASES.items():
        env = mbag_env.MbagEnv(
            world_size=(6, 6, 6), num_players=2, agent=1, infinite_blocks=False, starting_inventory=2,
            teleportation=True,
        )
        env.reset(seed=0)
        state = env.get_state()
        state["world"][field][index] = value
        try:
            env.set_state(state)  # used to write the observation straight from these values
        except ValueError as error:
            print(f"{name}: rejected: {error}", flush=True)
            continue
        env.step(env.batch.actions.encode("break", (2, 2, 2)))
        print(f"{name}: ACCEPTED", flush=True)
    """
)


def test_former_crashes_are_clean_errors_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"exit {result.returncode} (negative: killed by a signal)\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert len(lines) == 8, result.stdout
    fields = [
        "player_ints",
        "player_ints",
        "player_ints",
        "blocks",
        "goal",
        "env_ints",
        "env_ints",
        "last_interacted",
    ]
    for line, field in zip(lines, fields, strict=True):
        assert ": rejected: state field " in line and f"'{field}'" in line, line
    assert "holds 1000000000: feet x must be in [0, 6)" in lines[0]
    assert "holds 5: feet y must be in [0, 5)" in lines[2]
    assert "holds 200: block ids are 0..9" in lines[3]
