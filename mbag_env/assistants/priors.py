"""Goal priors for the Bayesian assistant: candidate house *structures* with material priors.

A candidate is a **structure**: every cell is air, bedrock, or one of up to eight *material
classes* (cells that hold the same block), and each class has a prior over which of the eight
placeable blocks it is made of. A goal θ is a structure plus a material for each class.

Two ways to build a :class:`GoalPrior`:

- **A finite goal set** (:meth:`GoalPrior.from_goals`, :meth:`GoalPrior.from_file`): each goal
  is its own structure with its materials fixed (a class per block id, prior probability one on
  that block), so the posterior is exactly the posterior over that set.
- **The procedural house distribution** (:meth:`GoalPrior.from_examples`, :func:`default_prior`):
  the true house is almost never in any finite sample, but its *structure* almost always is.
  The generator draws a shape (footprint, walls, roof, openings, extras) and, independently of
  much of it, the materials; and it places, turns and mirrors houses at random. So the prior
  takes training-split houses, expands each into every horizontal translation, rotation and
  mirror image that fits the world (:func:`expand_with_symmetries`), renames each one's
  materials by order of first appearance (:func:`structure_labels`) and merges equal
  structures, keeping for each class the histogram of the materials it had in the examples (the
  class's material prior, smoothed toward uniform). On the 6×6×6 preset the 3,000 shipped
  training houses give about 23,500 structures, and 97 % of the 500 held-out test houses have a
  structure among them (none of the test houses itself is there: a house and all its symmetric
  copies fall in one split, :mod:`mbag_env.goals.splits`).

The materials of a structure are then inferred from what the human builds: one placement in a
class says what the whole class is made of (:mod:`.belief`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mbag_env.blocks import AIR, BEDROCK, DIRT, FIRST_PLACEABLE, NUM_PLACEABLE
from mbag_env.goals.datasets import load_goal_dataset, load_shipped_goals
from mbag_env.goals.validation import _world_size_tuple

FIRST_CLASS = 2
"""Structure label of the first material class (0 is air, 1 bedrock)."""

NUM_CLASSES = NUM_PLACEABLE
"""At most this many material classes per structure (one per placeable block)."""

MATERIAL_SMOOTHING = 1.0
"""Pseudo-count of the uniform material prior mixed into each class's histogram."""


