"""Drive the compiled core kernels from the tests, and build matching reference games.

:class:`CoreGame` holds a one-world (or N-world) :class:`BatchState` and calls the kernels
exactly as the environments do (``reset_world``, ``step_worlds``, ``write_action_mask``).
:func:`random_setup` draws a random but valid situation (world, goal, players, inventories)
that both a :class:`CoreGame` and a :class:`~tests.core.reference_rules.ReferenceGame` are
built from, and :func:`assert_same_state` compares the two.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

import numpy as np

from mbag_env.core import state
from mbag_env.core import step as step_module
from mbag_env.core.masks import write_action_mask
from mbag_env.core.reward import count_layer_errors, edit_distance
from mbag_env.core.state import BatchState
from mbag_env.core.step import reset_world
from mbag_env.envs.step_kernels import step_worlds
from mbag_env.humans.goal_seeking import human_scratch_size
from tests.core.reference_rules import (
    AIR,
    BEDROCK,
    NUM_BLOCK_TYPES,
    PLACEABLE,
    ReferenceGame,
    Shaping,
    num_actions,
)

recount_world = getattr(step_module, "recount_world", None)
"""The core's recount of derived state after writing blocks directly, where it has one."""

INVENTORY = slice(state.PLAYER_INVENTORY, state.PLAYER_INVENTORY + NUM_BLOCK_TYPES)
"""The ``player_ints`` columns of a player's inventory."""


def make_params(
    num_players: int,
    infinite_blocks: bool,
    teleportation: bool,
    *,
    horizon: int = 1500,
    terminate_on_goal: bool = True,
    no_progress_limit: int = 0,
    starting_inventory: int = 0,
) -> np.ndarray:
    params = np.zeros(state.NUM_PARAMS, dtype=np.int64)
    params[state.PARAM_NUM_PLAYERS] = num_players
    params[state.PARAM_INFINITE_BLOCKS] = int(infinite_blocks)
    params[state.PARAM_TELEPORTATION] = int(teleportation)
    params[state.PARAM_HORIZON] = horizon
    params[state.PARAM_TERMINATE_ON_GOAL] = int(terminate_on_goal)
    params[state.PARAM_NO_PROGRESS_LIMIT] = no_progress_limit
    params[state.PARAM_STARTING_INVENTORY] = starting_inventory
    return params


def shaping_table(shaping: list[Shaping]) -> np.ndarray:
    """The (P, 4) float64 table in the core's column order (noop, action, incorrect, own prop)."""
    return np.array(
        [[s.noop, s.action, s.incorrect_action, s.own_reward_prop] for s in shaping], dtype=np.float64
    ).reshape(len(shaping), 4)


@dataclass
class Setup:
    """Everything needed to build the same game in the core and in the reference."""

    size: tuple[int, int, int]
    goal: np.ndarray
    blocks: np.ndarray | None  # None: the initial world of reset_world
    feet: list[tuple[int, int, int]]
    infinite_blocks: bool = True
    teleportation: bool = False
    starting_inventory: int = 0
    inventories: np.ndarray | None = None  # (P, 10) to override the starting inventory
    shaping: list[Shaping] | None = None
    horizon: int = 1500
    terminate_on_goal: bool = True
    no_progress_limit: int = 0

    @property
    def num_players(self) -> int:
        return len(self.feet)


