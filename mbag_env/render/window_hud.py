"""The game window's words and numbers: the HUD bar along the top, the block palette with the
players' last actions, the status line and the banner over the 3-D view."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.blocks import BLOCK_COLORS, BLOCK_NAMES, FIRST_PLACEABLE, NUM_PLACEABLE  # noqa: E402
from mbag_env.render.iso import player_color  # noqa: E402
from mbag_env.render.window_frame import Hud, block_for_slot  # noqa: E402
from mbag_env.render.window_layout import HUD_HEIGHT, MARGIN, SWATCH  # noqa: E402
from mbag_env.render.window_style import (  # noqa: E402
    HUD_BACKGROUND,
    HUD_DIM_TEXT,
    HUD_TEXT,
    INVALID_COLOR,
    MESSAGE_COLORS,
    PANEL_DIM_TEXT,
    PANEL_TEXT,
    PROGRESS_EMPTY,
    PROGRESS_FILL,
    VALID_COLOR,
    Color,
    Fonts,
)


def draw_hud(screen: pygame.Surface, fonts: Fonts, hud: Hud, width: int) -> None:
    """The bar along the window's top: title, step, goal percentage, reward, selected block and,
    on a second row, whose turn it is with a countdown bar."""
    pygame.draw.rect(screen, HUD_BACKGROUND, (0, 0, width, HUD_HEIGHT))
    body, bold = fonts["body"], fonts["bold"]
    x = MARGIN
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
    turn_x = MARGIN
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


def draw_palette(screen: pygame.Surface, fonts: Fonts, hud: Hud, rect: pygame.Rect) -> None:
    """Under the 3-D view: the block swatches (keys 1..8, the selected one framed, counts with
    finite blocks) when a block is selected, then one line per player (at most three)."""
    small, body = fonts["small"], fonts["body"]
    x = rect.left
    if hud.selected_block is not None:
        for slot in range(NUM_PLACEABLE):
            block = block_for_slot(slot)
            swatch = pygame.Rect(x, rect.top + 4, SWATCH, SWATCH)
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
            x += SWATCH + 8
        name = body.render(BLOCK_NAMES[hud.selected_block], True, PANEL_TEXT)
        screen.blit(name, (x + 6, rect.top + 12))
        lines_top = rect.top + SWATCH + (24 if hud.inventory is not None else 12)
    else:
        lines_top = rect.top + 4
    for offset, line in enumerate(hud.players[:3]):
        y = lines_top + offset * 20
        swatch = pygame.Rect(rect.left, y + 2, 12, 12)
        pygame.draw.rect(screen, tuple(int(c) for c in player_color(line.player)), swatch, border_radius=2)
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


def draw_status(screen: pygame.Surface, fonts: Fonts, hud: Hud, rect: pygame.Rect) -> None:
    """The status line (:attr:`Hud.message`, coloured by its level) in ``rect``."""
    pygame.draw.rect(screen, (228, 228, 222), rect)
    color = MESSAGE_COLORS.get(hud.message_level, MESSAGE_COLORS["info"])
    text = fonts["body"].render(hud.message, True, color)
    screen.blit(text, (MARGIN, rect.top + (rect.height - text.get_height()) // 2))


def draw_banner(
    screen: pygame.Surface, fonts: Fonts, title: str, lines: Sequence[str], view_rect: pygame.Rect
) -> None:
    """A shaded box with ``title`` and ``lines`` at the bottom of the 3-D view (over the ground,
    not the house)."""
    big, body = fonts["bold"], fonts["body"]
    rendered = [body.render(line, True, (245, 245, 245)) for line in lines]
    heading = big.render(title, True, (255, 255, 255))
    width = max([heading.get_width(), *(r.get_width() for r in rendered)]) + 36
    height = heading.get_height() + sum(r.get_height() + 5 for r in rendered) + 30
    box = pygame.Rect(0, 0, width, height)
    box.midbottom = (view_rect.centerx, view_rect.bottom - 6)
    shade = pygame.Surface(box.size, pygame.SRCALPHA)
    shade.fill((30, 34, 42, 225))
    screen.blit(shade, box)
    y = box.top + 12
    screen.blit(heading, heading.get_rect(midtop=(box.centerx, y)))
    y += heading.get_height() + 8
    for line in rendered:
        screen.blit(line, line.get_rect(midtop=(box.centerx, y)))
        y += line.get_height() + 5


def _reward_color(reward: float) -> Color:
    if reward > 0:
        return (130, 215, 140)
    if reward < 0:
        return (240, 120, 110)
    return HUD_TEXT


def _dark(block: int) -> bool:
    return float(np.mean(BLOCK_COLORS[block])) < 130
