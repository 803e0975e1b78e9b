"""The leaderboard's suites: which shipped test houses, scripted humans, seeds, horizon and score step
every assistant is evaluated on (:data:`SUITES`, versioned by :data:`SUITE_VERSION`). A suite may
also name training houses (``split="train"``), so that an assistant's settings can be chosen
with the same protocol without looking at the test houses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mbag_env.goals import find_shipped_dataset, load_shipped_goals
from mbag_env.humans.scripted import HumanModel

SUITE_VERSION = 1
"""Version of the suite definitions; bump it whenever a suite or the episode protocol changes."""

SPLITS = ("test", "train")
"""The shipped house sets a suite may draw from (:attr:`Suite.split`)."""

SUITE_HUMANS: tuple[HumanModel, ...] = (
    HumanModel("goal_seeking"),
    HumanModel("layer_builder"),
    HumanModel("goal_seeking", epsilon=0.1, temperature=0.5),
    HumanModel("layer_builder", act_every=2),
)
"""The scripted human models every assistant is paired with: the two noise-free builders, a
noisy goal-seeking human (10% random actions, Boltzmann choices at temperature 0.5), and a slow
layer builder that acts every other step."""


@dataclass(frozen=True)
class Suite:
    """A fixed set of episodes: shipped houses (the test set, unless ``split`` says otherwise) ×
    scripted humans × seeds.

    Attributes:
        name: ``"quick"``, ``"full"``, or a custom name.
        world_size: the world (and the shipped house set of that size).
        houses: indices into the shipped set ``split``.
        humans: the scripted human models.
        seeds: episode seeds (each combined with the house, human and ``--seed``).
        horizon: the episode horizon.
        score_step: the step at which the headline goal percentage is read.
        version: :data:`SUITE_VERSION`.
        split: ``"test"`` (the held-out houses every leaderboard result is reported on) or
            ``"train"`` (the training houses: for choosing settings without the test set).
    """

    name: str
    world_size: tuple[int, int, int]
    houses: tuple[int, ...]
    humans: tuple[HumanModel, ...]
    seeds: tuple[int, ...]
    horizon: int
    score_step: int
    version: int = SUITE_VERSION
    split: str = "test"

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"suite {self.name!r}: split must be one of {SPLITS}, got {self.split!r}")
        if not self.houses or not self.humans or not self.seeds:
            raise ValueError(f"suite {self.name!r} needs at least one house, human and seed")
        if not 1 <= self.score_step <= self.horizon:
            raise ValueError(f"suite {self.name!r}: score_step must be in [1, horizon={self.horizon}]")
        if len(set(human.label for human in self.humans)) != len(self.humans):
            raise ValueError(f"suite {self.name!r} lists a human model twice")

    @property
    def num_episodes(self) -> int:
        """Episodes per assistant."""
        return len(self.houses) * len(self.humans) * len(self.seeds)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (with the house set's checksum, for provenance)."""
        info = find_shipped_dataset(self.split, self.world_size)
        return {
            "name": self.name,
            "version": self.version,
            "world_size": list(self.world_size),
            "dataset": f"dataset:{self.split}",
            "dataset_goals_sha256": None if info is None else info.goals_sha256,
            "houses": list(self.houses),
            "humans": [human.label for human in self.humans],
            "seeds": list(self.seeds),
            "horizon": self.horizon,
            "score_step": self.score_step,
            "episodes_per_assistant": self.num_episodes,
        }


SUITES: dict[str, Suite] = {
    name: Suite(
        name=name,
        world_size=world_size,
        houses=tuple(range(num_houses)),
        humans=SUITE_HUMANS,
        seeds=(0,),
        horizon=horizon,
        score_step=score_step,
    )
    for name, world_size, num_houses, horizon, score_step in (
        ("quick", (6, 6, 6), 20, 200, 30),
        ("full", (11, 10, 10), 500, 1500, 100),
    )
}
"""The shipped suites: ``quick`` (6×6×6, the first 20 test houses, horizon 200, score at step 30)
and ``full`` (11×10×10, all 500 test houses, the paper's horizon 1500, score at step 100). Each
score step is about half the median number of steps the goal-seeking human needs alone (55 and
200), where an idle assistant leaves roughly 70% and 55% of the house built."""


@lru_cache(maxsize=4)
def shipped_goals(split: str, world_size: tuple[int, int, int]) -> np.ndarray:
    """The shipped houses of ``split`` (:data:`SPLITS`) and ``world_size`` (cached: every episode of a
    suite reads them)."""
    return load_shipped_goals(split, world_size)


def suite_goals(suite: Suite) -> np.ndarray:
    """All the shipped houses of the suite's split and world size (index them with ``suite.houses``)."""
    return shipped_goals(suite.split, suite.world_size)
