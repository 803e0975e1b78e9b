"""A batch of worlds of one configuration: the Python side shared by every env class.

:class:`WorldBatch` owns the :class:`~mbag_env.core.state.BatchState` arrays, the static
``params``/``shaping`` arrays the kernels take, the goal sampler and the observation spaces.
The single-agent and PettingZoo envs use a batch of one; the vector env a batch of N.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from mbag_env.blocks import NUM_BLOCK_TYPES
from mbag_env.config import MbagConfig
from mbag_env.core import state
from mbag_env.core.actions import ActionSpace
from mbag_env.core.masks import mask_scratch_size
from mbag_env.core.observe import (
    NUM_OBS_CHANNELS_WITH_GOAL,
    NUM_OBS_CHANNELS_WITHOUT_GOAL,
    write_observation,
    write_observations,
)
from mbag_env.core.reward import goal_percentage
from mbag_env.core.state import BatchState
from mbag_env.core.step import recount_world, reset_world
from mbag_env.envs.spaces import MaskedDiscrete
from mbag_env.envs.step_kernels import step_worlds
from mbag_env.envs.world_threads import WORLD_THREADS, WORLDS_PER_CLAIM, kernel_threads
from mbag_env.goals import make_goal_sampler, validate_goal
from mbag_env.humans.goal_seeking import human_scratch_size
from mbag_env.humans.scripted import HumanModel


class WorldBatch:
    """N worlds sharing one :class:`~mbag_env.config.MbagConfig`.

    Args:
        config: the game configuration.
        num_envs: number of worlds N.
    """

    def __init__(self, config: MbagConfig, num_envs: int = 1) -> None:
        self.config = config
        self.num_envs = num_envs
        self.num_players = config.num_players
        self.world_size = config.world_size
        self.actions = ActionSpace(config.world_size, config.infinite_blocks)
        self.state = BatchState.allocate(num_envs, config.world_size, config.num_players)
        self.params = config_params(config)
        self.shaping = config.shaping_array()
        self.human_model = HumanModel().as_array()
        """The compiled human that plays :data:`~mbag_env.core.step.SCRIPTED_HUMAN` players."""
        self.goal_sampler = make_goal_sampler(config.goal, config.world_size)
        self.rewards = np.zeros((num_envs, config.num_players), dtype=np.float64)
        self.all_active = np.ones(num_envs, dtype=np.bool_)
        self.threads = kernel_threads(num_envs)
        """How many threads step and observe the worlds (:mod:`~mbag_env.envs.world_threads`; large
        batches only)."""
        self.human_scratch = np.zeros((self.threads, human_scratch_size(config.world_size)), dtype=np.int32)
        """The scripted humans' work space: one row per thread."""
        self.mask_scratch = np.zeros(
            (self.threads, mask_scratch_size(int(np.prod(config.world_size)))), dtype=np.int32
        )
        """The mask refresh's work space (:func:`~mbag_env.core.masks.refresh_action_mask`): one row
        per thread, kept between calls."""
        self._next_world = np.zeros(1, dtype=np.int64)
        """The kernels' shared counter of the worlds handed out (reset before each call)."""
        self.no_mirror = np.zeros((num_envs, 0, 1, 1, 1), dtype=np.uint8)
        self.hidden_goal = np.zeros_like(self.state.goal)
        """What observers who may not see θ get in a goal channel (only with uniform_spaces)."""
        self._sees_goal = config.players_see_goal

    # ----------------------------------------------------------------- spaces
    def sees_goal(self, player: int) -> bool:
        """Whether ``player``'s observation carries the goal channel with θ in it."""
        return self._sees_goal[player]

    def num_channels(self, player: int) -> int:
        """Channels of ``player``'s world observation (4 with the goal channel, else 3)."""
        if self.sees_goal(player) or self.config.uniform_spaces:
            return NUM_OBS_CHANNELS_WITH_GOAL
        return NUM_OBS_CHANNELS_WITHOUT_GOAL

    def observation_space(self, player: int) -> spaces.Dict:
        """The Gymnasium space of one player's observation (SPEC §5)."""
        channels = self.num_channels(player)
        high = np.empty((channels, *self.world_size), dtype=np.uint8)
        high[0] = NUM_BLOCK_TYPES - 1
        high[1:3] = self.num_players
        if channels == NUM_OBS_CHANNELS_WITH_GOAL:
            high[3] = NUM_BLOCK_TYPES - 1
        entries: dict[str, spaces.Space[Any]] = {
            "world": spaces.Box(0, high, dtype=np.uint8),
            "inventory": spaces.Box(0, state.INFINITE_BLOCK_COUNT, shape=(NUM_BLOCK_TYPES,), dtype=np.int32),
            # (1,), not a 0-d scalar: Stable-Baselines3 and most RL libraries need at least one axis.
            "timestep": spaces.Box(0, self.config.horizon, shape=(1,), dtype=np.int32),
        }
        if self.config.action_masks:
            entries["action_mask"] = spaces.Box(0, 1, shape=(self.actions.n,), dtype=np.bool_)
        return spaces.Dict(entries)

    def action_space(self) -> MaskedDiscrete:
        """The flat discrete action space (see :mod:`mbag_env.core.actions`)."""
        return MaskedDiscrete(self.actions.n)

    # ------------------------------------------------------------- dynamics
    def reset_env(self, env: int, rng: np.random.Generator) -> None:
        """Draw a goal and start positions from ``rng`` and reset world ``env``."""
        goal = validate_goal(self.goal_sampler.sample(rng), self.world_size)
        self.state.goal[env] = goal
        starts = self._start_positions(rng)
        seed = int(rng.integers(0, 2**62))
        s = self.state
        reset_world(
            s.blocks, s.goal, s.last_interacted, s.env_ints, s.player_ints, s.layer_errors,
            s.solid_neighbours, self.params, env, starts, seed,
        )  # fmt: skip

    def recount(self, env: int) -> None:
        """Recompute world ``env``'s edit distance, layer errors and solid-neighbour counts
        after its ``blocks`` or ``goal`` were written directly."""
        s = self.state
        recount_world(
            s.blocks[env], s.goal[env], s.env_ints[env], s.layer_errors[env], s.solid_neighbours[env]
        )

    def step(
        self,
        actions: np.ndarray,
        active: np.ndarray | None = None,
        mirror: np.ndarray | None = None,
        viewer: int = 0,
        meanwhile: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """Step the worlds with ``actions`` ``(N, P)`` (int64) and return rewards ``(N, P)``.

        Only worlds with ``active[n]`` step (all by default). An action of
        :data:`~mbag_env.core.step.SCRIPTED_HUMAN` lets the compiled human choose. ``mirror``,
        if given, is ``viewer``'s ``(N, C, W, H, D)`` world observation, updated in place.
        ``meanwhile``, if given, runs on the calling thread while helper threads start stepping
        (the vector env resets its ended worlds there); it must leave the active worlds alone.
        """
        s = self.state
        active = self.all_active if active is None else active
        mirror = self.no_mirror if mirror is None else mirror
        next_world = self._next_world
        next_world[0] = 0

        def run(thread: int) -> None:
            step_worlds(
                s.blocks, s.goal, s.last_interacted, s.env_ints, s.player_ints, s.layer_errors,
                s.solid_neighbours, self.params, self.shaping, self.human_model, actions, active,
                self.rewards, self.human_scratch[thread], mirror, viewer, next_world, WORLDS_PER_CLAIM,
            )  # fmt: skip

        WORLD_THREADS.run(run, self.threads, meanwhile)
        return self.rewards

    def observe(
        self,
        player: int,
        world_out: np.ndarray,
        inventory_out: np.ndarray,
        timestep_out: np.ndarray,
        mask_out: np.ndarray,
        full_world: np.ndarray | None = None,
    ) -> None:
        """Write ``player``'s observation of every world into the given ``(N, ...)`` buffers.

        ``timestep_out`` is ``(N, 1)`` (the observation's shape) or ``(N,)``, and contiguous.
        ``mask_out`` may be ``(N, 0)`` to skip masks. The world channels and masks are written
        afresh where ``full_world[n]`` (everywhere by default); elsewhere the buffers must hold
        ``player``'s observation from before the last :meth:`step`, which kept ``world_out`` as
        its mirror, and the mask is brought up to date from the step's effects. Players who may
        not see θ get a zero goal channel (only present with ``uniform_spaces``).
        """
        s = self.state
        goal = s.goal if self.sees_goal(player) else self.hidden_goal
        timesteps = timestep_out.reshape(-1)  # the kernels write one int32 per world
        # A C-contiguous array always reshapes to a view: the costlier check only for the others.
        if not timestep_out.flags.c_contiguous and not np.may_share_memory(timesteps, timestep_out):
            raise ValueError("timestep_out must be a contiguous (N, 1) or (N,) array (written in place)")
        full_world = self.all_active if full_world is None else full_world
        next_world = self._next_world
        next_world[0] = 0

        def run(thread: int) -> None:
            write_observations(
                s.blocks, goal, s.last_interacted, s.env_ints, s.player_ints, s.solid_neighbours,
                self.params, player, full_world, world_out, inventory_out, timesteps, mask_out,
                self.mask_scratch[thread], next_world, WORLDS_PER_CLAIM,
            )  # fmt: skip

        WORLD_THREADS.run(run, self.threads)

    def observation_buffers(self, player: int) -> dict[str, np.ndarray]:
        """Fresh ``(N, ...)`` arrays matching :meth:`observation_space` for :meth:`observe`."""
        n = self.num_envs
        return {
            "world": np.zeros((n, self.num_channels(player), *self.world_size), dtype=np.uint8),
            "inventory": np.zeros((n, NUM_BLOCK_TYPES), dtype=np.int32),
            "timestep": np.zeros((n, 1), dtype=np.int32),
            "action_mask": np.zeros((n, self.actions.n), dtype=np.bool_),
        }

    def first_observation(
        self, player: int, buffers: dict[str, np.ndarray], with_mask: bool, refresh_mask: bool = False
    ) -> dict[str, np.ndarray]:
        """World 0's observation for ``player`` as a dict of fresh arrays (single-world envs).

        ``buffers`` come from :meth:`observation_buffers`; ``action_mask`` is included when
        ``with_mask``. The world channels are written afresh; the mask too, unless
        ``refresh_mask``: then ``buffers["action_mask"]`` must hold ``player``'s mask from before
        the last :meth:`step`, which is brought up to date from the step's effects (exact, and
        cheaper than writing it afresh).
        """
        mask = buffers["action_mask"] if with_mask else buffers["action_mask"][:, :0]
        s = self.state
        goal = s.goal if self.sees_goal(player) else self.hidden_goal
        write_observation(
            s.blocks[0], goal[0], s.last_interacted[0], s.env_ints[0], s.player_ints[0],
            s.solid_neighbours[0], self.params, player, buffers["world"][0], buffers["inventory"][0],
            buffers["timestep"][0], mask[0], True, refresh_mask, self.mask_scratch[0],
        )  # fmt: skip
        observation = {
            "world": buffers["world"][0].copy(),
            "inventory": buffers["inventory"][0].copy(),
            "timestep": buffers["timestep"][0].copy(),
        }
        if with_mask:
            observation["action_mask"] = mask[0].copy()
        return observation

    # ------------------------------------------------------------ queries
    def terminated(self, env: int) -> bool:
        """Whether world ``env`` reached its goal (with ``terminate_on_goal_complete``)."""
        return bool(self.state.env_ints[env, state.ENV_TERMINATED])

    def truncated(self, env: int) -> bool:
        """Whether world ``env`` hit the horizon or the no-progress limit."""
        return bool(self.state.env_ints[env, state.ENV_TRUNCATED])

    def goal_percentage(self, env: int) -> float:
        """``1 - d / d0`` (1.0 when the goal equalled the initial world)."""
        ints = self.state.env_ints[env]
        return goal_percentage(int(ints[state.ENV_INITIAL_EDIT_DISTANCE]), int(ints[state.ENV_EDIT_DISTANCE]))

    def info(self, env: int, player: int) -> dict[str, Any]:
        """The per-player info dict of SPEC §5."""
        players = self.state.player_ints[env]
        env_row = self.state.env_ints[env].tolist()
        return info_from_rows(players[player].tolist(), players[0].tolist(), env_row)

    def reset_info(self, env: int) -> dict[str, Any]:
        """The info dict after reset: no action taken yet."""
        return {
            "goal_percentage": self.goal_percentage(env),
            "edit_distance": int(self.state.env_ints[env, state.ENV_EDIT_DISTANCE]),
            "timestep": 0,
            "action": 0,
            "action_valid": True,
            "action_correct": False,
            "correct_places": 0,
            "incorrect_places": 0,
            "correct_breaks": 0,
            "incorrect_breaks": 0,
            "human_action": 0,
        }

    def _start_positions(self, rng: np.random.Generator) -> np.ndarray:
        width, height, depth = self.world_size
        starts = np.zeros((self.num_players, 3), dtype=np.int64)
        if not self.config.random_start_locations:
            for player in range(self.num_players):
                starts[player] = (player % width, 2, (player // width) % depth)
            return starts
        for player in range(self.num_players):
            while True:
                x, z = int(rng.integers(width)), int(rng.integers(depth))
                y = int(rng.integers(2, height - 1))
                overlaps = any(
                    starts[other, 0] == x and starts[other, 2] == z and abs(starts[other, 1] - y) <= 1
                    for other in range(player)
                )
                if not overlaps:
                    break
            starts[player] = (x, y, z)
        return starts


def info_from_rows(
    player_row: Sequence[int], human_row: Sequence[int], env_row: Sequence[int]
) -> dict[str, Any]:
    """The info dict of SPEC §5 from one world's rows as Python ints: the player's and the human's
    (player 0) ``player_ints`` rows and its ``env_ints`` row (lists, or memoryviews of the rows,
    which the single env keeps bound so that a step reads them without converting the arrays)."""
    return {
        "goal_percentage": goal_percentage(
            env_row[state.ENV_INITIAL_EDIT_DISTANCE], env_row[state.ENV_EDIT_DISTANCE]
        ),
        "edit_distance": env_row[state.ENV_EDIT_DISTANCE],
        "timestep": env_row[state.ENV_TIMESTEP],
        "action": player_row[state.PLAYER_LAST_ACTION],
        "action_valid": player_row[state.PLAYER_LAST_VALID] != 0,
        "action_correct": player_row[state.PLAYER_LAST_DELTA] > 0,
        "correct_places": player_row[state.PLAYER_CORRECT_PLACES],
        "incorrect_places": player_row[state.PLAYER_INCORRECT_PLACES],
        "correct_breaks": player_row[state.PLAYER_CORRECT_BREAKS],
        "incorrect_breaks": player_row[state.PLAYER_INCORRECT_BREAKS],
        "human_action": human_row[state.PLAYER_LAST_ACTION],
    }


def config_params(config: MbagConfig) -> np.ndarray:
    """The static ``int64`` parameter vector the kernels take (``PARAM_*`` entries) for ``config``."""
    params = np.zeros(state.NUM_PARAMS, dtype=np.int64)
    params[state.PARAM_NUM_PLAYERS] = config.num_players
    params[state.PARAM_INFINITE_BLOCKS] = config.infinite_blocks
    params[state.PARAM_TELEPORTATION] = config.teleportation
    params[state.PARAM_HORIZON] = config.horizon
    params[state.PARAM_TERMINATE_ON_GOAL] = config.terminate_on_goal_complete
    params[state.PARAM_NO_PROGRESS_LIMIT] = config.truncate_on_no_progress or 0
    params[state.PARAM_STARTING_INVENTORY] = config.starting_inventory
    return params
