"""Where things are in the window: the slice panel's cells, WASD moves and the 3-D view's projection.

Pure arithmetic over world sizes and quarter turns (no pygame). The slice panel shows one y layer
of the *rotated* world from above, rotated x to the right and rotated z downwards, so the camera of
:func:`~mbag_env.render.render_isometric` stands at the panel's bottom-right corner and the 3-D
view is the panel turned 45° clockwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mbag_env.core.actions import MOVE_DIRECTIONS
from mbag_env.render.iso import image_shape, rotate_cells


def rotated_size(world_size: Sequence[int], rotation: int) -> tuple[int, int]:
    """``(width, depth)`` of the world after ``rotation`` quarter turns about y."""
    width, _, depth = (int(s) for s in world_size)
    return (depth, width) if rotation % 2 else (width, depth)


def world_to_panel(cell: Sequence[int], world_size: Sequence[int], rotation: int) -> tuple[int, int]:
    """The panel column and row ``(u, v)`` of world cell ``(x, y, z)`` (the rotated x and z)."""
    width, _, depth = (int(s) for s in world_size)
    rotated = rotate_cells(np.array([cell], dtype=np.int64), rotation % 4, width, depth)[0]
    return int(rotated[0]), int(rotated[2])


def panel_to_world(
    u: int, v: int, layer: int, world_size: Sequence[int], rotation: int
) -> tuple[int, int, int]:
    """The world cell ``(x, y, z)`` shown at panel column ``u``, row ``v`` of layer ``y``."""
    rot_width, rot_depth = rotated_size(world_size, rotation)
    back = (4 - rotation % 4) % 4
    cell = rotate_cells(np.array([(u, layer, v)], dtype=np.int64), back, rot_width, rot_depth)[0]
    return int(cell[0]), int(cell[1]), int(cell[2])


def panel_move_direction(du: int, dv: int, rotation: int) -> int:
    """The MOVE direction index (``0..5`` of :data:`~mbag_env.core.actions.MOVE_DIRECTIONS`) of one
    step ``(du, dv)`` across the panel (``(0, -1)`` is up, ``(1, 0)`` right)."""
    x, z = du, dv
    for _ in range(rotation % 4):
        x, z = z, -x  # undo one quarter turn (x, z) -> (-z, x) of a direction
    for index, (dx, dy, dz) in enumerate(MOVE_DIRECTIONS):
        if (dx, dy, dz) == (x, 0, z):
            return index
    raise ValueError(f"({du}, {dv}) is not a unit step across the panel")


def project_point(
    point: Sequence[float], world_size: Sequence[int], rotation: int, cell_pixels: int
) -> tuple[float, float]:
    """Pixel ``(col, row)`` in :func:`~mbag_env.render.render_isometric`'s image of the world point
    ``(x, y, z)`` (cell units; cell ``(i, j, k)`` spans ``[i, i + 1]`` etc.).

    It is the projection documented in :mod:`mbag_env.render.iso` (a point moves ``(x - z) * a``
    columns and ``(x + z) * (a // 2) - y * a`` rows from the world corner, which sits one cell
    from the image's edge) applied after the rotation about y.
    """
    width, height, depth = (int(s) for s in world_size)
    x, y, z = (float(c) for c in point)
    for _ in range(rotation % 4):
        x, z = depth - z, x  # a quarter turn of a point: cell (x, z) -> (depth - 1 - z, x)
        width, depth = depth, width
    a = int(cell_pixels)
    origin_row, origin_col = a + height * a, a + depth * a
    return origin_col + (x - z) * a, origin_row + (x + z) * (a // 2) - y * a


def fit_cell_pixels(world_size: Sequence[int], max_width: int = 560, max_height: int = 560) -> int:
    """The largest block size (at most 24) whose isometric image fits ``max_width × max_height``."""
    for cell_pixels in range(24, 3, -1):
        rows, cols, _ = image_shape(tuple(int(s) for s in world_size), cell_pixels)  # type: ignore[arg-type]
        if rows <= max_height and cols <= max_width:
            return cell_pixels
    return 4
