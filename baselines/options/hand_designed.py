"""Hand-designed options for MBAG: what an option sees, the options of each role, and their runner.

An option (Sutton, Precup and Singh, 1999) is a triple ``(I, π, β)``: an initiation set, a policy
and a termination condition. Here each one is a small class with

* :meth:`Option.available` – the initiation set ``I`` (is the option meaningful in this state?);
* :meth:`Option.act` – the option's policy, which returns only actions the observation's
  ``action_mask`` marks valid (falling back to NOOP, which is always valid);
* :meth:`Option.finished` – the termination condition, checked on the state *after* each step;
  every option also stops after ``max_duration`` steps, so each one terminates.

Options read a :class:`WorldView` of the player's observation. The **builder's** options may read
the goal (the builder's observation has a goal channel). The **assistant's** options must not:
the assistant cannot see θ, so their view is built with ``goal_visible=False``, which drops any
goal channel, and reading :attr:`WorldView.goal` then raises. What the assistant's options know
about the human's intentions comes from watching the world: :class:`HumanActivity` keeps the
human's last PLACE and BREAK, read from the change of the ``blocks`` and ``last_interacted``
channels between consecutive observations.

:class:`OptionRunner` executes options in one world (the same code serves the semi-MDP wrapper of
:mod:`baselines.options.smdp`, PPO over options and its policy in the leaderboard).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mbag_env.blocks import AIR, FIRST_PLACEABLE
from mbag_env.core.actions import MOVE_DIRECTIONS, NOOP, break_action, place_action
from mbag_env.core.rules import EYE_HEIGHT

EYE_OFFSET = np.array([0.5, EYE_HEIGHT, 0.5])
"""A player's eye relative to the corner of its feet cell (as in the rules' reach test)."""

HORIZONTAL_NEIGHBOURS = np.array([(1, 0, 0), (-1, 0, 0), (0, 0, 1), (0, 0, -1)], dtype=np.int64)


# --------------------------------------------------------------------------------- what options see
@dataclass
class HumanActivity:
    """The other player's last PLACE and BREAK, inferred from consecutive observations.

    A cell whose block changed and whose ``last_interacted`` value is 2 or more (another player)
    was placed (now non-air) or broken (now air) by that player in the last step. Only the
    ``blocks`` and ``last_interacted`` channels are read, so this works without the goal.

    Attributes:
        last_place: ``((x, y, z), block)`` of the other player's most recent placement.
        last_break: ``((x, y, z), block that was there)`` of its most recent break.
    """

    last_place: tuple[tuple[int, int, int], int] | None = None
    last_break: tuple[tuple[int, int, int], int] | None = None
    _previous_blocks: np.ndarray | None = field(default=None, repr=False)

    def reset(self, blocks: np.ndarray) -> None:
        """Forget everything; ``blocks`` is the first observation's block channel."""
        self.last_place = None
        self.last_break = None
        self._previous_blocks = np.array(blocks, copy=True)

    def update(self, blocks: np.ndarray, last_interacted: np.ndarray) -> None:
        """Read the changes since the previous observation."""
        if self._previous_blocks is None:
            self.reset(blocks)
            return
        changed = np.argwhere((blocks != self._previous_blocks) & (last_interacted >= 2))
        for cell in changed:
            x, y, z = (int(c) for c in cell)
            if blocks[x, y, z] != AIR:
                self.last_place = ((x, y, z), int(blocks[x, y, z]))
            else:
                self.last_break = ((x, y, z), int(self._previous_blocks[x, y, z]))
        self._previous_blocks = np.array(blocks, copy=True)


