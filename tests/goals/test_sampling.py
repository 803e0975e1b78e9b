"""make_goal_sampler: every accepted source, determinism, pickling and world sizes."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from mbag_env.blocks import PLANKS, STONE
from mbag_env.config import MbagConfig
from mbag_env.goals import (
    generate_house,
    goal_split,
    initial_world,
    is_buildable,
    load_shipped_goals,
    sampling,
    save_goal_dataset,
    validate_goal,
)

WORLD = (11, 10, 10)


def tower(rng: np.random.Generator, world_size: tuple[int, int, int]) -> np.ndarray:
    """A module-level goal function (so that it pickles): a pillar of random height."""
    goal = initial_world(world_size)
    goal[0, 2 : 2 + int(rng.integers(1, world_size[1] - 2)), 0] = STONE
    return goal


class PillarLoader:
    """A minimal loader object: anything with structures()."""

    def structures(self) -> list[np.ndarray]:
        """Two small structures."""
        return [np.full((1, 3, 1), PLANKS, dtype=np.uint8), np.full((2, 2, 1), STONE, dtype=np.uint8)]


def _check(
    sampler: sampling.GoalSampler, world_size: tuple[int, int, int], draws: int = 5
) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    goals = [sampler.sample(rng) for _ in range(draws)]
    for goal in goals:
        assert goal.dtype == np.uint8 and goal.shape == world_size
        validate_goal(goal, world_size)
        assert is_buildable(goal)
    # Same rng state, same goals; and the sampler survives pickling.
    clone = pickle.loads(pickle.dumps(sampler))
    rng = np.random.default_rng(0)
    assert all(np.array_equal(clone.sample(rng), goal) for goal in goals)
    return goals


def test_default_source_is_procedural_train_houses() -> None:
    sampler = sampling.make_goal_sampler(MbagConfig().goal, MbagConfig().world_size)
    assert isinstance(sampler, sampling.ProceduralHouseSampler) and sampler.split == "train"
    goals = _check(sampler, WORLD, draws=20)
    assert all(goal_split(g) == "train" for g in goals)
    assert len({g.tobytes() for g in goals}) == 20


@pytest.mark.parametrize("source", ["houses", "houses:train", "houses:test", " houses:test "])
def test_procedural_sources(source: str) -> None:
    sampler = sampling.make_goal_sampler(source, WORLD)
    goals = _check(sampler, WORLD)
    split = source.strip().partition(":")[2] or "train"
    assert all(goal_split(g) == split for g in goals)


@pytest.mark.parametrize("world_size", [(11, 10, 10), (6, 6, 6)])
@pytest.mark.parametrize("split", ["train", "test"])
def test_shipped_dataset_sources(world_size: tuple[int, int, int], split: str) -> None:
    sampler = sampling.make_goal_sampler(f"dataset:{split}", world_size)
    assert isinstance(sampler, sampling.DatasetGoalSampler)
    shipped = load_shipped_goals(split, world_size)
    assert len(sampler) == len(shipped)
    shipped_bytes = {g.tobytes() for g in shipped}
    assert all(g.tobytes() in shipped_bytes for g in _check(sampler, world_size))


def test_dataset_source_without_shipped_dataset() -> None:
    with pytest.raises(ValueError, match=r"no shipped 'train' goal dataset for world size \(8, 8, 8\)"):
        sampling.make_goal_sampler("dataset:train", (8, 8, 8))


def test_path_sources(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    goals = np.stack([generate_house(rng, (6, 6, 6)) for _ in range(5)])
    save_goal_dataset(tmp_path / "mine.npz", goals)
    np.save(tmp_path / "mine.npy", goals)
    same = sampling.make_goal_sampler(str(tmp_path / "mine.npz"), (6, 6, 6))
    assert isinstance(same, sampling.DatasetGoalSampler)
    assert {g.tobytes() for g in _check(same, (6, 6, 6))} <= {g.tobytes() for g in goals}
    assert isinstance(
        sampling.make_goal_sampler(tmp_path / "mine.npy", (6, 6, 6)), sampling.DatasetGoalSampler
    )
    fitted = sampling.make_goal_sampler(tmp_path / "mine.npz", (9, 7, 8))
    assert isinstance(fitted, sampling.StructureGoalSampler)
    _check(fitted, (9, 7, 8))
    with pytest.raises(ValueError, match="must end in .npz or .npy"):
        sampling.make_goal_sampler(tmp_path / "mine.json", (6, 6, 6))


def test_loader_object_source() -> None:
    sampler = sampling.make_goal_sampler(PillarLoader(), (5, 6, 5))
    assert isinstance(sampler, sampling.StructureGoalSampler)
    goals = _check(sampler, (5, 6, 5), draws=20)
    assert len({g.tobytes() for g in goals}) > 3, "random placement and rotation"


def test_array_source_always_gives_that_goal() -> None:
    goal = generate_house(np.random.default_rng(1), WORLD)
    sampler = sampling.make_goal_sampler(goal, WORLD)
    assert isinstance(sampler, sampling.FixedGoalSampler)
    first = sampler.sample(np.random.default_rng(0))
    first[:] = 0  # the caller owns the returned array
    assert np.array_equal(sampler.sample(np.random.default_rng(5)), goal)
    with pytest.raises(ValueError, match="expected"):
        sampling.make_goal_sampler(goal[:, :, :5], WORLD)


def test_callable_source() -> None:
    sampler = sampling.make_goal_sampler(tower, WORLD)
    assert isinstance(sampler, sampling.CallableGoalSampler)
    _check(sampler, WORLD)
    bad = sampling.make_goal_sampler(lambda rng, size: np.zeros(size, dtype=np.uint8), WORLD)
    with pytest.raises(ValueError, match="returned an invalid goal.*y=0 must be all bedrock"):
        bad.sample(np.random.default_rng(0))


def test_sampler_source_passes_through() -> None:
    sampler = sampling.ProceduralHouseSampler(WORLD, "test")
    assert sampling.make_goal_sampler(sampler, WORLD) is sampler
    with pytest.raises(ValueError, match="makes goals of size"):
        sampling.make_goal_sampler(sampler, (6, 6, 6))


@pytest.mark.parametrize("source", ["house", "houses:val", "dataset", "random", "", 42, None, 1.5])
def test_unknown_sources_list_the_accepted_forms(source: object) -> None:
    with pytest.raises(ValueError, match='accepted: "houses"'):
        sampling.make_goal_sampler(source, WORLD)


def test_bad_world_size() -> None:
    with pytest.raises(ValueError, match="world_size"):
        sampling.make_goal_sampler("houses", (11, 10))


@pytest.mark.parametrize(
    "world_size",
    [(3, 4, 3), (3, 32, 3), (4, 4, 9), (6, 6, 6), (8, 5, 3), (11, 10, 10), (17, 23, 12), (32, 32, 32)],
)
def test_every_world_size_samples(world_size: tuple[int, int, int]) -> None:
    for source in ("houses", "houses:test"):
        goals = _check(sampling.make_goal_sampler(source, world_size), world_size, draws=10)
        assert len(goals) == 10
