"""The pygame window itself (:class:`GameWindow`): it opens the display, keeps the view settings,
maps mouse pixels to world cells and composes the drawing of a :class:`~mbag_env.render.window_frame.Frame`
from the 3-D view (:mod:`~mbag_env.render.window_world`), the HUD and palette
(:mod:`~mbag_env.render.window_hud`) and the slice panel (:mod:`~mbag_env.render.window_panel`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.render.iso import BACKGROUND_COLOR  # noqa: E402
from mbag_env.render.view_geometry import (  # noqa: E402
    fit_cell_pixels,
    panel_to_world,
    rotated_size,
    world_to_panel,
)
from mbag_env.render.window_frame import Frame, ViewState  # noqa: E402
from mbag_env.render.window_hud import draw_banner, draw_hud, draw_palette, draw_status  # noqa: E402
from mbag_env.render.window_layout import WindowLayout, window_layout  # noqa: E402
from mbag_env.render.window_panel import SlicePanel  # noqa: E402
from mbag_env.render.window_style import PLAYER_TAGS, load_fonts  # noqa: E402
from mbag_env.render.window_world import WorldView  # noqa: E402


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

    The window's size and where each part sits (3-D view, panel, palette, status line) are in
    :attr:`layout` (a :class:`~mbag_env.render.window_layout.WindowLayout`).

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
        self.view = ViewState(layer=min(2, self.world_size[1] - 1))
        try:
            pygame.display.init()
            pygame.font.init()
        except pygame.error as error:
            raise WindowError(f"pygame cannot start its display: {error}") from error
        self.layout: WindowLayout = window_layout(
            self.world_size, self.cell_pixels, panel=panel, palette=palette, help_rows=len(self.help_lines)
        )
        try:
            self.screen = pygame.display.set_mode((self.layout.width, self.layout.height))
        except pygame.error as error:
            raise WindowError(
                f"cannot open a window ({error}); on a machine without a display set SDL_VIDEODRIVER=dummy "
                "(or use render_mode='rgb_array')"
            ) from error
        pygame.display.set_caption(title)
        self.fonts = load_fonts()
        self.world_view = WorldView(self.world_size, self.cell_pixels, self.layout.view_rect)
        self.panel = SlicePanel(self.world_size, self.layout, self.fonts, self.help_lines)
        self.closed = False

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
        left, top = self.layout.grid_origin
        side = self.layout.panel_cell
        u = (int(position[0]) - left) // side
        v = (int(position[1]) - top) // side
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
        left, top = self.layout.grid_origin
        side = self.layout.panel_cell
        return (left + u * side + side // 2, top + v * side + side // 2)

    def hovered_cell(self) -> tuple[int, int, int] | None:
        """The panel cell under the mouse, or ``None``."""
        return None if self.view.mouse is None else self.cell_at(self.view.mouse)

    # --------------------------------------------------------------- drawing
    def draw(self, frame: Frame) -> None:
        """Draw ``frame`` and show it (``pygame.display.flip``)."""
        if self.closed:
            raise WindowError("the window was closed")
        screen, fonts, hud = self.screen, self.fonts, frame.hud
        screen.fill(BACKGROUND_COLOR)
        hovered = self.hovered_cell()
        self.world_view.draw(
            screen,
            fonts["small"],
            frame,
            self.view,
            show_layer=self.has_panel,
            hovered=hovered,
            player_tags=self.player_tags,
        )
        draw_hud(screen, fonts, hud, self.layout.width)
        if self.has_palette:
            draw_palette(screen, fonts, hud, self.layout.palette_rect)
        if self.has_panel:
            self.panel.draw(screen, frame, self.view, hovered)
        draw_status(screen, fonts, hud, self.layout.status_rect)
        if hud.banner is not None:
            draw_banner(screen, fonts, *hud.banner, self.layout.view_rect)
        pygame.display.flip()

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
