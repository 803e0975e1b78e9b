"""Compiled scripted human models: which human acts, and the noise on top of it.

A :class:`HumanModel` names the compiled behaviour (``kind``) and its noise parameters; the env
hands :meth:`HumanModel.as_array` to the step kernel, which calls :func:`scripted_human_action`
for every player whose action is :data:`~mbag_env.core.step.SCRIPTED_HUMAN`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from mbag_env.humans.goal_seeking import goal_seeking_action

HUMAN_KINDS = ("goal_seeking",)
"""Names of the compiled human behaviours, in the order of their numeric ids."""

# Entries of the float64 vector of HumanModel.as_array().
MODEL_KIND = 0
NUM_MODEL_PARAMS = 1


@dataclass(frozen=True)
class HumanModel:
    """A compiled scripted human.

    Attributes:
        kind: one of :data:`HUMAN_KINDS`; ``"goal_seeking"`` is described in
            :mod:`mbag_env.humans.goal_seeking`.
    """

    kind: str = "goal_seeking"

    def __post_init__(self) -> None:
        if self.kind not in HUMAN_KINDS:
            raise ValueError(f"HumanModel.kind must be one of {HUMAN_KINDS}, got {self.kind!r}")

    def as_array(self) -> np.ndarray:
        """The parameters as the float64 vector the step kernel takes."""
        values = np.zeros(NUM_MODEL_PARAMS, dtype=np.float64)
        values[MODEL_KIND] = HUMAN_KINDS.index(self.kind)
        return values


@numba.njit(cache=True, _nrt=False)
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
    """The action of the scripted human ``player`` described by ``model`` (see :class:`HumanModel`)."""
    return goal_seeking_action(blocks, goal, player_ints, layer_errors, env_ints, params, player, scratch)
