"""A pure-Python reference of the rules of the game (SPEC §2–§4), for the tests only.

Written from the specification, not from the compiled core, and meant to be read: plain
loops, no numba, no numpy in the rules, no cleverness beyond a per-state cache of sight
answers. The property tests hold :mod:`mbag_env.core` to it.

Where the core walks the voxels a sight segment crosses (Amanatides–Woo), this module uses
a different method on purpose: a slab test of the segment against every solid cell of the
segment's bounding box. A cell blocks sight when the segment spends more than
:data:`SEGMENT_TOLERANCE` of its parameter ``t ∈ [0, 1]`` inside the cell's *open* interior,
so grazing a face, an edge or a corner never blocks.

Geometry: a player's feet cell is ``(x, y, z)``, its head cell ``(x, y + 1, z)`` and its eye
the point ``(x + 0.5, y + 1.6, z + 0.5)``. Cell ``(x, y, z)`` is the unit cube
``[x, x+1] × [y, y+1] × [z, z+1]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

AIR = 0
BEDROCK = 1
NUM_BLOCK_TYPES = 10
PLACEABLE = tuple(range(2, 10))
"""Placeable block ids, in the order of the PLACE and GIVE slots."""
NUM_PLACEABLE = len(PLACEABLE)

REACH = 4.5
EYE_OFFSET = (0.5, 1.6, 0.5)
SEGMENT_TOLERANCE = 1e-9

DIRECTIONS = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))
"""MOVE +x, -x, +y, -y, +z, -z (actions 1..6), also the six neighbours of a cell."""


# --------------------------------------------------------------------------------------
# Action layout (SPEC §3 table)
# --------------------------------------------------------------------------------------


def num_cells(size: tuple[int, int, int]) -> int:
    width, height, depth = size
    return width * height * depth


def cell_index(size: tuple[int, int, int], cell: tuple[int, int, int]) -> int:
    """C-order index over (x, y, z)."""
    _, height, depth = size
    x, y, z = cell
    return (x * height + y) * depth + z


def cell_at(size: tuple[int, int, int], index: int) -> tuple[int, int, int]:
    _, height, depth = size
    return index // (height * depth), (index // depth) % height, index % depth


def num_actions(size: tuple[int, int, int], infinite_blocks: bool) -> int:
    cells = num_cells(size)
    give = 0 if infinite_blocks else NUM_PLACEABLE * cells
    return 7 + NUM_PLACEABLE * cells + cells + give


@dataclass(frozen=True)
class Action:
    kind: str  # "noop", "move", "place", "break", "give"
    direction: tuple[int, int, int] | None = None
    cell: tuple[int, int, int] | None = None
    block: int | None = None


def decode(size: tuple[int, int, int], infinite_blocks: bool, index: int) -> Action:
    """Split an action index according to the SPEC §3 table."""
    if not 0 <= index < num_actions(size, infinite_blocks):
        raise ValueError(f"action {index} out of range")
    cells = num_cells(size)
    if index == 0:
        return Action("noop")
    if index <= 6:
        return Action("move", direction=DIRECTIONS[index - 1])
    rest = index - 7
    if rest < NUM_PLACEABLE * cells:
        return Action("place", cell=cell_at(size, rest % cells), block=PLACEABLE[rest // cells])
    rest -= NUM_PLACEABLE * cells
    if rest < cells:
        return Action("break", cell=cell_at(size, rest))
    rest -= cells
    return Action("give", cell=cell_at(size, rest % cells), block=PLACEABLE[rest // cells])


def encode(size: tuple[int, int, int], action: Action) -> int:
    cells = num_cells(size)
    if action.kind == "noop":
        return 0
    if action.kind == "move":
        return 1 + DIRECTIONS.index(action.direction)
    index = cell_index(size, action.cell)
    if action.kind == "place":
        return 7 + PLACEABLE.index(action.block) * cells + index
    if action.kind == "break":
        return 7 + NUM_PLACEABLE * cells + index
    return 7 + (NUM_PLACEABLE + 1) * cells + PLACEABLE.index(action.block) * cells + index


# --------------------------------------------------------------------------------------
# Geometry: reach and sight
# --------------------------------------------------------------------------------------


def eye_of(feet: tuple[int, int, int]) -> tuple[float, float, float]:
    return (feet[0] + EYE_OFFSET[0], feet[1] + EYE_OFFSET[1], feet[2] + EYE_OFFSET[2])


def shared_face_centre(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[float, float, float]:
    """Centre of the face between two neighbouring cells: the midpoint of their centres."""
    return tuple((a[i] + 0.5 + b[i] + 0.5) / 2 for i in range(3))


def segment_spends_time_in_cell(
    start: tuple[float, float, float], end: tuple[float, float, float], cell: tuple[int, int, int]
) -> bool:
    """Slab test: does the segment start→end cross the open interior of the unit cube ``cell``
    for more than SEGMENT_TOLERANCE of its parameter?"""
    t_low, t_high = 0.0, 1.0
    for axis in range(3):
        origin = start[axis]
        delta = end[axis] - start[axis]
        low, high = cell[axis], cell[axis] + 1
        if delta == 0:
            # Parallel to this slab: inside its open interior for all t, or never.
            if not low < origin < high:
                return False
            continue
        t0 = (low - origin) / delta
        t1 = (high - origin) / delta
        if t0 > t1:
            t0, t1 = t1, t0
        t_low = max(t_low, t0)
        t_high = min(t_high, t1)
    return t_high - t_low > SEGMENT_TOLERANCE


def segment_is_clear(blocks, start, end) -> bool:
    """True when the segment crosses the interior of no solid cell of the world.

    Every cell the segment can touch lies in its bounding box (widened by one cell on each
    side, for good measure); each solid one is slab-tested.
    """
    width, height, depth = len(blocks), len(blocks[0]), len(blocks[0][0])
    ranges = []
    for axis, extent in enumerate((width, height, depth)):
        low = math.floor(min(start[axis], end[axis])) - 1
        high = math.floor(max(start[axis], end[axis])) + 1
        ranges.append(range(max(0, low), min(extent, high + 1)))
    for x in ranges[0]:
        for y in ranges[1]:
            for z in ranges[2]:
                if blocks[x][y][z] != AIR and segment_spends_time_in_cell(start, end, (x, y, z)):
                    return False
    return True


def distance(a, b) -> float:
    return math.sqrt(sum((a[i] - b[i]) ** 2 for i in range(3)))


# --------------------------------------------------------------------------------------
# Edit distance
# --------------------------------------------------------------------------------------


def cell_edit_cost(block: int, goal_block: int) -> int:
    if block == goal_block:
        return 0
    if block != AIR and goal_block != AIR:
        return 2  # break, then place
    return 1


def edit_distance(blocks, goal) -> int:
    return sum(
        cell_edit_cost(blocks[x][y][z], goal[x][y][z])
        for x in range(len(blocks))
        for y in range(len(blocks[0]))
        for z in range(len(blocks[0][0]))
    )


def layer_errors(blocks, goal) -> list[int]:
    """Per y layer, the number of cells whose block differs from the goal."""
    height = len(blocks[0])
    return [
        sum(blocks[x][y][z] != goal[x][y][z] for x in range(len(blocks)) for z in range(len(blocks[0][0])))
        for y in range(height)
    ]


# --------------------------------------------------------------------------------------
# The state and the rules
# --------------------------------------------------------------------------------------


def _nested(array) -> list:
    """A nested list of ints from a nested sequence or a numpy array."""
    if hasattr(array, "tolist"):
        array = array.tolist()
    return [[[int(v) for v in column] for column in plane] for plane in array]


@dataclass
class Shaping:
    noop: float = 0.0
    action: float = 0.0
    incorrect_action: float = 0.0
    own_reward_prop: float = 0.0


@dataclass
class ReferenceGame:
    """One world with its players, stepped by the rules of SPEC §3–§4.

    ``inventories[i][b]`` is player i's count of block id b (always all zeros with infinite
    blocks, where counts do not matter).
    """

    blocks: list
    goal: list
    feet: list[list[int]]
    infinite_blocks: bool = True
    teleportation: bool = False
    inventories: list[list[int]] | None = None
    shaping: list[Shaping] | None = None
    horizon: int = 1500
    terminate_on_goal: bool = True
    no_progress_limit: int = 0
    last_interacted: list | None = None
    timestep: int = 0
    distance: int = 0
    best_distance: int = 0
    steps_without_progress: int = 0
    terminated: bool = False
    truncated: bool = False
    correct_places: list[int] = field(default_factory=list)
    incorrect_places: list[int] = field(default_factory=list)
    correct_breaks: list[int] = field(default_factory=list)
    incorrect_breaks: list[int] = field(default_factory=list)
    last_valid: list[bool] = field(default_factory=list)
    last_own_drop: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.blocks = _nested(self.blocks)
        self.size = (len(self.blocks), len(self.blocks[0]), len(self.blocks[0][0]))
        self.goal = _nested(self.goal)
        self.feet = [[int(c) for c in f] for f in self.feet]
        players = len(self.feet)
        if self.inventories is None:
            self.inventories = [[0] * NUM_BLOCK_TYPES for _ in range(players)]
        self.inventories = [[int(c) for c in inv] for inv in self.inventories]
        if self.shaping is None:
            self.shaping = [Shaping() for _ in range(players)]
        if self.last_interacted is None:
            width, height, depth = self.size
            self.last_interacted = [[[0] * depth for _ in range(height)] for _ in range(width)]
        else:
            self.last_interacted = _nested(self.last_interacted)
        self.distance = edit_distance(self.blocks, self.goal)
        self.best_distance = self.distance
        self.correct_places = [0] * players
        self.incorrect_places = [0] * players
        self.correct_breaks = [0] * players
        self.incorrect_breaks = [0] * players
        self.last_own_drop = [0] * players
        self.last_valid = [True] * players
        # Answers that depend only on blocks and positions, forgotten whenever those change:
        # sight per (eye, face centre), and PLACE validity per (player, cell), which is_valid
        # would otherwise work out again for each of the eight placeable types.
        self._sight_cache: dict = {}
        self._place_cache: dict = {}

    # -- basic queries -----------------------------------------------------------------

    @property
    def num_players(self) -> int:
        return len(self.feet)

    @property
    def n_actions(self) -> int:
        return num_actions(self.size, self.infinite_blocks)

    def in_world(self, cell) -> bool:
        x, y, z = cell
        width, height, depth = self.size
        return 0 <= x < width and 0 <= y < height and 0 <= z < depth

    def block(self, cell) -> int:
        return self.blocks[cell[0]][cell[1]][cell[2]]

    def body_cells(self, player: int) -> list[tuple[int, int, int]]:
        x, y, z = self.feet[player]
        return [(x, y, z), (x, y + 1, z)]

    def neighbours(self, cell):
        for d in DIRECTIONS:
            yield (cell[0] + d[0], cell[1] + d[1], cell[2] + d[2])

    def holds(self, player: int, block: int) -> bool:
        return self.infinite_blocks or self.inventories[player][block] >= 1

    # -- reach and sight ---------------------------------------------------------------

    def can_use_face(self, player: int, a, b) -> bool:
        """Reach and sight to the centre of the face between neighbouring cells a and b."""
        if self.teleportation:
            return True
        eye = eye_of(self.feet[player])
        centre = shared_face_centre(a, b)
        if distance(eye, centre) > REACH:
            return False
        key = (eye, centre)
        if key not in self._sight_cache:
            self._sight_cache[key] = segment_is_clear(self.blocks, eye, centre)
        return self._sight_cache[key]

    # -- validity ----------------------------------------------------------------------

    def can_place_somewhere_at(self, player: int, cell) -> bool:
        """PLACE validity at ``cell`` for any type the player holds (inventory ignored)."""
        key = (player, tuple(cell))
        if key not in self._place_cache:
            self._place_cache[key] = self._can_place_somewhere_at(player, cell)
        return self._place_cache[key]

    def _can_place_somewhere_at(self, player: int, cell) -> bool:
        if not self.in_world(cell) or self.block(cell) != AIR:
            return False
        if not self.teleportation:
            for other in range(self.num_players):
                if cell in self.body_cells(other):
                    return False
        return any(
            self.in_world(n) and self.block(n) != AIR and self.can_use_face(player, cell, n)
            for n in self.neighbours(cell)
        )

    def can_break_at(self, player: int, cell) -> bool:
        if not self.in_world(cell) or self.block(cell) in (AIR, BEDROCK):
            return False
        return any(
            self.in_world(n) and self.block(n) == AIR and self.can_use_face(player, cell, n)
            for n in self.neighbours(cell)
        )

    def can_move(self, player: int, direction) -> bool:
        if self.teleportation:
            return False
        x, y, z = self.feet[player]
        feet = (x + direction[0], y + direction[1], z + direction[2])
        head = (feet[0], feet[1] + 1, feet[2])
        for cell in (feet, head):
            if not self.in_world(cell) or self.block(cell) != AIR:
                return False
            for other in range(self.num_players):
                if other != player and cell in self.body_cells(other):
                    return False
        return True

    def give_recipient(self, player: int, cell) -> int | None:
        for other in range(self.num_players):
            if other == player or tuple(self.feet[other]) != tuple(cell):
                continue
            chebyshev = max(abs(self.feet[other][i] - self.feet[player][i]) for i in range(3))
            if self.teleportation or chebyshev <= 1:
                return other
        return None

    def is_valid(self, player: int, index: int) -> bool:
        """Whether the action would do something (NOOP counts as valid)."""
        action = decode(self.size, self.infinite_blocks, index)
        if action.kind == "noop":
            return True
        if action.kind == "move":
            return self.can_move(player, action.direction)
        if action.kind == "place":
            return self.holds(player, action.block) and self.can_place_somewhere_at(player, action.cell)
        if action.kind == "break":
            return self.can_break_at(player, action.cell)
        assert action.kind == "give"
        if self.infinite_blocks:
            return False
        holds_one = self.inventories[player][action.block] >= 1
        return holds_one and self.give_recipient(player, action.cell) is not None

    def action_mask(self, player: int) -> list[bool]:
        return [self.is_valid(player, index) for index in range(self.n_actions)]

    # -- effects -----------------------------------------------------------------------

    def _forget(self) -> None:
        self._sight_cache.clear()
        self._place_cache.clear()

    def set_block(self, cell, block: int) -> None:
        self.blocks[cell[0]][cell[1]][cell[2]] = block
        self._forget()

    def apply(self, player: int, index: int) -> tuple[str, bool]:
        """Carry out one player's action; returns (kind, valid)."""
        action = decode(self.size, self.infinite_blocks, index)
        if not self.is_valid(player, index):
            return action.kind, False
        if action.kind == "move":
            self.feet[player] = [self.feet[player][i] + action.direction[i] for i in range(3)]
            self._forget()
        elif action.kind == "place":
            self.set_block(action.cell, action.block)
            self.last_interacted[action.cell[0]][action.cell[1]][action.cell[2]] = player + 1
            if not self.infinite_blocks:
                self.inventories[player][action.block] -= 1
        elif action.kind == "break":
            broken = self.block(action.cell)
            self.set_block(action.cell, AIR)
            self.last_interacted[action.cell[0]][action.cell[1]][action.cell[2]] = player + 1
            if not self.infinite_blocks:
                self.inventories[player][broken] += 1
        elif action.kind == "give":
            recipient = self.give_recipient(player, action.cell)
            self.inventories[player][action.block] -= 1
            self.inventories[recipient][action.block] += 1
        return action.kind, True

    def step(self, actions: list[int]) -> list[float]:
        """One joint step: players act in order; returns each player's reward."""
        assert len(actions) == self.num_players
        start_distance = edit_distance(self.blocks, self.goal)
        own_drops, no_ops, incorrect = [], [], []
        for player, index in enumerate(actions):
            before = edit_distance(self.blocks, self.goal)
            kind, valid = self.apply(player, index)
            after = edit_distance(self.blocks, self.goal)
            own = before - after
            own_drops.append(own)
            no_ops.append(kind == "noop" or not valid)
            changed_blocks = valid and kind in ("place", "break")
            incorrect.append(changed_blocks and after > before)
            self.last_valid[player] = valid
            self.last_own_drop[player] = own
            if changed_blocks:
                counter = {
                    ("place", True): self.correct_places,
                    ("place", False): self.incorrect_places,
                    ("break", True): self.correct_breaks,
                    ("break", False): self.incorrect_breaks,
                }[(kind, after < before)]
                counter[player] += 1
        end_distance = edit_distance(self.blocks, self.goal)
        shared = start_distance - end_distance
        rewards = []
        for player in range(self.num_players):
            s = self.shaping[player]
            reward = (1 - s.own_reward_prop) * shared + s.own_reward_prop * own_drops[player]
            reward += s.noop if no_ops[player] else s.action
            if incorrect[player]:
                reward += s.incorrect_action
            rewards.append(reward)
        self.distance = end_distance
        self.timestep += 1
        if end_distance < self.best_distance:
            self.best_distance = end_distance
            self.steps_without_progress = 0
        else:
            self.steps_without_progress += 1
        self.terminated = self.terminate_on_goal and end_distance == 0
        self.truncated = self.timestep >= self.horizon or (
            self.no_progress_limit > 0 and self.steps_without_progress >= self.no_progress_limit
        )
        return rewards
