"""The ``Policy`` protocol: anything with ``act(observation) -> action``, or a callable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mbag_env.humans.scripted import HUMAN_KINDS, HumanModel


@runtime_checkable
class Policy(Protocol):
    """A policy maps one player's observation (the dict of SPEC §5) to an action index."""

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Choose an action for ``observation``."""
        ...


class CallablePolicy:
    """Adapts a plain function ``f(observation) -> action`` to :class:`Policy`."""

    def __init__(self, function: Callable[[Mapping[str, np.ndarray]], int]) -> None:
        self.function = function

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Call the wrapped function and return its action as an int.

        Raises:
            TypeError: if the function returns anything but an integer (a Python ``int``, a numpy
                integer or a 0-d integer array). Floats, strings and bools are refused rather than
                coerced, so that a buggy policy fails at once instead of acting on ``int(3.7)``.
        """
        action = self.function(observation)
        return check_integer_action(action, self.function)

    def __repr__(self) -> str:
        return f"CallablePolicy({self.function!r})"


def check_integer_action(action: object, policy: object) -> int:
    """``action`` as an ``int`` if it is an integer (not a bool); otherwise a TypeError naming ``policy``."""
    if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
        return int(action)
    if isinstance(action, (int, np.integer)) and not isinstance(action, (bool, np.bool_)):
        return int(action)
    raise TypeError(
        f"the human policy {policy!r} returned {action!r} of type {type(action).__name__}; "
        "an action must be an integer (int or numpy integer), not a float, string or bool"
    )


def as_policy(policy: Any) -> HumanModel | Policy:
    """Normalise a human-policy argument.

    Returns a compiled :class:`~mbag_env.humans.scripted.HumanModel` for ``None`` (the
    goal-seeking human), a human kind's name, or a ``HumanModel``; the object itself when it
    has an ``act`` method; or a :class:`CallablePolicy` around a callable.

    Raises:
        ValueError: for anything else, naming what is accepted.
    """
    if policy is None:
        return HumanModel()
    if isinstance(policy, HumanModel):
        return policy
    if isinstance(policy, str):
        if policy not in HUMAN_KINDS:
            raise ValueError(f"unknown scripted human {policy!r}; the compiled humans are {HUMAN_KINDS}")
        return HumanModel(kind=policy)
    if isinstance(policy, Policy):
        return policy
    if callable(policy):
        return CallablePolicy(policy)
    raise ValueError(
        f"human_policy must be None, a scripted human's name {HUMAN_KINDS}, a HumanModel, an object with "
        f"act(observation) -> action, or a callable observation -> action; got {policy!r}"
    )
