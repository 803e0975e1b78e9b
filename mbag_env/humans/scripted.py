"""Compiled scripted human models: which human acts, and the noise on top of it.

A :class:`HumanModel` names the compiled behaviour (``kind``) and its noise parameters; the env
hands :meth:`HumanModel.as_array` to the step kernel (:mod:`mbag_env.envs.step_kernels`), which
calls :func:`scripted_human_action` for every player whose action is
:data:`~mbag_env.core.step.SCRIPTED_HUMAN`. All of them see the goal, and all randomness comes
from the world's own generator (``env_ints``), so a scripted human is reproducible per world
under ``reset(seed=...)``, alone or in a vector env.

Kinds (:data:`HUMAN_KINDS`):

- ``"goal_seeking"`` (:mod:`.goal_seeking`): lowest incorrect layer first, the nearest cell it
  can act on, flies toward unreachable work, breaks wrong blocks (the assistant's included).
- ``"layer_builder"`` (:mod:`.layer_builder`): sweeps the lowest unfinished layer in a fixed
  serpentine scan order, flying to each target in turn.

Noise, applied by :func:`scripted_human_action` in this order each step (see :mod:`.noise`):

1. ``act_every = k``: the human acts only on steps whose timestep (steps taken so far) is a
   multiple of ``k`` and does NOOP on the others (a slower human).
2. ``epsilon = ε``: with probability ε it takes a uniformly random valid action.
3. ``temperature = T > 0``: it makes a Boltzmann choice among the useful actions it can take
   now in the layer it is building (correct places and breaks, preferring near ones); when it
   has none it falls through to the kind's own action (usually a move toward work).
4. Otherwise the kind's own action.

When the world already equals the goal every model does NOOP. A noise-free model
(``epsilon=0, temperature=0, act_every=1``) draws nothing extra from the generator and behaves
exactly as its kind.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mbag_env.core.actions import NOOP
from mbag_env.core.jit import kernel
from mbag_env.core.random import random_unit
from mbag_env.core.state import ENV_EDIT_DISTANCE, ENV_TIMESTEP
from mbag_env.humans.goal_seeking import goal_seeking_action
from mbag_env.humans.layer_builder import layer_builder_action
from mbag_env.humans.noise import boltzmann_useful_action, random_valid_action
from mbag_env.humans.world import HumanWorld

HUMAN_KINDS = ("goal_seeking", "layer_builder")
"""Names of the compiled human behaviours, in the order of their numeric ids."""

KIND_GOAL_SEEKING = 0
KIND_LAYER_BUILDER = 1

# Entries of the float64 vector of HumanModel.as_array().
MODEL_KIND = 0
MODEL_EPSILON = 1
MODEL_TEMPERATURE = 2
MODEL_ACT_EVERY = 3
NUM_MODEL_PARAMS = 4

MAX_TEMPERATURE = 1e6
"""Upper bound of :attr:`HumanModel.temperature` (beyond it the choice is uniform anyway)."""

MAX_ACT_EVERY = 1_000_000
"""Upper bound of :attr:`HumanModel.act_every`. The step kernel receives it in a float64 vector and
converts it back to int64; larger values (2**63 and up) would overflow there. A million steps is far
beyond any horizon used in practice: a human that acts less often than that never acts."""


@dataclass(frozen=True)
class HumanModel:
    """A compiled scripted human: a behaviour and the noise on top of it (module docstring).

    Attributes:
        kind: one of :data:`HUMAN_KINDS`.
        epsilon: probability in ``[0, 1]`` of a uniformly random valid action each acting step.
        temperature: ``0`` (off) or a positive temperature of the Boltzmann choice among useful
            actions; near 0 it takes the nearest useful action almost always, large values
            choose almost uniformly among the useful actions in reach.
        act_every: the human acts only every ``act_every``-th step (an integer in
            ``[1, MAX_ACT_EVERY]``, i.e. at most 10**6).

    Raises:
        ValueError: on an unknown kind or a parameter out of range (the message names it).
    """

    kind: str = "goal_seeking"
    epsilon: float = 0.0
    temperature: float = 0.0
    act_every: int = 1

    def __post_init__(self) -> None:
        if self.kind not in HUMAN_KINDS:
            raise ValueError(f"HumanModel.kind must be one of {HUMAN_KINDS}, got {self.kind!r}")
        epsilon = _finite_number("epsilon", self.epsilon)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"HumanModel.epsilon must lie in [0, 1], got {self.epsilon!r}")
        temperature = _finite_number("temperature", self.temperature)
        if not 0.0 <= temperature <= MAX_TEMPERATURE:
            raise ValueError(
                f"HumanModel.temperature must be 0 (off) or a positive number up to {MAX_TEMPERATURE:g}, "
                f"got {self.temperature!r}"
            )
        if isinstance(self.act_every, (bool, np.bool_)) or not isinstance(self.act_every, (int, np.integer)):
            raise ValueError(
                f"HumanModel.act_every must be an integer >= 1 and at most MAX_ACT_EVERY={MAX_ACT_EVERY}, "
                f"got {self.act_every!r}"
            )
        if not 1 <= self.act_every <= MAX_ACT_EVERY:
            raise ValueError(
                f"HumanModel.act_every must be an integer >= 1 and at most MAX_ACT_EVERY={MAX_ACT_EVERY}, "
                f"got {self.act_every!r}"
            )
        object.__setattr__(self, "epsilon", epsilon)
        object.__setattr__(self, "temperature", temperature)
        object.__setattr__(self, "act_every", int(self.act_every))

    @property
    def noise_free(self) -> bool:
        """Whether no noise model is on (the bare behaviour of :attr:`kind`)."""
        return self.epsilon == 0.0 and self.temperature == 0.0 and self.act_every == 1

    @property
    def label(self) -> str:
        """A short readable name, e.g. ``"goal_seeking"`` or ``"layer_builder:epsilon=0.1,act_every=2"``.

        :meth:`parse` turns it back into the same model.
        """
        changed = [
            f"{name}={getattr(self, name):g}"
            for name, default in (("epsilon", 0.0), ("temperature", 0.0), ("act_every", 1))
            if getattr(self, name) != default
        ]
        return self.kind + (":" + ",".join(changed) if changed else "")

    @classmethod
    def parse(cls, text: str) -> HumanModel:
        """Read a model from ``"kind"`` or ``"kind:name=value,name=value"`` (see :attr:`label`).

        Raises:
            ValueError: on an unknown kind or parameter name, or a bad value.
        """
        kind, _, rest = text.strip().partition(":")
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            name, equals, value = item.partition("=")
            name = name.strip()
            if not equals or name not in ("epsilon", "temperature", "act_every"):
                raise ValueError(
                    f"bad human model {text!r}: expected kind[:name=value,...] with names epsilon, "
                    f"temperature, act_every; got {item!r}"
                )
            try:
                values[name] = int(value) if name == "act_every" else float(value)
            except ValueError:
                raise ValueError(
                    f"bad human model {text!r}: {name}={value.strip()!r} is not a number"
                ) from None
        return cls(kind=kind.strip(), **values)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (:meth:`from_dict` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HumanModel:
        """A model from :meth:`to_dict` output."""
        return cls(**values)

    def as_array(self) -> np.ndarray:
        """The parameters as the float64 vector the step kernel takes (``MODEL_*`` entries)."""
        values = np.zeros(NUM_MODEL_PARAMS, dtype=np.float64)
        values[MODEL_KIND] = HUMAN_KINDS.index(self.kind)
        values[MODEL_EPSILON] = self.epsilon
        values[MODEL_TEMPERATURE] = self.temperature
        values[MODEL_ACT_EVERY] = self.act_every
        return values


def _finite_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"HumanModel.{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"HumanModel.{name} must be finite, got {value!r}")
    return float(value)


@kernel()
def scripted_human_action(
    model: np.ndarray,
    blocks: np.ndarray,
    goal: np.ndarray,
    player_ints: np.ndarray,
    layer_errors: np.ndarray,
    env_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    scratch: np.ndarray,
) -> int:
    """The action of the scripted human ``player`` described by ``model`` (see :class:`HumanModel`
    and the module docstring for the order in which the noise applies)."""
    if env_ints[ENV_EDIT_DISTANCE] == 0:
        return NOOP
    world = HumanWorld(blocks, goal, player_ints, layer_errors, env_ints, params)
    act_every = int(model[MODEL_ACT_EVERY])
    if act_every > 1 and env_ints[ENV_TIMESTEP] % act_every != 0:
        return NOOP
    epsilon = model[MODEL_EPSILON]
    if epsilon > 0.0 and random_unit(env_ints) < epsilon:
        return random_valid_action(blocks, player_ints, env_ints, params, player)
    temperature = model[MODEL_TEMPERATURE]
    if temperature > 0.0:
        action = boltzmann_useful_action(world, player, temperature)
        if action >= 0:
            return action
    if int(model[MODEL_KIND]) == KIND_LAYER_BUILDER:
        return layer_builder_action(world, player, scratch)
    return goal_seeking_action(world, player, scratch)
