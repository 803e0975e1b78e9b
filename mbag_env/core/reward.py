"""Edit distance between a world and its goal, cell by cell (SPEC §4).

``d(s, θ)`` is the least number of place and break actions that turn the world's blocks
into θ's: per cell 0 if equal, 2 if both are non-air and differ (break, then place), else 1.
The step kernels keep ``d`` up to date with :func:`cell_cost` on each changed cell.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import AIR
from mbag_env.core.jit import kernel


@kernel(inline="always")
def cell_cost(block: int, goal_block: int) -> int:
    """Edit-distance contribution of one cell."""
    if block == goal_block:
        return 0
    if block != AIR and goal_block != AIR:
        return 2
    return 1


@kernel()
def edit_distance(blocks: np.ndarray, goal: np.ndarray) -> int:
    """Full recomputation of ``d(blocks, goal)`` for one world ``(W, H, D)``."""
    total = 0
    width, height, depth = blocks.shape
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                total += cell_cost(blocks[x, y, z], goal[x, y, z])
    return total


@kernel()
def count_layer_errors(blocks: np.ndarray, goal: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out[y]`` the number of cells of layer ``y`` whose block differs from the goal."""
    width, height, depth = blocks.shape
    for y in range(height):
        count = 0
        for x in range(width):
            for z in range(depth):
                if blocks[x, y, z] != goal[x, y, z]:
                    count += 1
        out[y] = count
