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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mbag_env.blocks import BLOCK_NAMES, FIRST_PLACEABLE, NUM_PLACEABLE

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
"""Action kinds accepted by :meth:`ActionSpace.encode`."""


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
        give = 0 if self.infinite_blocks else NUM_PLACEABLE * self.num_cells
        return FIRST_PLACE + (NUM_PLACEABLE + 1) * self.num_cells + give

    @property
    def first_break(self) -> int:
        """Index of BREAK at cell 0."""
        return FIRST_PLACE + NUM_PLACEABLE * self.num_cells

    @property
    def first_give(self) -> int:
        """Index of GIVE type 0 at cell 0 (equals :attr:`n` with infinite blocks)."""
        return FIRST_PLACE + (NUM_PLACEABLE + 1) * self.num_cells

    def cell_index(self, cell: tuple[int, int, int]) -> int:
        """C-order index of ``(x, y, z)``; raises ``ValueError`` outside the world."""
        x, y, z = (int(c) for c in cell)
        width, height, depth = self.world_size
        if not (0 <= x < width and 0 <= y < height and 0 <= z < depth):
            raise ValueError(f"cell {cell} is outside the world of size {self.world_size}")
        return (x * height + y) * depth + z

    def cell_xyz(self, index: int) -> tuple[int, int, int]:
        """Inverse of :meth:`cell_index`."""
        _, height, depth = self.world_size
        x, rest = divmod(int(index), height * depth)
        y, z = divmod(rest, depth)
        return x, y, z

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
            return 1 + int(direction)
        if kind not in KINDS:
            raise ValueError(f"unknown action kind {kind!r}; use one of {KINDS}")
        if cell_xyz is None:
            raise ValueError(f"a {kind} action needs cell_xyz")
        cell = self.cell_index(cell_xyz)
        if kind == "break":
            return self.first_break + cell
        if kind == "give" and self.infinite_blocks:
            raise ValueError("GIVE actions exist only with infinite_blocks=False")
        placeable = _placeable_slot(block)
        start = FIRST_PLACE if kind == "place" else self.first_give
        return start + placeable * self.num_cells + cell

    def decode(self, index: int) -> DecodedAction:
        """Split an action index into kind, cell, block and direction.

        Raises:
            ValueError: if ``index`` is not in ``[0, n)``.
        """
        index = self.check(index)
        if index == NOOP:
            return DecodedAction("noop")
        if index < FIRST_PLACE:
            return DecodedAction("move", direction=index - 1)
        num_cells = self.num_cells
        if index < self.first_break:
            slot, cell = divmod(index - FIRST_PLACE, num_cells)
            return DecodedAction("place", self.cell_xyz(cell), FIRST_PLACEABLE + slot)
        if index < self.first_give:
            return DecodedAction("break", self.cell_xyz(index - self.first_break))
        slot, cell = divmod(index - self.first_give, num_cells)
        return DecodedAction("give", self.cell_xyz(cell), FIRST_PLACEABLE + slot)

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
