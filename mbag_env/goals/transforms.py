"""Transforms of structures and goals: rotation, mirroring, block remapping, cropping, padding,
shrinking, placement in a world, and filters on size and density.

Two kinds of arrays appear here, both ``uint8`` block ids indexed ``[x, y, z]`` with y up:

- a **goal** has the world's shape, bedrock at ``y = 0`` and the ground at ``y = 1``;
- a **structure** has any shape; its layer 0 replaces the ground layer (world ``y = 1``) when it is
  placed, and air cells in that layer become dirt (they mean "untouched ground"). Loaders return
  structures; :func:`place_in_world` turns one into a goal and :func:`goal_to_structure` goes back.

The plain functions take explicit arguments. The classes wrap them as composable, seeded,
picklable transforms with the signature ``transform(blocks, rng) -> blocks`` (:class:`Compose` chains
them) and filters with the signature ``filter(structure) -> bool``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mbag_env.blocks import AIR, BEDROCK, BLOCK_NAMES, DIRT, NUM_BLOCK_TYPES, PLACEABLE_BLOCKS
from mbag_env.goals.splits import built_part
from mbag_env.goals.validation import _world_size_tuple, initial_world, make_finishable

Anchor = Literal["center", "random", "min"]
_ANCHORS = ("center", "random", "min")


def _check_blocks(blocks: np.ndarray, what: str = "blocks") -> np.ndarray:
    if not isinstance(blocks, np.ndarray) or blocks.ndim != 3:
        shape = getattr(blocks, "shape", None)
        raise ValueError(f"{what} must be a 3-D numpy array indexed [x, y, z], got shape {shape}")
    return blocks


def rotate_y(blocks: np.ndarray, k: int) -> np.ndarray:
    """Rotate ``blocks`` by ``k`` quarter turns about the y axis (x and z swap roles for odd ``k``)."""
    _check_blocks(blocks)
    return np.ascontiguousarray(np.rot90(blocks, int(k) % 4, axes=(0, 2)))


def mirror(blocks: np.ndarray, axis: Literal["x", "z"] = "x") -> np.ndarray:
    """Mirror ``blocks`` along ``axis`` (``"x"`` reverses x, ``"z"`` reverses z)."""
    _check_blocks(blocks)
    if axis not in ("x", "z"):
        raise ValueError(f"mirror axis must be 'x' or 'z', got {axis!r}")
    return np.ascontiguousarray(blocks[::-1] if axis == "x" else blocks[:, :, ::-1])


def remap_table(mapping: Mapping[int | str, int | str]) -> np.ndarray:
    """A length-10 lookup table for :func:`remap_blocks` from a ``{from: to}`` mapping of ids or names.

    Air and bedrock cannot be remapped, and nothing can become bedrock (players cannot place it).
    """
    table = np.arange(NUM_BLOCK_TYPES, dtype=np.uint8)
    for source, target in mapping.items():
        source_id = _block_ref(source, "remap source")
        target_id = _block_ref(target, "remap target")
        if source_id in (AIR, BEDROCK):
            raise ValueError(
                f"remapping cannot change {BLOCK_NAMES[source_id]} (got {source!r} -> {target!r})"
            )
        if target_id == BEDROCK:
            raise ValueError(f"remapping cannot produce bedrock (got {source!r} -> {target!r})")
        table[source_id] = target_id
    return table


def _block_ref(block: int | str, what: str) -> int:
    if isinstance(block, str):
        key = block.strip().lower()
        if key not in BLOCK_NAMES:
            raise ValueError(
                f"unknown block name {block!r} as {what}; known blocks: {', '.join(BLOCK_NAMES)}"
            )
        return BLOCK_NAMES.index(key)
    if isinstance(block, (int, np.integer)) and not isinstance(block, bool) and 0 <= block < NUM_BLOCK_TYPES:
        return int(block)
    raise ValueError(f"{what} must be a block id 0..{NUM_BLOCK_TYPES - 1} or a block name, got {block!r}")


def remap_blocks(blocks: np.ndarray, mapping: Mapping[int | str, int | str] | np.ndarray) -> np.ndarray:
    """Replace block types by ``mapping`` (ids or names, or a table from :func:`remap_table`); the
    shape is kept."""
    _check_blocks(blocks)
    table = mapping if isinstance(mapping, np.ndarray) else remap_table(mapping)
    if table.shape != (NUM_BLOCK_TYPES,):
        raise ValueError(f"a remap table must have shape ({NUM_BLOCK_TYPES},), got {table.shape}")
    return table.astype(np.uint8)[blocks]


def uniform_material(
    blocks: np.ndarray, block: int | str, keep: Sequence[int] = (AIR, BEDROCK, DIRT)
) -> np.ndarray:
    """Make every block whose id is not in ``keep`` (by default air, bedrock and the dirt ground)
    ``block``."""
    _check_blocks(blocks)
    block_id = _block_ref(block, "uniform material")
    if block_id in (AIR, BEDROCK):
        raise ValueError(f"uniform material must be a placeable block, got {block!r}")
    result = blocks.astype(np.uint8, copy=True)
    result[~np.isin(result, np.asarray(keep, dtype=np.uint8))] = block_id
    return result


def crop_to_content(structure: np.ndarray, background: Sequence[int] = (AIR,)) -> np.ndarray:
    """Crop ``structure`` to the bounding box of its cells whose ids are not in ``background``.

    Cells of a background type inside the box are kept. Returns a ``(0, 0, 0)`` array if there is
    no content.
    """
    _check_blocks(structure, "structure")
    content = ~np.isin(structure, np.asarray(background, dtype=structure.dtype))
    if not content.any():
        return np.zeros((0, 0, 0), dtype=np.uint8)
    bounds = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        nonzero = np.flatnonzero(content.any(axis=other))
        bounds.append(slice(int(nonzero[0]), int(nonzero[-1]) + 1))
    return np.ascontiguousarray(structure[tuple(bounds)], dtype=np.uint8)


def _offset(excess: int, anchor: Anchor, rng: np.random.Generator | None) -> int:
    if anchor == "min" or excess == 0:
        return 0
    if anchor == "center":
        return excess // 2
    if rng is None:
        raise ValueError("anchor='random' needs an rng")
    return int(rng.integers(excess + 1))


def crop_or_pad(
    structure: np.ndarray,
    size: Sequence[int],
    anchor: Anchor = "center",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Crop or pad (with air) ``structure`` to exactly ``size``.

    Horizontally (x and z) the window or the padding is placed by ``anchor``: ``"center"``,
    ``"min"`` (low corner) or ``"random"`` (drawn from ``rng``). Vertically the bottom stays: layers
    are removed from the top or air is added above.
    """
    _check_blocks(structure, "structure")
    if anchor not in _ANCHORS:
        raise ValueError(f"anchor must be one of {', '.join(_ANCHORS)}, got {anchor!r}")
    target = _world_size_tuple(size)
    result = np.zeros(target, dtype=np.uint8)
    source_slices = []
    target_slices = []
    for axis in range(3):
        have, want = structure.shape[axis], target[axis]
        axis_anchor: Anchor = "min" if axis == 1 else anchor
        if have >= want:
            start = _offset(have - want, axis_anchor, rng)
            source_slices.append(slice(start, start + want))
            target_slices.append(slice(0, want))
        else:
            start = _offset(want - have, axis_anchor, rng)
            source_slices.append(slice(0, have))
            target_slices.append(slice(start, start + have))
    result[tuple(target_slices)] = structure[tuple(source_slices)]
    return result


