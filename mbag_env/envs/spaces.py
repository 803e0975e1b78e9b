"""Space classes: the action space accepts the env's boolean action masks directly."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


class MaskedDiscrete(spaces.Discrete):
    """``Discrete`` whose ``sample(mask=...)`` also takes a boolean mask.

    The env's ``action_mask`` is boolean (SPEC §5) while Gymnasium's ``Discrete.sample``
    wants ``int8``; this lets ``space.sample(mask=observation["action_mask"])`` work as is
    (PettingZoo's API tests and many training loops call it that way).
    """

    def sample(self, mask: np.ndarray | None = None, probability: np.ndarray | None = None) -> np.int64:  # type: ignore[override]
        """A random action, uniform over the actions allowed by ``mask`` (bool or int8)."""
        if mask is not None and np.asarray(mask).dtype == np.bool_:
            mask = np.asarray(mask).astype(np.int8)
        return super().sample(mask=mask, probability=probability)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, spaces.Discrete) and super().__eq__(other)

    __hash__ = spaces.Discrete.__hash__
