"""Reference assistants of the leaderboard: ``idle``, ``random``, ``oracle`` and ``bayes``.

Each is a :class:`~mbag_env.humans.Policy` (``act(observation) -> action``) for the assistant's
seat of ``mbag/Assist-v0``:

- :class:`IdleAssistant` always does NOOP: the human builds alone (the baseline every helpful
  assistant must beat).
- :class:`RandomAssistant` takes a uniformly random valid action from the observation's
  ``action_mask``: it mostly places wrong blocks and undoes the human's work, so it hurts.
- :class:`OracleAssistant` **cheats**: it reads θ and the whole world from the env's state and
  acts as the compiled goal-seeking builder would in its seat. No real assistant can see θ, so
  it is a privileged reference point, roughly the best a helpful assistant can hope for.

:func:`make_scripted_assistant` builds one by name (:data:`SCRIPTED_ASSISTANTS`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mbag_env.assistants.bayes import BayesAssistant, make_bayes_assistant
from mbag_env.core.actions import NOOP
from mbag_env.envs.single import MbagEnv
from mbag_env.humans.goal_seeking import human_scratch_size
from mbag_env.humans.scripted import HumanModel, scripted_human_action

SCRIPTED_ASSISTANTS = ("idle", "random", "oracle", "bayes")
"""Names accepted by :func:`make_scripted_assistant` (``bayes`` also with options:
``bayes:threshold=0.5,prior=dataset:train``)."""

DEFAULT_ASSISTANTS = ("idle", "random", "oracle")
"""The assistants the leaderboard evaluates when none are named (the quickest three)."""


def is_scripted_assistant(name: str) -> bool:
    """Whether ``name`` names a reference assistant: one of :data:`SCRIPTED_ASSISTANTS`, or
    ``bayes:`` with options."""
    return name in SCRIPTED_ASSISTANTS or name.startswith("bayes:")


class IdleAssistant:
    """Always NOOP."""

    name = "idle"

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Return NOOP whatever the observation."""
        return NOOP


class RandomAssistant:
    """A uniformly random valid action, read from the observation's ``action_mask``.

    Args:
        seed: seed of its own generator (``None`` for fresh entropy).
    """

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Draw one of the actions the mask marks valid.

        Raises:
            ValueError: when the observation has no ``action_mask`` (make the env with
                ``action_masks=True``, the default).
        """
        if "action_mask" not in observation:
            raise ValueError(
                "the random assistant needs observation['action_mask']; create the env with action_masks=True"
            )
        valid = np.flatnonzero(observation["action_mask"])
        return int(valid[self.rng.integers(len(valid))])


class OracleAssistant:
    """The goal-seeking builder in the assistant's seat, with privileged access to θ (cheating).

    Each :meth:`act` ignores the observation and runs the compiled scripted-human kernel
    (:func:`~mbag_env.humans.scripted.scripted_human_action`, by default the noise-free
    goal-seeking builder) for ``player`` on the env's own state arrays, so it sees the goal and
    the exact world. Its random moves (when it cannot reach any work) draw from the world's
    generator, so episodes stay reproducible. With another ``model`` it plays any compiled
    :class:`~mbag_env.humans.HumanModel` as a Python policy (for example as the builder agent
    of ``mbag/Build-v0``).

    Args:
        env: the :class:`~mbag_env.envs.single.MbagEnv` it plays in (Gymnasium wrappers are
            unwrapped); must be the env whose observations :meth:`act` receives.
        player: the seat it plays (default: the env's learning agent).
        model: the compiled behaviour (default: ``HumanModel("goal_seeking")``).

    Raises:
        ValueError: if ``env`` is not an MbagEnv or ``player`` is not one of its players.
    """

    name = "oracle"

    def __init__(self, env: MbagEnv, player: int | None = None, model: HumanModel | None = None) -> None:
        env = getattr(env, "unwrapped", env)
        if not isinstance(env, MbagEnv):
            raise ValueError(f"the oracle assistant needs an mbag_env MbagEnv to read θ from, got {env!r}")
        self.env = env
        self.player = env.agent if player is None else int(player)
        if not 0 <= self.player < env.config.num_players:
            raise ValueError(f"player must be in [0, {env.config.num_players}), got {player!r}")
        self.model = HumanModel() if model is None else model
        if not isinstance(self.model, HumanModel):
            raise ValueError(f"model must be a HumanModel, got {model!r}")
        self._model_array = self.model.as_array()
        self.scratch = np.zeros(human_scratch_size(env.config.world_size), dtype=np.int32)

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """The scripted builder's action for the env's current state (``observation`` is unused)."""
        batch = self.env.batch
        state = batch.state
        return int(
            scripted_human_action(
                self._model_array,
                state.blocks[0],
                state.goal[0],
                state.player_ints[0],
                state.layer_errors[0],
                state.env_ints[0],
                batch.params,
                self.player,
                self.scratch,
            )
        )


def make_scripted_assistant(
    name: str, env: MbagEnv | None = None, seed: int | None = None
) -> IdleAssistant | RandomAssistant | OracleAssistant | BayesAssistant:
    """Build the reference assistant ``name`` (see :func:`is_scripted_assistant`).

    Args:
        name: ``"idle"``, ``"random"``, ``"oracle"``, ``"bayes"`` or ``"bayes:options"``.
        env: the env it will play in (needed by ``"oracle"``, which reads θ from it, and by
            ``"bayes"``, which reads only its public settings: world size, players, rules).
        seed: seed of ``"random"``'s generator.

    Raises:
        ValueError: for an unknown name or bad bayes options, or ``"oracle"``/``"bayes"``
            without an env.
    """
    if name == "bayes" or name.startswith("bayes:"):
        if env is None:
            raise ValueError(
                "the bayes assistant needs the env it plays in: make_scripted_assistant('bayes', env)"
            )
        unwrapped = getattr(env, "unwrapped", env)
        return make_bayes_assistant(name, unwrapped.config, player=unwrapped.agent)
    if name == "idle":
        return IdleAssistant()
    if name == "random":
        return RandomAssistant(seed)
    if name == "oracle":
        if env is None:
            raise ValueError(
                "the oracle assistant needs the env it plays in: make_scripted_assistant('oracle', env)"
            )
        return OracleAssistant(env)
    raise ValueError(f"unknown scripted assistant {name!r}; choose one of {SCRIPTED_ASSISTANTS}")