@dataclass(frozen=True)
class GoalPrior:
    """A prior over goals: candidate structures, their probabilities and their material priors.

    Attributes:
        world_size: ``(W, H, D)``.
        labels: ``uint8 (V, N)``: candidate ``n``'s label at flat cell ``c`` (C order over x,
            y, z): 0 air, 1 bedrock, ``2 + i`` material class ``i``. Cell-major, so that one
            cell's labels over all candidates are contiguous.
        log_material_prior: ``float64 (N, 8, 8)``: ``[n, i, m]`` the log prior probability that
            class ``i`` of candidate ``n`` is placeable block ``FIRST_PLACEABLE + m`` (``-inf``
            allowed; unused classes are uniform).
        log_weights: ``float64 (N,)`` normalised log prior probabilities of the candidates.
        name: a short description.
        open_world: whether θ may be none of the candidates (a sample of a larger
            distribution, :meth:`from_examples`), so that the belief should keep an outside
            component (:class:`~.belief.GoalBelief`); ``False`` for a finite goal set that holds θ.
    """

    world_size: tuple[int, int, int]
    labels: np.ndarray
    log_material_prior: np.ndarray
    log_weights: np.ndarray
    name: str = "goals"
    open_world: bool = False

    def __post_init__(self) -> None:
        volume = int(np.prod(self.world_size))
        if self.labels.dtype != np.uint8 or self.labels.ndim != 2 or self.labels.shape[0] != volume:
            raise ValueError(
                f"GoalPrior.labels must be uint8 of shape (V={volume}, N), got {self.labels.dtype} "
                f"{self.labels.shape}"
            )
        size = self.labels.shape[1]
        if size == 0:
            raise ValueError("GoalPrior needs at least one candidate goal")
        if self.labels.max() >= FIRST_CLASS + NUM_CLASSES:
            raise ValueError(f"GoalPrior.labels must be below {FIRST_CLASS + NUM_CLASSES}")
        if self.log_material_prior.shape != (size, NUM_CLASSES, NUM_PLACEABLE):
            raise ValueError(
                f"GoalPrior.log_material_prior must have shape ({size}, {NUM_CLASSES}, {NUM_PLACEABLE}), "
                f"got {self.log_material_prior.shape}"
            )
        if self.log_weights.shape != (size,) or not np.all(np.isfinite(self.log_weights)):
            raise ValueError(
                f"GoalPrior.log_weights must be {size} finite numbers, got shape {self.log_weights.shape}"
            )

    @property
    def size(self) -> int:
        """Number of candidate structures N."""
        return int(self.labels.shape[1])

    def most_likely_goal(self, index: int) -> np.ndarray:
        """Candidate ``index`` as a goal, each class made of its most likely material."""
        materials = FIRST_PLACEABLE + self.log_material_prior[index].argmax(axis=1)
        lut = np.concatenate([[AIR, BEDROCK], materials]).astype(np.uint8)
        return lut[self.labels[:, index]].reshape(self.world_size)

    @classmethod
    def from_goals(
        cls, goals: np.ndarray, weights: Sequence[float] | np.ndarray | None = None, name: str = "goals"
    ) -> GoalPrior:
        """The exact prior over a finite set of goals ``(N, W, H, D)`` (uniform unless ``weights``
        are given): each goal's materials are fixed.

        Raises:
            ValueError: on a malformed stack or weights that are negative or sum to zero.
        """
        goals = _check_goals(goals)
        if weights is None:
            log_weights = np.full(len(goals), -np.log(len(goals)))
        else:
            array = np.asarray(weights, dtype=np.float64)
            if (
                array.shape != (len(goals),)
                or not np.isfinite(array).all()
                or np.any(array < 0)
                or array.sum() <= 0
            ):
                raise ValueError(f"weights must be {len(goals)} non-negative numbers with a positive sum")
            keep = array > 0
            goals, array = goals[keep], array[keep]
            log_weights = np.log(array / array.sum())
        # Class i is block FIRST_PLACEABLE + i, with prior probability one.
        labels = np.ascontiguousarray(goals.reshape(len(goals), -1).T)
        fixed = np.full((NUM_CLASSES, NUM_PLACEABLE), -np.inf)
        np.fill_diagonal(fixed, 0.0)
        log_material_prior = np.broadcast_to(fixed, (len(goals), NUM_CLASSES, NUM_PLACEABLE)).copy()
        return cls(_world_size_tuple(goals.shape[1:]), labels, log_material_prior, log_weights, name)

    @classmethod
    def from_file(cls, path: str | Path) -> GoalPrior:
        """The exact prior over the goals of an ``.npz`` goal dataset (``goals (N, W, H, D)``).

        Raises:
            GoalFileError: if the file cannot be read as a goal dataset.
        """
        return cls.from_goals(load_goal_dataset(path), name=Path(path).name)

    @classmethod
    def from_examples(
        cls, goals: np.ndarray, symmetries: bool = True, smoothing: float = MATERIAL_SMOOTHING, name: str = ""
    ) -> GoalPrior:
        """A prior over the *structures* of example goals (module docstring).

        Args:
            goals: ``(N, W, H, D)`` example houses (for a fair prior: training-split houses).
            symmetries: also use every translation, rotation and mirror image that fits.
            smoothing: pseudo-count of the uniform material prior in each class's prior.

        Each distinct structure's prior weight is the number of examples (variants) that have
        it; each class's material prior is its histogram over those examples plus ``smoothing``
        spread uniformly.
        """
        goals = _check_goals(goals)
        if not smoothing > 0:
            raise ValueError(f"smoothing must be positive, got {smoothing!r}")
        examples = expand_with_symmetries(goals) if symmetries else goals
        labels, materials = structure_labels(examples)
        unique, inverse, counts = _unique_rows(labels)
        histogram = np.zeros((len(unique), NUM_CLASSES, NUM_PLACEABLE))
        for i in range(NUM_CLASSES):
            used = materials[:, i] >= 0
            classes = np.full(int(used.sum()), i, dtype=np.int64)
            np.add.at(histogram, (inverse[used], classes, materials[used, i]), 1.0)
        material_prior = (histogram + smoothing / NUM_PLACEABLE) / (
            histogram.sum(axis=2, keepdims=True) + smoothing
        )
        log_weights = np.log(counts / counts.sum())
        label = name or f"{len(unique)} structures of {len(goals)} houses" + (
            " and their symmetric copies" if symmetries else ""
        )
        return cls(
            _world_size_tuple(goals.shape[1:]),
            np.ascontiguousarray(unique.T),
            np.log(material_prior),
            log_weights,
            label,
            open_world=True,
        )


