"""The ``Policy`` protocol: anything with ``act(observation) -> action``, or a callable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

GOAL_SEEKING = "goal_seeking"
"""Name of the compiled goal-seeking scripted human (the default human of ``mbag/Assist-v0``)."""


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
        """Call the wrapped function."""
        return int(self.function(observation))


def as_policy(policy: Any) -> Policy | str:
    """Normalise a human-policy argument.

    Returns :data:`GOAL_SEEKING` for ``None`` or that name (the compiled human), the object
    itself when it has an ``act`` method, or a :class:`CallablePolicy` around a callable.

    Raises:
        ValueError: for anything else, naming what is accepted.
    """
    if policy is None or policy == GOAL_SEEKING:
        return GOAL_SEEKING
    if isinstance(policy, Policy):
        return policy
    if callable(policy):
        return CallablePolicy(policy)
    raise ValueError(
        f"human_policy must be None, {GOAL_SEEKING!r}, an object with act(observation) -> action, "
        f"or a callable observation -> action; got {policy!r}"
    )
