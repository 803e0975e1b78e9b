"""Checks of the baselines' config dataclasses (run in their ``__post_init__``); the messages name the
class and the field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def require_positive_ints(config: Any, names: Iterable[str]) -> None:
    """Check that each field of ``config`` named in ``names`` is an ``int`` (not a ``bool``) of at least 1.

    Raises:
        ValueError: naming the first field that is not.
    """
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{type(config).__name__}.{name} must be a positive integer, got {value!r}")


def require_in_range(config: Any, names: Iterable[str], low: float, high: float) -> None:
    """Check that each field of ``config`` named in ``names`` lies in ``[low, high]``.

    Raises:
        ValueError: naming the first field that does not.
    """
    for name in names:
        value = getattr(config, name)
        if not low <= value <= high:
            raise ValueError(f"{type(config).__name__}.{name}={value} is outside [{low}, {high}]")
