"""Assistant factories for the leaderboard tests (specs ``tests.evaluation.assistant_factories:NAME``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mbag_env.evaluation import IdleAssistant


class OutOfRange:
    """Returns an action index that does not exist."""

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Always -5."""
        return -5


class Crashing:
    """Raises after a few steps."""

    def __init__(self) -> None:
        self.steps = 0

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """NOOP twice, then a RuntimeError."""
        self.steps += 1
        if self.steps > 2:
            raise RuntimeError("the assistant crashed on purpose")
        return 0


def out_of_range() -> OutOfRange:
    """A policy that returns invalid actions."""
    return OutOfRange()


def crashing() -> Crashing:
    """A policy that raises."""
    return Crashing()


def idle_with_arguments(env: object, seed: int) -> IdleAssistant:
    """An idle policy from a factory that takes ``env`` and ``seed``."""
    assert env is not None and isinstance(seed, int)
    return IdleAssistant()


def noop_function(observation: Mapping[str, np.ndarray]) -> int:
    """A plain function policy."""
    return 0


def function_policy() -> object:
    """A factory returning a plain function (a callable policy)."""
    return noop_function


def not_a_policy() -> int:
    """Returns something that is not a policy."""
    return 42


NOT_CALLABLE = 3


class Interrupting:
    """Acts as if the user pressed Ctrl-C."""

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Raise KeyboardInterrupt."""
        raise KeyboardInterrupt


def interrupting() -> Interrupting:
    """A policy that interrupts the run."""
    return Interrupting()


def load_idle_checkpoint(path: str, seed: int) -> IdleAssistant:
    """A checkpoint loader (registered for ``.idle`` files in the tests) that ignores the file."""
    assert path.endswith(".idle") and isinstance(seed, int)
    return IdleAssistant()