class CoreGame:
    """A batch of ``num_envs`` identical worlds stepped by the compiled kernels.

    Kernels are called with their arguments by name, from the :class:`BatchState` fields and
    the values below, so that the harness follows the kernels' signatures.
    """

    def __init__(self, setup: Setup, num_envs: int = 1):
        players = setup.num_players
        self.setup = setup
        self.num_envs = num_envs
        self.state = BatchState.allocate(num_envs, setup.size, players)
        self.params = make_params(
            players,
            setup.infinite_blocks,
            setup.teleportation,
            horizon=setup.horizon,
            terminate_on_goal=setup.terminate_on_goal,
            no_progress_limit=setup.no_progress_limit,
            starting_inventory=setup.starting_inventory,
        )
        self.shaping = shaping_table(setup.shaping or [Shaping() for _ in range(players)])
        self.n_actions = num_actions(setup.size, setup.infinite_blocks)
        self.scratch = np.zeros(human_scratch_size(setup.size), dtype=np.int32)
        s = self.state
        s.goal[:] = setup.goal
        starts = np.array(setup.feet, dtype=np.int64).reshape(players, 3)
        for env in range(num_envs):
            call_kernel(
                reset_world,
                self.arrays(),
                params=self.params,
                env=env,
                start_positions=starts,
                rng_seed=12345 + env,
            )
        if setup.blocks is not None:
            s.blocks[:] = setup.blocks
            for env in range(num_envs):
                self.recount(env)
                d = s.env_ints[env, state.ENV_EDIT_DISTANCE]
                s.env_ints[env, state.ENV_INITIAL_EDIT_DISTANCE] = d
                s.env_ints[env, state.ENV_BEST_EDIT_DISTANCE] = d
        if setup.inventories is not None:
            s.player_ints[:, :, INVENTORY] = setup.inventories

    def arrays(self, env: int | None = None) -> dict[str, np.ndarray]:
        """The state arrays by field name (one world's rows when ``env`` is given)."""
        return {
            name: getattr(self.state, name) if env is None else getattr(self.state, name)[env]
            for name in state_field_names()
        }

    def recount(self, env: int) -> None:
        """Recompute world ``env``'s derived state after its blocks were written directly."""
        if recount_world is not None:
            call_kernel(recount_world, self.arrays(env))
            return
        s = self.state
        s.env_ints[env, state.ENV_EDIT_DISTANCE] = edit_distance(s.blocks[env], s.goal[env])
        count_layer_errors(s.blocks[env], s.goal[env], s.layer_errors[env])

    def step(self, actions, active=None, kernel=None) -> np.ndarray:
        """Step every world with the same joint action (or per-world actions if 2-D).

        ``kernel`` is ``step_worlds`` (default) or another kernel with its parameters.
        """
        actions = np.asarray(actions, dtype=np.int64)
        if actions.ndim == 1:
            actions = np.tile(actions, (self.num_envs, 1))
        assert actions.shape == (self.num_envs, self.setup.num_players)
        assert not (actions == -1).any(), "-1 means the scripted human"
        if active is None:
            active = np.ones(self.num_envs, dtype=np.bool_)
        rewards = np.full((self.num_envs, self.setup.num_players), np.nan, dtype=np.float64)
        call_kernel(
            kernel or step_worlds,
            self.arrays(),
            self._auxiliary_arguments(),
            params=self.params,
            shaping=self.shaping,
            actions=actions,
            active=np.asarray(active, dtype=np.bool_),
            rewards=rewards,
        )
        return rewards

    def _auxiliary_arguments(self) -> dict:
        """Step-kernel arguments beyond the rules' own: the scripted human's model and work
        space (unused here, as no action is -1) and the observation mirror (skipped)."""
        arguments = {
            "scratch": self.scratch,
            "mirror": np.zeros((self.num_envs, 0, 1, 1, 1), dtype=np.uint8),
            "viewer": 0,
            "next_world": np.zeros(1, dtype=np.int64),
            "chunk_size": 1,
        }
        try:
            from mbag_env.humans import HumanModel
        except ImportError:  # a core without human models does not take the argument
            return arguments
        arguments["human_model"] = HumanModel().as_array()
        return arguments

    def mask(self, player: int, env: int = 0) -> np.ndarray:
        mask = np.zeros(self.n_actions, dtype=np.bool_)
        call_kernel(write_action_mask, self.arrays(env), mask=mask, params=self.params, player=player)
        return mask

    def feet(self, env: int = 0) -> list[tuple[int, int, int]]:
        return [
            tuple(int(c) for c in row[state.PLAYER_X : state.PLAYER_Z + 1])
            for row in self.state.player_ints[env]
        ]

    def inventories(self, env: int = 0) -> np.ndarray:
        return self.state.player_ints[env, :, INVENTORY].copy()


def state_field_names() -> list[str]:
    return [field.name for field in dataclasses.fields(BatchState)]


def call_kernel(kernel, *available: dict, **more):
    """Call a compiled kernel with its parameters picked by name from ``available``/``more``."""
    arguments = {}
    for mapping in available:
        arguments.update(mapping)
    arguments.update(more)
    names = list(inspect.signature(getattr(kernel, "py_func", kernel)).parameters)
    unknown = [name for name in names if name not in arguments]
    assert not unknown, f"the test harness has no value for {kernel.__name__}'s parameters {unknown}"
    return kernel(**{name: arguments[name] for name in names})


