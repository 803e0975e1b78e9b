"""Isometric RGB image of a voxel world, drawn with numpy and one numba kernel (no display needed).

The camera looks down at the world from its ``(+x, +y, +z)`` corner, so three faces of every
block can be seen: the top (``+y``, brightest), the ``+z`` face (left on screen) and the
``+x`` face (right on screen, darkest). One world cell projects to a screen offset of
``(x - z) * a`` columns and ``(x + z) * (a // 2) - y * a`` rows with ``a = cell_pixels``,
so every cell's sprite lands on whole pixels and neighbouring faces tile without gaps.

Drawing is the painter's algorithm: cells are visited with x, then y, then z increasing. A
cell can only hide another cell whose coordinates are all smaller or equal (the view ray runs
along ``(1, c, 1)`` with ``c > 0``), so this order draws every occluder after what it hides,
and translucent things (glass, goal ghosts) blend over whatever lies behind them.

For speed every face of every block, goal ghost and player body part is rasterised once per
``cell_pixels`` into a *sprite table* (pixel offsets, colours and opacities); the background
with its ground grid is cached per world size; a frame is then a copy of the background and
one compiled pass over the cells that copies the sprites of exposed faces.
"""

from __future__ import annotations

import colorsys
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np

from mbag_env.blocks import AIR, BLOCK_COLORS, GLASS, NUM_BLOCK_TYPES

BACKGROUND_COLOR: tuple[int, int, int] = (236, 236, 231)
"""Colour of the empty image around the world."""

GROUND_COLOR: tuple[int, int, int] = (222, 222, 214)
"""Fill of the world's footprint at ``y = 0`` (seen only where no block covers it)."""

GRID_COLOR: tuple[int, int, int] = (198, 198, 190)
"""Lines between the footprint's cells."""

OUTLINE_COLOR: tuple[int, int, int] = (160, 160, 154)
"""Edges of the world's bounding box, drawn behind the blocks."""

FACE_SHADES: tuple[float, float, float] = (1.0, 0.66, 0.84)
"""Brightness of the three visible faces: top (``+y``), right (``+x``) and left (``+z``)."""

PLAYER_COLORS = np.array(
    [
        (40, 95, 225),  # 0 human: blue
        (245, 135, 25),  # 1 assistant: orange
        (45, 165, 70),  # 2 green
        (200, 45, 160),  # 3 magenta
        (225, 200, 30),  # 4 yellow
        (35, 185, 200),  # 5 cyan
        (130, 75, 200),  # 6 purple
        (200, 40, 40),  # 7 red
    ],
    dtype=np.uint8,
)
"""Body colour of the first players by index; later players get generated hues (see :func:`player_color`)."""

SKIN_COLOR: tuple[int, int, int] = (236, 196, 156)
"""Colour of every player's head."""

WRONG_BLOCK_COLOR: tuple[int, int, int] = (220, 35, 35)
"""Tint and outline over a block that the goal says should not be there (or be another block)."""

GLASS_ALPHA = 0.35
"""Opacity of a glass face's pane; its frame (the face's edge) is nearly opaque."""

GHOST_ALPHA = 0.4
"""Opacity of the (whitened) fill of a missing goal block; its outline is stronger."""

MIN_CELL_PIXELS = 2
MAX_CELL_PIXELS = 256

# Sprite ids in the table built by _sprite_table: three faces (top, +x, +z) per entry.
_FACES = 3
_GHOST_BASE = NUM_BLOCK_TYPES * _FACES
_WRONG_BASE = 2 * NUM_BLOCK_TYPES * _FACES
_PLAYER_BASE = _WRONG_BASE + _FACES
_PLAYER_PARTS = 4  # legs and lower torso (feet cell), upper torso and head (head cell)

# Boxes of a player's body inside its two cells: (x0, x1, y0, y1, z0, z1) in cell units.
_LEGS = (0.32, 0.68, 0.0, 0.75, 0.32, 0.68)
_TORSO_LOW = (0.22, 0.78, 0.75, 1.0, 0.22, 0.78)
_TORSO_HIGH = (0.22, 0.78, 0.0, 0.45, 0.22, 0.78)
_HEAD = (0.28, 0.72, 0.45, 0.95, 0.28, 0.72)

