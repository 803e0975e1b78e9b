"""Goal samplers: what the environment calls at every reset to draw θ.

:func:`make_goal_sampler` turns any accepted goal source into a :class:`GoalSampler`, an object with
``sample(rng) -> goal`` that draws only from the ``rng`` it is given (so resets are reproducible)
and pickles cleanly (so vectorised and remote workers can carry it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mbag_env.goals.datasets import load_goal_dataset, load_shipped_goals
from mbag_env.goals.houses import generate_house
from mbag_env.goals.loaders import HouseFiles
from mbag_env.goals.splits import SPLITS, check_split_name, goal_split
from mbag_env.goals.transforms import (
    Compose,
    Mirror,
    Rotate,
    ShrinkToFit,
    goal_to_structure,
    place_in_world,
    solid_count,
)
from mbag_env.goals.validation import _world_size_tuple, initial_world, validate_goal

MAX_SPLIT_ATTEMPTS = 1000
"""How many houses the procedural sampler draws at most to find one of the requested split."""

ACCEPTED_SOURCES = (
    '"houses" (procedural houses, train split; the default), "houses:train", "houses:test", '
    '"dataset:train", "dataset:test" (the shipped datasets for this world size), a path to a .npz/.npy '
    "goal dataset, a loader object with a structures() method (e.g. HouseFiles), a GoalSampler, "
    "a numpy array (always that goal), or a callable f(rng, world_size) -> goal"
)


@runtime_checkable
class StructureLoader(Protocol):
    """Anything with ``structures()`` returning a list of structures (see
    :mod:`mbag_env.goals.transforms`)."""

    def structures(self) -> list[np.ndarray]:
        """Return the structures."""
        ...


class GoalSampler(ABC):
    """Base class of goal samplers: ``sample(rng)`` returns a fresh valid ``uint8`` goal of ``world_size``."""

    world_size: tuple[int, int, int]

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Draw one goal using only ``rng``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(world_size={self.world_size})"


class ProceduralHouseSampler(GoalSampler):
    """Procedural houses (:func:`mbag_env.goals.houses.generate_house`) from one split.

    Houses are drawn until one falls in ``split`` by :func:`mbag_env.goals.splits.goal_split`, so the
    train and test streams never share a goal (up to translation, rotation and mirroring).
    """

    def __init__(self, world_size: Sequence[int], split: str = "train"):
        """Sample houses of ``world_size`` from ``split`` (``"train"`` or ``"test"``)."""
        self.world_size = _world_size_tuple(world_size)
        self.split = check_split_name(split)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Draw one house of this sampler's split."""
        for _ in range(MAX_SPLIT_ATTEMPTS):
            goal = generate_house(rng, self.world_size)
            if goal_split(goal) == self.split:
                return goal
        raise RuntimeError(
            f"drew {MAX_SPLIT_ATTEMPTS} procedural houses of size {self.world_size} without finding one in "
            f"the {self.split!r} split; this world size allows too few distinct houses"
        )

    def __repr__(self) -> str:
        return f"ProceduralHouseSampler(world_size={self.world_size}, split={self.split!r})"


