"""The pygame window: the isometric 3-D view, a per-layer slice panel, a HUD and the controls.

Three programs draw through :class:`GameWindow`:

- the ``human`` render mode of the envs (:class:`EnvViewer`: the 3-D view and a HUD, redrawn on
  every step);
- ``mbag-play`` (:mod:`mbag_env.apps.play`): a person plays the human, clicking cells in the slice
  panel;
- ``mbag-replay`` (:mod:`mbag_env.apps.replay`): a recording played back.

The window only draws what it is given (a :class:`Frame`) and keeps the view settings a person
changes with the keyboard (:class:`ViewState`: rotation, slice layer, goal ghost, help); it never
steps an env. pygame is imported by this module (and the play modules) only, never by
``import mbag_env``. Headless runs (tests, screenshots, GIF export) use SDL's dummy video driver:
set ``SDL_VIDEODRIVER=dummy`` before the first window opens.

**Geometry.** The 3-D view is :func:`~mbag_env.render.render_isometric`'s image: the camera
looks down from the rotated world's ``(+x, +y, +z)`` corner. The slice panel shows one y layer of
the *same rotated* world from above, rotated x to the right and rotated z downwards, so the camera
stands at the panel's bottom-right corner and the 3-D view is the panel turned 45° clockwise.
``W``/``A``/``S``/``D`` therefore move up/left/down/right *as seen in the panel*
(:func:`panel_move_direction`), whatever the rotation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.blocks import (  # noqa: E402
    AIR,
    BEDROCK,
    BLOCK_COLORS,
    BLOCK_NAMES,
    FIRST_PLACEABLE,
    NUM_PLACEABLE,
)
from mbag_env.core.actions import MOVE_DIRECTIONS  # noqa: E402
from mbag_env.core.rules import REACH  # noqa: E402
from mbag_env.render.iso import (  # noqa: E402
    BACKGROUND_COLOR,
    SKIN_COLOR,
    image_shape,
    player_color,
    render_isometric,
    rotate_cells,
)

# ----------------------------------------------------------------------------- colours
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
"""Colour of the status line by :attr:`Hud.message_level`."""

PLAYER_TAGS = ("You", "AI")
"""Default name tags above players 0 and 1 in the 3-D view (later players are ``P2``, ``P3``, ...)."""

_MIN_WIDTH = 780  # room for the HUD's first row


# ----------------------------------------------------------------------------- data
@dataclass
class PlayerLine:
    """One line of the HUD about a player: who it is and what it did last.

    Attributes:
        player: the player's index (sets the colour swatch).
        label: e.g. ``"You"`` or ``"Assistant (oracle)"``.
        text: e.g. ``"PLACE planks at (3, 2, 4)"``.
        outcome: ``"correct"``, ``"incorrect"``, ``"invalid"`` or ``""`` (drawn as a coloured tag).
    """

    player: int
    label: str
    text: str
    outcome: str = ""


@dataclass
class Hud:
    """The numbers and words shown around the 3-D view.

    Attributes:
        step: steps taken so far.
        horizon: the episode's horizon.
        goal_percentage: ``1 - d / d0`` in ``[0, 1]`` (may be negative after wrong actions).
        reward: the last step's reward (of the viewing player).
        total_reward: the episode's return so far.
        turn: whose turn it is / when the game steps next, in words.
        turn_progress: ``0..1`` fill of the countdown bar beside :attr:`turn` (``None``: no bar).
        selected_block: the block id a left click places (``None``: no palette highlight).
        inventory: block counts ``(10,)`` with finite blocks (``None``: infinite).
        players: one :class:`PlayerLine` per player.
        message: the status line.
        message_level: ``"info"``, ``"success"``, ``"warning"`` or ``"error"``.
        banner: ``(title, lines)`` drawn over the 3-D view (episode over, start screen), or ``None``.
        title: a short label in the HUD's corner (e.g. ``"Replay"``).
    """

    step: int = 0
    horizon: int = 0
    goal_percentage: float = 0.0
    reward: float = 0.0
    total_reward: float = 0.0
    turn: str = ""
    turn_progress: float | None = None
    selected_block: int | None = None
    inventory: np.ndarray | None = None
    players: list[PlayerLine] = field(default_factory=list)
    message: str = ""
    message_level: str = "info"
    banner: tuple[str, list[str]] | None = None
    title: str = ""


@dataclass
class Frame:
    """Everything one drawing of the window shows.

    Attributes:
        blocks: ``uint8 (W, H, D)`` block ids.
        players: ``(P, 3)`` feet cells.
        goal: ``uint8 (W, H, D)`` θ, or ``None`` when the viewer may not see it (no ghosts).
        hud: the HUD's contents.
        place_valid: ``bool (W, H, D)``: where a left click (PLACE of the selected block) is a
            valid action now (from the player's action mask), or ``None`` for no markers.
        break_valid: ``bool (W, H, D)``: where a right click (BREAK) is valid now, or ``None``.
        can_place_here: ``bool (W, H, D)``: cells that could take a block at all (air with a solid
            neighbour, no player); where these are not :attr:`place_valid` the panel tints them
            red (out of reach or out of sight). ``None`` for no tint.
    """

    blocks: np.ndarray
    players: np.ndarray
    goal: np.ndarray | None
    hud: Hud
    place_valid: np.ndarray | None = None
    break_valid: np.ndarray | None = None
    can_place_here: np.ndarray | None = None


@dataclass
class ViewState:
    """What a person changes about the view (not the game).

    Attributes:
        rotation: quarter turns of the world about y, ``0..3``.
        layer: the y layer shown in the slice panel.
        show_goal: draw the goal ghost (G).
        show_help: show the controls (H).
        mouse: the last mouse position in window pixels, or ``None``.
    """

    rotation: int = 0
    layer: int = 2
    show_goal: bool = True
    show_help: bool = True
    mouse: tuple[int, int] | None = None


# ----------------------------------------------------------------------------- geometry
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


# ----------------------------------------------------------------------------- the window
_MARGIN = 12
_HUD_HEIGHT = 66
_STATUS_HEIGHT = 30
_PALETTE_HEIGHT = 92
_SWATCH = 34
_GRID_TOP = 62  # from the panel's top: title, axis names, column numbers


class WindowError(RuntimeError):
    """The window cannot open (no display, pygame without a video driver)."""


class GameWindow:
    """A pygame window showing one world: the 3-D view, optionally the slice panel, and a HUD.

    Args:
        world_size: ``(W, H, D)``.
        title: the window's caption.
        panel: show the per-layer slice panel (needed for clicking cells).
        palette: show the block palette and the players' last actions under the 3-D view.
        help_lines: ``(keys, what they do)`` rows shown in the panel's controls box.
        cell_pixels: block size of the 3-D view (default: the largest that fits 560 × 560).
        player_tags: name tags drawn above players 0, 1, ... in the 3-D view.

    Raises:
        WindowError: when no window can be opened (e.g. no display: set
            ``SDL_VIDEODRIVER=dummy`` for headless use).
    """

    def __init__(
        self,
        world_size: Sequence[int],
        *,
        title: str = "mbag_env",
        panel: bool = True,
        palette: bool = True,
        help_lines: Sequence[tuple[str, str]] = (),
        cell_pixels: int | None = None,
        player_tags: Sequence[str] = PLAYER_TAGS,
    ) -> None:
        self.world_size = tuple(int(s) for s in world_size)
        if len(self.world_size) != 3:
            raise ValueError(f"world_size must be (W, H, D), got {world_size!r}")
        self.cell_pixels = fit_cell_pixels(self.world_size) if cell_pixels is None else int(cell_pixels)
        self.has_panel = panel
        self.has_palette = palette
        self.help_lines = list(help_lines)
        self.player_tags = tuple(player_tags)
        height = self.world_size[1]
        self.view = ViewState(layer=min(2, height - 1))
        try:
            pygame.display.init()
            pygame.font.init()
        except pygame.error as error:
            raise WindowError(f"pygame cannot start its display: {error}") from error
        self._layout()
        try:
            self.screen = pygame.display.set_mode((self.width, self.height))
        except pygame.error as error:
            raise WindowError(
                f"cannot open a window ({error}); on a machine without a display set SDL_VIDEODRIVER=dummy "
                "(or use render_mode='rgb_array')"
            ) from error
        pygame.display.set_caption(title)
        self.fonts = {
            "small": pygame.font.Font(None, 18),
            "body": pygame.font.Font(None, 21),
            "bold": pygame.font.Font(None, 24),
        }
        self.fonts["bold"].set_bold(True)
        self._view_cache: tuple[bytes, pygame.Surface] | None = None
        self.closed = False

    # --------------------------------------------------------------- layout
    def _layout(self) -> None:
        rows, cols, _ = image_shape(self.world_size, self.cell_pixels)  # type: ignore[arg-type]
        self.view_rect = pygame.Rect(_MARGIN, _HUD_HEIGHT + _MARGIN, cols, rows)
        left_bottom = self.view_rect.bottom
        if self.has_palette:
            self.palette_rect = pygame.Rect(
                _MARGIN, left_bottom + 6, max(cols, 8 * (_SWATCH + 8)), _PALETTE_HEIGHT
            )
            left_bottom = self.palette_rect.bottom
        else:
            self.palette_rect = pygame.Rect(_MARGIN, left_bottom, 0, 0)
        left_width = max(cols, self.palette_rect.width)
        width, _, depth = self.world_size
        longest = max(width, depth)
        self.panel_cell = max(10, min(34, 330 // longest))
        grid = self.panel_cell * longest
        if self.has_panel:
            panel_left = _MARGIN + left_width + 2 * _MARGIN
            panel_width = max(grid + 40, 380)
            self.panel_rect = pygame.Rect(panel_left, _HUD_HEIGHT + _MARGIN, panel_width, 0)
            self.grid_origin = (panel_left + 30, self.panel_rect.top + _GRID_TOP)
            help_height = 24 + 19 * len(self.help_lines) if self.help_lines else 0
            panel_height = _GRID_TOP + grid + 12 + 3 * 19 + 12 + help_height + 4
            self.panel_rect.height = panel_height
            right = self.panel_rect.right
            content_bottom = max(left_bottom, self.panel_rect.bottom)
        else:
            self.panel_rect = pygame.Rect(0, 0, 0, 0)
            self.grid_origin = (0, 0)
            right = _MARGIN + left_width
            content_bottom = left_bottom
        self.width = max(right + _MARGIN, _MIN_WIDTH)
        if not self.has_panel:  # centre the view in a window widened for the HUD
            shift = (self.width - (right + _MARGIN)) // 2
            self.view_rect.move_ip(shift, 0)
            self.palette_rect.move_ip(shift, 0)
        self.status_rect = pygame.Rect(0, content_bottom + _MARGIN, self.width, _STATUS_HEIGHT)
        self.height = self.status_rect.bottom

    # --------------------------------------------------------------- input helpers
    def handle_view_event(self, event: pygame.event.Event) -> bool:
        """Apply a view key or mouse motion; return whether the event was used.

        Keys: Q/E rotate the 3-D view (and the panel), G toggles the goal ghost, H the help,
        ``[``/``]`` or PageDown/PageUp change the panel's layer.
        """
        if event.type == pygame.MOUSEMOTION:
            self.view.mouse = tuple(event.pos)  # type: ignore[assignment]
            return True
        if event.type != pygame.KEYDOWN:
            return False
        height = self.world_size[1]
        key = event.key
        if key == pygame.K_q:
            self.view.rotation = (self.view.rotation - 1) % 4
        elif key == pygame.K_e:
            self.view.rotation = (self.view.rotation + 1) % 4
        elif key == pygame.K_g:
            self.view.show_goal = not self.view.show_goal
        elif key == pygame.K_h:
            self.view.show_help = not self.view.show_help
        elif key in (pygame.K_RIGHTBRACKET, pygame.K_PAGEUP):
            self.view.layer = min(height - 1, self.view.layer + 1)
        elif key in (pygame.K_LEFTBRACKET, pygame.K_PAGEDOWN):
            self.view.layer = max(0, self.view.layer - 1)
        else:
            return False
        return True

    def cell_at(self, position: Sequence[int]) -> tuple[int, int, int] | None:
        """The world cell under window pixel ``position`` in the slice panel, or ``None``."""
        if not self.has_panel:
            return None
        rot_width, rot_depth = rotated_size(self.world_size, self.view.rotation)
        left, top = self.grid_origin
        u = (int(position[0]) - left) // self.panel_cell
        v = (int(position[1]) - top) // self.panel_cell
        if (
            not (0 <= u < rot_width and 0 <= v < rot_depth)
            or int(position[0]) < left
            or int(position[1]) < top
        ):
            return None
        return panel_to_world(u, v, self.view.layer, self.world_size, self.view.rotation)

    def cell_center(self, cell: Sequence[int]) -> tuple[int, int]:
        """Window pixel at the centre of world cell ``(x, y, z)``'s square in the slice panel (the
        panel shows layer ``y`` only when :attr:`ViewState.layer` is ``y``)."""
        u, v = world_to_panel(cell, self.world_size, self.view.rotation)
        left, top = self.grid_origin
        return (
            left + u * self.panel_cell + self.panel_cell // 2,
            top + v * self.panel_cell + self.panel_cell // 2,
        )

    def hovered_cell(self) -> tuple[int, int, int] | None:
        """The panel cell under the mouse, or ``None``."""
        return None if self.view.mouse is None else self.cell_at(self.view.mouse)

    # --------------------------------------------------------------- drawing
    def draw(self, frame: Frame) -> None:
        """Draw ``frame`` and show it (``pygame.display.flip``)."""
        if self.closed:
            raise WindowError("the window was closed")
        screen = self.screen
        screen.fill(BACKGROUND_COLOR)
        self._draw_world(frame)
        self._draw_hud(frame.hud)
        if self.has_palette:
            self._draw_palette(frame.hud)
        if self.has_panel:
            self._draw_panel(frame)
        self._draw_status(frame.hud)
        if frame.hud.banner is not None:
            self._draw_banner(*frame.hud.banner)
        pygame.display.flip()

    def _world_surface(self, frame: Frame) -> pygame.Surface:
        goal = frame.goal if self.view.show_goal else None
        players = np.asarray(frame.players, dtype=np.int64).reshape(-1, 3)
        key = b"".join(
            (
                np.ascontiguousarray(frame.blocks).tobytes(),
                players.tobytes(),
                b"-" if goal is None else np.ascontiguousarray(goal).tobytes(),
                bytes([self.view.rotation]),
            )
        )
        if self._view_cache is not None and self._view_cache[0] == key:
            return self._view_cache[1]
        image = render_isometric(frame.blocks, players, goal, self.view.rotation, self.cell_pixels)
        surface = pygame.image.frombuffer(
            np.ascontiguousarray(image).tobytes(), (image.shape[1], image.shape[0]), "RGB"
        )
        self._view_cache = (key, surface)
        return surface

    def _to_screen(self, point: Sequence[float]) -> tuple[float, float]:
        col, row = project_point(point, self.world_size, self.view.rotation, self.cell_pixels)
        return self.view_rect.left + col, self.view_rect.top + row

    def _draw_world(self, frame: Frame) -> None:
        screen = self.screen
        screen.blit(self._world_surface(frame), self.view_rect.topleft)
        width, _, depth = self.world_size
        if self.has_panel:
            # the panel's layer, as a rectangle at the layer's floor
            y = self.view.layer
            corners = [
                self._to_screen(p) for p in ((0, y, 0), (width, y, 0), (width, y, depth), (0, y, depth))
            ]
            pygame.draw.lines(screen, LAYER_COLOR, True, corners, 1)
            hovered = self.hovered_cell()
            if hovered is not None:
                self._draw_wire_cube(hovered, _hover_color(frame, hovered))
        self._draw_player_tags(frame.players)

    def _draw_wire_cube(self, cell: Sequence[int], color: tuple[int, int, int]) -> None:
        x, y, z = cell
        corners = {
            (i, j, k): self._to_screen((x + i, y + j, z + k)) for i in (0, 1) for j in (0, 1) for k in (0, 1)
        }
        for (i, j, k), start in corners.items():
            for di, dj, dk in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
                end_key = (i + di, j + dj, k + dk)
                if end_key in corners:
                    pygame.draw.line(self.screen, color, start, corners[end_key], 2)

    def _draw_player_tags(self, players: np.ndarray) -> None:
        font = self.fonts["small"]
        for index, (x, y, z) in enumerate(np.asarray(players).reshape(-1, 3)):
            label = self.player_tags[index] if index < len(self.player_tags) else f"P{index}"
            col, row = self._to_screen((x + 0.5, y + 2.15, z + 0.5))
            text = font.render(label, True, (255, 255, 255))
            box = text.get_rect(midbottom=(int(col), int(row)))
            pygame.draw.rect(
                self.screen, tuple(int(c) for c in player_color(index)), box.inflate(8, 2), border_radius=4
            )
            self.screen.blit(text, box)

    def _draw_hud(self, hud: Hud) -> None:
        screen = self.screen
        pygame.draw.rect(screen, HUD_BACKGROUND, (0, 0, self.width, _HUD_HEIGHT))
        body, bold = self.fonts["body"], self.fonts["bold"]
        x = _MARGIN
        if hud.title:
            title = bold.render(hud.title, True, HUD_TEXT)
            screen.blit(title, (x, 10))
            x += title.get_width() + 18
        step = bold.render(f"Step {hud.step} / {hud.horizon}", True, HUD_TEXT)
        screen.blit(step, (x, 10))
        x += max(step.get_width(), 130) + 18
        # goal percentage with a bar
        label = body.render("Goal", True, HUD_DIM_TEXT)
        screen.blit(label, (x, 12))
        x += label.get_width() + 8
        bar = pygame.Rect(x, 10, 170, 18)
        pygame.draw.rect(screen, PROGRESS_EMPTY, bar, border_radius=4)
        fraction = float(np.clip(hud.goal_percentage, 0.0, 1.0))
        if fraction > 0:
            pygame.draw.rect(
                screen,
                PROGRESS_FILL,
                (bar.left, bar.top, max(4, round(bar.width * fraction)), bar.height),
                border_radius=4,
            )
        percent = bold.render(f"{hud.goal_percentage:.0%}", True, HUD_TEXT)
        screen.blit(percent, (bar.right + 8, 10))
        x = bar.right + 8 + max(percent.get_width(), 46) + 14
        reward = bold.render(f"Reward {hud.reward:+g}", True, _reward_color(hud.reward))
        screen.blit(reward, (x, 10))
        x += reward.get_width() + 10
        total = body.render(f"(total {hud.total_reward:+g})", True, HUD_DIM_TEXT)
        screen.blit(total, (x, 12))
        x += total.get_width() + 18
        if hud.selected_block is not None:
            name = BLOCK_NAMES[hud.selected_block]
            swatch = pygame.Rect(x, 9, 20, 20)
            pygame.draw.rect(
                screen, tuple(int(c) for c in BLOCK_COLORS[hud.selected_block]), swatch, border_radius=3
            )
            pygame.draw.rect(screen, HUD_TEXT, swatch, 1, border_radius=3)
            screen.blit(
                body.render(f"{name} [{hud.selected_block - FIRST_PLACEABLE + 1}]", True, HUD_TEXT),
                (x + 26, 12),
            )
        # second row: whose turn, with a countdown bar
        turn_x = _MARGIN
        if hud.turn_progress is not None:
            countdown = pygame.Rect(turn_x, 42, 90, 10)
            pygame.draw.rect(screen, PROGRESS_EMPTY, countdown, border_radius=3)
            filled = round(countdown.width * float(np.clip(hud.turn_progress, 0.0, 1.0)))
            if filled:
                pygame.draw.rect(
                    screen,
                    (230, 170, 60),
                    (countdown.left, countdown.top, filled, countdown.height),
                    border_radius=3,
                )
            turn_x = countdown.right + 10
        screen.blit(body.render(hud.turn, True, HUD_TEXT), (turn_x, 39))

    def _draw_palette(self, hud: Hud) -> None:
        screen = self.screen
        rect = self.palette_rect
        small, body = self.fonts["small"], self.fonts["body"]
        x = rect.left
        if hud.selected_block is not None:
            for slot in range(NUM_PLACEABLE):
                block = FIRST_PLACEABLE + slot
                swatch = pygame.Rect(x, rect.top + 4, _SWATCH, _SWATCH)
                pygame.draw.rect(screen, tuple(int(c) for c in BLOCK_COLORS[block]), swatch, border_radius=4)
                selected = block == hud.selected_block
                pygame.draw.rect(
                    screen,
                    (20, 20, 20) if selected else (150, 150, 145),
                    swatch.inflate(4, 4) if selected else swatch,
                    3 if selected else 1,
                    border_radius=5,
                )
                number = small.render(str(slot + 1), True, (255, 255, 255) if _dark(block) else (20, 20, 20))
                screen.blit(number, (swatch.left + 4, swatch.top + 3))
                if hud.inventory is not None:
                    count = small.render(str(int(hud.inventory[block])), True, PANEL_TEXT)
                    screen.blit(count, count.get_rect(midtop=(swatch.centerx, swatch.bottom + 2)))
                x += _SWATCH + 8
            name = body.render(BLOCK_NAMES[hud.selected_block], True, PANEL_TEXT)
            screen.blit(name, (x + 6, rect.top + 12))
            lines_top = rect.top + _SWATCH + (24 if hud.inventory is not None else 12)
        else:
            lines_top = rect.top + 4
        for offset, line in enumerate(hud.players[:3]):
            y = lines_top + offset * 20
            swatch = pygame.Rect(rect.left, y + 2, 12, 12)
            pygame.draw.rect(
                screen, tuple(int(c) for c in player_color(line.player)), swatch, border_radius=2
            )
            label = body.render(f"{line.label}: ", True, PANEL_TEXT)
            screen.blit(label, (swatch.right + 6, y))
            text_x = swatch.right + 6 + label.get_width()
            text = body.render(line.text, True, PANEL_DIM_TEXT)
            screen.blit(text, (text_x, y))
            if line.outcome:
                color = {"correct": VALID_COLOR, "incorrect": INVALID_COLOR, "invalid": (170, 110, 10)}.get(
                    line.outcome, PANEL_DIM_TEXT
                )
                tag = small.render(line.outcome, True, color)
                screen.blit(tag, (text_x + text.get_width() + 8, y + 2))

    def _draw_panel(self, frame: Frame) -> None:
        screen = self.screen
        view = self.view
        rect = self.panel_rect
        pygame.draw.rect(screen, PANEL_BACKGROUND, rect, border_radius=6)
        pygame.draw.rect(screen, PANEL_GRID, rect, 1, border_radius=6)
        bold, small = self.fonts["bold"], self.fonts["small"]
        height = self.world_size[1]
        title = bold.render(f"Layer y = {view.layer}", True, PANEL_TEXT)
        screen.blit(title, (rect.left + 12, rect.top + 9))
        hint = small.render(f"of 0..{height - 1}   [ ] or PgUp/PgDn", True, PANEL_DIM_TEXT)
        screen.blit(hint, (rect.left + 20 + title.get_width(), rect.top + 13))

        rotation = view.rotation
        y = view.layer
        c = self.panel_cell
        left, top = self.grid_origin
        blocks = np.rot90(frame.blocks[:, y, :], rotation)
        goal = None if frame.goal is None or not view.show_goal else np.rot90(frame.goal[:, y, :], rotation)
        place = None if frame.place_valid is None else np.rot90(frame.place_valid[:, y, :], rotation)
        breakable = None if frame.break_valid is None else np.rot90(frame.break_valid[:, y, :], rotation)
        candidate = (
            None if frame.can_place_here is None else np.rot90(frame.can_place_here[:, y, :], rotation)
        )
        rot_width, rot_depth = blocks.shape
        tint = pygame.Surface((c, c), pygame.SRCALPHA)
        for u in range(rot_width):
            for v in range(rot_depth):
                cell = pygame.Rect(left + u * c, top + v * c, c, c)
                block = int(blocks[u, v])
                wanted = int(goal[u, v]) if goal is not None else block
                if block != AIR:
                    pygame.draw.rect(screen, tuple(int(k) for k in BLOCK_COLORS[block]), cell)
                elif wanted != AIR:
                    ghost = (BLOCK_COLORS[wanted].astype(np.int64) + 2 * 250) // 3
                    pygame.draw.rect(screen, tuple(int(k) for k in ghost), cell)
                    pygame.draw.rect(
                        screen,
                        tuple(int(k) for k in BLOCK_COLORS[wanted]),
                        cell.inflate(-2 * max(2, c // 5), -2 * max(2, c // 5)),
                        1,
                    )
                else:
                    pygame.draw.rect(screen, (255, 255, 253), cell)
                if block != AIR and goal is not None and wanted != block:
                    pygame.draw.rect(screen, INVALID_COLOR, cell.inflate(-2, -2), 3)
                    pygame.draw.line(screen, INVALID_COLOR, cell.topleft, cell.bottomright, 2)
                # validity: green corner dot where a click acts now; red tint where it could act
                # (a breakable block, or air a block could attach to) but cannot from here
                if block == AIR and place is not None and candidate is not None:
                    if place[u, v]:
                        pygame.draw.circle(
                            screen, VALID_COLOR, (cell.left + c // 2, cell.top + c // 2), max(2, c // 8)
                        )
                    elif candidate[u, v]:
                        tint.fill((*INVALID_COLOR, 42))
                        screen.blit(tint, cell)
                elif block not in (AIR, BEDROCK) and breakable is not None:
                    if breakable[u, v]:
                        pygame.draw.rect(screen, VALID_COLOR, cell.inflate(-4, -4), 2)
                    else:
                        tint.fill((*INVALID_COLOR, 42))
                        screen.blit(tint, cell)
                pygame.draw.rect(screen, PANEL_GRID, cell, 1)
        self._draw_panel_players(frame.players)
        hovered = self.hovered_cell()
        if hovered is not None:
            u, v = world_to_panel(hovered, self.world_size, rotation)
            color = _hover_color(frame, hovered)
            pygame.draw.rect(screen, color, (left + u * c - 1, top + v * c - 1, c + 2, c + 2), 3)
        self._draw_axes(rot_width, rot_depth)
        width, _, depth = self.world_size
        has_validity = frame.place_valid is not None or frame.break_valid is not None
        self._draw_legend(top + max(width, depth) * c + 12, has_validity)

    def _draw_panel_players(self, players: np.ndarray) -> None:
        c = self.panel_cell
        left, top = self.grid_origin
        layer = self.view.layer
        for index, (x, y, z) in enumerate(np.asarray(players).reshape(-1, 3)):
            u, v = world_to_panel((x, y, z), self.world_size, self.view.rotation)
            center = (left + u * c + c // 2, top + v * c + c // 2)
            body = tuple(int(k) for k in player_color(index))
            radius = max(3, int(c * 0.36))
            if y == layer:  # feet
                pygame.draw.circle(self.screen, body, center, radius)
                pygame.draw.circle(self.screen, (30, 30, 30), center, radius, 1)
            elif y + 1 == layer:  # head
                pygame.draw.circle(self.screen, SKIN_COLOR, center, radius)
                pygame.draw.circle(self.screen, body, center, radius, max(2, c // 10))
            else:  # on another layer: a faint ring shows where
                pygame.draw.circle(self.screen, body, center, radius, 1)

    def _draw_axes(self, rot_width: int, rot_depth: int) -> None:
        """Label the panel's columns and rows with the world axis they run along."""
        small = self.fonts["small"]
        c = self.panel_cell
        left, top = self.grid_origin
        rotation = self.view.rotation
        origin = panel_to_world(0, 0, 0, self.world_size, rotation)
        right = panel_to_world(1, 0, 0, self.world_size, rotation)
        down = panel_to_world(0, 1, 0, self.world_size, rotation)

        def axis_name(delta: tuple[int, int]) -> str:
            dx, dz = delta
            return ("+x" if dx > 0 else "-x") if dx else ("+z" if dz > 0 else "-z")

        across = axis_name((right[0] - origin[0], right[2] - origin[2]))
        along = axis_name((down[0] - origin[0], down[2] - origin[2]))
        text = small.render(f"columns run along {across},  rows along {along}", True, PANEL_DIM_TEXT)
        self.screen.blit(text, (self.panel_rect.left + 12, self.panel_rect.top + 33))
        for u in range(rot_width):
            x, _, z = panel_to_world(u, 0, 0, self.world_size, rotation)
            if c >= 16 or u % 2 == 0:
                label = small.render(str(x if across.endswith("x") else z), True, PANEL_DIM_TEXT)
                self.screen.blit(label, label.get_rect(midbottom=(left + u * c + c // 2, top - 1)))
        for v in range(rot_depth):
            x, _, z = panel_to_world(0, v, 0, self.world_size, rotation)
            if c >= 16 or v % 2 == 0:
                label = small.render(str(x if along.endswith("x") else z), True, PANEL_DIM_TEXT)
                self.screen.blit(label, label.get_rect(midright=(left - 4, top + v * c + c // 2)))

    def _draw_legend(self, top: int, has_validity: bool) -> None:
        screen = self.screen
        small = self.fonts["small"]
        left = self.panel_rect.left + 14
        c = 14
        entries = [("ghost", "pale: a goal block still missing   red X: wrong block")]
        if has_validity:
            entries = [
                ("dot", "green dot / frame: you can place / break there now"),
                ("tint", f"red: out of reach ({REACH:g}) or out of sight from you"),
                *entries,
            ]
        for row, (kind, text) in enumerate(entries):
            y = top + row * 19
            box = pygame.Rect(left, y + 1, c, c)
            if kind == "dot":
                pygame.draw.rect(screen, (255, 255, 253), box)
                pygame.draw.circle(screen, VALID_COLOR, box.center, 3)
            elif kind == "tint":
                pygame.draw.rect(screen, (244, 200, 196), box)
            else:
                pygame.draw.rect(screen, (215, 200, 180), box)
            pygame.draw.rect(screen, PANEL_GRID, box, 1)
            screen.blit(small.render(text, True, PANEL_TEXT), (box.right + 8, y + 2))
        top += (3 - len(entries)) * 19  # the controls box stays in place
        if self.help_lines and self.view.show_help:
            y = top + len(entries) * 19 + 12
            screen.blit(self.fonts["bold"].render("Controls", True, PANEL_TEXT), (left, y))
            y += 24
            for keys, what in self.help_lines:
                screen.blit(small.render(keys, True, (50, 70, 160)), (left, y))
                screen.blit(small.render(what, True, PANEL_TEXT), (left + 118, y))
                y += 19
        elif self.help_lines:
            y = top + len(entries) * 19 + 12
            screen.blit(small.render("H: show the controls", True, PANEL_DIM_TEXT), (left, y))

    def _draw_status(self, hud: Hud) -> None:
        rect = self.status_rect
        pygame.draw.rect(self.screen, (228, 228, 222), rect)
        color = MESSAGE_COLORS.get(hud.message_level, MESSAGE_COLORS["info"])
        text = self.fonts["body"].render(hud.message, True, color)
        self.screen.blit(text, (_MARGIN, rect.top + (rect.height - text.get_height()) // 2))

    def _draw_banner(self, title: str, lines: Sequence[str]) -> None:
        big, body = self.fonts["bold"], self.fonts["body"]
        rendered = [body.render(line, True, (245, 245, 245)) for line in lines]
        heading = big.render(title, True, (255, 255, 255))
        width = max([heading.get_width(), *(r.get_width() for r in rendered)]) + 36
        height = heading.get_height() + sum(r.get_height() + 5 for r in rendered) + 30
        box = pygame.Rect(0, 0, width, height)
        box.midbottom = (self.view_rect.centerx, self.view_rect.bottom - 6)  # over the ground, not the house
        shade = pygame.Surface(box.size, pygame.SRCALPHA)
        shade.fill((30, 34, 42, 225))
        self.screen.blit(shade, box)
        y = box.top + 12
        self.screen.blit(heading, heading.get_rect(midtop=(box.centerx, y)))
        y += heading.get_height() + 8
        for line in rendered:
            self.screen.blit(line, line.get_rect(midtop=(box.centerx, y)))
            y += line.get_height() + 5

    # --------------------------------------------------------------- output
    def image(self) -> np.ndarray:
        """The window's current contents as ``uint8 (rows, cols, 3)``."""
        return np.ascontiguousarray(pygame.surfarray.array3d(self.screen).swapaxes(0, 1))

    def save_screenshot(self, path: str | Path) -> Path:
        """Write the window's current contents to an image file (PNG by suffix)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self.screen, str(path))
        return path

    def close(self) -> None:
        """Close the window (the pygame display)."""
        if not self.closed:
            pygame.display.quit()
            self.closed = True


def _hover_color(frame: Frame, cell: Sequence[int]) -> tuple[int, int, int]:
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


def _reward_color(reward: float) -> tuple[int, int, int]:
    if reward > 0:
        return (130, 215, 140)
    if reward < 0:
        return (240, 120, 110)
    return HUD_TEXT


def _dark(block: int) -> bool:
    return float(np.mean(BLOCK_COLORS[block])) < 130


# ----------------------------------------------------------------------------- env render mode
class EnvViewer:
    """The ``human`` render mode of :class:`~mbag_env.envs.single.MbagEnv` and
    :class:`~mbag_env.envs.parallel.MbagParallelEnv`: the 3-D view (as ``rgb_array``) with a HUD
    showing the step, the goal percentage, the reward, every player's last action (the block
    it placed included) and the turn order. Q/E rotate, G toggles the goal ghost. Closing the
    window stops the rendering (the env goes on).

    Args:
        world_size: ``(W, H, D)``.
        fps: frames per second the env's steps are slowed to (the env's ``render_fps``).
        title: the window caption.
    """

    def __init__(self, world_size: Sequence[int], fps: float = 10.0, title: str = "mbag_env") -> None:
        self.window = GameWindow(world_size, title=title, panel=False, palette=True, player_tags=("P0", "P1"))
        self.fps = fps
        self.clock = pygame.time.Clock()
        self.total_reward = 0.0
        self._last_timestep = -1

    def show(self, batch: Any, goal_visible: bool, reward: float | None = None) -> None:
        """Draw world 0 of a :class:`~mbag_env.envs.batch.WorldBatch` and wait out the frame time.

        Args:
            batch: the env's ``WorldBatch``.
            goal_visible: draw the goal ghost (only for viewers that may see θ).
            reward: the viewing player's last reward (``None`` when no step was taken yet).
        """
        if self.window.closed:
            return
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.close()
                return
            self.window.handle_view_event(event)
        from mbag_env.core.state import (
            ENV_TIMESTEP,
            PLAYER_LAST_ACTION,
            PLAYER_LAST_DELTA,
            PLAYER_LAST_VALID,
        )

        state = batch.state
        timestep = int(state.env_ints[0, ENV_TIMESTEP])
        if timestep == 0:
            self.total_reward = 0.0
        elif reward is not None and timestep != self._last_timestep:
            self.total_reward += reward
        self._last_timestep = timestep
        lines = []
        num_players = state.player_ints.shape[1]
        if num_players == 2:
            self.window.player_tags = ("Human", "AI")
        for player in range(num_players):
            row = state.player_ints[0, player]
            label = ("Human", "Assistant")[player] if num_players == 2 else f"Player {player}"
            if timestep == 0:
                lines.append(PlayerLine(player, label, "-"))
                continue
            outcome = "invalid" if not row[PLAYER_LAST_VALID] else ""
            if row[PLAYER_LAST_DELTA] > 0:
                outcome = "correct"
            elif row[PLAYER_LAST_DELTA] < 0:
                outcome = "incorrect"
            lines.append(
                PlayerLine(player, label, batch.actions.describe(int(row[PLAYER_LAST_ACTION])), outcome)
            )
        hud = Hud(
            step=timestep,
            horizon=batch.config.horizon,
            goal_percentage=batch.goal_percentage(0),
            reward=0.0 if reward is None else float(reward),
            total_reward=self.total_reward,
            turn=(
                "Every step all players act together, player 0 (the human) first"
                if num_players > 1
                else "One player, one action per step"
            ),
            players=lines,
            message="Q/E rotate the view   G goal ghost",
        )
        frame = Frame(
            state.blocks[0], state.player_ints[0, :, :3], state.goal[0] if goal_visible else None, hud
        )
        self.window.draw(frame)
        if self.fps > 0:
            self.clock.tick(self.fps)

    def close(self) -> None:
        """Close the window."""
        self.window.close()


def open_env_viewer(world_size: Sequence[int], fps: float, title: str) -> EnvViewer:
    """Open the window of the envs' ``human`` render mode (see :class:`EnvViewer`).

    Raises:
        WindowError: when no window can be opened.
    """
    return EnvViewer(world_size, fps=fps, title=title)


def block_for_slot(slot: int) -> int:
    """The block id of palette slot ``slot`` (``0..7``, keys 1..8)."""
    if not 0 <= slot < NUM_PLACEABLE:
        raise ValueError(f"palette slot must be in [0, {NUM_PLACEABLE}), got {slot}")
    return FIRST_PLACEABLE + slot
