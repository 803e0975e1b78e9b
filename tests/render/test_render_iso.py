"""Tests of the isometric renderer (``mbag_env.render.iso``).

The golden image ``golden/tiny_world.png`` was made by this renderer and checked by eye; to
remake it after an intended change of the look, run ``python tests/render/test_render_iso.py``
and look at the new file before committing it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from mbag_env.blocks import (
    AIR,
    BEDROCK,
    COBBLESTONE,
    DIRT,
    GLASS,
    LOG,
    PLANKS,
    STONE,
    STONEBRICK,
    WOOL,
)
from mbag_env.render import FACE_SHADES, image_shape, player_color, render_isometric, rotate_cells
from mbag_env.render.iso import BACKGROUND_COLOR, GRID_COLOR, GROUND_COLOR, OUTLINE_COLOR

GOLDEN = Path(__file__).parent / "golden" / "tiny_world.png"


def ground_world(width: int = 4, height: int = 4, depth: int = 4) -> np.ndarray:
    """Bedrock at y=0, dirt at y=1, air above (the game's initial world)."""
    blocks = np.zeros((width, height, depth), dtype=np.uint8)
    blocks[:, 0, :] = BEDROCK
    blocks[:, 1, :] = DIRT
    return blocks


def tiny_world() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 4x4x4 world with a few blocks of every kind, two players and a goal that differs."""
    blocks = ground_world()
    blocks[0, 2, 0] = COBBLESTONE
    blocks[0, 3, 0] = STONEBRICK
    blocks[1, 2, 0] = GLASS
    blocks[3, 2, 3] = LOG
    blocks[3, 3, 3] = PLANKS
    blocks[0, 2, 3] = WOOL
    blocks[2, 2, 1] = STONE
    players = np.array([[1, 2, 3], [3, 2, 0]])
    goal = blocks.copy()
    goal[0, 2, 2] = WOOL  # missing: a ghost
    goal[3, 2, 2] = PLANKS  # missing: a ghost
    goal[2, 2, 1] = AIR  # the stone should go: red tint
    return blocks, players, goal


def render_tiny_world() -> np.ndarray:
    """The golden image's content, rendered now."""
    blocks, players, goal = tiny_world()
    return render_isometric(blocks, players, goal, rotation=0, cell_pixels=16)


def load_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def random_world(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    blocks = ground_world(*shape)
    upper = rng.integers(0, 10, size=(shape[0], shape[1] - 2, shape[2]))
    blocks[:, 2:, :] = np.where(rng.random(upper.shape) < 0.3, upper, 0)
    return blocks


# --- shape, dtype, determinism -------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 4, 3), (4, 4, 4), (11, 10, 10), (6, 6, 6), (7, 5, 3), (32, 32, 32)])
@pytest.mark.parametrize("cell_pixels", [2, 5, 16])
def test_shape_and_dtype(shape: tuple[int, int, int], cell_pixels: int) -> None:
    blocks = random_world(np.random.default_rng(0), shape)
    for rotation in range(4):
        image = render_isometric(blocks, rotation=rotation, cell_pixels=cell_pixels)
        assert image.dtype == np.uint8
        assert image.shape == image_shape(shape, cell_pixels)
        assert image.flags.writeable


def test_deterministic_and_inputs_untouched() -> None:
    blocks, players, goal = tiny_world()
    copies = blocks.copy(), players.copy(), goal.copy()
    first = render_isometric(blocks, players, goal)
    first[:] = 0  # the caller owns the returned image; the renderer's caches must not alias it
    second = render_isometric(blocks, players, goal)
    third = render_isometric(blocks, players, goal)
    np.testing.assert_array_equal(second, third)
    assert second.any()
    for original, copy in zip((blocks, players, goal), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_accepts_other_integer_dtypes_and_views() -> None:
    blocks, players, goal = tiny_world()
    expected = render_isometric(blocks, players, goal)
    player_ints = np.zeros((1, 2, 20), dtype=np.int32)
    player_ints[0, :, :3] = players
    view = player_ints[0, :, :3]  # how the envs pass players: a non-contiguous int32 view
    np.testing.assert_array_equal(
        render_isometric(blocks.astype(np.int64), view, goal.astype(np.int16)), expected
    )


# --- content ---------------------------------------------------------------------------------


def test_empty_world_is_only_background() -> None:
    image = render_isometric(np.zeros((5, 6, 4), dtype=np.uint8))
    allowed = {BACKGROUND_COLOR, GROUND_COLOR, GRID_COLOR, OUTLINE_COLOR}
    colours = {tuple(int(v) for v in c) for c in np.unique(image.reshape(-1, 3), axis=0)}
    assert colours <= allowed
    assert BACKGROUND_COLOR in colours and GROUND_COLOR in colours and OUTLINE_COLOR in colours


def test_image_changes_when_a_block_changes() -> None:
    blocks = ground_world(6, 6, 6)
    base = render_isometric(blocks)
    for cell, block in [((2, 2, 2), PLANKS), ((5, 5, 5), GLASS), ((0, 2, 0), WOOL), ((3, 1, 3), STONE)]:
        changed = blocks.copy()
        changed[cell] = block
        assert not np.array_equal(render_isometric(changed), base), (cell, block)


def test_every_block_type_looks_different() -> None:
    images = []
    for block in range(1, 10):
        blocks = np.zeros((3, 4, 3), dtype=np.uint8)
        blocks[1, 1, 1] = block
        images.append(render_isometric(blocks))
    for i, j in itertools.combinations(range(len(images)), 2):
        assert not np.array_equal(images[i], images[j]), (i + 1, j + 1)


def test_hidden_block_does_not_change_the_image() -> None:
    # nearer faces occlude farther ones: a block enclosed by opaque blocks is invisible
    blocks = np.full((5, 5, 5), STONE, dtype=np.uint8)
    changed = blocks.copy()
    changed[2, 2, 2] = WOOL
    np.testing.assert_array_equal(render_isometric(changed), render_isometric(blocks))
    for rotation in range(4):
        np.testing.assert_array_equal(
            render_isometric(changed, rotation=rotation), render_isometric(blocks, rotation=rotation)
        )


def test_nearer_block_occludes_farther_block() -> None:
    # a block at (2, 2, 2) is hidden behind the one at (3, 3, 3) exactly along the view ray,
    # so only the parts of it not covered by the nearer block can be seen
    near = np.zeros((5, 5, 5), dtype=np.uint8)
    near[3, 3, 3] = STONE
    both = near.copy()
    both[2, 2, 2] = WOOL
    img_near, img_both = render_isometric(near), render_isometric(both)
    stone_pixels = np.any(img_near != render_isometric(np.zeros_like(near)), axis=-1)
    np.testing.assert_array_equal(img_both[stone_pixels], img_near[stone_pixels])


def test_glass_is_translucent() -> None:
    behind_air = ground_world(4, 5, 4)
    behind_air[2, 2, 2] = GLASS
    behind_log = behind_air.copy()
    behind_log[1, 2, 1] = LOG  # behind the glass as the camera sees it
    opaque = behind_air.copy()
    opaque[2, 2, 2] = STONE
    with_log_opaque = opaque.copy()
    with_log_opaque[1, 2, 1] = LOG
    glass_pixels = np.any(render_isometric(behind_air) != render_isometric(ground_world(4, 5, 4)), axis=-1)
    a, b = render_isometric(behind_air), render_isometric(behind_log)
    assert np.any(a[glass_pixels] != b[glass_pixels]), "the log behind the glass should show through"
    c, d = render_isometric(opaque), render_isometric(with_log_opaque)
    np.testing.assert_array_equal(c[glass_pixels], d[glass_pixels])


# --- rotation --------------------------------------------------------------------------------


def test_four_rotations_give_four_different_images() -> None:
    blocks, players, goal = tiny_world()
    images = [render_isometric(blocks, players, goal, rotation=r) for r in range(4)]
    assert len({img.shape for img in images}) == 1
    for i, j in itertools.combinations(range(4), 2):
        assert not np.array_equal(images[i], images[j]), (i, j)


@pytest.mark.parametrize("rotation", [4, -1, 1.0, True, "1", None])
def test_bad_rotation_raises(rotation: object) -> None:
    with pytest.raises(ValueError, match="rotation"):
        render_isometric(ground_world(), rotation=rotation)  # type: ignore[arg-type]


def test_rotation_turns_the_world() -> None:
    rng = np.random.default_rng(5)
    blocks = random_world(rng, (5, 6, 3))
    players = np.array([[0, 2, 0], [4, 3, 2]])
    goal = random_world(rng, (5, 6, 3))
    for rotation in range(4):
        turned = np.rot90(blocks, rotation, axes=(0, 2))
        turned_goal = np.rot90(goal, rotation, axes=(0, 2))
        turned_players = rotate_cells(players, rotation, 5, 3)
        for (x, y, z), (tx, ty, tz) in zip(players, turned_players, strict=True):
            marker = np.zeros_like(blocks)
            marker[x, y, z] = 1
            assert np.rot90(marker, rotation, axes=(0, 2))[tx, ty, tz] == 1
        np.testing.assert_array_equal(
            render_isometric(blocks, players, goal, rotation=rotation),
            render_isometric(turned, turned_players, turned_goal),
        )


def test_symmetric_world_looks_the_same_after_half_turn() -> None:
    blocks = ground_world(5, 5, 5)
    blocks[2, 2, 2] = STONE
    np.testing.assert_array_equal(render_isometric(blocks, rotation=2), render_isometric(blocks))


# --- players ---------------------------------------------------------------------------------


def _has_colour(image: np.ndarray, colour: np.ndarray) -> int:
    """Number of pixels showing ``colour`` on any of the three face shades (within 2 levels)."""
    count = 0
    for shade in FACE_SHADES:
        shaded = np.clip(colour.astype(float) * shade, 0, 255)
        count += int(np.count_nonzero(np.all(np.abs(image - shaded[None, None, :]) <= 2, axis=-1)))
    return count


def test_players_drawn_in_their_colours() -> None:
    blocks = ground_world(6, 6, 6)
    players = np.array([[0, 2, 0], [5, 2, 5], [2, 3, 4], [4, 2, 1]])
    without = render_isometric(blocks)
    image = render_isometric(blocks, players)
    colours = [player_color(i) for i in range(len(players))]
    assert len({tuple(c) for c in colours}) == len(players)
    for index, colour in enumerate(colours):
        assert _has_colour(without, colour) == 0
        assert _has_colour(image, colour) > 10, f"player {index} colour {colour} not drawn"
    # the colour belongs to the index: without the last player its colour disappears
    fewer = render_isometric(blocks, players[:-1])
    assert _has_colour(fewer, colours[-1]) == 0
    assert all(_has_colour(fewer, colours[j]) > 10 for j in range(len(players) - 1))


def test_human_blue_assistant_orange() -> None:
    human, assistant = player_color(0).astype(int), player_color(1).astype(int)
    assert human[2] > human[0] and human[2] > human[1]
    assert assistant[0] > assistant[1] > assistant[2]
    many = [tuple(player_color(i)) for i in range(20)]
    assert len(set(many)) == 20


def test_player_is_two_cells_tall() -> None:
    blocks = np.zeros((3, 6, 3), dtype=np.uint8)
    image = render_isometric(blocks, np.array([[1, 2, 1]]), cell_pixels=16)
    changed_rows = np.flatnonzero(np.any(image != render_isometric(blocks), axis=(1, 2)))
    height = changed_rows.max() - changed_rows.min() + 1
    assert 1.6 * 16 <= height <= 2.6 * 16  # two cells of 16 pixels, plus the isometric slant


@pytest.mark.parametrize(
    "players",
    [
        np.array([[0, 3, 0]]),
        np.array([[-1, 1, 0]]),
        np.array([[0, 1, 4]]),
        np.array([[0, 1]]),
        np.array([0, 1, 0]),
    ],
)
def test_bad_players_raise(players: np.ndarray) -> None:
    with pytest.raises(ValueError, match="player"):
        render_isometric(np.zeros((4, 5, 4), dtype=np.uint8)[:, :4, :], players)


def test_float_players_raise() -> None:
    with pytest.raises(ValueError, match="integer"):
        render_isometric(ground_world(), np.array([[0.0, 2.0, 0.0]]))


# --- goal ghost ------------------------------------------------------------------------------


def test_goal_equal_to_world_changes_nothing() -> None:
    blocks, players, _ = tiny_world()
    np.testing.assert_array_equal(
        render_isometric(blocks, players, blocks.copy()), render_isometric(blocks, players)
    )


def test_goal_that_differs_changes_the_image() -> None:
    blocks, players, _ = tiny_world()
    base = render_isometric(blocks, players)
    missing = blocks.copy()
    missing[2, 3, 3] = PLANKS  # a block to place: ghost
    extra = blocks.copy()
    extra[0, 2, 3] = AIR  # a block to break: red tint
    other = blocks.copy()
    other[0, 2, 3] = DIRT  # a block to replace: red tint
    for goal in (missing, extra, other):
        image = render_isometric(blocks, players, goal)
        assert not np.array_equal(image, base)


def test_ghost_is_translucent_and_differs_from_a_real_block() -> None:
    blocks = ground_world(5, 5, 5)
    goal = blocks.copy()
    goal[2, 2, 2] = STONE
    real = blocks.copy()
    real[2, 2, 2] = STONE
    empty, ghost, solid = (
        render_isometric(blocks),
        render_isometric(blocks, goal=goal),
        render_isometric(real),
    )
    changed = np.any(ghost != empty, axis=-1)
    assert changed.sum() > 100
    assert not np.array_equal(ghost, solid)
    # the ghost's fill lets the ground behind it show: its pixels lie between ground and stone
    mean_ghost = ghost[changed].astype(float).mean()
    assert abs(mean_ghost - empty[changed].astype(float).mean()) < abs(
        solid[changed].astype(float).mean() - empty[changed].astype(float).mean()
    )


def test_goal_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="goal"):
        render_isometric(ground_world(), goal=ground_world(4, 5, 4))


# --- bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blocks, match",
    [
        (np.zeros((4, 4), dtype=np.uint8), "3-D"),
        (np.zeros((4, 4, 4), dtype=np.float32), "integer"),
        (np.full((4, 4, 4), 10, dtype=np.uint8), "block id"),
        (np.full((4, 4, 4), -1, dtype=np.int32), "block ids"),
        (np.zeros((0, 4, 4), dtype=np.uint8), "empty"),
    ],
)
def test_bad_blocks_raise(blocks: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        render_isometric(blocks)


@pytest.mark.parametrize("cell_pixels", [0, 1, 257, 2.0, True])
def test_bad_cell_pixels_raise(cell_pixels: object) -> None:
    with pytest.raises(ValueError, match="cell_pixels"):
        render_isometric(ground_world(), cell_pixels=cell_pixels)  # type: ignore[arg-type]


# --- golden image ----------------------------------------------------------------------------


def test_golden_tiny_world() -> None:
    assert GOLDEN.exists(), f"missing {GOLDEN}; run `python {Path(__file__).name}` in tests/render to make it"
    expected = load_png(GOLDEN).astype(np.int16)
    image = render_tiny_world().astype(np.int16)
    assert image.shape == expected.shape
    difference = np.abs(image - expected)
    assert difference.mean() < 2.0
    assert np.count_nonzero(difference.max(axis=-1) > 30) < 0.01 * image.shape[0] * image.shape[1]


if __name__ == "__main__":
    from PIL import Image

    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(render_tiny_world()).save(GOLDEN, optimize=True)
    print(f"wrote {GOLDEN}")
