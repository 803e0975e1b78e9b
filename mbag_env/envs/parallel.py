"""The PettingZoo interface: every player is an agent (``"human"``, ``"assistant"``, or ``player_i``).

``parallel_env()`` gives the :class:`MbagParallelEnv`; ``env()`` gives the AEC version
(:class:`MbagAECEnv`), PettingZoo's standard ``parallel_to_aec`` converter with each action checked
when it is given; ``supersuit_vec_env()`` gives SuperSuit's vector env over all agents (with
``uniform_spaces=True``, which SuperSuit needs). With ``scripted_human=...`` player 0 is a compiled
scripted human inside the step and only the other players are agents: the form multi-agent
trainers such as RLlib take for training the assistant (``examples/rllib_assistant.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

from mbag_env.config import MbagConfig
from mbag_env.core.state import ENV_TERMINATED, ENV_TRUNCATED
from mbag_env.core.step import SCRIPTED_HUMAN
from mbag_env.core.validation import validate_state_row
from mbag_env.envs.batch import WorldBatch
from mbag_env.envs.single import RENDER_MODES, config_from_arguments
from mbag_env.humans.policy import as_policy
from mbag_env.humans.scripted import HumanModel


def agent_names(num_players: int) -> list[str]:
    """``["human", "assistant"]`` for two players, else ``["player_0", ...]``."""
    if num_players == 2:
        return ["human", "assistant"]
    return [f"player_{index}" for index in range(num_players)]


class MbagParallelEnv(ParallelEnv[str, dict[str, np.ndarray], int]):
    """All players of one MBAG world act simultaneously; actions resolve in player order.

    Per-agent observation spaces differ: only the goal-aware players (by default player 0,
    the human) have the goal channel, unless ``uniform_spaces=True`` gives everyone a goal
    channel (zeros for those who may not see θ): tools that stack all agents' observations,
    such as SuperSuit, need that (see :func:`supersuit_vec_env`). Rewards are shared (plus any
    per-player shaping). See :class:`mbag_env.envs.single.MbagEnv` for the observation and action layout.

    With ``scripted_human`` set, player 0 is played inside the step by that compiled scripted human
    (as in ``mbag/Assist-v0``) and is not an agent: :attr:`possible_agents` is ``["assistant"]``
    for two players (``["player_1", ...]`` for more), which is how a multi-agent trainer such as
    RLlib trains the assistant beside the human. The human's randomness comes from the world's
    generator, so episodes stay reproducible under ``reset(seed=...)``.

    Args:
        config: a full :class:`~mbag_env.config.MbagConfig`; or give its fields as keywords.
        render_mode: ``"rgb_array"``, ``"ansi"``, ``"human"`` (a pygame window, redrawn on every
            step) or ``None``.
        scripted_human: ``None`` (default: player 0 is an agent like the others), or a compiled
            human's name (e.g. ``"goal_seeking"``) or :class:`~mbag_env.humans.HumanModel` that
            plays player 0 inside the env.

    Raises:
        ValueError: for an unknown render mode, a ``scripted_human`` that is not a compiled human,
            or ``scripted_human`` with a single player (no agent would be left).
    """

    metadata = {"name": "mbag_v0", "render_modes": RENDER_MODES, "render_fps": 10, "is_parallelizable": True}

    def __init__(
        self,
        config: MbagConfig | None = None,
        render_mode: str | None = None,
        *,
        scripted_human: str | HumanModel | None = None,
        **config_fields: Any,
    ):
        config = config_from_arguments(config, config_fields)
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}")
        human = None if scripted_human is None else _compiled_human(scripted_human)
        if human is not None and config.num_players < 2:
            raise ValueError(
                "scripted_human needs num_players >= 2: with one player the human would be the only "
                f"player and no agent would be left (num_players={config.num_players})"
            )
        self.config = config
        self.render_mode = render_mode
        self.scripted_human = human
        """The compiled human playing player 0 inside the env, or None when player 0 is an agent."""
        self._viewer: Any = None  # the human render mode's window, opened on first use
        self.batch = WorldBatch(config, num_envs=1)
        first_agent = 0 if human is None else 1
        self.possible_agents = agent_names(config.num_players)[first_agent:]
        self.agents: list[str] = []
        self._index = {name: first_agent + index for index, name in enumerate(self.possible_agents)}
        self._actions = np.zeros((1, config.num_players), dtype=np.int64)
        if human is not None:
            self.batch.human_model = human.as_array()
            self._actions[0, 0] = SCRIPTED_HUMAN  # never overwritten: step() writes only agents' entries
        self._observation_spaces = {
            name: self.batch.observation_space(index) for name, index in self._index.items()
        }
        self._action_space = self.batch.action_space()
        self._buffers = [self.batch.observation_buffers(index) for index in range(config.num_players)]
        self._mask_current = np.zeros(config.num_players, dtype=np.bool_)
        """Per player: its buffer holds its mask of the state before the next step (the step then
        refreshes it from its effects instead of writing it afresh)."""
        self._np_random: np.random.Generator | None = None

    @functools.cache  # noqa: B019 - spaces are fixed per env, as PettingZoo recommends
    def observation_space(self, agent: str) -> gymnasium.spaces.Space[Any]:
        """The observation space of ``agent``."""
        return self._observation_spaces[agent]

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gymnasium.spaces.Space[Any]:
        """The (shared) flat discrete action space."""
        return self._action_space

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, Any]]]:
        """Start an episode; all randomness comes from a generator seeded by ``seed``."""
        if seed is not None or self._np_random is None:
            self._np_random, _ = gymnasium.utils.seeding.np_random(seed)
        self.batch.reset_env(0, self._np_random)
        self.agents = list(self.possible_agents)
        self._mask_current[:] = False
        observations = {name: self._observe(index) for name, index in self._index.items()}
        infos = {name: self.batch.reset_info(0) for name in self.agents}
        if self.render_mode == "human":
            self.render()
        return observations, infos

    def step(
        self, actions: Mapping[str, int]
    ) -> tuple[
        dict[str, dict[str, np.ndarray]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Step with one action per live agent.

        Raises:
            ValueError: for a missing agent, an unknown agent, or an action out of range.
            RuntimeError: when called with no live agents (the episode ended; call reset()).
        """
        if not self.agents:
            raise RuntimeError("step() called after the episode ended: call reset() first")
        unknown = set(actions) - set(self.agents)
        missing = set(self.agents) - set(actions)
        if unknown or missing:
            raise ValueError(
                f"step() needs exactly one action per agent {self.agents}; "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        for name, action in actions.items():
            try:
                self._actions[0, self._index[name]] = self.batch.actions.check(action)
            except ValueError as error:
                raise ValueError(f"agent {name!r}: {error}") from error
        rewards = self.batch.step(self._actions)
        terminated = self.batch.terminated(0)
        truncated = self.batch.truncated(0)
        # Every agent's mask is refreshed from its last one; a player observed in no step (the
        # scripted human's, written by state()) goes stale and is written afresh next time.
        current = self._mask_current.tolist()
        self._mask_current[:] = False
        observations = {}
        for name in self.agents:
            index = self._index[name]
            observations[name] = self._observe(index, current[index])
        reward_dict = {name: float(rewards[0, self._index[name]]) for name in self.agents}
        terminations = {name: terminated for name in self.agents}
        truncations = {name: truncated for name in self.agents}
        infos = {name: self.batch.info(0, self._index[name]) for name in self.agents}
        if terminated or truncated:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return observations, reward_dict, terminations, truncations, infos

    def render(self) -> np.ndarray | str | None:
        """An RGB image (``rgb_array``) or text layers (``ansi``) of the world, with the goal ghost;
        ``human`` draws the window (:class:`~mbag_env.render.env_viewer.EnvViewer`) and returns ``None``."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode= to the env")
            return None
        if self.render_mode == "human":
            from mbag_env.render.env_viewer import open_env_viewer

            if self._viewer is None:
                fps = float(self.metadata["render_fps"])  # type: ignore[arg-type]
                self._viewer = open_env_viewer(self.config.world_size, fps, "mbag_env")
            self._viewer.show(self.batch, True, float(self.batch.rewards[0, 0]))
            return None
        from mbag_env.render import render_ansi, render_isometric

        state = self.batch.state
        players = state.player_ints[0, :, :3]
        if self.render_mode == "ansi":
            return render_ansi(state.blocks[0], players, state.goal[0])
        return render_isometric(state.blocks[0], players, state.goal[0])

    def close(self) -> None:
        """Close the ``human`` render mode's window, if one is open."""
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

    def state(self) -> np.ndarray:
        """The global state for centralised critics: the world with goal, as seen by player 0."""
        return self._observe(0)["world"]

    def get_state(self) -> dict[str, Any]:
        """A deep-copied snapshot of the world, players, counters and live agents."""
        return {"world": self.batch.state.get_row(0), "agents": list(self.agents)}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot.

        Every value is checked before anything is written
        (:func:`~mbag_env.core.validation.validate_state_row`).

        Raises:
            ValueError: if the snapshot does not match this env's configuration, or its agents are
                neither all of :attr:`possible_agents` nor none (none once the episode ended);
                :class:`~mbag_env.core.validation.StateError` (a ``ValueError``) naming the field,
                index and value when a value is out of range or inconsistent.
        """
        if not isinstance(state, Mapping) or "world" not in state or "agents" not in state:
            raise ValueError("state must be a dict from get_state() with keys 'world' and 'agents'")
        world = state["world"]
        validate_state_row(world, self.batch.params, self.config.world_size)
        agents = list(state["agents"])
        if agents and sorted(agents) != sorted(self.possible_agents):
            raise ValueError(
                f"state['agents'] must list all of {self.possible_agents} (a live episode) or none, "
                f"got {agents!r}"
            )
        if agents and (world["env_ints"][ENV_TERMINATED] or world["env_ints"][ENV_TRUNCATED]):
            raise ValueError("state['agents'] must be empty: the state's episode has ended")
        self.batch.state.set_row(0, world)
        self._mask_current[:] = False
        self.agents = [name for name in self.possible_agents if name in agents]

    def _observe(self, player: int, refresh_mask: bool = False) -> dict[str, np.ndarray]:
        """``player``'s observation; its mask refreshed from the buffer's with ``refresh_mask``."""
        masks = self.config.action_masks
        observation = self.batch.first_observation(player, self._buffers[player], masks, refresh_mask)
        self._mask_current[player] = masks
        return observation


def _compiled_human(scripted_human: object) -> HumanModel:
    """``scripted_human`` as a :class:`HumanModel`; a ValueError for anything but a compiled human."""
    model = as_policy(scripted_human) if isinstance(scripted_human, (str, HumanModel)) else None
    if not isinstance(model, HumanModel):
        raise ValueError(
            "scripted_human must be a compiled human's name or a HumanModel (or None to make player 0 "
            f"an agent), got {scripted_human!r}"
        )
    return model


def parallel_env(**kwargs: Any) -> MbagParallelEnv:
    """The PettingZoo parallel env (keywords as for :class:`MbagParallelEnv`)."""
    return MbagParallelEnv(**kwargs)


class MbagAECEnv(parallel_to_aec_wrapper):
    """The AEC version of :class:`MbagParallelEnv`: PettingZoo's ``parallel_to_aec`` converter, except
    that :meth:`step` checks the action at once.

    The converter only stores each agent's action and steps the parallel env when the last agent
    acts, so a bad action from an earlier agent would surface one call later, blamed on the wrong
    agent, and would stay stored, failing every later step. Here the action is checked before
    anything is stored, so after the ``ValueError`` the same agent can simply step again.
    As in the parallel and Gymnasium envs, an in-range action that the action mask rules out is
    accepted: it is invalid and changes nothing (see ``MbagConfig.action_masks``).
    """

    env: MbagParallelEnv

    def step(self, action: Any) -> None:
        """Give the current agent's action; the world steps once every live agent has acted.

        Raises:
            ValueError: naming the agent and the action when the action is not an integer in
                ``[0, n_actions)``; nothing changes, so a following valid step works.
        """
        agent = getattr(self, "agent_selection", None)
        if agent is not None and not (self.terminations[agent] or self.truncations[agent]):
            try:
                action = self.env.batch.actions.check(action)
            except ValueError as error:
                raise ValueError(f"agent {agent!r}: invalid action {action!r}: {error}") from error
        super().step(action)


def env(**kwargs: Any) -> MbagAECEnv:
    """The PettingZoo AEC env (:class:`MbagAECEnv`; keywords as for :class:`MbagParallelEnv`)."""
    return MbagAECEnv(parallel_env(**kwargs))


def supersuit_vec_env(
    num_worlds: int = 1,
    *,
    num_cpus: int = 0,
    base_class: str = "gymnasium",
    config: MbagConfig | None = None,
    **config_fields: Any,
) -> Any:
    """SuperSuit's vector env over every agent of ``num_worlds`` parallel envs, for training one
    shared policy with single-agent code (``num_worlds * num_players`` slots; slot
    ``w * num_players + i`` is agent ``i`` of world ``w``).

    SuperSuit needs one observation space for all agents, so the worlds are made with
    ``uniform_spaces=True``: players that may not see the goal get a goal channel of zeros (the
    default :func:`parallel_env` gives them none, and SuperSuit refuses it with "observation spaces
    not consistent"; its ``pad_observations_v0`` does not handle ``Dict`` spaces). Equivalent to::

        env = supersuit.pettingzoo_env_to_vec_env_v1(mbag_env.parallel_env(uniform_spaces=True))
        env = supersuit.concat_vec_envs_v1(env, num_worlds, num_cpus=num_cpus, base_class=base_class)

    SuperSuit is not a dependency of mbag_env: ``pip install supersuit``.

    Args:
        num_worlds: how many worlds (parallel envs) to concatenate, at least 1.
        num_cpus: SuperSuit's worker processes (0: step every world in this process).
        base_class: SuperSuit's ``base_class`` (``"gymnasium"`` or ``"stable_baselines3"``).
        config, config_fields: as for :class:`MbagParallelEnv`.

    Raises:
        ValueError: for ``uniform_spaces=False`` or ``num_worlds < 1``.
        ImportError: when SuperSuit is not installed.
    """
    if config_fields.get("uniform_spaces", True) is not True:
        raise ValueError(
            "supersuit_vec_env needs uniform_spaces=True: SuperSuit stacks all agents' observations, "
            "so they must share one observation space"
        )
    if isinstance(num_worlds, bool) or not isinstance(num_worlds, (int, np.integer)) or num_worlds < 1:
        raise ValueError(f"num_worlds must be an integer >= 1, got {num_worlds!r}")
    try:
        import supersuit
    except ImportError as error:
        raise ImportError("supersuit_vec_env needs SuperSuit: pip install supersuit") from error
    world = MbagParallelEnv(config=config, **{**config_fields, "uniform_spaces": True})
    vector = supersuit.pettingzoo_env_to_vec_env_v1(world)
    return supersuit.concat_vec_envs_v1(vector, int(num_worlds), num_cpus=num_cpus, base_class=base_class)
