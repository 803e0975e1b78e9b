"""The flat discrete action space: layout, encoding, decoding and readable descriptions.

With ``V = W*H*D`` cells indexed in C order over (x, y, z) and ``P = 8`` placeable types:

=========================================  ================================================
index                                      action
=========================================  ================================================
0                                          NOOP
1..6                                       MOVE +x, -x, +y, -y, +z, -z
``7 + p*V + cell``                         PLACE placeable type ``p`` (block id ``2 + p``)
``7 + P*V + cell``                         BREAK the block at ``cell``
``7 + (P+1)*V + p*V + cell``               GIVE one block of type ``p`` to the player whose
                                           feet are at ``cell`` (only with finite blocks)
=========================================  ================================================

This module is the one place that layout is written: the compiled helpers below
(:func:`place_action`, :func:`break_action`, :func:`give_action`, :func:`decode_action`,
:func:`cell_index`, :func:`cell_coordinates`, ...) are inlined into every kernel that builds or
reads an action index (``inline="always"``, so they cost nothing there), and Python callers use
them too, through :class:`ActionSpace` or directly (:func:`decode_actions` for arrays).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mbag_env.blocks import BLOCK_NAMES, FIRST_PLACEABLE, NUM_PLACEABLE
from mbag_env.core.jit import kernel

NOOP = 0
MOVE_POS_X, MOVE_NEG_X, MOVE_POS_Y, MOVE_NEG_Y, MOVE_POS_Z, MOVE_NEG_Z = 1, 2, 3, 4, 5, 6
NUM_MOVES = 6
FIRST_PLACE = 7

MOVE_DIRECTIONS = np.array(
    [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], dtype=np.int64
)
"""Unit vectors of MOVE +x, -x, +y, -y, +z, -z (also the six face directions of a cell)."""

MOVE_NAMES = ("+x", "-x", "+y", "-y", "+z", "-z")

KINDS = ("noop", "move", "place", "break", "give")
"""Action kinds accepted by :meth:`ActionSpace.encode`; :func:`decode_action` returns their index."""

KIND_NOOP, KIND_MOVE, KIND_PLACE, KIND_BREAK, KIND_GIVE = range(len(KINDS))
KIND_OUT_OF_RANGE = -1
"""The kind :func:`decode_action` gives a negative index or one past the last GIVE."""


# ------------------------------------------------------------------ the compiled codec
@kernel(inline="always")
def cell_index(x: int, y: int, z: int, height: int, depth: int) -> int:
    """C-order index of the cell ``(x, y, z)`` of a world ``(W, height, depth)``."""
    return (x * height + y) * depth + z


@kernel(inline="always")
def cell_coordinates(cell: int, height: int, depth: int) -> tuple[int, int, int]:
    """``(x, y, z)`` of a C-order cell index (the inverse of :func:`cell_index`)."""
    return cell // (height * depth), (cell // depth) % height, cell % depth


@kernel(inline="always")
def place_action(slot: int, cell: int, num_cells: int) -> int:
    """PLACE placeable type ``slot`` (block id ``FIRST_PLACEABLE + slot``) at ``cell``."""
    return FIRST_PLACE + slot * num_cells + cell


@kernel(inline="always")
def first_break_action(num_cells: int) -> int:
    """Index of BREAK at cell 0 (one past the last PLACE)."""
    return FIRST_PLACE + NUM_PLACEABLE * num_cells


@kernel(inline="always")
def break_action(cell: int, num_cells: int) -> int:
    """BREAK the block at ``cell``."""
    return first_break_action(num_cells) + cell


@kernel(inline="always")
def first_give_action(num_cells: int) -> int:
    """Index of GIVE type 0 at cell 0 (one past the last BREAK)."""
    return FIRST_PLACE + (NUM_PLACEABLE + 1) * num_cells


@kernel(inline="always")
def give_action(slot: int, cell: int, num_cells: int) -> int:
    """GIVE one block of placeable type ``slot`` to the player whose feet are at ``cell``."""
    return first_give_action(num_cells) + slot * num_cells + cell


@kernel(inline="always")
def num_actions(num_cells: int, infinite_blocks: bool) -> int:
    """Size of the action space (GIVE actions only with finite blocks)."""
    if infinite_blocks:
        return first_give_action(num_cells)
    return first_give_action(num_cells) + NUM_PLACEABLE * num_cells


@kernel(inline="always")
def decode_action(action: int, num_cells: int) -> tuple[int, int, int]:
    """``(kind, argument, cell)`` of an action index: ``kind`` is a ``KIND_*`` constant; the
    argument is the move direction (index into :data:`MOVE_DIRECTIONS`) or the placeable slot
    of PLACE/GIVE (block id ``FIRST_PLACEABLE + slot``), else 0; ``cell`` is the C-order cell of
    PLACE/BREAK/GIVE, else -1. Indices outside the layout decode as :data:`KIND_OUT_OF_RANGE`."""
    if action == NOOP:
        return KIND_NOOP, 0, -1
    if action < 0:
        return KIND_OUT_OF_RANGE, 0, -1
    if action < FIRST_PLACE:
        return KIND_MOVE, action - 1, -1
    offset = action - FIRST_PLACE
    slot = offset // num_cells
    cell = offset - slot * num_cells
    if slot < NUM_PLACEABLE:
        return KIND_PLACE, slot, cell
    if slot == NUM_PLACEABLE:
        return KIND_BREAK, 0, cell
    if slot <= 2 * NUM_PLACEABLE:
        return KIND_GIVE, slot - NUM_PLACEABLE - 1, cell
    return KIND_OUT_OF_RANGE, 0, -1


@kernel()
def _decode_into(actions: np.ndarray, num_cells: int, kinds: np.ndarray, cells: np.ndarray) -> None:
    for index in range(actions.shape[0]):
        kind, _, cell = decode_action(actions[index], num_cells)
        kinds[index] = kind
        cells[index] = cell


def decode_actions(actions: np.ndarray, num_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode_action` of every entry of an integer array: ``(kinds, cells)``, int64 arrays of
    its shape (``KIND_*`` constants, and the cell of PLACE/BREAK/GIVE, else -1)."""
    values = np.asarray(actions)
    flat = np.ascontiguousarray(values, dtype=np.int64).reshape(-1)
    kinds = np.empty(flat.shape[0], dtype=np.int64)
    cells = np.empty(flat.shape[0], dtype=np.int64)
    _decode_into(flat, int(num_cells), kinds, cells)
    return kinds.reshape(values.shape), cells.reshape(values.shape)


