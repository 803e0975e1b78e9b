"""Value checks for a state row before any compiled kernel sees it (the core's trust boundary).

The kernels are compiled without bounds checks: they index arrays with block ids, player
positions and action indices straight from the state, so a value out of range reads or writes
outside the arrays (a player at ``x = 10**9`` crashes :func:`~mbag_env.core.observe.write_observations`;
a block id of 200 makes a finite-blocks BREAK add one to ``player_ints[p, 3 + 200]``, past the
player's row). :func:`validate_state_row` checks every value a kernel relies on, plus the
consistency of the counters that decide rewards and the end of an episode, and raises
:class:`StateError` (a ``ValueError``) naming the field, the index and the value.

What is checked (``W×H×D`` world, ``P`` players, ``n`` actions; a row is what
:meth:`~mbag_env.core.state.BatchState.get_row` returns):

- every field present with the shape and dtype of :meth:`~mbag_env.core.state.BatchState.allocate`;
- ``blocks`` and ``goal``: block ids in ``0..9``, bedrock in the whole ``y = 0`` layer and nowhere
  else (bedrock can be neither placed nor broken, and the scripted human turns a goal block into a
  PLACE action as ``goal - 2``, so a goal that wants bedrock on air would give it a negative slot);
- ``last_interacted``: ``0..P`` (0 nobody, else 1 + a player index);
- ``player_ints``: feet inside the world with the head cell too (``0 <= x < W``,
  ``0 <= y < H - 1``, ``0 <= z < D``; every player always has a body: the core has no convention
  for an absent player); inventory counts in ``[0, INFINITE_BLOCK_COUNT]`` (what the inventory
  observation can show), 0 for air and bedrock (they never enter an inventory) and 0 everywhere
  with infinite blocks (the kernels never touch it then); the four place/break counters
  non-negative and together at most the timestep (one action per player per step); the last
  action in ``[0, n)``, its validity 0/1, its edit-distance drop in ``{-1, 0, 1}`` and 0 when it
  was invalid;
- ``env_ints``: timestep in ``[0, horizon]``; the edit distance equal to the core's own
  :func:`~mbag_env.core.reward.edit_distance` of ``blocks`` and ``goal``; the initial and best
  edit distances in ``[0, 2·W·H·D]`` with best <= initial; steps without progress in
  ``[0, timestep]``; terminated and truncated 0/1, terminated only with the goal complete (and
  ``terminate_on_goal_complete``) after at least one step, truncated exactly when the horizon or
  the no-progress limit says so. The RNG state may be any 64-bit value.
- ``layer_errors`` and ``solid_neighbours`` equal to what the core's
  :func:`~mbag_env.core.reward.count_layer_errors` and
  :func:`~mbag_env.core.rules.count_solid_neighbours` compute from ``blocks`` and ``goal``.

Two things are deliberately not required: the initial and best edit distances need not match a
history (``WorldBatch.recount`` after writing ``blocks`` or ``goal`` directly, the documented way
to set up a world, leaves them as they were; no kernel indexes with them), and players may overlap
blocks or each other (teleportation places blocks on players; the kernels only compare positions).
The all-zero row of an env that was never reset (what ``get_state`` returns before ``reset``) is
accepted as it is: every index in it is 0 and in range.

Where kernels still trust their inputs, and why that is safe:

- **Actions.** :func:`~mbag_env.core.rules.apply_action` decodes any action index without checking
  it; every env class range-checks actions before a kernel sees them
  (:meth:`~mbag_env.core.actions.ActionSpace.check`, or the vector env's check of the whole action
  array; a Python human policy's action too), and a recording's actions are checked when it is
  loaded. The only other action value, ``SCRIPTED_HUMAN`` (-1), is replaced by the compiled
  human's own choice, which it builds from in-world cells and block ids 2..9.
- **States.** A state enters the core only through ``reset`` (built by the kernels from a goal
  that :func:`~mbag_env.goals.validate_goal` checked, and start positions inside the world) or
  through ``set_state`` of :class:`~mbag_env.envs.single.MbagEnv` and
  :class:`~mbag_env.envs.parallel.MbagParallelEnv`, which calls :func:`validate_state_row` before
  writing anything (a recording's initial state goes through it too).
- **Kernel-to-kernel data.** Everything else the kernels read they wrote themselves: a step keeps
  positions in the world (a move happens only where the body fits), block ids in 0..9 (only
  placeable ids are placed), counts consistent (the same cell update changes the edit distance,
  the layer errors and the neighbour counts), and ``params``, ``shaping`` and the human model are
  built from a validated :class:`~mbag_env.config.MbagConfig`. Code that writes into
  ``env.batch.state`` directly or calls :meth:`~mbag_env.core.state.BatchState.set_row` (the core's
  test harness, for one) bypasses this check and must keep these invariants itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mbag_env.blocks import AIR, BEDROCK, BLOCK_NAMES, NUM_BLOCK_TYPES
from mbag_env.core import state
from mbag_env.core.actions import ActionSpace
from mbag_env.core.reward import count_layer_errors, edit_distance
from mbag_env.core.rules import count_solid_neighbours

ENV_FIELD_NAMES: tuple[str, ...] = (
    "ENV_TIMESTEP",
    "ENV_EDIT_DISTANCE",
    "ENV_INITIAL_EDIT_DISTANCE",
    "ENV_BEST_EDIT_DISTANCE",
    "ENV_STEPS_WITHOUT_PROGRESS",
    "ENV_TERMINATED",
    "ENV_TRUNCATED",
    "ENV_RNG",
)
"""The name of each ``env_ints`` column, for messages."""

PLAYER_FIELD_NAMES: tuple[str, ...] = (
    "PLAYER_X",
    "PLAYER_Y",
    "PLAYER_Z",
    *(f"PLAYER_INVENTORY[{name}]" for name in BLOCK_NAMES),
    "PLAYER_CORRECT_PLACES",
    "PLAYER_INCORRECT_PLACES",
    "PLAYER_CORRECT_BREAKS",
    "PLAYER_INCORRECT_BREAKS",
    "PLAYER_LAST_ACTION",
    "PLAYER_LAST_VALID",
    "PLAYER_LAST_DELTA",
)
"""The name of each ``player_ints`` column, for messages."""

_COUNTERS = (
    state.PLAYER_CORRECT_PLACES,
    state.PLAYER_INCORRECT_PLACES,
    state.PLAYER_CORRECT_BREAKS,
    state.PLAYER_INCORRECT_BREAKS,
)

assert len(ENV_FIELD_NAMES) == state.NUM_ENV_FIELDS and len(PLAYER_FIELD_NAMES) == state.NUM_PLAYER_FIELDS
assert (
    ENV_FIELD_NAMES[state.ENV_RNG] == "ENV_RNG"
    and PLAYER_FIELD_NAMES[state.PLAYER_LAST_DELTA] == "PLAYER_LAST_DELTA"
)


class StateError(ValueError):
    """A state snapshot holds a value the compiled core cannot accept.

    Attributes:
        field: the state field (``"blocks"``, ``"player_ints"``, ...).
        index: the index of the offending entry within the field's row, or ``None`` for the
            whole field (a shape or dtype).
        value: the offending value (or a description of it).
    """

    def __init__(self, field: str, index: tuple[int, ...] | None, value: Any, problem: str) -> None:
        self.field = field
        self.index = index
        self.value = value
        where = f"state field {field!r}" if index is None else f"state field {field!r} at index {index}"
        shown = value if isinstance(value, str) else repr(value)
        super().__init__(f"{where}{_column_name(field, index)} holds {shown}: {problem}")


def _column_name(field: str, index: tuple[int, ...] | None) -> str:
    if not index:
        return ""
    if field == "env_ints":
        return f" ({ENV_FIELD_NAMES[index[-1]]})"
    if field == "player_ints" and len(index) == 2:
        return f" (player {index[0]}, {PLAYER_FIELD_NAMES[index[1]]})"
    return ""


def expected_layout(
    world_size: tuple[int, int, int], num_players: int
) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """Shape and dtype of each field of one world's state row (as :meth:`BatchState.allocate` makes them)."""
    width, height, depth = world_size
    cells = (width, height, depth)
    return {
        "blocks": (cells, np.dtype(np.uint8)),
        "goal": (cells, np.dtype(np.uint8)),
        "last_interacted": (cells, np.dtype(np.uint8)),
        "env_ints": ((state.NUM_ENV_FIELDS,), np.dtype(np.int64)),
        "player_ints": ((num_players, state.NUM_PLAYER_FIELDS), np.dtype(np.int64)),
        "layer_errors": ((height,), np.dtype(np.int32)),
        "solid_neighbours": (cells, np.dtype(np.uint8)),
    }