def reference_from_setup(setup: Setup) -> ReferenceGame:
    """The reference game of ``setup``, built without the core (initial world by hand)."""
    width, height, depth = setup.size
    if setup.blocks is None:
        blocks = np.zeros(setup.size, dtype=np.int64)
        blocks[:, 0, :] = BEDROCK
        blocks[:, 1, :] = 2  # dirt
    else:
        blocks = setup.blocks
    players = setup.num_players
    if setup.inventories is not None:
        inventories = np.asarray(setup.inventories).tolist()
    elif setup.infinite_blocks:
        inventories = [[0] * NUM_BLOCK_TYPES for _ in range(players)]
    else:
        inventories = [
            [setup.starting_inventory if b in PLACEABLE else 0 for b in range(NUM_BLOCK_TYPES)]
            for _ in range(players)
        ]
    return ReferenceGame(
        blocks=blocks,
        goal=setup.goal,
        feet=[list(f) for f in setup.feet],
        infinite_blocks=setup.infinite_blocks,
        teleportation=setup.teleportation,
        inventories=inventories,
        shaping=list(setup.shaping) if setup.shaping else None,
        horizon=setup.horizon,
        terminate_on_goal=setup.terminate_on_goal,
        no_progress_limit=setup.no_progress_limit,
    )


# --------------------------------------------------------------------------------------
# Random situations
# --------------------------------------------------------------------------------------


def random_goal(rng: np.random.Generator, size: tuple[int, int, int]) -> np.ndarray:
    """Any valid goal: bedrock at y=0, random ids (air favoured, bedrock possible) elsewhere."""
    goal = rng.integers(0, NUM_BLOCK_TYPES, size=size).astype(np.uint8)
    goal[rng.random(size) < rng.uniform(0.2, 0.8)] = AIR
    goal[:, 0, :] = BEDROCK
    return goal


def random_world(rng: np.random.Generator, size: tuple[int, int, int]) -> np.ndarray:
    """A world with bedrock at y=0 and random blocks (sometimes bedrock) elsewhere."""
    blocks = rng.integers(2, NUM_BLOCK_TYPES, size=size).astype(np.uint8)
    blocks[rng.random(size) < 0.03] = BEDROCK
    blocks[rng.random(size) < rng.uniform(0.3, 0.9)] = AIR
    blocks[:, 0, :] = BEDROCK
    return blocks


def random_feet(
    rng: np.random.Generator, blocks: np.ndarray, num_players: int, clear_bodies: bool
) -> list[tuple[int, int, int]]:
    """Feet cells of non-overlapping players whose two body cells are air.

    With ``clear_bodies`` the chosen body cells are emptied in ``blocks`` (feet anywhere from
    y=1); otherwise feet are drawn among cells that already fit a body.
    """
    width, height, depth = blocks.shape
    taken: set[tuple[int, int, int]] = set()
    feet = []
    for _ in range(num_players):
        candidates = [
            (x, y, z)
            for x in range(width)
            for y in range(1, height - 1)
            for z in range(depth)
            if (x, y, z) not in taken
            and (x, y + 1, z) not in taken
            and (clear_bodies or (blocks[x, y, z] == AIR and blocks[x, y + 1, z] == AIR))
        ]
        assert candidates, "no room for a player"
        x, y, z = candidates[rng.integers(len(candidates))]
        feet.append((x, y, z))
        taken.update({(x, y, z), (x, y + 1, z)})
        if clear_bodies:
            blocks[x, y, z] = AIR
            blocks[x, y + 1, z] = AIR
    return feet


def random_setup(
    rng: np.random.Generator,
    size: tuple[int, int, int],
    num_players: int,
    *,
    infinite_blocks: bool,
    teleportation: bool,
    scramble: bool,
    starting_inventory: int = 0,
    random_inventories: bool = False,
    shaping: list[Shaping] | None = None,
    horizon: int = 1500,
    terminate_on_goal: bool = True,
    no_progress_limit: int = 0,
) -> Setup:
    """A random valid situation; ``scramble`` replaces the initial world by random blocks."""
    goal = random_goal(rng, size)
    if scramble:
        blocks = random_world(rng, size)
        feet = random_feet(rng, blocks, num_players, clear_bodies=True)
    else:
        blocks = None
        initial = np.zeros(size, dtype=np.uint8)
        initial[:, :2, :] = 1
        feet = random_feet(rng, initial, num_players, clear_bodies=False)
    inventories = None
    if random_inventories and not infinite_blocks:
        inventories = np.zeros((num_players, NUM_BLOCK_TYPES), dtype=np.int64)
        inventories[:, PLACEABLE[0] :] = rng.integers(0, 3, size=(num_players, len(PLACEABLE)))
    return Setup(
        size=size,
        goal=goal,
        blocks=blocks,
        feet=feet,
        infinite_blocks=infinite_blocks,
        teleportation=teleportation,
        starting_inventory=starting_inventory,
        inventories=inventories,
        shaping=shaping,
        horizon=horizon,
        terminate_on_goal=terminate_on_goal,
        no_progress_limit=no_progress_limit,
    )