def halve(structure: np.ndarray, min_solid: int = 3) -> np.ndarray:
    """Shrink ``structure`` to half size (rounded up) on every axis.

    Each 2×2×2 chunk becomes its most common solid block if at least ``min_solid`` of its cells are
    solid, else air. Ties between block types go to the lower id.
    """
    _check_blocks(structure, "structure")
    shape = tuple(-(-s // 2) * 2 for s in structure.shape)
    padded = np.zeros(shape, dtype=np.uint8)
    padded[: structure.shape[0], : structure.shape[1], : structure.shape[2]] = structure
    chunks = padded.reshape(shape[0] // 2, 2, shape[1] // 2, 2, shape[2] // 2, 2).transpose(0, 2, 4, 1, 3, 5)
    chunks = chunks.reshape(shape[0] // 2, shape[1] // 2, shape[2] // 2, 8)
    counts = np.stack([(chunks == block).sum(axis=-1) for block in range(NUM_BLOCK_TYPES)], axis=-1)
    counts[..., AIR] = 0
    result = counts.argmax(axis=-1).astype(np.uint8)
    result[counts.sum(axis=-1) < min_solid] = AIR
    return result


def goal_to_structure(goal: np.ndarray) -> np.ndarray:
    """The built part of ``goal`` as a structure: the layers from the ground up, cropped to what differs
    from the initial world (see :func:`mbag_env.goals.splits.built_part`)."""
    _check_blocks(goal, "goal")
    return built_part(goal)


def place_in_world(
    structure: np.ndarray,
    world_size: Sequence[int],
    rng: np.random.Generator | None = None,
    anchor: Anchor = "random",
) -> np.ndarray:
    """Turn ``structure`` into a goal of ``world_size``.

    The structure is cropped to fit ``(W, H - 1, D)`` if needed (see :func:`crop_or_pad`), placed
    with its layer 0 on the ground layer ``y = 1`` at a horizontal position chosen by ``anchor``
    (``"random"`` draws it from ``rng``), and air in its bottom layer becomes dirt. Finally
    :func:`mbag_env.goals.validation.make_finishable` undoes hidden changes (blocks with no face
    to the open air) and removes blocks left unjoined to the ground (for example by cropping), so
    that players can always finish the goal.
    """
    _check_blocks(structure, "structure")
    width, height, depth = _world_size_tuple(world_size)
    if anchor not in _ANCHORS:
        raise ValueError(f"anchor must be one of {', '.join(_ANCHORS)}, got {anchor!r}")
    if np.any(structure == BEDROCK):
        raise ValueError("a structure must not contain bedrock (players cannot place it)")
    goal = initial_world((width, height, depth))
    if structure.size == 0:
        return goal
    fitted = crop_or_pad(
        structure,
        (min(structure.shape[0], width), min(structure.shape[1], height - 1), min(structure.shape[2], depth)),
        anchor=anchor,
        rng=rng,
    )
    x = _offset(width - fitted.shape[0], anchor, rng)
    z = _offset(depth - fitted.shape[2], anchor, rng)
    region = goal[x : x + fitted.shape[0], 1 : 1 + fitted.shape[1], z : z + fitted.shape[2]]
    bottom = fitted[:, 0, :]
    region[:, 0, :] = np.where(bottom == AIR, DIRT, bottom)
    region[:, 1:, :] = fitted[:, 1:, :]
    return make_finishable(goal)


def solid_count(structure: np.ndarray) -> int:
    """Blocks a structure adds to the initial world: solid cells above layer 0, plus non-dirt solid
    cells in layer 0."""
    _check_blocks(structure, "structure")
    if structure.size == 0:
        return 0
    upper = int(np.count_nonzero(structure[:, 1:, :]))
    bottom = structure[:, 0, :]
    return upper + int(np.count_nonzero((bottom != AIR) & (bottom != DIRT)))


def density(structure: np.ndarray) -> float:
    """Share of solid cells in the bounding box of the structure's content (0 for an empty structure)."""
    cropped = crop_to_content(structure, background=(AIR,))
    if cropped.size == 0:
        return 0.0
    return float(np.count_nonzero(cropped)) / cropped.size


# ----------------------------------------------------------------------------------------------
# Composable, seeded transforms: ``transform(blocks, rng) -> blocks``.


@dataclass(frozen=True)
class Rotate:
    """Rotate about y by ``k`` quarter turns, or by a random number of them (0..3) when ``k`` is None."""

    k: int | None = None

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply the rotation (drawing it from ``rng`` when ``k`` is None)."""
        return rotate_y(blocks, int(rng.integers(4)) if self.k is None else self.k)


@dataclass(frozen=True)
class Mirror:
    """Mirror along ``axis`` with probability ``p`` (1.0: always)."""

    axis: Literal["x", "z"] = "x"
    p: float = 0.5

    def __post_init__(self) -> None:
        if self.axis not in ("x", "z"):
            raise ValueError(f"Mirror.axis must be 'x' or 'z', got {self.axis!r}")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"Mirror.p must lie in [0, 1], got {self.p!r}")

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mirror ``blocks`` if a draw from ``rng`` falls below ``p``."""
        return mirror(blocks, self.axis) if rng.random() < self.p else blocks


@dataclass(frozen=True)
class RemapBlocks:
    """Replace block types by a fixed ``{from: to}`` mapping of ids or names."""

    mapping: Mapping[int | str, int | str]
    _table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_table", remap_table(self.mapping))

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply the mapping (``rng`` is unused)."""
        return remap_blocks(blocks, self._table)


@dataclass(frozen=True)
class UniformMaterial:
    """Make every non-air, non-bedrock, non-dirt block one material: ``block``, or one drawn from
    ``choices`` per call when ``block`` is None; applied with probability ``p``."""

    block: int | str | None = None
    choices: tuple[int, ...] = tuple(b for b in PLACEABLE_BLOCKS if b != DIRT)
    p: float = 1.0

    def __post_init__(self) -> None:
        if self.block is not None:
            _block_ref(self.block, "UniformMaterial.block")
        if not self.choices:
            raise ValueError("UniformMaterial.choices must not be empty")
        for choice in self.choices:
            _block_ref(choice, "UniformMaterial.choices entry")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"UniformMaterial.p must lie in [0, 1], got {self.p!r}")

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply the uniform material (drawing whether to, and which, from ``rng``)."""
        if rng.random() >= self.p:
            return blocks
        block = self.block if self.block is not None else self.choices[int(rng.integers(len(self.choices)))]
        return uniform_material(blocks, block)


@dataclass(frozen=True)
class CropOrPad:
    """Crop or pad a structure to exactly ``size`` (see :func:`crop_or_pad`)."""

    size: tuple[int, int, int]
    anchor: Anchor = "random"

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Crop or pad ``blocks``."""
        return crop_or_pad(blocks, self.size, anchor=self.anchor, rng=rng)


@dataclass(frozen=True)
class ShrinkToFit:
    """Halve a structure (see :func:`halve`) while some axis is more than ``slack`` times the
    corresponding axis of ``size``, at most ``max_halvings`` times. What is then still too big is
    cropped by :func:`place_in_world`: a little cropping keeps more detail than halving."""

    size: tuple[int, int, int]
    max_halvings: int = 2
    slack: float = 1.35

    def __post_init__(self) -> None:
        if self.max_halvings < 0:
            raise ValueError(f"ShrinkToFit.max_halvings must be >= 0, got {self.max_halvings!r}")
        if self.slack < 1.0:
            raise ValueError(f"ShrinkToFit.slack must be >= 1, got {self.slack!r}")

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Halve ``blocks`` as often as needed (``rng`` is unused)."""
        for _ in range(self.max_halvings):
            if all(have <= self.slack * want for have, want in zip(blocks.shape, self.size, strict=True)):
                break
            blocks = crop_to_content(halve(blocks))
        return blocks


@dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order, each drawing from the same ``rng``."""

    transforms: tuple[Callable[[np.ndarray, np.random.Generator], np.ndarray], ...]

    def __call__(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply every transform in turn."""
        for transform in self.transforms:
            blocks = transform(blocks, rng)
        return blocks


# ----------------------------------------------------------------------------------------------
# Filters: ``filter(structure) -> bool``.


@dataclass(frozen=True)
class SizeFilter:
    """Accept structures with ``min_blocks..max_blocks`` blocks (see :func:`solid_count`) whose
    content fits in ``max_shape`` (``(W, H, D)``, any orientation of x and z) when given."""

    min_blocks: int = 1
    max_blocks: int | None = None
    max_shape: tuple[int, int, int] | None = None

    def __call__(self, structure: np.ndarray) -> bool:
        """Whether ``structure`` passes."""
        count = solid_count(structure)
        if count < self.min_blocks or (self.max_blocks is not None and count > self.max_blocks):
            return False
        if self.max_shape is not None:
            w, h, d = crop_to_content(structure).shape
            mw, mh, md = self.max_shape
            if h > mh or not ((w <= mw and d <= md) or (w <= md and d <= mw)):
                return False
        return True


@dataclass(frozen=True)
class DensityFilter:
    """Accept structures whose :func:`density` lies in ``[min_density, max_density]``."""

    min_density: float = 0.0
    max_density: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_density <= self.max_density <= 1.0:
            raise ValueError(
                "DensityFilter needs 0 <= min_density <= max_density <= 1, got "
                f"{self.min_density!r}, {self.max_density!r}"
            )

    def __call__(self, structure: np.ndarray) -> bool:
        """Whether ``structure`` passes."""
        return self.min_density <= density(structure) <= self.max_density