def derived_fields(blocks: np.ndarray, goal: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``(edit distance, layer_errors, solid_neighbours)`` of one world, computed by the core's own
    kernels from ``uint8 (W, H, D)`` ``blocks`` and ``goal`` (safe for any values: the kernels only
    compare ids with air and with each other)."""
    blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
    goal = np.ascontiguousarray(goal, dtype=np.uint8)
    if blocks.ndim != 3 or blocks.shape != goal.shape:
        raise ValueError(f"blocks {blocks.shape} and goal {goal.shape} must be two (W, H, D) arrays")
    layer_errors = np.zeros(blocks.shape[1], dtype=np.int32)
    solid_neighbours = np.zeros(blocks.shape, dtype=np.uint8)
    distance = int(edit_distance(blocks, goal))
    count_layer_errors(blocks, goal, layer_errors)
    count_solid_neighbours(blocks, solid_neighbours)
    return distance, layer_errors, solid_neighbours


def validate_state_row(row: Mapping[str, Any], params: np.ndarray, world_size: tuple[int, int, int]) -> None:
    """Check one world's state row (see the module docstring for every rule).

    Args:
        row: the fields of :meth:`~mbag_env.core.state.BatchState.get_row` (extra keys are ignored).
        params: the static parameter vector the kernels get (``WorldBatch.params``).
        world_size: ``(W, H, D)``.

    Raises:
        StateError: at the first field that is missing, has the wrong shape or dtype, or holds a
            value out of range or inconsistent with the rest of the row; the message names the
            field, the index and the value.
    """
    world_size = (int(world_size[0]), int(world_size[1]), int(world_size[2]))
    num_players = int(params[state.PARAM_NUM_PLAYERS])
    arrays = _checked_layout(row, world_size, num_players)
    if all(not array.any() for array in arrays.values()):
        return  # the row of an env that was never reset
    _check_world(arrays, world_size, num_players)
    distance, layer_errors, solid_neighbours = derived_fields(arrays["blocks"], arrays["goal"])
    _check_env_ints(arrays, params, world_size, distance)
    _check_players(arrays, params, world_size)
    _require_equal(
        arrays, "layer_errors", layer_errors, "the number of cells per layer that differ from the goal"
    )
    _require_equal(arrays, "solid_neighbours", solid_neighbours, "the number of solid face neighbours")


def _checked_layout(
    row: Mapping[str, Any], world_size: tuple[int, int, int], num_players: int
) -> dict[str, np.ndarray]:
    if not isinstance(row, Mapping):
        raise StateError("world", None, type(row).__name__, "a state row must be a dict of arrays")
    arrays = {}
    for name, (shape, dtype) in expected_layout(world_size, num_players).items():
        if name not in row:
            raise StateError(name, None, "nothing", "the state snapshot is missing this field")
        value = row[name]
        if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != dtype:
            got = (
                f"shape {value.shape} and dtype {value.dtype}"
                if isinstance(value, np.ndarray)
                else f"a {type(value).__name__}"
            )
            raise StateError(name, None, got, f"expected an array of shape {shape} and dtype {dtype}")
        arrays[name] = value
    return arrays


def _first(field: str, array: np.ndarray, bad: np.ndarray, problem: str) -> None:
    """Raise for the first ``True`` entry of ``bad`` (an array of ``array``'s shape), if any."""
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise StateError(field, index, int(array[index]), problem)


def _check_world(arrays: dict[str, np.ndarray], world_size: tuple[int, int, int], num_players: int) -> None:
    ids = f"block ids are 0..{NUM_BLOCK_TYPES - 1}"
    for name in ("blocks", "goal"):
        array = arrays[name]
        _first(name, array, array >= NUM_BLOCK_TYPES, ids)
        bottom = np.zeros(world_size, dtype=np.bool_)
        bottom[:, 0, :] = True
        _first(name, array, bottom & (array != BEDROCK), "the y = 0 layer must be all bedrock")
        _first(name, array, ~bottom & (array == BEDROCK), "bedrock is only allowed in the y = 0 layer")
    labels = arrays["last_interacted"]
    _first("last_interacted", labels, labels > num_players, f"labels are 0 (nobody) or 1..{num_players}")


def _check_players(
    arrays: dict[str, np.ndarray], params: np.ndarray, world_size: tuple[int, int, int]
) -> None:
    players = arrays["player_ints"]
    timestep = int(arrays["env_ints"][state.ENV_TIMESTEP])
    width, height, depth = world_size
    infinite = params[state.PARAM_INFINITE_BLOCKS] != 0
    num_actions = ActionSpace(world_size, bool(infinite)).n
    bounds = {
        state.PLAYER_X: (0, width, f"feet x must be in [0, {width})"),
        state.PLAYER_Y: (
            0,
            height - 1,
            f"feet y must be in [0, {height - 1}) so that the head (y + 1) is in the world",
        ),
        state.PLAYER_Z: (0, depth, f"feet z must be in [0, {depth})"),
        state.PLAYER_LAST_ACTION: (0, num_actions, f"actions are 0..{num_actions - 1}"),
        state.PLAYER_LAST_VALID: (0, 2, "a flag is 0 or 1"),
        state.PLAYER_LAST_DELTA: (-1, 2, "one action changes the edit distance by -1, 0 or +1"),
    }
    for player in range(players.shape[0]):
        row = players[player]
        for column, (low, high, problem) in bounds.items():
            if not low <= row[column] < high:
                raise StateError("player_ints", (player, column), int(row[column]), problem)
        for block in range(NUM_BLOCK_TYPES):
            column = state.PLAYER_INVENTORY + block
            count = int(row[column])
            if not 0 <= count <= state.INFINITE_BLOCK_COUNT:
                raise StateError(
                    "player_ints", (player, column), count, f"counts are in [0, {state.INFINITE_BLOCK_COUNT}]"
                )
            if count != 0 and (infinite or block in (AIR, BEDROCK)):
                why = (
                    "with infinite blocks inventories stay empty"
                    if infinite
                    else "it never enters an inventory"
                )
                raise StateError("player_ints", (player, column), count, f"must be 0: {why}")
        if row[state.PLAYER_LAST_VALID] == 0 and row[state.PLAYER_LAST_DELTA] != 0:
            raise StateError(
                "player_ints",
                (player, state.PLAYER_LAST_DELTA),
                int(row[state.PLAYER_LAST_DELTA]),
                "an invalid action changes nothing (its drop is 0)",
            )
        total = 0
        for column in _COUNTERS:
            if row[column] < 0:
                raise StateError("player_ints", (player, column), int(row[column]), "counters are >= 0")
            total += int(row[column])
        if total > max(timestep, 0):
            raise StateError(
                "player_ints",
                (player, state.PLAYER_CORRECT_PLACES),
                int(row[state.PLAYER_CORRECT_PLACES]),
                f"the player's places and breaks add up to {total}, more than the {timestep} steps taken",
            )


def _check_env_ints(
    arrays: dict[str, np.ndarray], params: np.ndarray, world_size: tuple[int, int, int], distance: int
) -> None:
    ints = arrays["env_ints"]
    horizon = int(params[state.PARAM_HORIZON])
    max_distance = 2 * world_size[0] * world_size[1] * world_size[2]

    def fail(column: int, problem: str) -> None:
        raise StateError("env_ints", (column,), int(ints[column]), problem)

    timestep = int(ints[state.ENV_TIMESTEP])
    if not 0 <= timestep <= horizon:
        fail(state.ENV_TIMESTEP, f"the timestep must be in [0, horizon={horizon}]")
    if ints[state.ENV_EDIT_DISTANCE] != distance:
        fail(state.ENV_EDIT_DISTANCE, f"the edit distance between the state's blocks and goal is {distance}")
    for column in (state.ENV_INITIAL_EDIT_DISTANCE, state.ENV_BEST_EDIT_DISTANCE):
        if not 0 <= ints[column] <= max_distance:
            fail(column, f"edit distances are in [0, {max_distance}] in this world")
    if ints[state.ENV_BEST_EDIT_DISTANCE] > ints[state.ENV_INITIAL_EDIT_DISTANCE]:
        fail(
            state.ENV_BEST_EDIT_DISTANCE,
            f"the best edit distance exceeds the initial one ({ints[state.ENV_INITIAL_EDIT_DISTANCE]})",
        )
    steps_without_progress = int(ints[state.ENV_STEPS_WITHOUT_PROGRESS])
    if not 0 <= steps_without_progress <= timestep:
        fail(state.ENV_STEPS_WITHOUT_PROGRESS, f"must be in [0, timestep={timestep}]")
    for column in (state.ENV_TERMINATED, state.ENV_TRUNCATED):
        if ints[column] not in (0, 1):
            fail(column, "a flag is 0 or 1")
    if ints[state.ENV_TERMINATED] == 1:
        if timestep == 0:
            fail(state.ENV_TERMINATED, "an episode ends only after a step (the timestep is 0)")
        if distance != 0 or params[state.PARAM_TERMINATE_ON_GOAL] == 0:
            fail(
                state.ENV_TERMINATED,
                "an episode terminates only with the goal complete and terminate_on_goal_complete",
            )
    limit = int(params[state.PARAM_NO_PROGRESS_LIMIT])
    truncated = timestep >= horizon or (limit > 0 and steps_without_progress >= limit)
    if ints[state.ENV_TRUNCATED] != truncated:
        fail(
            state.ENV_TRUNCATED,
            f"with timestep {timestep}, horizon {horizon}, {steps_without_progress} steps without progress "
            f"and no-progress limit {limit or 'off'} it must be {int(truncated)}",
        )


def _require_equal(arrays: dict[str, np.ndarray], name: str, expected: np.ndarray, what: str) -> None:
    array = arrays[name]
    bad = array != expected
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise StateError(name, index, int(array[index]), f"{what} is {int(expected[index])} there")
