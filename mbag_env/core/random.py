"""A tiny per-world random number generator for compiled code.

Each world keeps its own 64-bit state in ``env_ints[:, ENV_RNG]`` (seeded at reset from the
env's ``np_random``), so compiled policies are reproducible per world whatever the batch.
"""

from __future__ import annotations

import numpy as np

from mbag_env.core.jit import kernel
from mbag_env.core.state import ENV_RNG

_MULTIPLIER = 6364136223846793005
_INCREMENT = 1442695040888963407


@kernel()
def random_below(env_ints: np.ndarray, bound: int) -> int:
    """Advance the world's generator (a 64-bit LCG) and return an integer in ``[0, bound)``."""
    state = env_ints[ENV_RNG] * _MULTIPLIER + _INCREMENT
    env_ints[ENV_RNG] = state
    high_bits = (state >> 33) & 0x7FFFFFFF
    return int(high_bits % bound)


@kernel()
def random_unit(env_ints: np.ndarray) -> float:
    """A float in ``[0, 1)`` from the world's generator."""
    return random_below(env_ints, 1 << 30) / float(1 << 30)