_TEXELS = 8  # block textures are 8 x 8 brightness maps per face


class SpriteTable(NamedTuple):
    """Pre-rasterised faces: sprite ``k`` owns pixels ``start[k]:start[k + 1]``.

    Attributes:
        start: ``int64 (K + 1,)`` offsets into the pixel arrays.
        d_row: ``int32 (N,)`` pixel row relative to the cell's anchor.
        d_col: ``int32 (N,)`` pixel column relative to the cell's anchor.
        rgb: ``float32 (N, 3)`` pixel colour.
        alpha: ``float32 (N,)`` pixel opacity in ``(0, 1]``.
    """

    start: np.ndarray
    d_row: np.ndarray
    d_col: np.ndarray
    rgb: np.ndarray
    alpha: np.ndarray


def player_color(index: int) -> np.ndarray:
    """Return the body colour (``uint8 (3,)``) of player ``index``: blue for the human (0),
    orange for the assistant (1), then green, magenta, yellow, cyan, purple, red, and evenly
    spread generated hues beyond that."""
    if index < 0:
        raise ValueError(f"player index must be >= 0, got {index}")
    if index < len(PLAYER_COLORS):
        return PLAYER_COLORS[index].copy()
    hue = (0.13 + 0.618034 * index) % 1.0
    rgb = colorsys.hsv_to_rgb(hue, 0.75, 0.85)
    return np.array([round(255 * c) for c in rgb], dtype=np.uint8)


