"""What one drawing of the game window shows (:class:`Frame`, :class:`Hud`, :class:`PlayerLine`)
and the view settings a person changes with the keyboard (:class:`ViewState`).

Plain data, no pygame: the apps build frames without importing the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mbag_env.blocks import FIRST_PLACEABLE, NUM_PLACEABLE


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


def block_for_slot(slot: int) -> int:
    """The block id of palette slot ``slot`` (``0..7``, keys 1..8)."""
    if not 0 <= slot < NUM_PLACEABLE:
        raise ValueError(f"palette slot must be in [0, {NUM_PLACEABLE}), got {slot}")
    return FIRST_PLACEABLE + slot