def structure_labels(goals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rename every goal's materials by order of first appearance (C order over x, y, z).

    Returns:
        ``(labels, materials)``: ``uint8 (N, V)`` labels (0 air, 1 bedrock, ``2 + i`` the
        ``i``-th material to appear) and ``int64 (N, 8)`` the placeable index (block −
        ``FIRST_PLACEABLE``) of each class, -1 for unused classes.
    """
    flat = np.asarray(goals, dtype=np.uint8).reshape(len(goals), -1)
    volume = flat.shape[1]
    first = np.full((len(flat), NUM_PLACEABLE), volume, dtype=np.int64)
    for m in range(NUM_PLACEABLE):
        present = flat == FIRST_PLACEABLE + m
        first[:, m] = np.where(present.any(axis=1), present.argmax(axis=1), volume)
    order = np.argsort(first, axis=1, kind="stable")  # order[n, i]: material of class i
    used = np.take_along_axis(first, order, axis=1) < volume
    materials = np.where(used, order, -1)
    rank = np.argsort(order, axis=1)  # rank[n, m]: class of material m
    lut = np.zeros((len(flat), 256), dtype=np.uint8)
    lut[:, BEDROCK] = 1
    lut[:, FIRST_PLACEABLE : FIRST_PLACEABLE + NUM_PLACEABLE] = FIRST_CLASS + rank
    labels = np.take_along_axis(lut, flat.astype(np.int64), axis=1).astype(np.uint8)
    return labels, materials


def symmetric_variants(goal: np.ndarray) -> np.ndarray:
    """Every distinct copy of ``goal`` moved horizontally, rotated about y and mirrored, that fits.

    The part of the goal that differs from the initial world (bedrock at ``y = 0``, dirt at
    ``y = 1``, air above) is cropped to its horizontal bounding box, turned into each of its
    eight orientations (four quarter turns, each optionally mirrored; one that does not fit a
    non-square world is skipped) and placed at every horizontal offset where it fits.

    Returns:
        ``uint8 (K, W, H, D)``: the distinct variants, ``goal`` itself first.
    """
    width, _, depth = goal.shape
    initial = initial_world(goal.shape)
    changed = goal != initial
    if not changed.any():
        return goal[None].copy()
    xs = np.flatnonzero(changed.any(axis=(1, 2)))
    zs = np.flatnonzero(changed.any(axis=(0, 1)))
    piece = goal[xs[0] : xs[-1] + 1, :, zs[0] : zs[-1] + 1]
    seen: set[bytes] = {goal.tobytes()}
    variants = [goal]
    for mirrored in (piece, piece[::-1]):
        for turns in range(4):
            part = np.rot90(mirrored, turns, axes=(0, 2))
            size_x, _, size_z = part.shape
            for x0 in range(width - size_x + 1):
                for z0 in range(depth - size_z + 1):
                    variant = initial.copy()
                    variant[x0 : x0 + size_x, :, z0 : z0 + size_z] = part
                    key = variant.tobytes()
                    if key not in seen:
                        seen.add(key)
                        variants.append(variant)
    return np.stack(variants)


def expand_with_symmetries(goals: np.ndarray) -> np.ndarray:
    """The distinct :func:`symmetric_variants` of every goal of ``goals (N, W, H, D)``, stacked."""
    stacked = np.concatenate([symmetric_variants(goal) for goal in goals])
    _, first, _ = _unique_rows(stacked.reshape(len(stacked), -1), return_first=True)
    return stacked[np.sort(first)]


def _unique_rows(rows: np.ndarray, return_first: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0)`` for a ``uint8`` matrix, sorting each row as one byte string
    (an order of magnitude faster than the column-wise sort). Returns ``(unique rows, inverse,
    counts)``, or with ``return_first`` ``(unique rows, index of each first occurrence, counts)``."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return rows[first], (first if return_first else inverse.ravel()), counts


def initial_world(world_size: Sequence[int]) -> np.ndarray:
    """The world at reset: bedrock at ``y = 0``, dirt at ``y = 1``, air above."""
    world = np.full(tuple(world_size), AIR, dtype=np.uint8)
    world[:, 0, :] = BEDROCK
    world[:, 1, :] = DIRT
    return world


DEFAULT_PRIOR_BYTES = 64 * 2**20
"""The default prior takes training houses, in the shipped order, until their symmetric copies
fill this many bytes of labels: all 3,000 at 6×6×6, the first few hundred at 11×10×10 (whose
houses have far more copies each), keeping a step of the assistant fast and its memory small."""


@lru_cache(maxsize=2)
def default_prior(world_size: tuple[int, int, int]) -> GoalPrior:
    """The fair default prior for procedural houses of ``world_size``: the structures of the
    shipped *training* houses (``assets/goals/houses_*_train.npz``, as many as
    :data:`DEFAULT_PRIOR_BYTES` allows) and their symmetric copies
    (:meth:`GoalPrior.from_examples`); never the test split. Built once per process.

    Raises:
        ValueError: if no training set ships for ``world_size`` (the message lists those that
            do); build a prior with :meth:`GoalPrior.from_examples` from houses of your own then.
    """
    size = _world_size_tuple(world_size)
    goals = load_shipped_goals("train", size)
    budget = DEFAULT_PRIOR_BYTES // int(np.prod(size))
    variants, used = 0, 0
    while used < len(goals) and variants < budget:
        variants += len(symmetric_variants(goals[used]))
        used += 1
    return GoalPrior.from_examples(goals[:used])


def _check_goals(goals: np.ndarray) -> np.ndarray:
    goals = np.asarray(goals)
    if goals.ndim != 4 or goals.dtype != np.uint8 or len(goals) == 0:
        raise ValueError(
            f"goals must be a non-empty uint8 stack (N, W, H, D), got {goals.dtype} {goals.shape}"
        )
    return goals
