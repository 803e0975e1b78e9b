"""Where each part of the game window sits: the 3-D view, the palette, the slice panel and the
status line, as pygame rectangles computed once from the world's size."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.render.iso import image_shape  # noqa: E402

MARGIN = 12
HUD_HEIGHT = 66
STATUS_HEIGHT = 30
PALETTE_HEIGHT = 92
SWATCH = 34
"""Side of a palette swatch in pixels."""
GRID_TOP = 62
"""The slice grid's distance from the panel's top: title, axis names, column numbers."""
MIN_WIDTH = 780
"""Room for the HUD's first row."""


@dataclass
class WindowLayout:
    """The window's size and the rectangles of its parts (window pixels).

    Attributes:
        width: the window's width.
        height: the window's height.
        view_rect: the 3-D view.
        palette_rect: the block palette and the players' last actions (empty without a palette).
        panel_rect: the slice panel (empty without a panel).
        grid_origin: the top-left pixel of the panel's cell grid.
        panel_cell: the side of one panel cell in pixels.
        status_rect: the status line along the bottom.
    """

    width: int
    height: int
    view_rect: pygame.Rect
    palette_rect: pygame.Rect
    panel_rect: pygame.Rect
    grid_origin: tuple[int, int]
    panel_cell: int
    status_rect: pygame.Rect


def window_layout(
    world_size: Sequence[int],
    cell_pixels: int,
    *,
    panel: bool,
    palette: bool,
    help_rows: int,
) -> WindowLayout:
    """Lay the window out for a ``(W, H, D)`` world drawn at ``cell_pixels`` per block.

    Args:
        world_size: ``(W, H, D)``.
        cell_pixels: block size of the 3-D view.
        panel: leave room for the slice panel (right of the view).
        palette: leave room for the palette (under the view).
        help_rows: rows in the panel's controls box (0: no box).
    """
    rows, cols, _ = image_shape(tuple(world_size), cell_pixels)  # type: ignore[arg-type]
    view_rect = pygame.Rect(MARGIN, HUD_HEIGHT + MARGIN, cols, rows)
    left_bottom = view_rect.bottom
    if palette:
        palette_rect = pygame.Rect(MARGIN, left_bottom + 6, max(cols, 8 * (SWATCH + 8)), PALETTE_HEIGHT)
        left_bottom = palette_rect.bottom
    else:
        palette_rect = pygame.Rect(MARGIN, left_bottom, 0, 0)
    left_width = max(cols, palette_rect.width)
    width, _, depth = world_size
    longest = max(width, depth)
    panel_cell = max(10, min(34, 330 // longest))
    grid = panel_cell * longest
    if panel:
        panel_left = MARGIN + left_width + 2 * MARGIN
        panel_width = max(grid + 40, 380)
        panel_rect = pygame.Rect(panel_left, HUD_HEIGHT + MARGIN, panel_width, 0)
        grid_origin = (panel_left + 30, panel_rect.top + GRID_TOP)
        help_height = 24 + 19 * help_rows if help_rows else 0
        panel_rect.height = GRID_TOP + grid + 12 + 3 * 19 + 12 + help_height + 4
        right = panel_rect.right
        content_bottom = max(left_bottom, panel_rect.bottom)
    else:
        panel_rect = pygame.Rect(0, 0, 0, 0)
        grid_origin = (0, 0)
        right = MARGIN + left_width
        content_bottom = left_bottom
    window_width = max(right + MARGIN, MIN_WIDTH)
    if not panel:  # centre the view in a window widened for the HUD
        shift = (window_width - (right + MARGIN)) // 2
        view_rect.move_ip(shift, 0)
        palette_rect.move_ip(shift, 0)
    status_rect = pygame.Rect(0, content_bottom + MARGIN, window_width, STATUS_HEIGHT)
    return WindowLayout(
        width=window_width,
        height=status_rect.bottom,
        view_rect=view_rect,
        palette_rect=palette_rect,
        panel_rect=panel_rect,
        grid_origin=grid_origin,
        panel_cell=panel_cell,
        status_rect=status_rect,
    )