@dataclass(frozen=True)
class DecodedAction:
    """An action index split into its parts.

    Attributes:
        kind: one of ``"noop"``, ``"move"``, ``"place"``, ``"break"``, ``"give"``.
        cell: ``(x, y, z)`` for place/break/give, else ``None``.
        block: block id for place/give, else ``None``.
        direction: index into :data:`MOVE_DIRECTIONS` for moves, else ``None``.
    """

    kind: str
    cell: tuple[int, int, int] | None = None
    block: int | None = None
    direction: int | None = None


@dataclass(frozen=True)
class ActionSpace:
    """The action layout of one world size and block mode.

    Attributes:
        world_size: ``(W, H, D)``.
        infinite_blocks: without GIVE actions when True.
    """

    world_size: tuple[int, int, int]
    infinite_blocks: bool = True

    @cached_property
    def num_cells(self) -> int:
        """``V = W*H*D``."""
        width, height, depth = self.world_size
        return width * height * depth

    @cached_property
    def n(self) -> int:
        """Total number of actions."""
        return int(num_actions(self.num_cells, self.infinite_blocks))

    @cached_property
    def first_break(self) -> int:
        """Index of BREAK at cell 0."""
        return int(first_break_action(self.num_cells))

    @cached_property
    def first_give(self) -> int:
        """Index of GIVE type 0 at cell 0 (equals :attr:`n` with infinite blocks)."""
        return int(first_give_action(self.num_cells))

    def cell_index(self, cell: tuple[int, int, int]) -> int:
        """C-order index of ``(x, y, z)``; raises ``ValueError`` outside the world."""
        x, y, z = (int(c) for c in cell)
        width, height, depth = self.world_size
        if not (0 <= x < width and 0 <= y < height and 0 <= z < depth):
            raise ValueError(f"cell {cell} is outside the world of size {self.world_size}")
        return int(cell_index(x, y, z, height, depth))

    def cell_xyz(self, index: int) -> tuple[int, int, int]:
        """Inverse of :meth:`cell_index`."""
        _, height, depth = self.world_size
        x, y, z = cell_coordinates(int(index), height, depth)
        return int(x), int(y), int(z)

    def encode(
        self,
        kind: str,
        cell_xyz: tuple[int, int, int] | None = None,
        block: int | None = None,
        direction: int | str | None = None,
    ) -> int:
        """Action index of a (kind, cell, block) triple.

        ``kind`` is ``"noop"``, ``"move"`` (give ``direction`` as 0..5 or ``"+x"`` etc.),
        ``"place"`` / ``"give"`` (give ``cell_xyz`` and a placeable ``block`` id 2..9) or
        ``"break"`` (give ``cell_xyz``).

        Raises:
            ValueError: for an unknown kind, a missing or bad argument, or GIVE with
                infinite blocks.
        """
        if kind == "noop":
            return NOOP
        if kind == "move":
            if isinstance(direction, str):
                if direction not in MOVE_NAMES:
                    raise ValueError(f"unknown move direction {direction!r}; use one of {MOVE_NAMES}")
                direction = MOVE_NAMES.index(direction)
            if direction is None or not 0 <= int(direction) < 6:
                raise ValueError(f"move direction must be 0..5 or one of {MOVE_NAMES}, got {direction!r}")
            return MOVE_POS_X + int(direction)
        if kind not in KINDS:
            raise ValueError(f"unknown action kind {kind!r}; use one of {KINDS}")
        if cell_xyz is None:
            raise ValueError(f"a {kind} action needs cell_xyz")
        cell = self.cell_index(cell_xyz)
        if kind == "break":
            return int(break_action(cell, self.num_cells))
        if kind == "give" and self.infinite_blocks:
            raise ValueError("GIVE actions exist only with infinite_blocks=False")
        slot = _placeable_slot(block)
        encode = place_action if kind == "place" else give_action
        return int(encode(slot, cell, self.num_cells))

    def decode(self, index: int) -> DecodedAction:
        """Split an action index into kind, cell, block and direction.

        Raises:
            ValueError: if ``index`` is not in ``[0, n)``.
        """
        kind, argument, cell = decode_action(self.check(index), self.num_cells)
        if kind == KIND_NOOP:
            return DecodedAction("noop")
        if kind == KIND_MOVE:
            return DecodedAction("move", direction=int(argument))
        if kind == KIND_BREAK:
            return DecodedAction("break", self.cell_xyz(cell))
        return DecodedAction(KINDS[kind], self.cell_xyz(cell), FIRST_PLACEABLE + int(argument))

    def describe(self, index: int) -> str:
        """A readable description, e.g. ``"PLACE planks at (3, 2, 4)"``."""
        action = self.decode(index)
        if action.kind == "noop":
            return "NOOP"
        if action.kind == "move":
            assert action.direction is not None
            return f"MOVE {MOVE_NAMES[action.direction]}"
        if action.kind == "break":
            return f"BREAK at {action.cell}"
        assert action.block is not None
        preposition = "at" if action.kind == "place" else "to the player at"
        return f"{action.kind.upper()} {BLOCK_NAMES[action.block]} {preposition} {action.cell}"

    def check(self, index: object) -> int:
        """Return ``index`` as an int, or raise ``ValueError`` naming the valid range."""
        if type(index) is int and 0 <= index < self.n:
            return index
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            if isinstance(index, np.ndarray) and index.shape == () and np.issubdtype(index.dtype, np.integer):
                index = int(index)
            else:
                raise ValueError(f"an action must be an integer in [0, {self.n}), got {index!r}")
        if not 0 <= int(index) < self.n:
            raise ValueError(f"action {index} is out of range: valid actions are 0..{self.n - 1}")
        return int(index)


def _placeable_slot(block: int | None) -> int:
    if block is None or not FIRST_PLACEABLE <= int(block) < FIRST_PLACEABLE + NUM_PLACEABLE:
        raise ValueError(
            f"block must be a placeable block id in [{FIRST_PLACEABLE}, "
            f"{FIRST_PLACEABLE + NUM_PLACEABLE - 1}], got {block!r}"
        )
    return int(block) - FIRST_PLACEABLE
