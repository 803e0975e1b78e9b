"""Procedural houses: a seeded generator of house-like goals that fit any world size.

A house is drawn in two steps. :func:`sample_house_design` draws a :class:`HouseDesign` (footprint,
materials, roof, openings and extras) from a ``numpy.random.Generator`` for a given world size, and
:func:`build_house` turns the design into a goal array. :func:`generate_house` does both.

What the generator draws:

- footprint: a rectangle, or an L made of two overlapping rectangles, anywhere in the world
  (from 6 cells across up, leaving at least one free cell at the world's edges);
- walls of one material, optionally with a second material (a base course, a top band or
  alternating rows) and corner pillars (usually logs);
- a door opening (one wide, up to two tall) in a straight stretch of wall, glass windows in rows
  above the bottom course, a floor (a foundation replacing the dirt inside the walls, or bare
  earth) and, in tall houses, an upper floor with a hatch;
- a roof of a material other than the walls': flat (optionally with a parapet), pitched
  (stair-stepped gable with filled gable ends) or hipped, optionally with eaves;
- optionally a chimney rising through the roof, a porch in front of the door (floor, posts and
  a little roof) and a fence around the house with a gate in front of the door.

Every house keeps bedrock at ``y = 0``, has dirt (or a foundation) at ``y = 1`` and can be finished
by players who place blocks only against solid blocks they can see: each solid block is joined to
the ground through face-neighbouring solid blocks (stair-stepped roofs are two blocks thick at each
step for this), and each changed cell has a face on air that is open to the sky or the world's
sides (:func:`generate_house` undoes the few hidden blocks, such as roof blocks boxed in under
eaves, which nobody could see anyway). From 6 layers up the top layer stays free. Worlds from
(3, 4, 3) up get a house; the smallest ones get a small hut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from mbag_env.blocks import AIR, BEDROCK, COBBLESTONE, DIRT, GLASS, LOG, PLANKS, STONE, STONEBRICK, WOOL
from mbag_env.goals.validation import _make_finishable_kernel, _world_size_tuple

HOUSE_GENERATOR_VERSION = 4
"""Bumped whenever a change to this module changes the houses drawn for a given seed."""

ROOF_KINDS: tuple[str, ...] = ("none", "flat", "gable", "hipped")
ACCENT_STYLES: tuple[str, ...] = ("none", "base", "top", "rows")
ROOF_NONE, ROOF_FLAT, ROOF_GABLE, ROOF_HIPPED = range(4)
"""Indices of :data:`ROOF_KINDS`, as the compiled design and drawing code use them."""
ACCENT_NONE = 0
"""Index of ``"none"`` in :data:`ACCENT_STYLES`."""

_WALL_BLOCKS = np.array(
    (PLANKS, PLANKS, PLANKS, COBBLESTONE, COBBLESTONE, STONEBRICK, STONEBRICK, STONE, WOOL, LOG),
    dtype=np.int64,
)
_ROOF_BLOCKS = np.array((PLANKS, COBBLESTONE, STONEBRICK, STONE, WOOL, LOG), dtype=np.int64)
_ACCENT_BLOCKS = np.array((COBBLESTONE, STONEBRICK, STONE, PLANKS, LOG, WOOL), dtype=np.int64)
_PILLAR_BLOCKS = np.array((LOG, LOG, LOG, STONEBRICK, COBBLESTONE, PLANKS), dtype=np.int64)
_FLOOR_BLOCKS = np.array((DIRT, DIRT, DIRT, PLANKS, PLANKS, COBBLESTONE, STONE, STONEBRICK), dtype=np.int64)
_FENCE_BLOCKS = np.array((LOG, PLANKS, COBBLESTONE, STONEBRICK), dtype=np.int64)
_CHIMNEY_BLOCKS = np.array((COBBLESTONE, STONEBRICK, STONE), dtype=np.int64)
_PORCH_BLOCKS = np.array((PLANKS, COBBLESTONE, STONE, STONEBRICK), dtype=np.int64)

_DRAWS_PER_HOUSE = 40
"""Every house consumes exactly this many uniform draws from the generator."""

Rect = tuple[int, int, int, int]
"""An inclusive horizontal rectangle ``(x0, z0, x1, z1)``."""


@dataclass(frozen=True)
class HouseDesign:
    """Everything :func:`build_house` needs to draw one house; block fields hold block ids.

    Attributes:
        rects: one rectangle (a rectangular house) or two overlapping ones (an L-shaped house),
            each ``(x0, z0, x1, z1)`` inclusive.
        wall_height: number of wall layers, from ``y = 2`` up to ``y = 1 + wall_height``.
        wall_block: main wall material.
        accent_block: second wall material (used by ``accent_style``).
        accent_style: ``"none"``, ``"base"`` (bottom course), ``"top"`` (top band) or ``"rows"``
            (alternating courses).
        pillar_block: material of the corner pillars, or air for none.
        floor_block: material of the ``y = 1`` layer inside the walls (dirt: an earth floor).
        roof_kind: ``"none"``, ``"flat"``, ``"gable"`` or ``"hipped"``.
        roof_block: roof material (differs from ``wall_block``).
        ridge_axes: for a gable roof, per rectangle the axis its ridge runs along (0 = x, 2 = z).
        eaves: whether the roof overhangs the walls by one block.
        parapet: for a flat roof, a one-block rim around its edge.
        door: the wall cell ``(x, z)`` holding the door opening, or ``None``.
        door_out: the outward direction ``(dx, dz)`` of the door.
        window_height: height of each band of windows (0: no windows).
        window_spacing: a window every ``window_spacing`` cells along the walls.
        window_phase: shifts the window pattern along the walls.
        loft: an upper floor halfway up the walls, with a one-cell hatch.
        chimney: the interior cell ``(x, z)`` of a chimney rising through the roof, or ``None``.
        chimney_block: chimney material.
        porch_depth: depth of the porch in front of the door (0: none).
        porch_block: porch floor material.
        porch_roof: whether the porch has posts and a small roof.
        fence_gap: cells between the house's bounding box and the fence (0: no fence).
        fence_block: fence material.
    """

    rects: tuple[Rect, ...]
    wall_height: int
    wall_block: int
    accent_block: int
    accent_style: str
    pillar_block: int
    floor_block: int
    roof_kind: str
    roof_block: int
    ridge_axes: tuple[int, ...]
    eaves: bool
    parapet: bool
    door: tuple[int, int] | None
    door_out: tuple[int, int]
    window_height: int
    window_spacing: int
    window_phase: int
    loft: bool
    chimney: tuple[int, int] | None
    chimney_block: int
    porch_depth: int
    porch_block: int
    porch_roof: bool
    fence_gap: int
    fence_block: int


@numba.njit(cache=True)
def _below(draws: np.ndarray, cursor: np.ndarray, n: int) -> int:
    """The next draw as an integer in ``[0, n)`` (``n - 1`` for a draw that rounds up to ``n``)."""
    value = draws[cursor[0]]
    cursor[0] += 1
    return min(int(value * n), n - 1)


@numba.njit(cache=True)
def _unit(draws: np.ndarray, cursor: np.ndarray) -> float:
    """The next uniform draw in ``[0, 1)``."""
    value: float = draws[cursor[0]]
    cursor[0] += 1
    return value


@numba.njit(cache=True)
def _between(draws: np.ndarray, cursor: np.ndarray, low: int, high: int) -> int:
    """The next draw as an integer in ``[low, high]``."""
    return low + _below(draws, cursor, high - low + 1)


@numba.njit(cache=True)
def _pick(draws: np.ndarray, cursor: np.ndarray, options: np.ndarray, exclude: int) -> int:
    """The next draw as one of ``options`` other than ``exclude`` (-1: none excluded), in their order."""
    allowed = 0
    for option in options:
        allowed += option != exclude
    index = _below(draws, cursor, allowed)
    for option in options:
        if option == exclude:
            continue
        if index == 0:
            return int(option)
        index -= 1
    return int(options[index])  # index < 0: no option allowed (never with the tables below)


@numba.njit(cache=True)
def _footprint_masks(rects: np.ndarray, width: int, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Footprint (union of ``rects``), its boundary (cells with an outside 8-neighbour) and its corners."""
    footprint = np.zeros((width, depth), dtype=np.bool_)
    for r in range(rects.shape[0]):
        for x in range(rects[r, 0], rects[r, 2] + 1):
            for z in range(rects[r, 1], rects[r, 3] + 1):
                footprint[x, z] = True
    boundary = np.zeros((width, depth), dtype=np.bool_)
    for x in range(width):
        for z in range(depth):
            if not footprint[x, z]:
                continue
            for dx in range(-1, 2):
                for dz in range(-1, 2):
                    nx, nz = x + dx, z + dz
                    if nx < 0 or nz < 0 or nx >= width or nz >= depth or not footprint[nx, nz]:
                        boundary[x, z] = True
    corners = np.zeros((width, depth), dtype=np.bool_)
    for x in range(width):
        for z in range(depth):
            if boundary[x, z]:
                along_x = (x > 0 and boundary[x - 1, z]) or (x < width - 1 and boundary[x + 1, z])
                along_z = (z > 0 and boundary[x, z - 1]) or (z < depth - 1 and boundary[x, z + 1])
                corners[x, z] = along_x and along_z
    return footprint, boundary, corners