class FixedGoalSampler(GoalSampler):
    """Always the same goal (a copy each time)."""

    def __init__(self, goal: np.ndarray, world_size: Sequence[int]):
        """Check ``goal`` against ``world_size`` once and keep it."""
        self.world_size = _world_size_tuple(world_size)
        self.goal = validate_goal(goal, self.world_size)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Return a copy of the goal (``rng`` is unused)."""
        return self.goal.copy()


class DatasetGoalSampler(GoalSampler):
    """Uniformly random goals from a stack of goals of the world's size."""

    def __init__(self, goals: np.ndarray, world_size: Sequence[int], name: str = "goals"):
        """Keep ``goals`` ``(N, W, H, D)``, each checked against ``world_size``."""
        self.world_size = _world_size_tuple(world_size)
        goals = np.asarray(goals)
        if goals.ndim != 4 or goals.shape[0] == 0:
            raise ValueError(
                f"{name}: a goal dataset must be a non-empty (N, W, H, D) array, got shape {goals.shape}"
            )
        if goals.shape[1:] != self.world_size:
            raise ValueError(
                f"{name}: goals have shape {goals.shape[1:]} but the world is {self.world_size}; "
                "use a StructureGoalSampler (or pass the file path to make_goal_sampler) to fit them"
            )
        self.name = name
        self.goals = np.stack([validate_goal(goal, self.world_size) for goal in goals])
        self.goals.setflags(write=False)

    def __len__(self) -> int:
        return len(self.goals)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A copy of a uniformly drawn goal."""
        return self.goals[int(rng.integers(len(self.goals)))].copy()

    def __repr__(self) -> str:
        return f"DatasetGoalSampler({self.name!r}, {len(self.goals)} goals, world_size={self.world_size})"


def default_structure_transform(world_size: Sequence[int]) -> Compose:
    """Random rotation and mirroring, then halving (up to twice) structures much larger than the world."""
    width, height, depth = _world_size_tuple(world_size)
    return Compose((Rotate(), Mirror("x"), ShrinkToFit((width, height - 1, depth), max_halvings=2)))


class StructureGoalSampler(GoalSampler):
    """Goals made from structures (real houses, arrays of other sizes): pick one, transform it, place it.

    Each sample draws a structure uniformly, applies ``transform(structure, rng)``, and places the
    result in the world with :func:`mbag_env.goals.transforms.place_in_world` (cropping what still
    does not fit, random horizontal position, dirt under it, unsupported blocks removed). Structures
    failing any of ``filters`` (callables ``structure -> bool``, applied after the transform) are
    drawn again, up to ``max_attempts`` times.

    Fitting (SPEC §6: goals are cropped or padded to the world) never yields a goal with nothing to
    build: a placement that leaves the goal equal to the initial world (for example a crop window
    of a structure much larger than the world that falls inside an empty room, or whose blocks are
    all left floating and removed) is refused and drawn again, within the same ``max_attempts``.
    When no attempt gives a goal with something to build, ``sample`` raises a ValueError naming
    the structure sizes tried and the world size. Structures with nothing to build at all (empty,
    or only dirt in layer 0) are refused when the sampler is made.
    """

    def __init__(
        self,
        structures: Sequence[np.ndarray],
        world_size: Sequence[int],
        transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        filters: Sequence[Callable[[np.ndarray], bool]] = (),
        max_attempts: int = 100,
        name: str = "structures",
    ):
        """Keep the structures and how to turn them into goals of ``world_size``."""
        self.world_size = _world_size_tuple(world_size)
        self.structures = [np.asarray(s, dtype=np.uint8) for s in structures]
        if not self.structures:
            raise ValueError(f"{name}: no structures to sample from")
        for index, structure in enumerate(self.structures):
            if structure.ndim != 3:
                raise ValueError(
                    f"{name}: structure {index} must be 3-D [x, y, z], got shape {structure.shape}"
                )
            if solid_count(structure) == 0:
                raise ValueError(
                    f"{name}: structure {index} (shape {structure.shape}) has nothing to build (no blocks "
                    "besides dirt in its ground layer); its goal would be complete at reset"
                )
        self.transform = default_structure_transform(self.world_size) if transform is None else transform
        self.filters = tuple(filters)
        self.max_attempts = int(max_attempts)
        self.name = name

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Draw, transform, filter and place one structure (see the class docstring for refusals)."""
        empty_world = initial_world(self.world_size)
        empty_shapes: list[tuple[int, ...]] = []
        for _ in range(self.max_attempts):
            index = int(rng.integers(len(self.structures)))
            structure = self.transform(self.structures[index], rng)
            if not all(check(structure) for check in self.filters):
                continue
            goal = validate_goal(place_in_world(structure, self.world_size, rng), self.world_size)
            if np.array_equal(goal, empty_world):
                empty_shapes.append(self.structures[index].shape)
                continue
            return goal
        if empty_shapes:
            shapes = ", ".join(str(shape) for shape in sorted(set(empty_shapes))[:5])
            raise ValueError(
                f"{self.name}: in {self.max_attempts} attempts, fitting structures of size {shapes} into the "
                f"world {self.world_size} (cropping what does not fit) left nothing to build "
                f"{len(empty_shapes)} times, and no attempt gave a goal; "
                "the structures do not fit this world: "
                "use a larger world_size, or shrink them first (e.g. a transform with ShrinkToFit)"
            )
        raise RuntimeError(
            f"{self.name}: no structure passed the filters in {self.max_attempts} attempts; "
            "loosen the filters"
        )

    def __repr__(self) -> str:
        count = len(self.structures)
        return f"StructureGoalSampler({self.name!r}, {count} structures, world_size={self.world_size})"


