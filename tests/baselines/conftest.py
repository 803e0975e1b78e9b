"""Shared fixtures of the baseline tests: skip without torch, one torch thread, a trivial goal."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the baselines need PyTorch (pip install mbag_env[baselines])")

from mbag_env.blocks import BEDROCK, DIRT, PLANKS  # noqa: E402

SMALL_WORLD = (6, 6, 6)
TRIVIAL_CELL = (2, 2, 2)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """The CI machine has two cores shared with other jobs; one thread is fastest for these nets."""
    torch.set_num_threads(1)


def one_block_goal(cell: tuple[int, int, int] = TRIVIAL_CELL, block: int = PLANKS) -> np.ndarray:
    """The initial world (bedrock at y=0, dirt at y=1) plus one block: a one-action goal."""
    goal = np.zeros(SMALL_WORLD, dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    goal[cell] = block
    return goal


@pytest.fixture
def trivial_goal() -> np.ndarray:
    """One planks block at (2, 2, 2) on the small world (reachable from the start position)."""
    return one_block_goal()