@dataclass
class WorldView:
    """One player's observation, split into named arrays, with the helpers options need.

    Attributes:
        blocks, players, last_interacted: the world channels, each ``(W, H, D)``.
        mask: the valid-action mask ``(n_actions,)``.
        timestep: the observation's time step.
        activity: the other player's recent actions (see :class:`HumanActivity`).
    """

    blocks: np.ndarray
    players: np.ndarray
    last_interacted: np.ndarray
    mask: np.ndarray
    timestep: int
    activity: HumanActivity
    _goal: np.ndarray | None = None

    @classmethod
    def from_observation(
        cls, observation: Mapping[str, np.ndarray], goal_visible: bool, activity: HumanActivity
    ) -> WorldView:
        """Build the view; with ``goal_visible=False`` any goal channel is dropped.

        Raises:
            ValueError: if ``goal_visible`` but the observation has no goal channel, or there is
                no ``action_mask`` (options need it to emit only valid actions).
        """
        world = np.asarray(observation["world"])
        if "action_mask" not in observation:
            raise ValueError("options need the action_mask in the observation (leave action_masks=True)")
        if goal_visible and world.shape[0] < 4:
            raise ValueError(
                f"goal_visible=True but the observation has {world.shape[0]} world channels (no goal)"
            )
        return cls(
            blocks=world[0],
            players=world[1],
            last_interacted=world[2],
            mask=np.asarray(observation["action_mask"], dtype=bool),
            timestep=int(np.asarray(observation["timestep"]).item()),
            activity=activity,
            _goal=world[3] if goal_visible else None,
        )

    @property
    def goal(self) -> np.ndarray:
        """θ's blocks ``(W, H, D)``.

        Raises:
            PermissionError: for a view without the goal (the assistant's).
        """
        if self._goal is None:
            raise PermissionError("this option's view has no goal: an assistant cannot see θ")
        return self._goal

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(W, H, D)``."""
        return self.blocks.shape  # type: ignore[return-value]

    @property
    def num_cells(self) -> int:
        """``V = W * H * D``."""
        return int(self.blocks.size)

    def feet(self, player_value: int = 1) -> np.ndarray | None:
        """Feet cell ``(3,)`` of the player marked ``player_value`` in the players channel (1: self),
        or ``None`` if absent."""
        cells = np.argwhere(self.players == player_value)
        if len(cells) == 0:
            return None
        return cells[np.argmin(cells[:, 1])]

    def other_feet(self) -> np.ndarray | None:
        """Feet of the nearest other player (players-channel value 2 or more), or ``None``."""
        cells = np.argwhere(self.players >= 2)
        if len(cells) == 0:
            return None
        return cells[np.argmin(cells[:, 1])]

    def eye(self) -> np.ndarray:
        """Own eye position ``(3,)`` (feet corner + :data:`EYE_OFFSET`)."""
        feet = self.feet()
        if feet is None:
            raise ValueError("the observation shows no own player (players channel has no 1)")
        return feet + EYE_OFFSET

    def place_action(self, cell: Sequence[int], block: int) -> int:
        """The index of PLACE ``block`` at ``cell``."""
        index = int(np.ravel_multi_index(tuple(int(c) for c in cell), self.shape))
        return int(place_action(int(block) - FIRST_PLACEABLE, index, self.num_cells))

    def break_action(self, cell: Sequence[int]) -> int:
        """The index of BREAK at ``cell``."""
        index = int(np.ravel_multi_index(tuple(int(c) for c in cell), self.shape))
        return int(break_action(index, self.num_cells))

    def nearest_valid(
        self, cells: np.ndarray, actions: Sequence[int], anchor: np.ndarray | None = None
    ) -> int:
        """The valid action among ``actions`` (one per row of ``cells``) whose cell is nearest to
        ``anchor`` (default: the own eye); -1 if none is valid."""
        if len(cells) == 0:
            return -1
        actions_array = np.asarray(actions, dtype=np.int64)
        valid = self.mask[actions_array]
        if not valid.any():
            return -1
        point = self.eye() if anchor is None else np.asarray(anchor, dtype=np.float64)
        distances = np.linalg.norm(cells + 0.5 - point, axis=1)
        distances[~valid] = np.inf
        return int(actions_array[int(np.argmin(distances))])

    def free_feet_cells(self) -> np.ndarray:
        """``(W, H, D)`` bool: cells where this player's feet could be (feet and head cells in the
        world, air, and not another player's)."""
        open_cell = (self.blocks == AIR) & (self.players <= 1)
        free = np.zeros_like(open_cell)
        free[:, :-1, :] = open_cell[:, :-1, :] & open_cell[:, 1:, :]
        return free

    def move_toward(
        self, target: np.ndarray, standoff: float, avoid: set[tuple[int, int, int]] | None = None
    ) -> int:
        """The first valid MOVE of a shortest path (breadth-first over free positions) to the
        reachable position whose eye is nearest to ``standoff`` from ``target``'s centre.

        Positions in ``avoid`` are not chosen as destinations. Returns -1 when the best destination
        is where the player stands (arrived) or nothing else is reachable.
        """
        start = self.feet()
        if start is None:
            return -1
        free = self.free_feet_cells()
        start_key = (int(start[0]), int(start[1]), int(start[2]))
        first_move: dict[tuple[int, int, int], int] = {start_key: -1}
        depth: dict[tuple[int, int, int], int] = {start_key: 0}
        frontier = [start_key]
        width, height, depth_size = self.shape
        while frontier:
            following = []
            for position in frontier:
                for direction_index, (dx, dy, dz) in enumerate(MOVE_DIRECTIONS):
                    nx, ny, nz = position[0] + dx, position[1] + dy, position[2] + dz
                    key = (int(nx), int(ny), int(nz))
                    if not (0 <= nx < width and 0 <= ny < height and 0 <= nz < depth_size):
                        continue
                    if key in first_move or not free[key]:
                        continue
                    move = 1 + direction_index
                    first_move[key] = move if position == start_key else first_move[position]
                    depth[key] = depth[position] + 1
                    following.append(key)
            frontier = following
        centre = np.asarray(target, dtype=np.float64) + 0.5
        best_key, best_cost = start_key, np.inf
        if not avoid or start_key not in avoid:
            best_cost = abs(float(np.linalg.norm(start + EYE_OFFSET - centre)) - standoff)
        for key, steps in depth.items():
            if key == start_key or (avoid and key in avoid):
                continue
            cost = abs(float(np.linalg.norm(np.asarray(key) + EYE_OFFSET - centre)) - standoff) + 0.05 * steps
            if cost < best_cost - 1e-9:
                best_key, best_cost = key, cost
        if best_key == start_key:
            return -1
        move = first_move[best_key]
        return move if self.mask[move] else -1

    def feet_key(self) -> tuple[int, int, int] | None:
        """Own feet cell as a tuple (for sets of visited positions)."""
        feet = self.feet()
        return None if feet is None else (int(feet[0]), int(feet[1]), int(feet[2]))


