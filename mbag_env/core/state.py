"""The batch state: every world of a batch as plain arrays with a leading env axis.

The kernels take these arrays directly (struct of arrays), so one compiled call can step a
whole batch. Scalar per-env and per-player quantities are packed into two integer tables
whose column layout is fixed by the ``ENV_*`` and ``PLAYER_*`` constants below.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mbag_env.blocks import INFINITE_BLOCK_COUNT as INFINITE_BLOCK_COUNT  # re-exported for the kernels
from mbag_env.blocks import NUM_BLOCK_TYPES

# Columns of ``env_ints`` (N, NUM_ENV_FIELDS).
ENV_TIMESTEP = 0
ENV_EDIT_DISTANCE = 1
ENV_INITIAL_EDIT_DISTANCE = 2
ENV_BEST_EDIT_DISTANCE = 3
ENV_STEPS_WITHOUT_PROGRESS = 4
ENV_TERMINATED = 5
ENV_TRUNCATED = 6
ENV_RNG = 7
NUM_ENV_FIELDS = 8

# Columns of ``player_ints`` (N, P, NUM_PLAYER_FIELDS).
PLAYER_X = 0
PLAYER_Y = 1
PLAYER_Z = 2
PLAYER_INVENTORY = 3  # ten columns, one per block id
PLAYER_CORRECT_PLACES = PLAYER_INVENTORY + NUM_BLOCK_TYPES
PLAYER_INCORRECT_PLACES = PLAYER_CORRECT_PLACES + 1
PLAYER_CORRECT_BREAKS = PLAYER_CORRECT_PLACES + 2
PLAYER_INCORRECT_BREAKS = PLAYER_CORRECT_PLACES + 3
PLAYER_LAST_ACTION = PLAYER_CORRECT_PLACES + 4
PLAYER_LAST_VALID = PLAYER_CORRECT_PLACES + 5
PLAYER_LAST_DELTA = PLAYER_CORRECT_PLACES + 6  # edit-distance drop caused by the last action
NUM_PLAYER_FIELDS = PLAYER_CORRECT_PLACES + 7

# Entries of the static ``params`` vector handed to every kernel.
PARAM_NUM_PLAYERS = 0
PARAM_INFINITE_BLOCKS = 1
PARAM_TELEPORTATION = 2
PARAM_HORIZON = 3
PARAM_TERMINATE_ON_GOAL = 4
PARAM_NO_PROGRESS_LIMIT = 5  # 0 disables it
PARAM_STARTING_INVENTORY = 6
NUM_PARAMS = 7


@dataclass
class BatchState:
    """Arrays holding N worlds with P players each.

    Attributes:
        blocks: ``uint8 (N, W, H, D)`` current block ids.
        goal: ``uint8 (N, W, H, D)`` goal block ids θ.
        last_interacted: ``uint8 (N, W, H, D)``: 0 nobody, else 1 + index of the player who
            last placed or broke the cell.
        env_ints: ``int64 (N, NUM_ENV_FIELDS)``: timestep, edit distances, flags, RNG state.
        player_ints: ``int64 (N, P, NUM_PLAYER_FIELDS)``: feet position, inventory, counters
            and the last action of each player.
        layer_errors: ``int32 (N, H)``: number of cells per y layer that differ from the goal
            (kept up to date so the scripted human finds its layer in O(H)).
        solid_neighbours: ``uint8 (N, W, H, D)``: number of solid face neighbours of each cell
            (kept up to date so the action mask skips cells that touch no block).
    """

    blocks: np.ndarray
    goal: np.ndarray
    last_interacted: np.ndarray
    env_ints: np.ndarray
    player_ints: np.ndarray
    layer_errors: np.ndarray
    solid_neighbours: np.ndarray

    @classmethod
    def allocate(cls, num_envs: int, world_size: tuple[int, int, int], num_players: int) -> BatchState:
        """Zeroed arrays for ``num_envs`` worlds (call a reset kernel before use)."""
        shape = (num_envs, *world_size)
        return cls(
            blocks=np.zeros(shape, dtype=np.uint8),
            goal=np.zeros(shape, dtype=np.uint8),
            last_interacted=np.zeros(shape, dtype=np.uint8),
            env_ints=np.zeros((num_envs, NUM_ENV_FIELDS), dtype=np.int64),
            player_ints=np.zeros((num_envs, num_players, NUM_PLAYER_FIELDS), dtype=np.int64),
            layer_errors=np.zeros((num_envs, world_size[1]), dtype=np.int32),
            solid_neighbours=np.zeros(shape, dtype=np.uint8),
        )

    def get_row(self, env: int) -> dict[str, np.ndarray]:
        """A deep copy of one world's arrays (a snapshot for MCTS or saving)."""
        return {name: getattr(self, name)[env].copy() for name in _FIELDS}

    def set_row(self, env: int, snapshot: dict[str, np.ndarray]) -> None:
        """Restore one world from :meth:`get_row` output.

        Only shapes and dtypes are checked here: the envs' ``set_state`` checks the values first
        (:func:`~mbag_env.core.validation.validate_state_row`), since the kernels trust them.

        Raises:
            ValueError: if a field is missing or has the wrong shape or dtype.
        """
        for name in _FIELDS:
            if name not in snapshot:
                raise ValueError(f"state snapshot is missing the field {name!r}")
            target = getattr(self, name)[env]
            value = np.asarray(snapshot[name])
            if value.shape != target.shape or value.dtype != target.dtype:
                raise ValueError(
                    f"state snapshot field {name!r} has shape {value.shape} and dtype {value.dtype}, "
                    f"expected {target.shape} and {target.dtype}"
                )
            target[...] = value


_FIELDS = ("blocks", "goal", "last_interacted", "env_ints", "player_ints", "layer_errors", "solid_neighbours")
