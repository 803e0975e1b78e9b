"""Rendering of worlds for people: an isometric RGB image (``rgb_array``) and text layers (``ansi``).

Both renderers only read arrays (blocks, player feet cells, optionally the goal) and never
open a window, so they work headless; the pygame window lives in ``render/window.py`` (and the
modules it gathers) and is imported only when a ``human`` render mode asks for it.
"""

from mbag_env.render.ansi import BLOCK_CHARS, PLAYER_CHARS, render_ansi
from mbag_env.render.iso import (
    BACKGROUND_COLOR,
    FACE_SHADES,
    PLAYER_COLORS,
    image_shape,
    player_color,
    render_isometric,
    rotate_cells,
    validate_render_inputs,
)

__all__ = [
    "BACKGROUND_COLOR",
    "BLOCK_CHARS",
    "FACE_SHADES",
    "PLAYER_CHARS",
    "PLAYER_COLORS",
    "image_shape",
    "player_color",
    "render_ansi",
    "render_isometric",
    "rotate_cells",
    "validate_render_inputs",
]
