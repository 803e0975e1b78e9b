"""The pygame window: the isometric 3-D view, a per-layer slice panel, a HUD and the controls.

Three programs draw through :class:`GameWindow`:

- the ``human`` render mode of the envs (:class:`EnvViewer`: the 3-D view and a HUD, redrawn on
  every step);
- ``mbag-play`` (:mod:`mbag_env.apps.play`): a person plays the human, clicking cells in the slice
  panel;
- ``mbag-replay`` (:mod:`mbag_env.apps.replay`): a recording played back.

The window only draws what it is given (a :class:`Frame`) and keeps the view settings a person
changes with the keyboard (:class:`ViewState`: rotation, slice layer, goal ghost, help); it never
steps an env. pygame is imported by the window's modules (and the play modules) only, never by
``import mbag_env``. Headless runs (tests, screenshots, GIF export) use SDL's dummy video driver:
set ``SDL_VIDEODRIVER=dummy`` before the first window opens.

**Geometry.** The 3-D view is :func:`~mbag_env.render.render_isometric`'s image: the camera
looks down from the rotated world's ``(+x, +y, +z)`` corner. The slice panel shows one y layer of
the *same rotated* world from above, rotated x to the right and rotated z downwards, so the camera
stands at the panel's bottom-right corner and the 3-D view is the panel turned 45° clockwise.
``W``/``A``/``S``/``D`` therefore move up/left/down/right *as seen in the panel*
(:func:`panel_move_direction`), whatever the rotation.

**Modules.** This module gathers the window's public names; each part lives in its own module:

- :mod:`~mbag_env.render.view_geometry`: panel cells, WASD moves, the 3-D projection (no pygame);
- :mod:`~mbag_env.render.window_frame`: :class:`Frame`, :class:`Hud`, :class:`PlayerLine`,
  :class:`ViewState` (plain data, no pygame);
- :mod:`~mbag_env.render.window_style`: colours, fonts, name tags;
- :mod:`~mbag_env.render.window_layout`: where each part of the window sits;
- :mod:`~mbag_env.render.window_world`: the 3-D view; :mod:`~mbag_env.render.window_hud`: the HUD,
  palette, status line and banner; :mod:`~mbag_env.render.window_panel`: the slice panel;
- :mod:`~mbag_env.render.game_window`: :class:`GameWindow`, which composes them;
- :mod:`~mbag_env.render.env_viewer`: :class:`EnvViewer`, the envs' ``human`` render mode.
"""

from __future__ import annotations

from mbag_env.render.env_viewer import EnvViewer, open_env_viewer
from mbag_env.render.game_window import GameWindow, WindowError
from mbag_env.render.iso import BACKGROUND_COLOR
from mbag_env.render.view_geometry import (
    fit_cell_pixels,
    panel_move_direction,
    panel_to_world,
    project_point,
    rotated_size,
    world_to_panel,
)
from mbag_env.render.window_frame import Frame, Hud, PlayerLine, ViewState, block_for_slot
from mbag_env.render.window_style import (
    HUD_BACKGROUND,
    HUD_DIM_TEXT,
    HUD_TEXT,
    INVALID_COLOR,
    LAYER_COLOR,
    MESSAGE_COLORS,
    PANEL_BACKGROUND,
    PANEL_DIM_TEXT,
    PANEL_GRID,
    PANEL_TEXT,
    PLAYER_TAGS,
    PROGRESS_EMPTY,
    PROGRESS_FILL,
    VALID_COLOR,
)

__all__ = [
    "BACKGROUND_COLOR",
    "HUD_BACKGROUND",
    "HUD_DIM_TEXT",
    "HUD_TEXT",
    "INVALID_COLOR",
    "LAYER_COLOR",
    "MESSAGE_COLORS",
    "PANEL_BACKGROUND",
    "PANEL_DIM_TEXT",
    "PANEL_GRID",
    "PANEL_TEXT",
    "PLAYER_TAGS",
    "PROGRESS_EMPTY",
    "PROGRESS_FILL",
    "VALID_COLOR",
    "EnvViewer",
    "Frame",
    "GameWindow",
    "Hud",
    "PlayerLine",
    "ViewState",
    "WindowError",
    "block_for_slot",
    "fit_cell_pixels",
    "open_env_viewer",
    "panel_move_direction",
    "panel_to_world",
    "project_point",
    "rotated_size",
    "world_to_panel",
]
