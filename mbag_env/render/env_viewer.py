"""The envs' ``human`` render mode (:class:`EnvViewer`): the 3-D view and a HUD in a
:class:`~mbag_env.render.game_window.GameWindow`, redrawn on every step."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after hiding pygame's start-up banner)

from mbag_env.render.game_window import GameWindow  # noqa: E402
from mbag_env.render.window_frame import Frame, Hud, PlayerLine  # noqa: E402


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
