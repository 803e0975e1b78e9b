"""Gymnasium single-agent envs: ``mbag/Build-v0`` (the builder) and ``mbag/Assist-v0`` (the assistant).

Both are one :class:`MbagEnv` class: a world of one configuration in which the learning agent
controls one player and the env plays the others (the compiled goal-seeking human by default,
or any :class:`~mbag_env.humans.Policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from mbag_env.config import MbagConfig, reward_shaping_from_plain
from mbag_env.core.state import ENV_TERMINATED, ENV_TRUNCATED
from mbag_env.core.step import SCRIPTED_HUMAN
from mbag_env.core.validation import validate_state_row
from mbag_env.envs.batch import WorldBatch, info_from_rows
from mbag_env.envs.step_kernels import step_and_observe
from mbag_env.humans.policy import as_policy, check_integer_action
from mbag_env.humans.scripted import HumanModel

RENDER_MODES = ["rgb_array", "ansi", "human"]


class MbagEnv(gym.Env[dict[str, np.ndarray], int]):
    """One MBAG world seen by one learning player.

    **Observation** (``Dict``): ``world`` uint8 ``(C, W, H, D)`` with channels blocks, players
    (1 self, 2.. others), last interacted (0 none, 1 self, 2.. others) and, for a goal-aware
    player, goal; ``inventory`` int32 ``(10,)``; ``timestep`` int32 ``(1,)`` (steps taken so far);
    ``action_mask`` bool ``(n_actions,)`` when masks are on (also given by :meth:`action_masks`).

    **Action** (``Discrete``): NOOP, 6 moves, PLACE type×cell, BREAK cell (and GIVE with
    finite blocks); see :mod:`mbag_env.core.actions`.

    **Reward**: the drop in edit distance to the goal over the joint step (+1 per correct
    place/break, -1 per incorrect one, by any player) plus optional shaping.

    **Episode end**: terminated when the world equals the goal; truncated at ``horizon`` or
    after ``truncate_on_no_progress`` steps without a new best goal percentage.

    Args:
        config: a full :class:`~mbag_env.config.MbagConfig`; or give its fields as keywords.
        agent: index of the player the agent controls (0 = the goal-aware human/builder).
        human_policy: who plays player 0 when the agent is not player 0: ``None`` for the
            compiled goal-seeking human, a compiled human's name or
            :class:`~mbag_env.humans.HumanModel`, a policy object with ``act(observation)``,
            or a callable ``observation -> action``.
        render_mode: ``"rgb_array"``, ``"ansi"``, ``"human"`` (a pygame window, redrawn on every
            step) or ``None``.
        copy_observations: ``True`` (default, the Gymnasium contract): every observation is a
            dict of fresh arrays the caller may keep and write into. ``False`` is an opt-in
            zero-copy mode for loops that read each observation before the next call:
            :meth:`step`, :meth:`reset` and :meth:`set_state` return the same dict of the env's
            own buffers every time, overwritten in place by the next call (saves four array
            copies per step, about 2 µs; copy what you keep, never write into them).
        **config_fields: :class:`~mbag_env.config.MbagConfig` fields (when ``config`` is None).

    The step keeps the agent's observation up to date incrementally
    (:func:`~mbag_env.envs.step_kernels.step_and_observe`), so change the state only through
    :meth:`step`, :meth:`reset` and :meth:`set_state` (after writing ``batch.state`` directly, pass
    it through ``set_state(get_state())``).
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 10}

    def __init__(
        self,
        config: MbagConfig | None = None,
        *,
        agent: int = 0,
        human_policy: Any = None,
        render_mode: str | None = None,
        copy_observations: bool = True,
        **config_fields: Any,
    ) -> None:
        config = config_from_arguments(config, config_fields)
        if not 0 <= agent < config.num_players:
            raise ValueError(f"agent must be a player index in [0, {config.num_players}), got {agent}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}")
        self.config = config
        self.agent = agent
        self.render_mode = render_mode
        self.copy_observations = bool(copy_observations)
        self._viewer: Any = None  # the human render mode's window, opened on first use
        self.human_policy = as_policy(human_policy)
        self.batch = WorldBatch(config, num_envs=1)
        if isinstance(self.human_policy, HumanModel):
            self.batch.human_model = self.human_policy.as_array()
        self.observation_space = self.batch.observation_space(agent)  # type: ignore[assignment]
        self.action_space = self.batch.action_space()  # type: ignore[assignment]
        self._buffers = [self.batch.observation_buffers(player) for player in range(config.num_players)]
        self._actions = np.zeros((1, config.num_players), dtype=np.int64)
        self._needs_reset = True
        self._bind_hot_path()

    def _bind_hot_path(self) -> None:
        """Bind what :meth:`step` reads on every call: the agent's observation buffers and views of
        the batch's arrays (they stay valid: the batch never reallocates them). Views would not
        survive pickling or copying as views, so :meth:`__getstate__` drops them and
        :meth:`__setstate__` binds them again."""
        buffers = self._buffers[self.agent]
        masks = self.config.action_masks
        batch = self.batch
        state = batch.state
        observed_goal = state.goal if batch.sees_goal(self.agent) else batch.hidden_goal
        # The views the fused kernel takes (one numba dispatch per step, see step_and_observe).
        self._observation_current = np.zeros(1, dtype=np.int64)
        self._step_args = (
            state.blocks[0], state.goal[0], state.last_interacted[0], state.env_ints[0],
            state.player_ints[0], state.layer_errors[0], state.solid_neighbours[0], batch.params,
            batch.shaping, batch.human_model, self._actions[0], batch.rewards[0], batch.human_scratch[0],
            self.agent, observed_goal[0], buffers["world"][0], buffers["inventory"][0],
            buffers["timestep"][0], buffers["action_mask"][0] if masks else buffers["action_mask"][0, :0],
            self._observation_current, batch.mask_scratch[0],
        )  # fmt: skip
        keys: tuple[str, ...] = ("world", "inventory", "timestep")
        if masks:
            keys += ("action_mask",)
        self._observation_keys = keys
        self._observation_rows = tuple(buffers[key][0] for key in keys)
        self._observation_views = (
            None if self.copy_observations else dict(zip(keys, self._observation_rows, strict=True))
        )
        # Memoryviews of the rows a step reads back: indexing one gives a Python int (float for the
        # rewards) without converting the array (about 1 µs for the whole info dict instead of 3-4).
        self._agent_row = memoryview(state.player_ints[0, self.agent])
        self._human_row = memoryview(state.player_ints[0, 0])
        self._env_row = memoryview(state.env_ints[0])
        self._rewards_row = memoryview(batch.rewards[0])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in _HOT_PATH_ATTRIBUTES:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("copy_observations", True)  # pickled before the option existed
        self._bind_hot_path()

    # ----------------------------------------------------------------- API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new episode: draw θ and start positions from ``np_random``."""
        super().reset(seed=seed)
        self._observation_current[0] = 0
        self.batch.reset_env(0, self.np_random)
        self._needs_reset = False
        if self.render_mode == "human":
            self.render()
        return self._agent_observation(), self.batch.reset_info(0)

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Act for the agent; the other players act too, in player order (0 first).

        Raises:
            ValueError: for an action out of ``[0, n_actions)`` or not an integer.
            RuntimeError: when called before :meth:`reset` or after the episode ended.
        """
        action = self.batch.actions.check(action)
        if self._needs_reset:
            raise RuntimeError(
                "step() called on an episode that has ended (or was never started): call reset() first"
            )
        agent = self.agent
        if agent != 0:
            # Player 0 is the human; every other player but the agent does NOOP (the zeros they hold).
            scripted = isinstance(self.human_policy, HumanModel)
            self._actions[0, 0] = SCRIPTED_HUMAN if scripted else self._policy_human_action()
        self._actions[0, agent] = action
        # One compiled call: the rules (and the compiled human), then the agent's observation
        # written into its buffers; the caller gets copies it may keep.
        step_and_observe(*self._step_args)
        env_row = self._env_row
        terminated = env_row[ENV_TERMINATED] != 0
        truncated = env_row[ENV_TRUNCATED] != 0
        self._needs_reset = terminated or truncated
        if self.render_mode == "human":
            self.render()
        observation = self._observation_views
        if observation is None:
            observation = self._copied_observation()
        info = info_from_rows(self._agent_row, self._human_row, env_row)
        return observation, self._rewards_row[agent], terminated, truncated, info

    def render(self) -> np.ndarray | str | None:  # type: ignore[override]
        """An RGB image (``rgb_array``) or text layers (``ansi``) of the world; ``human`` draws the
        window (:class:`~mbag_env.render.env_viewer.EnvViewer`) and returns ``None``."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to the env")
            return None
        if self.render_mode == "human":
            from mbag_env.render.env_viewer import open_env_viewer

            if self._viewer is None:
                fps = float(self.metadata["render_fps"])
                self._viewer = open_env_viewer(self.config.world_size, fps, "mbag_env")
            reward = float(self.batch.rewards[0, self.agent])
            self._viewer.show(self.batch, self.batch.sees_goal(self.agent), reward)
            return None
        from mbag_env.render import render_ansi, render_isometric

        state = self.batch.state
        players = state.player_ints[0, :, :3]
        goal = state.goal[0] if self.batch.sees_goal(self.agent) else None
        if self.render_mode == "ansi":
            return render_ansi(state.blocks[0], players, goal)
        return render_isometric(state.blocks[0], players, goal)

    def close(self) -> None:
        """Close the ``human`` render mode's window, if one is open."""
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

    def action_masks(self) -> np.ndarray:
        """The agent's current valid-action mask (for SB3-contrib's ``MaskablePPO``)."""
        return self._observe(self.agent, with_mask=True)["action_mask"]

    def get_state(self) -> dict[str, Any]:
        """A deep-copied snapshot of the world, players and episode counters."""
        return {"world": self.batch.state.get_row(0), "needs_reset": self._needs_reset}

    def set_state(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Restore a :meth:`get_state` snapshot and return the agent's observation of it.

        Every value is checked before anything is written
        (:func:`~mbag_env.core.validation.validate_state_row`), so a snapshot the compiled core
        cannot handle leaves the env as it was.

        Raises:
            ValueError: if the snapshot does not match this env's configuration;
                :class:`~mbag_env.core.validation.StateError` (a ``ValueError``) naming the field,
                index and value when a value is out of range or inconsistent.
        """
        if not isinstance(state, Mapping) or "world" not in state or "needs_reset" not in state:
            raise ValueError("state must be a dict from get_state() with keys 'world' and 'needs_reset'")
        needs_reset = state["needs_reset"]
        if not isinstance(needs_reset, (bool, np.bool_)):
            raise ValueError(f"state['needs_reset'] must be True or False, got {needs_reset!r}")
        world = state["world"]
        validate_state_row(world, self.batch.params, self.config.world_size)
        ended = world["env_ints"][ENV_TERMINATED] or world["env_ints"][ENV_TRUNCATED]
        if ended and not needs_reset:
            raise ValueError("state['needs_reset'] must be True: the state's episode has ended")
        self._observation_current[0] = 0
        self.batch.state.set_row(0, world)
        self._needs_reset = bool(needs_reset)
        return self._agent_observation()

    # ------------------------------------------------------------ helpers
    def _copied_observation(self) -> dict[str, np.ndarray]:
        """Copies of the agent's observation buffers (a dict built key by key: faster than a loop)."""
        world, inventory, timestep, *mask = self._observation_rows
        observation = {"world": world.copy(), "inventory": inventory.copy(), "timestep": timestep.copy()}
        if mask:
            observation["action_mask"] = mask[0].copy()
        return observation

    def _policy_human_action(self) -> int:
        """The action of a human policy object (not a compiled human) from its own observation."""
        observation = self._observe(0, with_mask=True)
        action = self.human_policy.act(observation)  # type: ignore[union-attr]
        action = check_integer_action(action, self.human_policy)  # TypeError for 3.7, "5", True
        try:
            return self.batch.actions.check(action)
        except ValueError as error:
            raise ValueError(
                f"the human policy returned an invalid action: {error} (policy {self.human_policy!r})"
            ) from error

    def _agent_observation(self) -> dict[str, np.ndarray]:
        """The agent's observation written afresh: copies, or in zero-copy mode the buffers' views."""
        observation = self._observe(self.agent)
        return observation if self._observation_views is None else self._observation_views

    def _observe(self, player: int, with_mask: bool | None = None) -> dict[str, np.ndarray]:
        include_mask = self.config.action_masks if with_mask is None else with_mask
        return self.batch.first_observation(player, self._buffers[player], include_mask)


_HOT_PATH_ATTRIBUTES = (
    "_step_args",
    "_observation_current",
    "_observation_keys",
    "_observation_rows",
    "_observation_views",
    "_agent_row",
    "_human_row",
    "_env_row",
    "_rewards_row",
)
"""The attributes :meth:`MbagEnv._bind_hot_path` sets (views into the batch, rebound after unpickling)."""


def config_from_arguments(config: MbagConfig | None, config_fields: dict[str, Any]) -> MbagConfig:
    """The config an env constructor was given: ``config`` updated by keyword fields."""
    if isinstance(config_fields.get("world_size"), list):
        # Anything else (an int, a string, ...) goes to MbagConfig as is, which names the field.
        config_fields = {**config_fields, "world_size": tuple(config_fields["world_size"])}
    if "reward_shaping" in config_fields:
        config_fields = {
            **config_fields,
            "reward_shaping": reward_shaping_from_plain(config_fields["reward_shaping"]),
        }
    if config is None:
        return MbagConfig(**config_fields)
    return config.replace(**config_fields) if config_fields else config