class CallableGoalSampler(GoalSampler):
    """Goals from a user function ``f(rng, world_size) -> goal``, each checked with :func:`validate_goal`.

    Picklable when the function is (a module-level function, not a lambda).
    """

    def __init__(
        self,
        function: Callable[[np.random.Generator, tuple[int, int, int]], np.ndarray],
        world_size: Sequence[int],
    ):
        """Wrap ``function`` for worlds of ``world_size``."""
        self.world_size = _world_size_tuple(world_size)
        self.function = function

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Call the function and validate what it returns."""
        try:
            return validate_goal(np.asarray(self.function(rng, self.world_size)), self.world_size)
        except ValueError as error:
            raise ValueError(f"goal function {self.function!r} returned an invalid goal: {error}") from error

    def __repr__(self) -> str:
        return f"CallableGoalSampler({self.function!r}, world_size={self.world_size})"


def _from_path(path: Path, world_size: tuple[int, int, int]) -> GoalSampler:
    goals = load_goal_dataset(path)
    if goals.shape[1:] == world_size:
        return DatasetGoalSampler(goals, world_size, name=str(path))
    return StructureGoalSampler(
        [goal_to_structure(goal) for goal in goals],
        world_size,
        transform=Compose(()),
        name=f"{path} (goals of size {goals.shape[1:]} fitted to {world_size})",
    )


def make_goal_sampler(source: Any, world_size: Sequence[int]) -> GoalSampler:
    """Make the goal sampler for ``source`` in worlds of ``world_size``.

    Args:
        source: one of

            - ``"houses"`` or ``"houses:train"``: procedural houses from the train split (default);
            - ``"houses:test"``: procedural houses from the test split (disjoint from train);
            - ``"dataset:train"`` / ``"dataset:test"``: the shipped dataset of that split for this
              world size (``assets/goals/``; ValueError listing the shipped sizes if there is none).
              ``"dataset:test"`` is the leaderboard's held-out set;
            - a path (``str`` or ``Path``) to a ``.npz``/``.npy`` goal dataset; goals of another size
              are fitted to the world (cropped or padded, placed at random, SPEC §6), and a fitted
              goal with nothing to build is drawn again (ValueError naming both sizes if none has
              anything to build, see :class:`StructureGoalSampler`);
            - a loader object with ``structures()`` (e.g. :class:`~mbag_env.goals.loaders.HouseFiles`
              for CraftAssist/GrabCraft files): goals made by :class:`StructureGoalSampler`;
            - a :class:`GoalSampler` (used as is if its world size matches);
            - a numpy array: always that goal;
            - a callable ``f(rng, world_size) -> goal``.
        world_size: ``(W, H, D)``.

    Raises:
        ValueError: for an unknown string (the message lists the accepted forms), a goal of the
            wrong shape or content, or a missing shipped dataset.
    """
    size = _world_size_tuple(world_size)
    if isinstance(source, GoalSampler):
        if source.world_size != size:
            raise ValueError(f"goal sampler {source!r} makes goals of size {source.world_size}, not {size}")
        return source
    if isinstance(source, np.ndarray):
        return FixedGoalSampler(source, size)
    if isinstance(source, str):
        key = source.strip()
        if key == "houses":
            return ProceduralHouseSampler(size, "train")
        kind, _, split = key.partition(":")
        if kind == "houses" and split in SPLITS:
            return ProceduralHouseSampler(size, split)
        if kind == "dataset" and split in SPLITS:
            return DatasetGoalSampler(load_shipped_goals(split, size), size, name=f"dataset:{split}")
        if key.lower().endswith((".npz", ".npy")):
            return _from_path(Path(key), size)
        raise ValueError(f"unknown goal source {source!r}; accepted: {ACCEPTED_SOURCES}")
    if isinstance(source, Path):
        if source.suffix.lower() not in (".npz", ".npy"):
            raise ValueError(
                f"goal dataset path {source} must end in .npz or .npy; accepted: {ACCEPTED_SOURCES}"
            )
        return _from_path(source, size)
    if isinstance(source, StructureLoader):
        return StructureGoalSampler(source.structures(), size, name=repr(source))
    if callable(source):
        return CallableGoalSampler(source, size)
    raise ValueError(f"unsupported goal source of type {type(source).__name__}; accepted: {ACCEPTED_SOURCES}")


__all__ = [
    "ACCEPTED_SOURCES",
    "CallableGoalSampler",
    "DatasetGoalSampler",
    "FixedGoalSampler",
    "GoalSampler",
    "HouseFiles",
    "ProceduralHouseSampler",
    "StructureGoalSampler",
    "StructureLoader",
    "default_structure_transform",
    "make_goal_sampler",
]