def footprint_masks(
    rects: Sequence[Rect], width: int, depth: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean ``(W, D)`` masks of a house's footprint (the union of ``rects``), of its wall cells
    (footprint cells with an 8-neighbour outside it) and of the wall corners (where walls turn)."""
    return _footprint_masks(np.asarray(rects, dtype=np.int64).reshape(-1, 4), int(width), int(depth))


@numba.njit(cache=True)
def _outward(footprint: np.ndarray, x: int, z: int) -> tuple[int, int, bool]:
    """``(dx, dz, found)``: the direction from wall cell ``(x, z)`` to a column outside the footprint,
    preferring in-world ones (``found`` is False when every neighbour is footprint)."""
    width, depth = footprint.shape
    fallback_x, fallback_z, fallback = 0, 0, False
    for dx, dz in ((0, -1), (0, 1), (-1, 0), (1, 0)):
        nx, nz = x + dx, z + dz
        if not (0 <= nx < width and 0 <= nz < depth):
            if not fallback:
                fallback_x, fallback_z, fallback = dx, dz, True
        elif not footprint[nx, nz]:
            return dx, dz, True
    return fallback_x, fallback_z, fallback


@numba.njit(cache=True)
def _porch_depth_that_fits(
    footprint: np.ndarray, door_x: int, door_z: int, out_x: int, out_z: int, wanted: int
) -> int:
    """The deepest porch up to ``wanted`` whose columns (``depth`` steps out from the door, three
    wide along the wall) stay outside the footprint and off the world's outermost ring of cells
    (where there is one to spare); 0 if none fits."""
    width, depth = footprint.shape
    low_x, low_z = int(width >= 6), int(depth >= 6)
    along_x, along_z = out_z, out_x
    for porch_depth in range(wanted, 0, -1):
        fits = True
        for t in range(1, porch_depth + 1):
            for s in (-1, 0, 1):
                x = door_x + out_x * t + along_x * s
                z = door_z + out_z * t + along_z * s
                if not (low_x <= x < width - low_x and low_z <= z < depth - low_z) or footprint[x, z]:
                    fits = False
        if fits:
            return porch_depth
    return 0


@numba.njit(cache=True)
def house_ceiling(height: int) -> int:
    """The highest layer a house may use in a world ``height`` tall.

    From 6 layers up the top layer stays free, so the world's ceiling never closes a roof block
    off from above; from 9 layers up the top two stay free, so a player (two cells tall) can
    stand on the roof and fill its last gaps from above.
    """
    if height >= 9:
        return height - 3
    return height - 2 if height >= 6 else height - 1


@numba.njit(cache=True)
def _footprint_range(extent: int) -> tuple[int, int]:
    """Smallest and largest house extent along an axis of ``extent`` cells. From 6 cells up, houses
    leave at least two cells of the axis free, so players have room to stand outside them."""
    if extent < 6:
        return 3, extent
    return (3 if extent < 8 else 4), extent - 2


NUM_DESIGN_INTS = 26
"""Length of the ``ints`` vector of a design's scalars (:func:`_design_ints`' order)."""


@numba.njit(cache=True)
def _design_from_draws(
    draws: np.ndarray, width: int, height: int, depth: int, rects: np.ndarray, ridge_axes: np.ndarray,
    ints: np.ndarray,
) -> int:  # fmt: skip
    """Turn :data:`_DRAWS_PER_HOUSE` uniform ``draws`` into a house design for a world of
    ``(width, height, depth)``: its rectangles into ``rects`` ``(2, 4)``, ridge axes into
    ``ridge_axes`` ``(2,)`` and scalars into ``ints`` (:func:`_design_ints`' order); returns the
    number of rectangles. The draws are consumed in a fixed order, each decision reading the next.
    """
    cursor = np.zeros(1, dtype=np.int64)
    room = house_ceiling(height) - 1  # layers y = 2 .. ceiling above the ground

    # Footprint size and fence (the fence needs margins, so it is chosen before placement).
    low, high = _footprint_range(width)
    w = _between(draws, cursor, low, high)
    low, high = _footprint_range(depth)
    d = _between(draws, cursor, low, high)
    fence_gap = 0
    # The fence, too, keeps the outermost ring of cells free: players start there (z = 0).
    max_gap = min((width - w) // 2, (depth - d) // 2) - 2
    if _unit(draws, cursor) < 0.3 and max_gap >= 1:
        fence_gap = _between(draws, cursor, 1, min(max_gap, 2))
    else:
        _unit(draws, cursor)
    # Leave a free cell at the world's edges where there is room, so that every wall and eave has
    # a face players can see and reach.
    margin_x = fence_gap + 2 if fence_gap else int(width >= 6)
    margin_z = fence_gap + 2 if fence_gap else int(depth >= 6)
    x0 = _between(draws, cursor, margin_x, width - margin_x - w)
    z0 = _between(draws, cursor, margin_z, depth - margin_z - d)
    x1, z1 = x0 + w - 1, z0 + d - 1
    l_shaped = w >= 5 and d >= 5 and _unit(draws, cursor) < 0.35
    cut_w = _between(draws, cursor, 2, max(2, w - 3))
    cut_d = _between(draws, cursor, 2, max(2, d - 3))
    cut_high_x = _unit(draws, cursor) < 0.5
    cut_high_z = _unit(draws, cursor) < 0.5
    count = 1
    rects[0, 0], rects[0, 1], rects[0, 2], rects[0, 3] = x0, z0, x1, z1
    if l_shaped:
        # The full rectangle minus one corner, as two overlapping rectangles.
        count = 2
        if cut_high_z:
            rects[0, 0], rects[0, 1], rects[0, 2], rects[0, 3] = x0, z0, x1, z1 - cut_d
        else:
            rects[0, 0], rects[0, 1], rects[0, 2], rects[0, 3] = x0, z0 + cut_d, x1, z1
        if cut_high_x:
            rects[1, 0], rects[1, 1], rects[1, 2], rects[1, 3] = x0, z0, x1 - cut_w, z1
        else:
            rects[1, 0], rects[1, 1], rects[1, 2], rects[1, 3] = x0 + cut_w, z0, x1, z1

    # Heights: walls, then whatever is left for the roof.
    if room <= 2:
        wall_height = _between(draws, cursor, 1, room)
    else:
        wall_height = _between(draws, cursor, 2, min(room - 1, max(3, room // 2 + 2), max(3, min(w, d) + 2)))
    roof_room = room - wall_height
    roof_pick = (ROOF_FLAT, ROOF_GABLE, ROOF_GABLE, ROOF_HIPPED)[_below(draws, cursor, 4)]
    roof_kind = ROOF_NONE if roof_room <= 0 else ROOF_FLAT if roof_room == 1 else roof_pick

    wall_block = _WALL_BLOCKS[_below(draws, cursor, len(_WALL_BLOCKS))]
    accent_style = _below(draws, cursor, len(ACCENT_STYLES)) if wall_height >= 2 else ACCENT_NONE
    accent_block = _pick(draws, cursor, _ACCENT_BLOCKS, wall_block)
    if accent_style == ACCENT_NONE:
        accent_block = AIR
    pillar_block = AIR
    if _unit(draws, cursor) < 0.55:
        pillar_block = _pick(draws, cursor, _PILLAR_BLOCKS, wall_block)
    floor_block = _pick(draws, cursor, _FLOOR_BLOCKS, -1)
    roof_block = _pick(draws, cursor, _ROOF_BLOCKS, wall_block)
    for r in range(count):
        extent_x = rects[r, 2] - rects[r, 0]
        extent_z = rects[r, 3] - rects[r, 1]
        if extent_x != extent_z:
            ridge_axes[r] = 0 if extent_x > extent_z else 2
        else:
            ridge_axes[r] = 0 if _unit(draws, cursor) < 0.5 else 2
    eaves_draw = _unit(draws, cursor)
    # Eaves on a flat roof in the top layer would wall in the roof blocks above the walls.
    flat_eaves = roof_kind == ROOF_FLAT and roof_room >= 2 and eaves_draw < 0.2
    eaves = eaves_draw < 0.6 if roof_kind == ROOF_GABLE or roof_kind == ROOF_HIPPED else flat_eaves
    # Eaves overhang the walls by one cell; they must stay off the world's outermost ring,
    # where players start (x = i, z = 0) and stand to reach the walls.
    eaves = eaves and x0 >= 2 and z0 >= 2 and x1 <= width - 3 and z1 <= depth - 3
    # A parapet on eaves would box in the roof blocks above the walls.
    parapet = roof_kind == ROOF_FLAT and roof_room >= 2 and _unit(draws, cursor) < 0.4 and not eaves

    footprint, boundary, corners = _footprint_masks(rects[:count], width, depth)
    straight = np.flatnonzero(boundary & ~corners)
    door_x, door_z, out_x, out_z = -1, -1, 0, -1
    if len(straight):
        cell = straight[_below(draws, cursor, len(straight))]
        x, z = cell // depth, cell % depth
        dx, dz, found = _outward(footprint, x, z)
        if found:
            door_x, door_z, out_x, out_z = x, z, dx, dz

    window_height = 0
    if wall_height >= 3 and _unit(draws, cursor) < 0.9:
        window_height = 1 if wall_height < 5 or _unit(draws, cursor) < 0.5 else 2
    window_spacing = _between(draws, cursor, 2, 3)
    window_phase = _below(draws, cursor, window_spacing)
    loft = wall_height >= 5 and _unit(draws, cursor) < 0.5

    chimney_x, chimney_z = -1, -1
    chimney_block = _pick(draws, cursor, _CHIMNEY_BLOCKS, roof_block)
    if roof_kind != ROOF_NONE and _unit(draws, cursor) < 0.35:
        spots = footprint & ~boundary  # interior cells next to a wall
        for x in range(width):
            for z in range(depth):
                if spots[x, z]:
                    spots[x, z] = (
                        (x > 0 and boundary[x - 1, z])
                        or (x < width - 1 and boundary[x + 1, z])
                        or (z > 0 and boundary[x, z - 1])
                        or (z < depth - 1 and boundary[x, z + 1])
                    )
        if door_x >= 0:
            inside_x, inside_z = door_x - out_x, door_z - out_z
            if 0 <= inside_x < width and 0 <= inside_z < depth:
                spots[inside_x, inside_z] = False
        flat_spots = np.flatnonzero(spots)
        if len(flat_spots):
            cell = flat_spots[_below(draws, cursor, len(flat_spots))]
            chimney_x, chimney_z = cell // depth, cell % depth

    porch_depth = 0
    porch_roof = False
    porch_block = _pick(draws, cursor, _PORCH_BLOCKS, -1)
    if door_x >= 0 and _unit(draws, cursor) < 0.35:
        wanted = _between(draws, cursor, 1, 2)
        porch_depth = _porch_depth_that_fits(
            footprint, door_x, door_z, out_x, out_z, min(wanted, fence_gap) if fence_gap else wanted
        )
        porch_roof = porch_depth > 0 and wall_height >= 3 and _unit(draws, cursor) < 0.6
    fence_block = _pick(draws, cursor, _FENCE_BLOCKS, wall_block)

    values = (
        wall_height, wall_block, accent_block, accent_style, pillar_block, floor_block, roof_kind,
        roof_block, int(eaves), int(parapet), door_x, door_z, out_x, out_z, window_height,
        window_spacing, window_phase, int(loft), chimney_x, chimney_z, chimney_block, porch_depth,
        porch_block, int(porch_roof), fence_gap, fence_block,
    )  # fmt: skip
    for index in range(NUM_DESIGN_INTS):
        ints[index] = values[index]
    return count


def sample_house_design(rng: np.random.Generator, world_size: Sequence[int]) -> HouseDesign:
    """Draw a :class:`HouseDesign` that fits a world of ``world_size`` (at least (3, 4, 3)).

    Consumes exactly one call ``rng.random(40)`` from the generator, whatever is drawn.
    """
    width, height, depth = _house_world_size(world_size)
    rects = np.zeros((2, 4), dtype=np.int64)
    ridge_axes = np.zeros(2, dtype=np.int64)
    ints = np.zeros(NUM_DESIGN_INTS, dtype=np.int64)
    count = _design_from_draws(rng.random(_DRAWS_PER_HOUSE), width, height, depth, rects, ridge_axes, ints)
    (
        wall_height, wall_block, accent_block, accent_style, pillar_block, floor_block, roof_kind,
        roof_block, eaves, parapet, door_x, door_z, out_x, out_z, window_height, window_spacing,
        window_phase, loft, chimney_x, chimney_z, chimney_block, porch_depth, porch_block, porch_roof,
        fence_gap, fence_block,
    ) = ints.tolist()  # fmt: skip
    return HouseDesign(
        rects=tuple((r[0], r[1], r[2], r[3]) for r in rects[:count].tolist()),
        wall_height=wall_height,
        wall_block=wall_block,
        accent_block=accent_block,
        accent_style=ACCENT_STYLES[accent_style],
        pillar_block=pillar_block,
        floor_block=floor_block,
        roof_kind=ROOF_KINDS[roof_kind],
        roof_block=roof_block,
        ridge_axes=tuple(ridge_axes[:count].tolist()),
        eaves=bool(eaves),
        parapet=bool(parapet),
        door=(door_x, door_z) if door_x >= 0 else None,
        door_out=(out_x, out_z),
        window_height=window_height,
        window_spacing=window_spacing,
        window_phase=window_phase,
        loft=bool(loft),
        chimney=(chimney_x, chimney_z) if chimney_x >= 0 else None,
        chimney_block=chimney_block,
        porch_depth=porch_depth,
        porch_block=porch_block,
        porch_roof=bool(porch_roof),
        fence_gap=fence_gap,
        fence_block=fence_block,
    )


def _house_world_size(world_size: Sequence[int]) -> tuple[int, int, int]:
    """``world_size`` checked for a house: three integers, at least (3, 4, 3)."""
    width, height, depth = _world_size_tuple(world_size)
    if width < 3 or depth < 3 or height < 4:
        raise ValueError(
            f"procedural houses need a world of at least (3, 4, 3) (W, H, D), got {(width, height, depth)}"
        )
    return width, height, depth


@numba.njit(cache=True)
def _draw_house(
    goal: np.ndarray,
    rects: np.ndarray,
    ridge_axes: np.ndarray,
    ints: np.ndarray,
) -> None:
    """Draw a house into ``goal`` (already holding bedrock and dirt). ``ints`` packs the design's
    scalars in the order of :func:`_design_ints`."""
    width, height, depth = goal.shape
    wall_height = ints[0]
    wall_block = ints[1]
    accent_block = ints[2]
    accent_style = ints[3]
    pillar_block = ints[4]
    floor_block = ints[5]
    roof_kind = ints[6]
    roof_block = ints[7]
    eaves = ints[8]
    parapet = ints[9]
    door_x = ints[10]
    door_z = ints[11]
    out_x = ints[12]
    out_z = ints[13]
    window_height = ints[14]
    window_spacing = ints[15]
    window_phase = ints[16]
    loft = ints[17]
    chimney_x = ints[18]
    chimney_z = ints[19]
    chimney_block = ints[20]
    porch_depth = ints[21]
    porch_block = ints[22]
    porch_roof = ints[23]
    fence_gap = ints[24]
    fence_block = ints[25]
    ceiling = house_ceiling(height)
    wall_top = 1 + wall_height
    footprint, boundary, corners = _footprint_masks(rects, width, depth)
    loft_y = 2 + wall_height // 2 if loft else -1
    has_door = door_x >= 0

    # Floor (inside the walls), walls, second material, pillars, upper floor, windows.
    hatch = not loft
    for x in range(width):
        for z in range(depth):
            if not footprint[x, z]:
                continue
            if not boundary[x, z]:
                goal[x, 1, z] = floor_block
                if loft:
                    if not hatch and not (x == chimney_x and z == chimney_z):
                        hatch = True  # one opening, so the upper storey can be reached
                    else:
                        goal[x, loft_y, z] = PLANKS if floor_block == DIRT else floor_block
                continue
            for y in range(2, wall_top + 1):
                block = wall_block
                if accent_style == 1 and y == 2:
                    block = accent_block
                elif accent_style == 2 and wall_height >= 3 and y == wall_top:
                    block = accent_block
                elif accent_style == 3 and y % 2 == 0:
                    block = accent_block
                if corners[x, z] and pillar_block != AIR:
                    block = pillar_block
                goal[x, y, z] = block
            is_door = has_door and x == door_x and z == door_z
            if window_height > 0 and not corners[x, z] and not is_door:
                if (x + z + window_phase) % window_spacing == 0:
                    low_top = min(3 + window_height, wall_top)
                    if loft:
                        low_top = min(low_top, loft_y)
                    for y in range(3, low_top):
                        goal[x, y, z] = GLASS
                    if loft:
                        for y in range(loft_y + 2, min(loft_y + 2 + window_height, wall_top)):
                            goal[x, y, z] = GLASS
    # Roof: per rectangle a height profile; pitched roofs rise one layer per step inward and are
    # two blocks thick at each step, so neighbouring columns share a face.
    roof_high = np.full((width, depth), -1, dtype=np.int64)
    top = wall_top + 1
    if roof_kind != 0 and top <= ceiling:
        overhang = 1 if eaves else 0
        for r in range(rects.shape[0]):
            x0, z0, x1, z1 = rects[r, 0], rects[r, 1], rects[r, 2], rects[r, 3]
            axis = ridge_axes[r]
            for x in range(max(0, x0 - overhang), min(width - 1, x1 + overhang) + 1):
                for z in range(max(0, z0 - overhang), min(depth - 1, z1 + overhang) + 1):
                    across_x = min(x - x0, x1 - x)
                    across_z = min(z - z0, z1 - z)
                    if roof_kind == 1:
                        inset = 0
                    elif roof_kind == 2:
                        inset = across_z if axis == 0 else across_x
                    else:
                        inset = min(across_x, across_z)
                    inset = max(inset, -overhang)
                    low = min(top + inset, ceiling)
                    high = low if roof_kind == 1 else min(top + inset + 1, ceiling)
                    for y in range(low, high + 1):
                        goal[x, y, z] = roof_block
                    roof_high[x, z] = max(roof_high[x, z], high)
                    # Gable ends: wall material under the slopes at the rectangle's two ends.
                    if roof_kind == 2 and z0 <= z <= z1 and x0 <= x <= x1:
                        at_end = (x == x0 or x == x1) if axis == 0 else (z == z0 or z == z1)
                        if at_end:
                            for y in range(top, low):
                                goal[x, y, z] = wall_block
        # Keep the doorway clear: low eaves in front of the door would block it.
        if has_door:
            front_x, front_z = door_x + out_x, door_z + out_z
            if 0 <= front_x < width and 0 <= front_z < depth and not footprint[front_x, front_z]:
                for y in range(2, min(4, height)):
                    if goal[front_x, y, front_z] == roof_block:
                        goal[front_x, y, front_z] = AIR
        if parapet and top + 1 <= ceiling:
            rim = accent_block if accent_block != AIR else wall_block
            for x in range(width):
                for z in range(depth):
                    if boundary[x, z]:
                        goal[x, top + 1, z] = rim

    # Door opening, cut after the roof so that no eave (of the other wing of an L) fills it.
    if has_door:
        for y in range(2, 2 + min(2, wall_height)):
            goal[door_x, y, door_z] = AIR

    # Chimney: a column from the floor up through the roof, one block above it.
    if chimney_x >= 0:
        roof_at = roof_high[chimney_x, chimney_z]
        chimney_top = min(ceiling, roof_at + 1)
        if roof_at >= 0 and chimney_top > roof_at:
            for y in range(2, chimney_top + 1):
                goal[chimney_x, y, chimney_z] = chimney_block

    # Porch: a floor in front of the door, optionally two posts and a roof against the wall.
    if has_door and porch_depth > 0:
        along_x, along_z = out_z, out_x
        for t in range(1, porch_depth + 1):
            for s in range(-1, 2):
                x = door_x + out_x * t + along_x * s
                z = door_z + out_z * t + along_z * s
                goal[x, 1, z] = porch_block
                if porch_roof and wall_top >= 4:
                    if t == porch_depth and s != 0:
                        post = pillar_block if pillar_block != AIR else LOG
                        goal[x, 2, z] = post
                        goal[x, 3, z] = post
                    goal[x, 4, z] = roof_block

    # Fence: a ring around the house's bounding box with a gate in front of the door.
    if fence_gap > 0:
        offset = fence_gap + 1
        rx0, rz0, rx1, rz1 = width, depth, -1, -1
        for x in range(width):
            for z in range(depth):
                if footprint[x, z]:
                    rx0, rx1 = min(rx0, x), max(rx1, x)
                    rz0, rz1 = min(rz0, z), max(rz1, z)
        rx0, rz0, rx1, rz1 = rx0 - offset, rz0 - offset, rx1 + offset, rz1 + offset
        for x in range(rx0, rx1 + 1):
            goal[x, 2, rz0] = fence_block
            goal[x, 2, rz1] = fence_block
        for z in range(rz0, rz1 + 1):
            goal[rx0, 2, z] = fence_block
            goal[rx1, 2, z] = fence_block
        if has_door:
            gate_x, gate_z = door_x, door_z
            while rx0 < gate_x < rx1 and rz0 < gate_z < rz1:
                gate_x += out_x
                gate_z += out_z
            goal[gate_x, 2, gate_z] = AIR


def _design_ints(design: HouseDesign) -> np.ndarray:
    door = design.door if design.door is not None else (-1, -1)
    chimney = design.chimney if design.chimney is not None else (-1, -1)
    return np.array(
        [
            design.wall_height,
            design.wall_block,
            design.accent_block,
            ACCENT_STYLES.index(design.accent_style),
            design.pillar_block,
            design.floor_block,
            ROOF_KINDS.index(design.roof_kind),
            design.roof_block,
            design.eaves,
            design.parapet,
            door[0],
            door[1],
            design.door_out[0],
            design.door_out[1],
            design.window_height,
            design.window_spacing,
            design.window_phase,
            design.loft,
            chimney[0],
            chimney[1],
            design.chimney_block,
            design.porch_depth,
            design.porch_block,
            design.porch_roof,
            design.fence_gap,
            design.fence_block,
        ],
        dtype=np.int64,
    )


def build_house(design: HouseDesign, world_size: Sequence[int]) -> np.ndarray:
    """Draw ``design`` into a new goal of ``world_size``: bedrock at ``y = 0``, dirt at ``y = 1``, the house.

    Raises:
        ValueError: if the design names a roof kind or accent style that does not exist.
    """
    width, height, depth = _world_size_tuple(world_size)
    if design.roof_kind not in ROOF_KINDS:
        raise ValueError(
            f"HouseDesign.roof_kind must be one of {', '.join(ROOF_KINDS)}, got {design.roof_kind!r}"
        )
    if design.accent_style not in ACCENT_STYLES:
        raise ValueError(
            f"HouseDesign.accent_style must be one of {', '.join(ACCENT_STYLES)}, got {design.accent_style!r}"
        )
    goal = np.empty((width, height, depth), dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    goal[:, 2:, :] = AIR
    _draw_house(
        goal,
        np.asarray(design.rects, dtype=np.int64).reshape(-1, 4),
        np.asarray(design.ridge_axes, dtype=np.int64),
        _design_ints(design),
    )
    return goal


def generate_house(rng: np.random.Generator, world_size: Sequence[int]) -> np.ndarray:
    """Draw one procedural house goal of ``world_size`` from ``rng`` (deterministic given the rng state):
    ``build_house(sample_house_design(rng, world_size), world_size)`` made finishable, in one compiled
    call (a reset draws one or more of these).

    Returns:
        A ``uint8`` goal of shape ``world_size`` that passes :func:`mbag_env.goals.validate_goal`, is
        buildable (:func:`mbag_env.goals.is_buildable`) and has no hidden changes
        (:func:`mbag_env.goals.validation.hidden_changes_mask`).
    """
    goal = np.empty(_house_world_size(world_size), dtype=np.uint8)
    _generate_house_kernel(rng.random(_DRAWS_PER_HOUSE), goal)
    return goal


@numba.njit(cache=True)
def _generate_house_kernel(draws: np.ndarray, goal: np.ndarray) -> None:
    """Design a house from ``draws`` (:func:`_design_from_draws`), draw it into ``goal`` and make it
    finishable."""
    width, height, depth = goal.shape
    rects = np.zeros((2, 4), dtype=np.int64)
    ridge_axes = np.zeros(2, dtype=np.int64)
    ints = np.zeros(NUM_DESIGN_INTS, dtype=np.int64)
    count = _design_from_draws(draws, width, height, depth, rects, ridge_axes, ints)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    goal[:, 2:, :] = AIR
    _draw_house(goal, rects[:count], ridge_axes[:count], ints)
    # Undo the few hidden blocks (enclosed on all sides, e.g. under eaves) that would have to be
    # placed before their neighbours, then drop anything left unjoined to the ground (nothing, by
    # construction; the tests check the raw drawings).
    _make_finishable_kernel(goal)