def validate_render_inputs(
    blocks: np.ndarray, players: np.ndarray | None, goal: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check the arrays handed to a renderer and return them in canonical form.

    Args:
        blocks: block ids ``(W, H, D)`` indexed ``[x, y, z]`` with y up, integer dtype, values
            in ``0..NUM_BLOCK_TYPES - 1``.
        players: ``(P, 3)`` integer feet cells ``(x, y, z)`` or ``None``; feet and head
            (``y + 1``) must both lie inside the world.
        goal: block ids of the same shape as ``blocks``, or ``None``.

    Returns:
        ``(blocks, players, goal)`` as C-contiguous ``uint8``, ``int64 (P, 3)`` (``(0, 3)``
        when no players are given) and ``uint8`` or ``None``.

    Raises:
        ValueError: on a wrong shape, dtype, block id or player cell.
    """
    blocks_arr = _as_block_array(blocks, "blocks")
    if goal is None:
        goal_arr = None
    else:
        goal_arr = _as_block_array(goal, "goal")
        if goal_arr.shape != blocks_arr.shape:
            raise ValueError(f"goal has shape {goal_arr.shape} but blocks has shape {blocks_arr.shape}")
    if players is None:
        players_arr = np.zeros((0, 3), dtype=np.int64)
    else:
        players_arr = np.asarray(players)
        if players_arr.ndim != 2 or players_arr.shape[1] != 3:
            raise ValueError(
                f"players must have shape (P, 3) of feet cells (x, y, z), got {players_arr.shape}"
            )
        if players_arr.size and not np.issubdtype(players_arr.dtype, np.integer):
            raise ValueError(f"players must hold integer cells, got dtype {players_arr.dtype}")
        players_arr = np.ascontiguousarray(players_arr, dtype=np.int64)
        width, height, depth = blocks_arr.shape
        for index, (x, y, z) in enumerate(players_arr):
            if not (0 <= x < width and 0 <= y < height - 1 and 0 <= z < depth):
                raise ValueError(
                    f"player {index} has feet cell ({x}, {y}, {z}); its feet and head (y + 1) must lie "
                    f"inside the world of shape {blocks_arr.shape}"
                )
    return blocks_arr, players_arr, goal_arr


def _as_block_array(array: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be a 3-D array indexed [x, y, z], got shape {arr.shape}")
    if min(arr.shape) < 1:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer block ids, got dtype {arr.dtype}")
    if arr.dtype != np.uint8:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= NUM_BLOCK_TYPES:
            raise ValueError(f"{name} holds block ids {low}..{high}; valid ids are 0..{NUM_BLOCK_TYPES - 1}")
    elif int(arr.max()) >= NUM_BLOCK_TYPES:
        raise ValueError(f"{name} holds block id {int(arr.max())}; valid ids are 0..{NUM_BLOCK_TYPES - 1}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def image_shape(world_shape: tuple[int, int, int], cell_pixels: int = 16) -> tuple[int, int, int]:
    """Return the ``(rows, cols, 3)`` shape of :func:`render_isometric`'s image for a world of
    ``world_shape = (W, H, D)``; it does not depend on the rotation."""
    _check_cell_pixels(cell_pixels)
    width, height, depth = world_shape
    a, h = cell_pixels, cell_pixels // 2
    margin = a
    return ((width + depth) * h + height * a + 2 * margin, (width + depth) * a + 2 * margin, 3)


def render_isometric(
    blocks: np.ndarray,
    players: np.ndarray | None = None,
    goal: np.ndarray | None = None,
    rotation: int = 0,
    cell_pixels: int = 16,
) -> np.ndarray:
    """Draw the world as an isometric RGB image.

    Args:
        blocks: ``uint8 (W, H, D)`` block ids indexed ``[x, y, z]``, y up. Air (0) is not
            drawn; glass (4) is translucent.
        players: ``(P, 3)`` integer feet cells, or ``None``. Player ``i`` is drawn as a figure
            filling its feet and head cells, its body in :func:`player_color` ``(i)``
            (blue human, orange assistant, ...).
        goal: ``uint8 (W, H, D)`` goal blocks, or ``None``. Where the goal wants a block and
            the world has air, a translucent outlined "ghost" of the goal block is drawn;
            where the world has a block the goal does not want (air or another block), that
            block gets a red tint and outline. Cells that agree draw exactly as without a goal.
        rotation: ``0..3``; turns the world by ``rotation * 90`` degrees about the vertical
            axis before drawing (equivalently, moves the camera to another corner).
        cell_pixels: half the on-screen width of a block (a block's top is a
            ``2 * cell_pixels`` by ``cell_pixels`` diamond); at least 2.

    Returns:
        ``uint8 (rows, cols, 3)`` image; its shape is :func:`image_shape` of the world.

    Raises:
        ValueError: on a bad rotation or cell size, or on inputs rejected by
            :func:`validate_render_inputs`.
    """
    if isinstance(rotation, bool) or not isinstance(rotation, int | np.integer) or not 0 <= rotation <= 3:
        raise ValueError(f"rotation must be an integer in 0..3 (quarter turns about y), got {rotation!r}")
    _check_cell_pixels(cell_pixels)
    blocks_arr, players_arr, goal_arr = validate_render_inputs(blocks, players, goal)
    rotation = int(rotation)
    cell_pixels = int(cell_pixels)

    width, _, depth = blocks_arr.shape
    if rotation:
        blocks_arr = np.ascontiguousarray(np.rot90(blocks_arr, rotation, axes=(0, 2)))
        if goal_arr is not None:
            goal_arr = np.ascontiguousarray(np.rot90(goal_arr, rotation, axes=(0, 2)))
        players_arr = rotate_cells(players_arr, rotation, width, depth)

    rot_width, height, rot_depth = blocks_arr.shape
    image = _background(rot_width, height, rot_depth, cell_pixels).copy()
    table = _sprite_table(cell_pixels, len(players_arr))
    origin_row, origin_col = _origin(height, rot_depth, cell_pixels)
    has_goal = goal_arr is not None
    _draw_world(
        image,
        blocks_arr,
        goal_arr if has_goal else blocks_arr,
        has_goal,
        players_arr,
        origin_row,
        origin_col,
        cell_pixels,
        cell_pixels // 2,
        table.start,
        table.d_row,
        table.d_col,
        table.rgb,
        table.alpha,
    )
    return image


def rotate_cells(cells: np.ndarray, rotation: int, width: int, depth: int) -> np.ndarray:
    """Map ``(P, 3)`` cells of a ``(width, *, depth)`` world to where they land after
    ``np.rot90(world, rotation, axes=(0, 2))``: each quarter turn sends ``(x, z)`` to
    ``(depth - 1 - z, x)``, with depth the current extent along z."""
    out = np.array(cells, dtype=np.int64, copy=True).reshape(-1, 3)
    for _ in range(rotation % 4):
        x, z = out[:, 0].copy(), out[:, 2].copy()
        out[:, 0] = depth - 1 - z
        out[:, 2] = x
        width, depth = depth, width
    return out


def _check_cell_pixels(cell_pixels: int) -> None:
    if (
        isinstance(cell_pixels, bool)
        or not isinstance(cell_pixels, int | np.integer)
        or not MIN_CELL_PIXELS <= cell_pixels <= MAX_CELL_PIXELS
    ):
        raise ValueError(
            f"cell_pixels must be an integer in {MIN_CELL_PIXELS}..{MAX_CELL_PIXELS}, got {cell_pixels!r}"
        )


def _origin(height: int, depth: int, cell_pixels: int) -> tuple[int, int]:
    """Pixel (row, col) where the world corner (0, 0, 0) projects."""
    margin = cell_pixels
    return margin + height * cell_pixels, margin + depth * cell_pixels


def _project(point: np.ndarray, a: int, h: int) -> np.ndarray:
    """Screen (col, row) offset of a 3-D offset (x, y, z) in cell units."""
    x, y, z = float(point[0]), float(point[1]), float(point[2])
    return np.array([(x - z) * a, (x + z) * h - y * a], dtype=np.float64)


class _FacePixels(NamedTuple):
    rows: np.ndarray
    cols: np.ndarray
    s: np.ndarray  # position along the face's first edge, in [0, 1)
    t: np.ndarray  # position along the face's second edge, in [0, 1)
    edge_distance: np.ndarray  # pixels to the nearest edge of the face


def _rasterize_face(
    origin: tuple[float, float, float],
    edge_s: tuple[float, float, float],
    edge_t: tuple[float, float, float],
    a: int,
    h: int,
) -> _FacePixels:
    """Pixels whose centres fall inside the projected parallelogram ``origin + s*edge_s + t*edge_t``.

    The intervals are half-open, so faces that share an edge never share a pixel.
    """
    o = _project(np.array(origin), a, h)
    ps = _project(np.array(edge_s), a, h)
    pt = _project(np.array(edge_t), a, h)
    corners = np.stack([o, o + ps, o + pt, o + ps + pt])
    col_lo, row_lo = np.floor(corners.min(axis=0)).astype(int)
    col_hi, row_hi = np.ceil(corners.max(axis=0)).astype(int)
    cols, rows = np.meshgrid(np.arange(col_lo, col_hi + 1), np.arange(row_lo, row_hi + 1))
    px = cols + 0.5 - o[0]
    py = rows + 0.5 - o[1]
    det = ps[0] * pt[1] - ps[1] * pt[0]
    s = (px * pt[1] - py * pt[0]) / det
    t = (ps[0] * py - ps[1] * px) / det
    inside = (s >= 0) & (s < 1) & (t >= 0) & (t < 1)
    s, t = s[inside], t[inside]
    area = abs(det)
    edge_distance = np.minimum(
        np.minimum(s, 1 - s) * area / np.hypot(*pt), np.minimum(t, 1 - t) * area / np.hypot(*ps)
    )
    return _FacePixels(rows[inside], cols[inside], s, t, edge_distance)


def _box_faces(box: tuple[float, float, float, float, float, float], a: int, h: int) -> list[_FacePixels]:
    """The top, +x and +z faces of an axis-aligned box ``(x0, x1, y0, y1, z0, z1)`` in a cell.

    On the top face ``s`` runs along x and ``t`` along z; on the side faces ``s`` runs
    horizontally and ``t`` upwards.
    """
    x0, x1, y0, y1, z0, z1 = box
    return [
        _rasterize_face((x0, y1, z0), (x1 - x0, 0, 0), (0, 0, z1 - z0), a, h),
        _rasterize_face((x1, y0, z0), (0, 0, z1 - z0), (0, y1 - y0, 0), a, h),
        _rasterize_face((x0, y0, z1), (x1 - x0, 0, 0), (0, y1 - y0, 0), a, h),
    ]


@lru_cache(maxsize=1)
def _block_textures() -> np.ndarray:
    """Brightness maps ``float (NUM_BLOCK_TYPES, 2, 8, 8)`` indexed [block, top/side, s, t]."""
    rng = np.random.default_rng(20250101)  # fixed: the textures are part of the look
    n = _TEXELS
    tex = np.ones((NUM_BLOCK_TYPES, 2, n, n))
    s_idx, t_idx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")

    def noise(strength: float, block: int = 1) -> np.ndarray:
        coarse = rng.uniform(-strength, strength, size=(n // block, n // block))
        return 1.0 + np.kron(coarse, np.ones((block, block)))

    tex[1] = [noise(0.16), noise(0.16)]  # bedrock
    tex[2] = [noise(0.08), noise(0.08)]  # dirt
    tex[3] = [noise(0.13, 2), noise(0.13, 2)]  # cobblestone: blotches
    tex[7] = [noise(0.05), noise(0.05)]  # stone
    tex[9] = [noise(0.035), noise(0.035)]  # wool
    # log: bark stripes on the sides, growth rings on top
    tex[5, 1] = np.where(s_idx % 3 == 0, 0.8, 1.0) * noise(0.05)
    ring = np.hypot(s_idx - (n - 1) / 2, t_idx - (n - 1) / 2)
    tex[5, 0] = np.where(ring > 3.2, 0.85, np.where(np.round(ring) % 2 == 1, 1.45, 1.6))
    # planks: four boards with dark seams (boards run along s)
    seam = (t_idx % (n // 4)) == 0
    board = 1.0 + 0.06 * np.sin(1.7 * (t_idx // (n // 4)) + 0.3)
    tex[6] = [np.where(seam, 0.78, board), np.where(seam, 0.78, board)]
    # stonebrick: two courses of bricks with staggered joints
    mortar = (t_idx % (n // 2) == 0) | ((s_idx + (t_idx // (n // 2)) * (n // 2)) % n == 0)
    tex[8] = [np.where(mortar, 0.78, noise(0.04)), np.where(mortar, 0.78, noise(0.04))]
    return tex


def _shaded_colors(base: np.ndarray, shade: float, brightness: np.ndarray) -> np.ndarray:
    rgb = base.astype(np.float32)[None, :] * (shade * brightness.astype(np.float32))[:, None]
    return np.clip(rgb, 0.0, 255.0)


@lru_cache(maxsize=16)
def _sprite_table(cell_pixels: int, num_players: int) -> SpriteTable:
    """Rasterise every sprite the kernel can draw for this cell size and player count."""
    a, h = cell_pixels, cell_pixels // 2
    outline = cell_pixels >= 6  # at tiny sizes an outline would swallow the face
    cube = _box_faces((0.0, 1.0, 0.0, 1.0, 0.0, 1.0), a, h)
    textures = _block_textures()
    sprites: list[tuple[_FacePixels, np.ndarray, np.ndarray]] = []

    def edge_mask(face: _FacePixels) -> np.ndarray:
        if not outline:
            return np.zeros(face.s.shape, dtype=bool)
        return face.edge_distance < 1.0

    def texel(face: _FacePixels, block: int, kind: int) -> np.ndarray:
        si = np.minimum((face.s * _TEXELS).astype(int), _TEXELS - 1)
        ti = np.minimum((face.t * _TEXELS).astype(int), _TEXELS - 1)
        return textures[block, kind, si, ti]

    # Blocks (id 0 gets empty sprites so ids index the table directly).
    for block in range(NUM_BLOCK_TYPES):
        for f, face in enumerate(cube):
            if block == AIR:
                sprites.append((_empty_face(), np.zeros((0, 3), np.float32), np.zeros(0, np.float32)))
                continue
            edge = edge_mask(face)
            brightness = texel(face, block, 0 if f == 0 else 1) * np.where(edge, 0.8, 1.0)
            base = BLOCK_COLORS[block]
            if block == GLASS:
                # a pale pane with a darker, nearly opaque frame and a diagonal glint
                glint = np.abs(face.s - face.t) < 0.12
                brightness = np.where(edge, 0.78, np.where(glint, 1.12, 1.0))
                alpha = np.where(edge, 0.9, np.where(glint, GLASS_ALPHA + 0.2, GLASS_ALPHA))
            else:
                alpha = np.ones(face.s.shape)
            rgb = _shaded_colors(base, FACE_SHADES[f], brightness)
            sprites.append((face, rgb, alpha.astype(np.float32)))

    # Ghosts of missing goal blocks: a faint fill and a stronger, darker outline.
    ghost_edge = [face.edge_distance < max(1.0, cell_pixels / 12) for face in cube]
    for block in range(NUM_BLOCK_TYPES):
        for f, face in enumerate(cube):
            if block == AIR:
                sprites.append((_empty_face(), np.zeros((0, 3), np.float32), np.zeros(0, np.float32)))
                continue
            edge = ghost_edge[f]
            shaded = _shaded_colors(BLOCK_COLORS[block], FACE_SHADES[f], np.where(edge, 0.55, 1.0))
            # the fill is washed out towards white so a ghost stands out on any ground
            rgb = np.where(edge[:, None], shaded, 0.5 * shaded + 0.5 * 255.0).astype(np.float32)
            alpha = np.where(edge, 0.9, GHOST_ALPHA).astype(np.float32)
            sprites.append((face, rgb, alpha))

    # Blocks that should not be there: a red tint and outline over the face.
    red = np.array(WRONG_BLOCK_COLOR, dtype=np.uint8)
    for f, face in enumerate(cube):
        edge = ghost_edge[f]
        alpha = np.where(edge, 0.9, 0.3).astype(np.float32)
        sprites.append((face, _shaded_colors(red, FACE_SHADES[f], np.ones(face.s.shape)), alpha))

    # Players: legs, lower torso, upper torso, head; three faces each.
    for index in range(num_players):
        body = player_color(index)
        legs = (body.astype(np.float32) * 0.6).astype(np.uint8)
        skin = np.array(SKIN_COLOR, dtype=np.uint8)
        for box, color in ((_LEGS, legs), (_TORSO_LOW, body), (_TORSO_HIGH, body), (_HEAD, skin)):
            for f, face in enumerate(_box_faces(box, a, h)):
                brightness = np.where(edge_mask(face), 0.7, 1.0)
                rgb = _shaded_colors(color, FACE_SHADES[f], brightness)
                sprites.append((face, rgb, np.ones(face.s.shape, dtype=np.float32)))

    counts = np.array([len(face.rows) for face, _, _ in sprites], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    table = SpriteTable(
        start=start,
        d_row=np.concatenate([face.rows for face, _, _ in sprites]).astype(np.int32),
        d_col=np.concatenate([face.cols for face, _, _ in sprites]).astype(np.int32),
        rgb=np.ascontiguousarray(np.concatenate([rgb for _, rgb, _ in sprites]), dtype=np.float32),
        alpha=np.ascontiguousarray(np.concatenate([alpha for _, _, alpha in sprites]), dtype=np.float32),
    )
    for array in table:
        array.setflags(write=False)
    return table


def _empty_face() -> _FacePixels:
    empty_int = np.zeros(0, dtype=np.int64)
    empty = np.zeros(0)
    return _FacePixels(empty_int, empty_int, empty, empty, empty)


@lru_cache(maxsize=32)
def _background(width: int, height: int, depth: int, cell_pixels: int) -> np.ndarray:
    """The image before any block: background, footprint with its cell grid, bounding box."""
    a, h = cell_pixels, cell_pixels // 2
    rows, cols, _ = image_shape((width, height, depth), cell_pixels)
    image = np.empty((rows, cols, 3), dtype=np.uint8)
    image[:] = BACKGROUND_COLOR
    origin_row, origin_col = _origin(height, depth, cell_pixels)

    ground = _rasterize_face((0, 0, 0), (width, 0, 0), (0, 0, depth), a, h)
    image[ground.rows + origin_row, ground.cols + origin_col] = GROUND_COLOR

    def line(start: tuple[float, float, float], end: tuple[float, float, float], color: tuple) -> None:
        p0 = _project(np.array(start), a, h)
        p1 = _project(np.array(end), a, h)
        steps = int(2 * np.abs(p1 - p0).max()) + 1
        frac = np.linspace(0.0, 1.0, steps + 1)[:, None]
        points = p0[None, :] + frac * (p1 - p0)[None, :]
        # a line on a lattice edge lights the pixels just inside the footprint
        c = np.clip(np.floor(points[:, 0] - 1e-6).astype(int) + origin_col, 0, cols - 1)
        r = np.clip(np.floor(points[:, 1] - 1e-6).astype(int) + origin_row, 0, rows - 1)
        image[r, c] = color

    for x in range(1, width):
        line((x, 0, 0), (x, 0, depth), GRID_COLOR)
    for z in range(1, depth):
        line((0, 0, z), (width, 0, z), GRID_COLOR)
    corners = [(0, 0), (width, 0), (width, depth), (0, depth)]
    for (x0, z0), (x1, z1) in zip(corners, corners[1:] + corners[:1], strict=True):
        line((x0, 0, z0), (x1, 0, z1), OUTLINE_COLOR)
        line((x0, height, z0), (x1, height, z1), OUTLINE_COLOR)
        line((x0, 0, z0), (x0, height, z0), OUTLINE_COLOR)
    image.setflags(write=False)
    return image


@numba.njit(cache=True)
def _blit(image, sprite, row, col, start, d_row, d_col, rgb, alpha):  # pragma: no cover - compiled
    rows, cols = image.shape[0], image.shape[1]
    for i in range(start[sprite], start[sprite + 1]):
        r = row + d_row[i]
        c = col + d_col[i]
        if r < 0 or r >= rows or c < 0 or c >= cols:
            continue
        opacity = alpha[i]
        if opacity >= 1.0:
            for k in range(3):
                image[r, c, k] = np.uint8(rgb[i, k] + 0.5)
        else:
            for k in range(3):
                value = image[r, c, k] * (1.0 - opacity) + rgb[i, k] * opacity
                image[r, c, k] = np.uint8(min(value + 0.5, 255.0))


@numba.njit(cache=True)
def _draw_world(
    image, blocks, goal, has_goal, players, origin_row, origin_col, a, h, start, d_row, d_col, rgb, alpha
):  # pragma: no cover - compiled
    width, height, depth = blocks.shape
    num_players = players.shape[0]
    for x in range(width):
        for y in range(height):
            for z in range(depth):
                block = blocks[x, y, z]
                row = origin_row + (x + z) * h - y * a
                col = origin_col + (x - z) * a
                if block != 0:
                    wrong = has_goal and goal[x, y, z] != block
                    for f in range(3):
                        neighbour = _neighbour(blocks, x, y, z, f)
                        # glass hides glass faces behind it; opaque blocks show through glass
                        if block == 4:
                            exposed = neighbour == 0
                        else:
                            exposed = neighbour == 0 or neighbour == 4
                        if exposed:
                            _blit(image, block * _FACES + f, row, col, start, d_row, d_col, rgb, alpha)
                            if wrong:
                                _blit(image, _WRONG_BASE + f, row, col, start, d_row, d_col, rgb, alpha)
                for p in range(num_players):
                    if players[p, 0] == x and players[p, 2] == z:
                        part = -1
                        if players[p, 1] == y:
                            part = 0
                        elif players[p, 1] + 1 == y:
                            part = 2
                        if part >= 0:
                            for k in range(part, part + 2):
                                for f in range(3):
                                    sprite = _PLAYER_BASE + (p * _PLAYER_PARTS + k) * _FACES + f
                                    _blit(image, sprite, row, col, start, d_row, d_col, rgb, alpha)
                if has_goal and block == 0 and goal[x, y, z] != 0:
                    target = goal[x, y, z]
                    for f in range(3):
                        neighbour = _neighbour(blocks, x, y, z, f)
                        neighbour_goal = _neighbour(goal, x, y, z, f)
                        ghost_neighbour = neighbour == 0 and neighbour_goal != 0
                        if (neighbour == 0 or neighbour == 4) and not ghost_neighbour:
                            sprite = _GHOST_BASE + target * _FACES + f
                            _blit(image, sprite, row, col, start, d_row, d_col, rgb, alpha)


@numba.njit(cache=True)
def _neighbour(blocks, x, y, z, face):  # pragma: no cover - compiled
    """Block beyond face 0 (+y), 1 (+x) or 2 (+z) of a cell; air outside the world."""
    width, height, depth = blocks.shape
    if face == 0:
        return blocks[x, y + 1, z] if y + 1 < height else np.uint8(0)
    if face == 1:
        return blocks[x + 1, y, z] if x + 1 < width else np.uint8(0)
    return blocks[x, y, z + 1] if z + 1 < depth else np.uint8(0)