# --------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------


def assert_same_state(core: CoreGame, ref: ReferenceGame, env: int = 0, context: str = "") -> None:
    """The core's world ``env`` equals the reference game in every observable quantity."""
    s = core.state
    where = f" ({context})" if context else ""
    np.testing.assert_array_equal(s.blocks[env], np.array(ref.blocks), err_msg=f"blocks differ{where}")
    np.testing.assert_array_equal(
        s.last_interacted[env], np.array(ref.last_interacted), err_msg=f"last_interacted differs{where}"
    )
    assert core.feet(env) == [tuple(f) for f in ref.feet], f"positions differ{where}"
    np.testing.assert_array_equal(
        core.inventories(env), np.array(ref.inventories), err_msg=f"inventories differ{where}"
    )
    e = s.env_ints[env]
    assert e[state.ENV_EDIT_DISTANCE] == ref.distance, f"edit distance{where}"
    assert e[state.ENV_TIMESTEP] == ref.timestep, f"timestep{where}"
    assert e[state.ENV_BEST_EDIT_DISTANCE] == ref.best_distance, f"best edit distance{where}"
    assert e[state.ENV_STEPS_WITHOUT_PROGRESS] == ref.steps_without_progress, f"steps without progress{where}"
    assert bool(e[state.ENV_TERMINATED]) == ref.terminated, f"terminated{where}"
    assert bool(e[state.ENV_TRUNCATED]) == ref.truncated, f"truncated{where}"
    p = s.player_ints[env]
    assert list(p[:, state.PLAYER_CORRECT_PLACES]) == ref.correct_places, f"correct places{where}"
    assert list(p[:, state.PLAYER_INCORRECT_PLACES]) == ref.incorrect_places, f"incorrect places{where}"
    assert list(p[:, state.PLAYER_CORRECT_BREAKS]) == ref.correct_breaks, f"correct breaks{where}"
    assert list(p[:, state.PLAYER_INCORRECT_BREAKS]) == ref.incorrect_breaks, f"incorrect breaks{where}"


def assert_last_step_same(core: CoreGame, ref: ReferenceGame, env: int = 0, context: str = "") -> None:
    """Per-player validity and own edit-distance drop of the last step agree."""
    p = core.state.player_ints[env]
    assert [bool(v) for v in p[:, state.PLAYER_LAST_VALID]] == ref.last_valid, f"action validity ({context})"
    assert list(p[:, state.PLAYER_LAST_DELTA]) == ref.last_own_drop, f"own edit-distance drop ({context})"


def assert_consistent_distance(core: CoreGame, env: int = 0) -> None:
    """The incrementally kept derived state equals full recomputations: the edit distance
    (core's and reference's), the per-layer error counts and, where the core keeps them, the
    per-cell counts of solid neighbours."""
    from tests.core import reference_rules

    s = core.state
    blocks, goal = s.blocks[env], s.goal[env]
    d = int(s.env_ints[env, state.ENV_EDIT_DISTANCE])
    assert d == edit_distance(blocks, goal)
    assert d == reference_rules.edit_distance(blocks.tolist(), goal.tolist())
    recomputed = np.zeros(core.setup.size[1], dtype=np.int32)
    count_layer_errors(blocks, goal, recomputed)
    np.testing.assert_array_equal(s.layer_errors[env], recomputed)
    np.testing.assert_array_equal(
        s.layer_errors[env], reference_rules.layer_errors(blocks.tolist(), goal.tolist())
    )
    if hasattr(s, "solid_neighbours"):
        np.testing.assert_array_equal(
            s.solid_neighbours[env], solid_neighbour_counts(blocks), err_msg="solid_neighbours drifted"
        )


def solid_neighbour_counts(blocks: np.ndarray) -> np.ndarray:
    """For every cell, how many of its (in-world) face neighbours are solid."""
    solid = np.pad(blocks != AIR, 1).astype(np.int64)
    inner = (slice(1, -1),) * 3
    counts = np.zeros(blocks.shape, dtype=np.int64)
    for axis in range(3):
        for shift in (1, -1):
            counts += np.roll(solid, shift, axis=axis)[inner]
    return counts
