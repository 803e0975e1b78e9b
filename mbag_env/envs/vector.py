"""The batched vector env: N worlds (and their scripted humans) stepped in one compiled call.

Made by ``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")``. It
behaves like N copies of :class:`~mbag_env.envs.single.MbagEnv` under Gymnasium 1.x
*next-step* autoreset: after a world ends, the next ``step`` resets it (ignoring its action)
and returns the first observation of the new episode with reward 0. World ``i`` seeded with
``seed`` follows exactly the episodes of a single env reset with ``seed + i``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from mbag_env.config import MbagConfig
from mbag_env.core.actions import NOOP
from mbag_env.core.reward import goal_percentage
from mbag_env.core.state import (
    ENV_EDIT_DISTANCE,
    ENV_INITIAL_EDIT_DISTANCE,
    ENV_TERMINATED,
    ENV_TRUNCATED,
    PLAYER_LAST_ACTION,
    PLAYER_LAST_DELTA,
    PLAYER_LAST_VALID,
)
from mbag_env.core.step import SCRIPTED_HUMAN
from mbag_env.envs.batch import WorldBatch
from mbag_env.envs.single import RENDER_MODES as SINGLE_ENV_RENDER_MODES
from mbag_env.envs.single import config_from_arguments
from mbag_env.humans.policy import as_policy
from mbag_env.humans.scripted import HumanModel

RENDER_MODES = [mode for mode in SINGLE_ENV_RENDER_MODES if mode != "human"]
"""The vector env renders world 0 as an image or as text; it opens no window (no ``human`` mode)."""


class MbagVectorEnv(gym.vector.VectorEnv[dict[str, np.ndarray], np.ndarray, np.ndarray]):
    """N MBAG worlds stepped together; observations, rewards and flags are batched arrays.

    Batches of 64 or more worlds are stepped on all cores (the calling thread and sleeping
    helper threads, :mod:`mbag_env.envs.world_threads`; ``NUMBA_NUM_THREADS`` sets how many).

    Args:
        num_envs: number of worlds N.
        config: a full :class:`~mbag_env.config.MbagConfig`; or give its fields as keywords.
        agent: the player the learner controls in every world.
        human_policy: a compiled scripted human (``None`` for the goal-seeking one, a name, or
            a :class:`~mbag_env.humans.HumanModel`); use the single env for Python policies.
        copy: return copies of the observation buffers (True, the Gymnasium default), or the
            buffers themselves, which the next ``step`` overwrites (faster for big batches); read
            them, do not write into them: the next step updates the world and the mask from them.
        render_mode: ``"rgb_array"`` or ``"ansi"`` (renders world 0), or ``None``.
        **config_fields: :class:`~mbag_env.config.MbagConfig` fields.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": RENDER_MODES}

    def __init__(
        self,
        num_envs: int,
        config: MbagConfig | None = None,
        *,
        agent: int = 0,
        human_policy: Any = None,
        copy: bool = True,
        render_mode: str | None = None,
        **config_fields: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        config = config_from_arguments(config, config_fields)
        if not 0 <= agent < config.num_players:
            raise ValueError(f"agent must be a player index in [0, {config.num_players}), got {agent}")
        human_model = as_policy(human_policy)
        if not isinstance(human_model, HumanModel):
            raise ValueError(
                "the vector env runs only compiled scripted humans (a HumanModel or its name); "
                "use gymnasium.make (single env) for a Python human policy"
            )
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}")
        self.num_envs = int(num_envs)
        self.config = config
        self.agent = agent
        self.copy = copy
        self.render_mode = render_mode
        self.batch = WorldBatch(config, num_envs=self.num_envs)
        self.batch.human_model = human_model.as_array()
        self.single_observation_space = self.batch.observation_space(agent)
        self.single_action_space = self.batch.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._buffers = self.batch.observation_buffers(agent)
        mask = self._buffers["action_mask"]
        self._mask = mask if config.action_masks else mask[:, :0]
        self._actions = np.full((self.num_envs, config.num_players), NOOP, dtype=np.int64)
        if agent != 0:
            self._actions[:, 0] = SCRIPTED_HUMAN
        self._rngs = [np.random.default_rng() for _ in range(self.num_envs)]
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        self._started = False

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every world; ``seed`` may be one int (world i gets ``seed + i``) or a list."""
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + index for index in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"reset(seed=list) needs {self.num_envs} seeds, got {len(seeds)}")
        for index, world_seed in enumerate(seeds):
            if world_seed is not None or not self._started:
                self._rngs[index], _ = gym.utils.seeding.np_random(world_seed)
            self.batch.reset_env(index, self._rngs[index])
        self._started = True
        self._autoreset[:] = False
        return self._observations(self.batch.all_active), self._infos()

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every world with one action each (worlds that ended last step are reset instead).

        Raises:
            ValueError: if ``actions`` is not an integer array of shape ``(num_envs,)`` with
                values in ``[0, n_actions)``.
            RuntimeError: if called before :meth:`reset`.
        """
        if not self._started:
            raise RuntimeError("step() called before reset(): call reset() first")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        if not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be an integer array, got dtype {actions.dtype}")
        n_actions = self.batch.actions.n
        if actions.size and (actions.min() < 0 or actions.max() >= n_actions):
            bad = actions[(actions < 0) | (actions >= n_actions)][0]
            raise ValueError(f"action {bad} is out of range: valid actions are 0..{n_actions - 1}")
        resetting = self._autoreset.copy()

        def reset_ended_worlds() -> None:
            for index in np.flatnonzero(resetting):
                self.batch.reset_env(int(index), self._rngs[index])

        self._actions[:, self.agent] = actions
        active = ~resetting
        world = self._buffers["world"]
        # The ended worlds are reset (goal sampling in Python) while helper threads step the others.
        rewards = self.batch.step(self._actions, active, world, self.agent, meanwhile=reset_ended_worlds)
        rewards = rewards[:, self.agent].copy()
        rewards[resetting] = 0.0
        env_ints = self.batch.state.env_ints
        terminated = (env_ints[:, ENV_TERMINATED] != 0) & active
        truncated = (env_ints[:, ENV_TRUNCATED] != 0) & active
        self._autoreset = terminated | truncated
        return self._observations(resetting), rewards, terminated, truncated, self._infos(active)

    def render(self) -> np.ndarray | str | None:  # type: ignore[override]
        """Render world 0 (``rgb_array`` image or ``ansi`` text)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to the env")
            return None
        from mbag_env.render import render_ansi, render_isometric

        state = self.batch.state
        goal = state.goal[0] if self.batch.sees_goal(self.agent) else None
        if self.render_mode == "ansi":
            return render_ansi(state.blocks[0], state.player_ints[0, :, :3], goal)
        return render_isometric(state.blocks[0], state.player_ints[0, :, :3], goal)

    def _observations(self, full_world: np.ndarray) -> dict[str, np.ndarray]:
        """Observations of every world; world channels are rewritten only where ``full_world``
        (freshly reset worlds): elsewhere the step kept the buffer up to date."""
        buffers = self._buffers
        self.batch.observe(
            self.agent, buffers["world"], buffers["inventory"], buffers["timestep"], self._mask, full_world
        )
        observations = {
            "world": buffers["world"],
            "inventory": buffers["inventory"],
            "timestep": buffers["timestep"],
        }
        if self.config.action_masks:
            observations["action_mask"] = self._mask
        if self.copy:
            return {key: value.copy() for key, value in observations.items()}
        return observations

    def _infos(self, stepped: np.ndarray | None = None) -> dict[str, Any]:
        state = self.batch.state
        env_ints = state.env_ints
        distance = env_ints[:, ENV_EDIT_DISTANCE]
        goal_percentages = goal_percentage(env_ints[:, ENV_INITIAL_EDIT_DISTANCE], distance)
        player = state.player_ints[:, self.agent]
        if stepped is None:
            stepped = np.zeros(self.num_envs, dtype=np.bool_)
        infos: dict[str, Any] = {
            "goal_percentage": goal_percentages,
            "edit_distance": distance.copy(),
            "action_valid": np.where(stepped, player[:, PLAYER_LAST_VALID] != 0, True),
            "action_correct": stepped & (player[:, PLAYER_LAST_DELTA] > 0),
            "human_action": np.where(stepped, state.player_ints[:, 0, PLAYER_LAST_ACTION], NOOP),
        }
        present = np.ones(self.num_envs, dtype=np.bool_)
        for key in list(infos):
            infos[f"_{key}"] = present
        return infos
