"""Disjoint train and test splits of goals, decided by a hash of what the goal builds.

A goal's split depends only on *what is built*, not on where or which way round: the key is the
part of the goal that differs from the initial world (bedrock, dirt, air), cropped to its bounding
box, in whichever of its eight horizontal orientations (four rotations about y, each optionally
mirrored) hashes smallest. So a house and every horizontally moved, rotated or mirrored copy of it
(in any world size) fall in the same split, and the two splits never share a goal.
"""

from __future__ import annotations

import numba
import numpy as np

from mbag_env.blocks import AIR, DIRT

SPLITS: tuple[str, ...] = ("train", "test")
TEST_FRACTION = 0.25
"""Share of all possible goals that belong to the test split."""

_TEST_THRESHOLD = int(TEST_FRACTION * 2**32)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def built_part(goal: np.ndarray) -> np.ndarray:
    """The goal above bedrock (``y >= 1``), cropped to the bounding box of the cells that differ from
    the initial world (dirt at ``y = 1``, air above). Shape ``(0, 0, 0)`` for an untouched world."""
    if goal.ndim != 3 or goal.shape[1] < 2:
        raise ValueError(f"goal must be a 3-D array with at least 2 layers, got shape {goal.shape}")
    above = goal[:, 1:, :]
    changed = above != AIR
    changed[:, 0, :] = above[:, 0, :] != DIRT
    if not changed.any():
        return np.zeros((0, 0, 0), dtype=np.uint8)
    xs = np.flatnonzero(changed.any(axis=(1, 2)))
    ys = np.flatnonzero(changed.any(axis=(0, 2)))
    zs = np.flatnonzero(changed.any(axis=(0, 1)))
    # The ground layer stays in the crop so that holes dug into it are part of the key.
    return np.ascontiguousarray(above[xs[0] : xs[-1] + 1, : ys[-1] + 1, zs[0] : zs[-1] + 1], dtype=np.uint8)


@numba.njit(cache=True)
def _canonical_hash(goal: np.ndarray) -> np.uint64:
    width, height, depth = goal.shape
    x_lo, x_hi, z_lo, z_hi, y_hi = width, -1, depth, -1, 0
    for x in range(width):
        for y in range(1, height):
            default = DIRT if y == 1 else AIR
            for z in range(depth):
                if goal[x, y, z] != default:
                    x_lo, x_hi = min(x_lo, x), max(x_hi, x)
                    z_lo, z_hi = min(z_lo, z), max(z_hi, z)
                    y_hi = max(y_hi, y)
    if x_hi < 0:
        return _FNV_OFFSET
    size_x, size_y, size_z = x_hi - x_lo + 1, y_hi, z_hi - z_lo + 1
    best = np.uint64(0xFFFFFFFFFFFFFFFF)
    for swap in range(2):
        size_a = size_z if swap else size_x
        size_b = size_x if swap else size_z
        for flip_a in range(2):
            for flip_b in range(2):
                # FNV-1a over the variant's shape and its cells in C order.
                h = _FNV_OFFSET
                for value in (size_a, size_y, size_b):
                    h = (h ^ np.uint64(value)) * _FNV_PRIME
                for i in range(size_a):
                    a = size_a - 1 - i if flip_a else i
                    for y in range(size_y):
                        for j in range(size_b):
                            b = size_b - 1 - j if flip_b else j
                            x, z = (b, a) if swap else (a, b)
                            h = (h ^ np.uint64(goal[x_lo + x, 1 + y, z_lo + z])) * _FNV_PRIME
                if h < best:
                    best = h
    return best


@numba.njit(cache=True)
def _mix(value: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: spreads every input bit over the whole output."""
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


def canonical_digest(goal: np.ndarray) -> int:
    """A 64-bit digest of what ``goal`` builds, equal for all horizontal translations, rotations and
    mirrorings of it (see the module docstring)."""
    if not isinstance(goal, np.ndarray) or goal.ndim != 3 or goal.shape[1] < 2:
        raise ValueError(
            f"goal must be a 3-D array with at least 2 layers, got shape {getattr(goal, 'shape', None)}"
        )
    return int(_canonical_hash(np.ascontiguousarray(goal, dtype=np.uint8)))


def goal_split(goal: np.ndarray) -> str:
    """``"test"`` for about :data:`TEST_FRACTION` of all goals (fixed by :func:`canonical_digest`),
    else ``"train"``."""
    # The digest is the smallest of eight hashes, so it leans towards small values: mix it again.
    value = int(_mix(np.uint64(canonical_digest(goal)))) >> 32
    return "test" if value < _TEST_THRESHOLD else "train"


def check_split_name(split: str) -> str:
    """Return ``split`` if it is ``"train"`` or ``"test"``; else raise a ValueError naming the choices."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return split
