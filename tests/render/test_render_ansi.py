"""Tests of the text renderer (``mbag_env.render.ansi``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mbag_env.blocks import BEDROCK, BLOCK_NAMES, DIRT, GLASS, NUM_BLOCK_TYPES, PLANKS, WOOL
from mbag_env.render import BLOCK_CHARS, PLAYER_CHARS, render_ansi

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def ground_world(width: int = 5, height: int = 4, depth: int = 3) -> np.ndarray:
    blocks = np.zeros((width, height, depth), dtype=np.uint8)
    blocks[:, 0, :] = BEDROCK
    blocks[:, 1, :] = DIRT
    return blocks


def layer_rows(text: str, y: int) -> list[str]:
    """The character rows printed under the header of layer ``y``."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [f"y={y}"])
    rows = []
    for line in lines[start + 1 :]:
        if not line:
            break
        rows.append(line)
    return rows


def test_block_chars_are_unique_single_characters() -> None:
    assert len(BLOCK_CHARS) == NUM_BLOCK_TYPES == len(BLOCK_NAMES)
    assert all(len(c) == 1 for c in BLOCK_CHARS)
    assert len(set(BLOCK_CHARS)) == NUM_BLOCK_TYPES
    assert not set(BLOCK_CHARS) & set(PLAYER_CHARS)
    assert PLAYER_CHARS[:10] == "0123456789"


def test_one_header_per_layer_top_to_bottom() -> None:
    text = render_ansi(ground_world())
    headers = [line for line in text.split("\n") if re.match(r"^y=\d+$", line)]
    assert headers == ["y=3", "y=2", "y=1", "y=0"]


def test_legend_names_every_block() -> None:
    legend = render_ansi(ground_world()).split("\n")[0]
    for char, name in zip(BLOCK_CHARS, BLOCK_NAMES, strict=True):
        assert f"{char} {name}" in legend
    legend_with_players = render_ansi(ground_world(), np.array([[0, 2, 0], [1, 2, 0]])).split("\n")[0]
    assert "0 human" in legend_with_players and "1 assistant" in legend_with_players


def test_layers_show_blocks_where_they_are() -> None:
    blocks = ground_world()
    blocks[3, 2, 1] = PLANKS
    text = render_ansi(blocks)
    assert layer_rows(text, 0) == [" ".join("#" * 5)] * 3
    assert layer_rows(text, 1) == [" ".join("d" * 5)] * 3
    rows = [row.split(" ") for row in layer_rows(text, 2)]
    assert len(rows) == 3 and all(len(row) == 5 for row in rows)  # D rows of W cells
    assert rows[1][3] == "p"
    assert sum(cell != "." for row in rows for cell in row) == 1


def test_players_marked_by_index_digit_at_feet_and_head() -> None:
    blocks = ground_world()
    text = render_ansi(blocks, np.array([[0, 2, 0], [4, 2, 2]]))
    for y in (2, 3):
        rows = [row.split(" ") for row in layer_rows(text, y)]
        assert rows[0][0] == "0"
        assert rows[2][4] == "1"


def test_goal_layer_side_by_side() -> None:
    blocks = ground_world()
    goal = blocks.copy()
    goal[1, 2, 0] = WOOL
    goal[2, 2, 2] = GLASS
    text = render_ansi(blocks, goal=goal)
    header = next(line for line in text.split("\n") if line.startswith("y=2"))
    assert "goal y=2 (2 differ)" in header
    assert "goal y=1 (0 differ)" in text
    world_rows = layer_rows(text, 2)
    assert world_rows[0] == ". . . . .   . w . . ."
    assert world_rows[2] == ". . . . .   . . g . ."
    # the goal panel starts where its header does
    assert header.index("goal") == world_rows[0].index("   ") + 3


def test_color_adds_escapes_only() -> None:
    blocks = ground_world()
    players = np.array([[0, 2, 0]])
    plain = render_ansi(blocks, players, blocks)
    coloured = render_ansi(blocks, players, blocks, color=True)
    assert "\x1b[38;2;" in coloured
    assert ESCAPE.sub("", coloured) == plain


def test_tiny_and_large_worlds() -> None:
    for shape in ((3, 4, 3), (32, 32, 32)):
        text = render_ansi(ground_world(*shape))
        assert text.count("\ny=") == shape[1]
        assert len(layer_rows(text, 0)) == shape[2]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"blocks": np.zeros((3, 3), dtype=np.uint8)}, "3-D"),
        ({"blocks": np.full((3, 4, 3), 12, dtype=np.uint8)}, "block id"),
        ({"blocks": ground_world(), "goal": ground_world(4, 4, 3)}, "goal"),
        ({"blocks": ground_world(), "players": np.array([[0, 3, 0]])}, "player"),
        ({"blocks": ground_world(), "players": np.zeros((2, 2), dtype=int)}, "players"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        render_ansi(**kwargs)


def test_too_many_players_raise() -> None:
    blocks = np.zeros((40, 3, 1), dtype=np.uint8)
    players = np.array([[x, 0, 0] for x in range(len(PLAYER_CHARS) + 1)])
    with pytest.raises(ValueError, match="at most"):
        render_ansi(blocks, players)
