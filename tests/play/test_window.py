"""The window's geometry (panel cells, moves, 3-D projection) and the envs' ``human`` render mode."""

from __future__ import annotations

import itertools
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pygame
import pytest

import mbag_env
from mbag_env.blocks import BLOCK_COLORS, PLANKS, STONE
from mbag_env.core.actions import MOVE_DIRECTIONS
from mbag_env.render import render_isometric
from mbag_env.render.window import (
    BACKGROUND_COLOR,
    Frame,
    GameWindow,
    Hud,
    panel_move_direction,
    panel_to_world,
    project_point,
    world_to_panel,
)

WORLD = (5, 4, 3)  # not square, so rotations swap the panel's sides


@pytest.mark.parametrize("rotation", range(4))
def test_panel_cells_match_the_rotated_world(rotation: int) -> None:
    blocks = np.arange(np.prod(WORLD)).reshape(WORLD)
    rotated = np.rot90(blocks, rotation, axes=(0, 2))
    for cell in itertools.product(*(range(s) for s in WORLD)):
        u, v = world_to_panel(cell, WORLD, rotation)
        assert rotated[u, cell[1], v] == blocks[cell]
        assert panel_to_world(u, v, cell[1], WORLD, rotation) == cell


@pytest.mark.parametrize("rotation", range(4))
def test_wasd_moves_follow_the_panel(rotation: int) -> None:
    start = (2, 1, 1)
    u, v = world_to_panel(start, WORLD, rotation)
    for du, dv in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        direction = MOVE_DIRECTIONS[panel_move_direction(du, dv, rotation)]
        moved = tuple(int(a + b) for a, b in zip(start, direction, strict=True))
        assert world_to_panel(moved, WORLD, rotation) == (u + du, v + dv)


@pytest.mark.parametrize("rotation", range(4))
def test_projection_lands_on_the_drawn_block(rotation: int) -> None:
    blocks = np.zeros(WORLD, dtype=np.uint8)
    cell = (3, 2, 0)
    blocks[cell] = STONE  # nearly flat texture
    image = render_isometric(blocks, rotation=rotation, cell_pixels=16)
    x, y, z = cell
    col, row = project_point((x + 0.5, y + 1, z + 0.5), WORLD, rotation, 16)  # top face centre
    assert np.abs(image[int(row), int(col)].astype(int) - BLOCK_COLORS[STONE]).max() < 20
    col, row = project_point((x + 0.5, y + 3, z + 0.5), WORLD, rotation, 16)  # empty sky above it
    assert tuple(image[int(row), int(col)]) == BACKGROUND_COLOR


def test_clicked_panel_pixels_map_back_to_cells() -> None:
    window = GameWindow(WORLD, help_lines=[("Esc", "quit")])
    try:
        for rotation, layer in itertools.product(range(4), range(WORLD[1])):
            window.view.rotation, window.view.layer = rotation, layer
            for x, z in itertools.product(range(WORLD[0]), range(WORLD[2])):
                assert window.cell_at(window.cell_center((x, layer, z))) == (x, layer, z)
        assert window.cell_at((1, 1)) is None
        assert window.cell_at(window.layout.view_rect.center) is None
    finally:
        window.close()


def test_view_keys_and_drawing() -> None:
    window = GameWindow(WORLD, help_lines=[("Esc", "quit")])
    try:
        blocks = np.zeros(WORLD, dtype=np.uint8)
        blocks[:, 0] = 1
        goal = blocks.copy()
        goal[1:4, 1, 1] = PLANKS
        frame = Frame(blocks, np.array([[0, 1, 0]]), goal, Hud(step=3, horizon=10, turn="Your move"))
        window.draw(frame)
        with_ghost = window.image()
        assert with_ghost.shape == (window.layout.height, window.layout.width, 3)
        key = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_g)
        assert window.handle_view_event(key) and not window.view.show_goal
        window.draw(frame)
        assert not np.array_equal(window.image(), with_ghost), "G hides the goal ghost"
        for key_code, check in (
            (pygame.K_e, lambda: window.view.rotation == 1),
            (pygame.K_q, lambda: window.view.rotation == 0),
            (pygame.K_RIGHTBRACKET, lambda: window.view.layer == 3),
            (pygame.K_PAGEUP, lambda: window.view.layer == 3),  # the top layer is 3
            (pygame.K_LEFTBRACKET, lambda: window.view.layer == 2),
        ):
            window.handle_view_event(pygame.event.Event(pygame.KEYDOWN, key=key_code))
            assert check(), pygame.key.name(key_code)
    finally:
        window.close()


def test_gymnasium_human_render_mode() -> None:
    env = gym.make("mbag/Assist-Small-v0", render_mode="human")
    env.reset(seed=0)
    viewer = env.unwrapped._viewer  # type: ignore[attr-defined]
    assert viewer is not None, "reset draws the window in human mode"
    before = viewer.window.image()
    for _ in range(3):
        env.step(env.unwrapped.batch.actions.encode("break", (3, 1, 3)))  # type: ignore[attr-defined]
    assert env.render() is None
    after = viewer.window.image()
    assert not np.array_equal(before, after), "the HUD and world change as the env steps"
    env.close()
    assert viewer.window.closed and env.unwrapped._viewer is None  # type: ignore[attr-defined]


def test_pettingzoo_human_render_mode_and_vector_env_has_none() -> None:
    env = mbag_env.parallel_env(world_size=(6, 6, 6), horizon=5, render_mode="human")
    env.reset(seed=1)
    env.step({"human": 0, "assistant": 0})
    assert env.render() is None and env._viewer is not None
    env.close()
    assert "human" not in mbag_env.MbagVectorEnv.metadata["render_modes"]
    with pytest.raises(ValueError, match="render_mode"):
        mbag_env.MbagVectorEnv(num_envs=2, render_mode="human")


def test_importing_the_package_does_not_import_pygame() -> None:
    code = (
        "import sys, gymnasium as gym, mbag_env; "
        "from mbag_env.evaluation import recording, leaderboard; "
        "env = gym.make('mbag/Assist-Small-v0', render_mode='rgb_array'); env.reset(seed=0); env.render(); "
        "assert 'pygame' not in sys.modules, 'pygame was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
