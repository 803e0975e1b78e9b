"""Text rendering of a voxel world: one character grid per y-layer, top layer first.

Each layer is a map seen from above with x growing to the right and z growing downwards;
every cell is one character from :data:`BLOCK_CHARS` (or a player's index character), and
characters are separated by spaces so the map keeps roughly square proportions in a terminal.
With a goal, the goal's layer is printed to the right of the world's, and cells where the
two differ are counted in the header.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import BLOCK_COLORS, BLOCK_NAMES
from mbag_env.render.iso import player_color, validate_render_inputs

BLOCK_CHARS: tuple[str, ...] = (".", "#", "d", "c", "g", "L", "p", "s", "b", "w")
"""One character per block id: air, bedrock, dirt, cobblestone, glass, log, planks, stone,
stonebrick, wool."""

PLAYER_CHARS = "0123456789ABCDEFGHIJKMNOPQRSTUVWXYZ"
"""Player ``i`` is marked by ``PLAYER_CHARS[i]`` (its index digit for the first ten; ``L`` is
skipped because it is the log's character)."""

PLAYER_ROLES: tuple[str, ...] = ("human", "assistant")
"""Names printed in the legend for the first players."""

_GAP = "   "
_RESET = "\x1b[0m"


def render_ansi(
    blocks: np.ndarray,
    players: np.ndarray | None = None,
    goal: np.ndarray | None = None,
    *,
    color: bool = False,
) -> str:
    """Render the world as text layers, top layer (``y = H - 1``) first.

    Args:
        blocks: ``uint8 (W, H, D)`` block ids indexed ``[x, y, z]``, y up.
        players: ``(P, 3)`` integer feet cells, or ``None``; both of a player's cells (feet and
            head) show its character from :data:`PLAYER_CHARS`.
        goal: ``uint8 (W, H, D)`` goal blocks, or ``None``; when given, each layer of the goal
            is printed beside the world's layer and the header counts the cells that differ.
        color: wrap every character in 24-bit ANSI colour escapes (block colours from
            :data:`mbag_env.blocks.BLOCK_COLORS`, players in their image colours).

    Returns:
        A string: a legend line, then per layer a header line such as ``y=3`` followed by
        ``D`` rows of ``W`` characters, layers separated by blank lines. No trailing newline.

    Raises:
        ValueError: on inputs rejected by :func:`~mbag_env.render.iso.validate_render_inputs`,
            or more players than :data:`PLAYER_CHARS` can mark.
    """
    blocks_arr, players_arr, goal_arr = validate_render_inputs(blocks, players, goal)
    if len(players_arr) > len(PLAYER_CHARS):
        raise ValueError(f"render_ansi can mark at most {len(PLAYER_CHARS)} players, got {len(players_arr)}")
    width, height, depth = blocks_arr.shape

    block_cells = _block_cells(color)
    world_chars = block_cells[blocks_arr]  # (W, H, D) strings
    for index, (x, y, z) in enumerate(players_arr):
        mark = _paint(PLAYER_CHARS[index], player_color(index), color, bold=True)
        world_chars[x, y, z] = mark
        world_chars[x, y + 1, z] = mark
    goal_chars = block_cells[goal_arr] if goal_arr is not None else None

    panel_width = 2 * width - 1
    lines = [_legend(len(players_arr)), "x -> right, z -> down"]
    for y in range(height - 1, -1, -1):
        lines.append("")
        header = f"y={y}"
        if goal_arr is not None:
            differ = int(np.count_nonzero(blocks_arr[:, y, :] != goal_arr[:, y, :]))
            header = f"{header.ljust(panel_width)}{_GAP}goal y={y} ({differ} differ)"
        lines.append(header.rstrip())
        for z in range(depth):
            row = " ".join(world_chars[:, y, z])
            if goal_chars is not None:
                row = f"{row}{_GAP}{' '.join(goal_chars[:, y, z])}"
            lines.append(row)
    return "\n".join(lines)


def _block_cells(color: bool) -> np.ndarray:
    """Array of the (possibly coloured) character of each block id, indexable by block arrays."""
    cells = [_paint(char, BLOCK_COLORS[block], color) for block, char in enumerate(BLOCK_CHARS)]
    if color:
        cells[0] = f"\x1b[2m{BLOCK_CHARS[0]}{_RESET}"  # air: dim, in the terminal's own colour
    return np.array(cells, dtype=object)


def _paint(char: str, rgb: np.ndarray, color: bool, bold: bool = False) -> str:
    if not color:
        return char
    r, g, b = (int(v) for v in rgb)
    weight = "\x1b[1m" if bold else ""
    return f"{weight}\x1b[38;2;{r};{g};{b}m{char}{_RESET}"


def _legend(num_players: int) -> str:
    """The legend line: every block's character and name, then the players' characters."""
    entries = [f"{char} {name}" for char, name in zip(BLOCK_CHARS, BLOCK_NAMES, strict=True)]
    text = "legend: " + "  ".join(entries)
    if num_players:
        roles = [
            f"{PLAYER_CHARS[i]} {PLAYER_ROLES[i] if i < len(PLAYER_ROLES) else f'player {i}'}"
            for i in range(num_players)
        ]
        text += "  | players: " + "  ".join(roles)
    return text
