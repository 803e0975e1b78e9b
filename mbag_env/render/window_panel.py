"""The game window's slice panel: one y layer of the rotated world from above, with goal ghosts,
wrong blocks crossed out, where a click acts now (green) or could act but cannot from here (red),
the players, the hovered cell, axis labels, a legend and the controls box."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.blocks import AIR, BEDROCK, BLOCK_COLORS  # noqa: E402
from mbag_env.core.rules import REACH  # noqa: E402
from mbag_env.render.iso import SKIN_COLOR, player_color  # noqa: E402
from mbag_env.render.view_geometry import panel_to_world, world_to_panel  # noqa: E402
from mbag_env.render.window_frame import Frame, ViewState  # noqa: E402
from mbag_env.render.window_layout import WindowLayout  # noqa: E402
from mbag_env.render.window_style import (  # noqa: E402
    INVALID_COLOR,
    PANEL_BACKGROUND,
    PANEL_DIM_TEXT,
    PANEL_GRID,
    PANEL_TEXT,
    VALID_COLOR,
    Fonts,
    hover_color,
)


class SlicePanel:
    """Draws the slice panel into the window's :attr:`WindowLayout.panel_rect`.

    Args:
        world_size: ``(W, H, D)``.
        layout: the window's layout (the panel's rectangle, grid origin and cell size).
        fonts: the window's fonts.
        help_lines: ``(keys, what they do)`` rows of the controls box (H shows or hides it).
    """

    def __init__(
        self,
        world_size: Sequence[int],
        layout: WindowLayout,
        fonts: Fonts,
        help_lines: Sequence[tuple[str, str]],
    ) -> None:
        self.world_size = tuple(int(s) for s in world_size)
        self.layout = layout
        self.fonts = fonts
        self.help_lines = help_lines

    def draw(
        self, screen: pygame.Surface, frame: Frame, view: ViewState, hovered: Sequence[int] | None
    ) -> None:
        """Draw layer :attr:`ViewState.layer` of ``frame`` on ``screen``, outlining ``hovered``
        (a world cell on that layer, or ``None``)."""
        rect = self.layout.panel_rect
        pygame.draw.rect(screen, PANEL_BACKGROUND, rect, border_radius=6)
        pygame.draw.rect(screen, PANEL_GRID, rect, 1, border_radius=6)
        bold, small = self.fonts["bold"], self.fonts["small"]
        height = self.world_size[1]
        title = bold.render(f"Layer y = {view.layer}", True, PANEL_TEXT)
        screen.blit(title, (rect.left + 12, rect.top + 9))
        hint = small.render(f"of 0..{height - 1}   [ ] or PgUp/PgDn", True, PANEL_DIM_TEXT)
        screen.blit(hint, (rect.left + 20 + title.get_width(), rect.top + 13))

        rotation = view.rotation
        c = self.layout.panel_cell
        left, top = self.layout.grid_origin
        rot_width, rot_depth = self._draw_cells(screen, frame, view)
        self._draw_players(screen, frame.players, view)
        if hovered is not None:
            u, v = world_to_panel(hovered, self.world_size, rotation)
            color = hover_color(frame, hovered)
            pygame.draw.rect(screen, color, (left + u * c - 1, top + v * c - 1, c + 2, c + 2), 3)
        self._draw_axes(screen, rot_width, rot_depth, rotation)
        width, _, depth = self.world_size
        has_validity = frame.place_valid is not None or frame.break_valid is not None
        self._draw_legend(screen, top + max(width, depth) * c + 12, has_validity, view.show_help)

    def _draw_cells(self, screen: pygame.Surface, frame: Frame, view: ViewState) -> tuple[int, int]:
        """The layer's cells; returns the rotated layer's ``(width, depth)``."""
        rotation, y = view.rotation, view.layer
        c = self.layout.panel_cell
        left, top = self.layout.grid_origin
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
        return rot_width, rot_depth

    def _draw_players(self, screen: pygame.Surface, players: np.ndarray, view: ViewState) -> None:
        c = self.layout.panel_cell
        left, top = self.layout.grid_origin
        layer = view.layer
        for index, (x, y, z) in enumerate(np.asarray(players).reshape(-1, 3)):
            u, v = world_to_panel((x, y, z), self.world_size, view.rotation)
            center = (left + u * c + c // 2, top + v * c + c // 2)
            body = tuple(int(k) for k in player_color(index))
            radius = max(3, int(c * 0.36))
            if y == layer:  # feet
                pygame.draw.circle(screen, body, center, radius)
                pygame.draw.circle(screen, (30, 30, 30), center, radius, 1)
            elif y + 1 == layer:  # head
                pygame.draw.circle(screen, SKIN_COLOR, center, radius)
                pygame.draw.circle(screen, body, center, radius, max(2, c // 10))
            else:  # on another layer: a faint ring shows where
                pygame.draw.circle(screen, body, center, radius, 1)

    def _draw_axes(self, screen: pygame.Surface, rot_width: int, rot_depth: int, rotation: int) -> None:
        """Label the panel's columns and rows with the world axis they run along."""
        small = self.fonts["small"]
        c = self.layout.panel_cell
        left, top = self.layout.grid_origin
        origin = panel_to_world(0, 0, 0, self.world_size, rotation)
        right = panel_to_world(1, 0, 0, self.world_size, rotation)
        down = panel_to_world(0, 1, 0, self.world_size, rotation)

        def axis_name(delta: tuple[int, int]) -> str:
            dx, dz = delta
            return ("+x" if dx > 0 else "-x") if dx else ("+z" if dz > 0 else "-z")

        across = axis_name((right[0] - origin[0], right[2] - origin[2]))
        along = axis_name((down[0] - origin[0], down[2] - origin[2]))
        text = small.render(f"columns run along {across},  rows along {along}", True, PANEL_DIM_TEXT)
        screen.blit(text, (self.layout.panel_rect.left + 12, self.layout.panel_rect.top + 33))
        for u in range(rot_width):
            x, _, z = panel_to_world(u, 0, 0, self.world_size, rotation)
            if c >= 16 or u % 2 == 0:
                label = small.render(str(x if across.endswith("x") else z), True, PANEL_DIM_TEXT)
                screen.blit(label, label.get_rect(midbottom=(left + u * c + c // 2, top - 1)))
        for v in range(rot_depth):
            x, _, z = panel_to_world(0, v, 0, self.world_size, rotation)
            if c >= 16 or v % 2 == 0:
                label = small.render(str(x if along.endswith("x") else z), True, PANEL_DIM_TEXT)
                screen.blit(label, label.get_rect(midright=(left - 4, top + v * c + c // 2)))

    def _draw_legend(self, screen: pygame.Surface, top: int, has_validity: bool, show_help: bool) -> None:
        small = self.fonts["small"]
        left = self.layout.panel_rect.left + 14
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
        if self.help_lines and show_help:
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
