"""The game window's 3-D view: the isometric image of the world (cached between identical
frames), the slice panel's layer outline, the hovered cell's wire cube and the players' name tags."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.render.iso import player_color, render_isometric  # noqa: E402
from mbag_env.render.view_geometry import project_point  # noqa: E402
from mbag_env.render.window_frame import Frame, ViewState  # noqa: E402
from mbag_env.render.window_style import LAYER_COLOR, Color, hover_color  # noqa: E402


class WorldView:
    """Draws the 3-D view of one world into a rectangle of the window.

    Args:
        world_size: ``(W, H, D)``.
        cell_pixels: block size of the isometric image.
        rect: where the view sits in the window (its top-left is the image's top-left).
    """

    def __init__(self, world_size: Sequence[int], cell_pixels: int, rect: pygame.Rect) -> None:
        self.world_size = tuple(int(s) for s in world_size)
        self.cell_pixels = int(cell_pixels)
        self.rect = rect
        self._cache: tuple[bytes, pygame.Surface] | None = None

    def surface(self, frame: Frame, view: ViewState) -> pygame.Surface:
        """The isometric image of ``frame`` as seen with ``view`` (reused while nothing changes)."""
        goal = frame.goal if view.show_goal else None
        players = np.asarray(frame.players, dtype=np.int64).reshape(-1, 3)
        key = b"".join(
            (
                np.ascontiguousarray(frame.blocks).tobytes(),
                players.tobytes(),
                b"-" if goal is None else np.ascontiguousarray(goal).tobytes(),
                bytes([view.rotation]),
            )
        )
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        image = render_isometric(frame.blocks, players, goal, view.rotation, self.cell_pixels)
        surface = pygame.image.frombuffer(
            np.ascontiguousarray(image).tobytes(), (image.shape[1], image.shape[0]), "RGB"
        )
        self._cache = (key, surface)
        return surface

    def to_screen(self, point: Sequence[float], rotation: int) -> tuple[float, float]:
        """Window pixel ``(col, row)`` of world point ``(x, y, z)`` (see :func:`project_point`)."""
        col, row = project_point(point, self.world_size, rotation, self.cell_pixels)
        return self.rect.left + col, self.rect.top + row

    def draw(
        self,
        screen: pygame.Surface,
        font: pygame.font.Font,
        frame: Frame,
        view: ViewState,
        *,
        show_layer: bool,
        hovered: Sequence[int] | None,
        player_tags: Sequence[str],
    ) -> None:
        """Draw the view of ``frame`` on ``screen``.

        Args:
            screen: the window's surface.
            font: the name tags' font.
            frame: what to show.
            view: rotation, goal ghost and the panel's layer.
            show_layer: outline the panel's layer (windows with a slice panel).
            hovered: the panel cell under the mouse (drawn as a wire cube), or ``None``.
            player_tags: name tags of players 0, 1, ... (later ones are ``P<index>``).
        """
        screen.blit(self.surface(frame, view), self.rect.topleft)
        width, _, depth = self.world_size
        if show_layer:
            # the panel's layer, as a rectangle at the layer's floor
            y = view.layer
            corners = [
                self.to_screen(p, view.rotation)
                for p in ((0, y, 0), (width, y, 0), (width, y, depth), (0, y, depth))
            ]
            pygame.draw.lines(screen, LAYER_COLOR, True, corners, 1)
            if hovered is not None:
                self._draw_wire_cube(screen, hovered, hover_color(frame, hovered), view.rotation)
        self._draw_player_tags(screen, font, frame.players, player_tags, view.rotation)

    def _draw_wire_cube(
        self, screen: pygame.Surface, cell: Sequence[int], color: Color, rotation: int
    ) -> None:
        x, y, z = cell
        corners = {
            (i, j, k): self.to_screen((x + i, y + j, z + k), rotation)
            for i in (0, 1)
            for j in (0, 1)
            for k in (0, 1)
        }
        for (i, j, k), start in corners.items():
            for di, dj, dk in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
                end_key = (i + di, j + dj, k + dk)
                if end_key in corners:
                    pygame.draw.line(screen, color, start, corners[end_key], 2)

    def _draw_player_tags(
        self,
        screen: pygame.Surface,
        font: pygame.font.Font,
        players: np.ndarray,
        tags: Sequence[str],
        rotation: int,
    ) -> None:
        for index, (x, y, z) in enumerate(np.asarray(players).reshape(-1, 3)):
            label = tags[index] if index < len(tags) else f"P{index}"
            col, row = self.to_screen((x + 0.5, y + 2.15, z + 0.5), rotation)
            text = font.render(label, True, (255, 255, 255))
            box = text.get_rect(midbottom=(int(col), int(row)))
            pygame.draw.rect(
                screen, tuple(int(c) for c in player_color(index)), box.inflate(8, 2), border_radius=4
            )
            screen.blit(text, box)
