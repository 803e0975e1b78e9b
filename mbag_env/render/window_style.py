"""How the game window looks: its colours, fonts, default name tags and the hover colour rule."""

from __future__ import annotations

import os
from collections.abc import Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.blocks import AIR  # noqa: E402
from mbag_env.render.window_frame import Frame  # noqa: E402

Color = tuple[int, int, int]
Fonts = dict[str, pygame.font.Font]
"""The window's fonts by role: ``"small"``, ``"body"`` and ``"bold"``."""

HUD_BACKGROUND = (38, 42, 50)
HUD_TEXT = (236, 238, 242)
HUD_DIM_TEXT = (160, 166, 178)
PROGRESS_FILL = (92, 184, 108)
PROGRESS_EMPTY = (70, 76, 88)
PANEL_BACKGROUND = (250, 250, 247)
PANEL_GRID = (208, 208, 200)
PANEL_TEXT = (40, 42, 48)
PANEL_DIM_TEXT = (110, 112, 120)
VALID_COLOR = (40, 170, 80)
"""Where an action is valid now: the hovered cell's outline and the panel's markers."""
INVALID_COLOR = (215, 45, 45)
"""Where an action is not valid now (out of reach, no line of sight, occupied, ...)."""
LAYER_COLOR = (70, 90, 200)
"""Outline of the selected layer in the 3-D view."""
MESSAGE_COLORS = {
    "info": (60, 62, 70),
    "success": (30, 130, 60),
    "warning": (170, 110, 10),
    "error": (200, 40, 40),
}
"""Colour of the status line by :attr:`~mbag_env.render.window_frame.Hud.message_level`."""

PLAYER_TAGS = ("You", "AI")
"""Default name tags above players 0 and 1 in the 3-D view (later players are ``P2``, ``P3``, ...)."""


def load_fonts() -> Fonts:
    """The window's fonts (pygame's default typeface; ``pygame.font`` must be started)."""
    fonts = {
        "small": pygame.font.Font(None, 18),
        "body": pygame.font.Font(None, 21),
        "bold": pygame.font.Font(None, 24),
    }
    fonts["bold"].set_bold(True)
    return fonts


def hover_color(frame: Frame, cell: Sequence[int]) -> Color:
    """Green where a click on ``cell`` acts now (PLACE on air, BREAK on a block), red where it
    does not, neutral when the frame carries no validity (a replay)."""
    if frame.place_valid is None and frame.break_valid is None:
        return LAYER_COLOR
    x, y, z = (int(c) for c in cell)
    if frame.blocks[x, y, z] == AIR:
        valid = frame.place_valid is not None and bool(frame.place_valid[x, y, z])
    else:
        valid = frame.break_valid is not None and bool(frame.break_valid[x, y, z])
    return VALID_COLOR if valid else INVALID_COLOR