def nearest_cell(cells: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The row of ``cells`` whose centre is nearest to ``point``."""
    return cells[int(np.argmin(np.linalg.norm(cells + 0.5 - point, axis=1)))]


# ------------------------------------------------------------------------------------------ options
class Option:
    """Base class of the hand-designed options (see the module docstring).

    Attributes:
        name: a short identifier (used in logs and plots).
        uses_goal: whether the option reads θ (only the builder's may).
        max_duration: the option stops after this many steps at the latest.
    """

    name = "option"
    uses_goal = False
    max_duration = 10

    def available(self, view: WorldView) -> bool:
        """The initiation set: may the option start in this state?"""
        return True

    def begin(self, view: WorldView) -> None:
        """Called when the option starts (reset its memory)."""
        self._done = False

    def act(self, view: WorldView) -> int:
        """The next action (valid under ``view.mask``)."""
        raise NotImplementedError

    def finished(self, view: WorldView, duration: int) -> bool:
        """The termination condition on the state reached after ``duration`` steps."""
        return self._done

    def _last(self, action: int) -> int:
        """``action`` as the option's last one (it ends after this step)."""
        self._done = True
        return action

    def _move_or_stop(self, move: int) -> int:
        """``move`` (from :meth:`WorldView.move_toward`), or NOOP as the last action when it is -1 (no
        move gets closer)."""
        return self._last(NOOP) if move < 0 else move

    def _act_near(
        self, view: WorldView, cells: np.ndarray, actions: Sequence[int], anchor: np.ndarray
    ) -> int:
        """The valid one of ``actions`` (one per row of ``cells``) nearest to cell ``anchor``, as the last
        action; when none is valid, a step toward ``anchor``."""
        action = view.nearest_valid(cells, actions, anchor=anchor + 0.5)
        if action >= 0:
            return self._last(action)
        return self._move_or_stop(view.move_toward(anchor, standoff=2.0))


class Wait(Option):
    """NOOP for ``steps`` steps (always available)."""

    uses_goal = False

    def __init__(self, steps: int = 4) -> None:
        self.steps = steps
        self.max_duration = steps
        self.name = f"wait_{steps}"

    def act(self, view: WorldView) -> int:
        """NOOP."""
        return NOOP

    def finished(self, view: WorldView, duration: int) -> bool:
        """After ``steps`` steps."""
        return duration >= self.steps


def incorrect_cells(view: WorldView) -> np.ndarray:
    """Cells ``(K, 3)`` (above the bedrock) whose block differs from the goal's."""
    wrong = view.blocks != view.goal
    wrong[:, 0, :] = False
    return np.argwhere(wrong)


def fix_actions(view: WorldView, cells: np.ndarray) -> list[int]:
    """The action that brings each cell one step closer to the goal: PLACE the goal's block into
    air, else BREAK the wrong block."""
    actions = []
    for cell in cells:
        x, y, z = cell
        if view.blocks[x, y, z] == AIR:
            actions.append(view.place_action(cell, view.goal[x, y, z]))
        else:
            actions.append(view.break_action(cell))
    return actions


class BuildLowestLayer(Option):
    """Place or clear the incorrect cells of the lowest unfinished layer, nearest first, moving
    closer when none can be fixed from here. Stops when that layer matches the goal, when it is
    stuck (no fix and no approaching move), or after ``max_duration`` steps. Reads the goal."""

    name = "build_lowest_layer"
    uses_goal = True
    max_duration = 20

    def available(self, view: WorldView) -> bool:
        """While some cell is incorrect."""
        return len(incorrect_cells(view)) > 0

    def begin(self, view: WorldView) -> None:
        """Fix the layer to work on."""
        super().begin(view)
        cells = incorrect_cells(view)
        self.layer = int(cells[:, 1].min()) if len(cells) else -1
        self.tried: set[tuple[int, int, int]] = set()

    def _layer_cells(self, view: WorldView) -> np.ndarray:
        cells = incorrect_cells(view)
        return cells[cells[:, 1] == self.layer]

    def act(self, view: WorldView) -> int:
        """Fix the nearest fixable cell of the layer, else step toward the nearest one."""
        cells = self._layer_cells(view)
        if len(cells) == 0:
            return self._last(NOOP)
        action = view.nearest_valid(cells, fix_actions(view, cells))
        if action >= 0:
            return action
        # Nothing fixable from here (out of reach or out of sight): go elsewhere, never back here;
        # stuck: give control back.
        self.tried.add(view.feet_key())  # type: ignore[arg-type]
        return self._move_or_stop(
            view.move_toward(nearest_cell(cells, view.eye()), standoff=2.0, avoid=self.tried)
        )

    def finished(self, view: WorldView, duration: int) -> bool:
        """The layer is done or the option is stuck."""
        return self._done or len(self._layer_cells(view)) == 0


class ClearWrongBlock(Option):
    """Break the nearest block that differs from the goal (one break), approaching it if needed.
    Reads the goal."""

    name = "clear_wrong_block"
    uses_goal = True
    max_duration = 8

    @staticmethod
    def _wrong_blocks(view: WorldView) -> np.ndarray:
        cells = incorrect_cells(view)
        return cells[view.blocks[cells[:, 0], cells[:, 1], cells[:, 2]] != AIR]

    def available(self, view: WorldView) -> bool:
        """While some placed block is wrong."""
        return len(self._wrong_blocks(view)) > 0

    def begin(self, view: WorldView) -> None:
        """Forget the positions tried."""
        super().begin(view)
        self.tried: set[tuple[int, int, int]] = set()

    def act(self, view: WorldView) -> int:
        """BREAK the nearest breakable wrong block, else approach one."""
        cells = self._wrong_blocks(view)
        if len(cells) == 0:
            return self._last(NOOP)
        action = view.nearest_valid(cells, [view.break_action(cell) for cell in cells])
        if action >= 0:
            return self._last(action)
        self.tried.add(view.feet_key())  # type: ignore[arg-type]
        return self._move_or_stop(
            view.move_toward(nearest_cell(cells, view.eye()), standoff=2.0, avoid=self.tried)
        )


class ApproachUnfinished(Option):
    """Move next to the nearest incorrect cell: stops as soon as some incorrect cell can be fixed
    from where the player stands, or when no move gets closer. Reads the goal."""

    name = "approach_unfinished"
    uses_goal = True
    max_duration = 10

    @staticmethod
    def _can_fix(view: WorldView, cells: np.ndarray) -> bool:
        return bool(len(cells)) and bool(view.mask[np.asarray(fix_actions(view, cells))].any())

    def available(self, view: WorldView) -> bool:
        """When some cell is incorrect but none can be fixed from here."""
        cells = incorrect_cells(view)
        return len(cells) > 0 and not self._can_fix(view, cells)

    def begin(self, view: WorldView) -> None:
        """Forget the positions tried."""
        super().begin(view)
        self.tried: set[tuple[int, int, int]] = set()

    def act(self, view: WorldView) -> int:
        """Step toward the nearest incorrect cell."""
        cells = incorrect_cells(view)
        if len(cells) == 0:
            return self._last(NOOP)
        self.tried.add(view.feet_key())  # type: ignore[arg-type]
        return self._move_or_stop(
            view.move_toward(nearest_cell(cells, view.eye()), standoff=2.0, avoid=self.tried)
        )

    def finished(self, view: WorldView, duration: int) -> bool:
        """Arrived (a fix is valid), stuck, or nothing left to fix."""
        cells = incorrect_cells(view)
        return self._done or self._can_fix(view, cells)


class ExtendHumanBuild(Option):
    """Continue a line the human is building: PLACE the block type the human last placed in an
    untouched air cell ``c`` whose two horizontal predecessors ``c − d`` and ``c − 2d`` are blocks of
    that type the human placed (walls and floors are made of such lines); the candidate nearest to
    the human's last placement first; one placement. Cells the human has touched (e.g. broke an
    earlier guess in) are never candidates, so it does not fight the human. Goal-free."""

    name = "extend_human_build"
    uses_goal = False
    max_duration = 8

    def _candidates(self, view: WorldView) -> np.ndarray:
        human_blocks = (view.blocks == self.block) & (view.last_interacted >= 2)
        untouched_air = (view.blocks == AIR) & (view.last_interacted == 0) & (view.players == 0)
        width, _, depth = view.shape
        candidate = np.zeros_like(untouched_air)
        for dx, _, dz in HORIZONTAL_NEIGHBOURS:
            # line[x, y, z]: human blocks at (x - dx, y, z - dz) and (x - 2dx, y, z - 2dz).
            line = np.zeros_like(human_blocks)
            for x in range(width):
                for z in range(depth):
                    x1, z1, x2, z2 = x - dx, z - dz, x - 2 * dx, z - 2 * dz
                    if 0 <= x2 < width and 0 <= z2 < depth and 0 <= x1 < width and 0 <= z1 < depth:
                        line[x, :, z] = human_blocks[x1, :, z1] & human_blocks[x2, :, z2]
            candidate |= line
        return np.argwhere(candidate & untouched_air)

    def available(self, view: WorldView) -> bool:
        """Once the human has placed a block this episode and there is room beside its blocks."""
        if view.activity.last_place is None:
            return False
        self.block = view.activity.last_place[1]
        return len(self._candidates(view)) > 0

    def begin(self, view: WorldView) -> None:
        """Remember the human's last placement."""
        super().begin(view)
        place = view.activity.last_place
        if place is None:
            raise ValueError("extend_human_build started before the human placed a block")
        self.anchor = np.asarray(place[0])
        self.block = place[1]

    def act(self, view: WorldView) -> int:
        """PLACE beside the human's blocks, else approach its last placement."""
        cells = self._candidates(view)
        return self._act_near(
            view, cells, [view.place_action(cell, self.block) for cell in cells], self.anchor
        )


class CopyHumanBreak(Option):
    """Break a block of the type the human last broke, in the same layer and beside a cell the
    human cleared (it is probably clearing a wrong area); one break. Goal-free."""

    name = "copy_human_break"
    uses_goal = False
    max_duration = 8

    def _candidates(self, view: WorldView) -> np.ndarray:
        if view.activity.last_break is None:
            return np.zeros((0, 3), dtype=np.int64)
        (x, y, z), block = view.activity.last_break
        cleared = np.argwhere((view.blocks[:, y, :] == AIR) & (view.last_interacted[:, y, :] >= 2))
        cells = set()
        width, _, depth = view.shape
        for cx, cz in cleared:
            for dx, _, dz in HORIZONTAL_NEIGHBOURS:
                nx, nz = cx + dx, cz + dz
                if 0 <= nx < width and 0 <= nz < depth and view.blocks[nx, y, nz] == block:
                    cells.add((int(nx), y, int(nz)))
        return np.array(sorted(cells), dtype=np.int64).reshape(-1, 3)

    def available(self, view: WorldView) -> bool:
        """Once the human has broken a block and same-type blocks lie beside what it cleared."""
        return len(self._candidates(view)) > 0

    def begin(self, view: WorldView) -> None:
        """Remember the human's last break."""
        super().begin(view)
        if view.activity.last_break is None:
            raise ValueError("copy_human_break started before the human broke a block")
        self.anchor = np.asarray(view.activity.last_break[0])

    def act(self, view: WorldView) -> int:
        """BREAK the candidate nearest to the human's last break, else approach it."""
        cells = self._candidates(view)
        return self._act_near(view, cells, [view.break_action(cell) for cell in cells], self.anchor)


class UndoHumanBreak(Option):
    """Put back the block the human last broke (a mistake-repair skill; useless when the human
    breaks on purpose, which a learner over options should find out). Goal-free."""

    name = "undo_human_break"
    uses_goal = False
    max_duration = 8

    def available(self, view: WorldView) -> bool:
        """When the human's last broken cell is still air."""
        last = view.activity.last_break
        return last is not None and view.blocks[last[0]] == AIR and view.players[last[0]] == 0

    def begin(self, view: WorldView) -> None:
        """Remember the cell and the block."""
        super().begin(view)
        if view.activity.last_break is None:
            raise ValueError("undo_human_break started before the human broke a block")
        cell, self.block = view.activity.last_break
        self.cell = np.asarray(cell)

    def act(self, view: WorldView) -> int:
        """PLACE the block back, else approach the cell."""
        if view.blocks[tuple(self.cell)] != AIR or self.block < FIRST_PLACEABLE:
            return self._last(NOOP)
        action = view.place_action(self.cell, self.block)
        if view.mask[action]:
            return self._last(action)
        return self._move_or_stop(view.move_toward(self.cell, standoff=2.0))


class GoNearHuman(Option):
    """Fly until within two cells (Chebyshev) of the human's feet, or no move gets closer. Goal-free."""

    name = "go_near_human"
    uses_goal = False
    max_duration = 10

    @staticmethod
    def _near(view: WorldView) -> bool:
        other, own = view.other_feet(), view.feet()
        return other is None or own is None or int(np.abs(other - own).max()) <= 2

    def available(self, view: WorldView) -> bool:
        """When the human is visible and farther than two cells."""
        return not self._near(view)

    def act(self, view: WorldView) -> int:
        """Step toward the human."""
        other = view.other_feet()
        if other is None:
            return self._last(NOOP)
        return self._move_or_stop(view.move_toward(other, standoff=1.5))

    def finished(self, view: WorldView, duration: int) -> bool:
        """Near the human, or stuck."""
        return self._done or self._near(view)


def builder_options() -> list[Option]:
    """The builder's options (they may read the goal)."""
    return [BuildLowestLayer(), ClearWrongBlock(), ApproachUnfinished(), Wait(4)]


def assistant_options() -> list[Option]:
    """The assistant's options (none reads the goal)."""
    return [ExtendHumanBuild(), CopyHumanBreak(), UndoHumanBreak(), GoNearHuman(), Wait(4)]


ROLE_OPTIONS = {"builder": builder_options, "assistant": assistant_options}
"""Role name -> factory of its option list."""


def role_for_env(env_id: str) -> str:
    """``"assistant"`` for the ``Assist`` ids, else ``"builder"``."""
    return "assistant" if "Assist" in env_id else "builder"


# ------------------------------------------------------------------------------------------ runner
class OptionRunner:
    """Runs options in one world: tracks the other player, starts options and steps them to their
    termination.

    Use: :meth:`reset` with the first observation; then :meth:`available` / :meth:`begin` when no
    option is active, :meth:`act` for each step and :meth:`observe` with every new observation
    (which ends the active option when its termination condition holds).

    Args:
        options: the options (see :func:`builder_options`, :func:`assistant_options`).
        goal_visible: whether the options may read the goal (the builder's role).

    Raises:
        ValueError: if ``goal_visible`` is False but an option reads the goal.
    """

    def __init__(self, options: Sequence[Option], goal_visible: bool) -> None:
        if not goal_visible:
            readers = [option.name for option in options if option.uses_goal]
            if readers:
                raise ValueError(f"options {readers} read the goal, which this role cannot see")
        self.options = list(options)
        self.goal_visible = goal_visible
        self.activity = HumanActivity()
        self.current: int | None = None
        self.duration = 0
        self._view: WorldView | None = None

    @property
    def names(self) -> list[str]:
        """The options' names."""
        return [option.name for option in self.options]

    def _make_view(self, observation: Mapping[str, np.ndarray]) -> WorldView:
        self._view = WorldView.from_observation(observation, self.goal_visible, self.activity)
        return self._view

    def reset(self, observation: Mapping[str, np.ndarray]) -> None:
        """Start of an episode."""
        self.activity.reset(np.asarray(observation["world"])[0])
        self.current = None
        self.duration = 0
        self._make_view(observation)

    def observe(self, observation: Mapping[str, np.ndarray]) -> bool:
        """Take in the observation after a step; end the active option if it terminates there.

        Returns:
            whether an option is still active.
        """
        world = np.asarray(observation["world"])
        self.activity.update(world[0], world[2])
        view = self._make_view(observation)
        if self.current is not None:
            option = self.options[self.current]
            if self.duration >= option.max_duration or option.finished(view, self.duration):
                self.current = None
        return self.current is not None

    def available(self) -> np.ndarray:
        """Which options may start in the last observed state ``(M,)`` bool (never all False: the
        last option, waiting, is always available)."""
        if self._view is None:
            raise RuntimeError("call reset() first")
        mask = np.array([option.available(self._view) for option in self.options], dtype=bool)
        if not mask.any():
            mask[-1] = True
        return mask

    def begin(self, index: int) -> None:
        """Start option ``index`` in the last observed state.

        Raises:
            ValueError: if the index is out of range or the option is not available here.
        """
        if self._view is None:
            raise RuntimeError("call reset() first")
        if not 0 <= index < len(self.options):
            raise ValueError(f"option index {index} is outside [0, {len(self.options)})")
        if not self.available()[index]:
            raise ValueError(f"option {self.options[index].name!r} is not available in this state")
        self.current = int(index)
        self.duration = 0
        self.options[index].begin(self._view)

    def act(self) -> int:
        """The active option's action in the last observed state.

        Raises:
            RuntimeError: if no option is active, or the option returned an invalid action (a bug).
        """
        if self.current is None or self._view is None:
            raise RuntimeError("no option is active: call begin() first")
        action = int(self.options[self.current].act(self._view))
        if not self._view.mask[action]:
            raise RuntimeError(f"option {self.options[self.current].name!r} chose invalid action {action}")
        self.duration += 1
        return action
