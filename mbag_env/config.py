"""One validated configuration dataclass for every environment in the package.

All checks happen at construction, and every error names the field, the value given and the
values allowed, so that a typo in an experiment script fails at once with a useful message.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mbag_env.blocks import INFINITE_BLOCK_COUNT

MIN_WORLD_SIZE = (3, 4, 3)
MAX_WORLD_SIZE = (32, 32, 32)
DEFAULT_WORLD_SIZE = (11, 10, 10)
SMALL_WORLD_SIZE = (6, 6, 6)
MAX_PLAYERS = 8
MAX_HORIZON = 1_000_000_000
"""Largest ``horizon`` (and ``truncate_on_no_progress``): timesteps are observed as int32 (SPEC §5),
and this leaves room below 2**31 - 1 so that no counter can wrap."""
MAX_STARTING_INVENTORY = INFINITE_BLOCK_COUNT
"""Largest ``starting_inventory``: the inventory observation (int32) shows counts up to
:data:`mbag_env.blocks.INFINITE_BLOCK_COUNT` (the bound :mod:`mbag_env.core.validation` uses for
states), so a larger count would leave the observation space."""


@dataclass(frozen=True)
class RewardShaping:
    """Optional shaping terms added to one player's reward (all default to 0).

    Attributes:
        noop: added when the player's action is a no-op (NOOP, or an invalid action).
        action: added when the player's action is valid and not NOOP.
        incorrect_action: added when the player's place or break increases the edit distance.
        own_reward_prop: mix in [0, 1]: the player's goal reward is
            ``(1 - own_reward_prop) * shared + own_reward_prop * own``, where ``own`` is the
            edit-distance drop caused by this player's own action.
    """

    noop: float = 0.0
    action: float = 0.0
    incorrect_action: float = 0.0
    own_reward_prop: float = 0.0

    def __post_init__(self) -> None:
        for name in ("noop", "action", "incorrect_action", "own_reward_prop"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"RewardShaping.{name} must be a finite number, got {value!r}")
        if not 0.0 <= self.own_reward_prop <= 1.0:
            raise ValueError(
                f"RewardShaping.own_reward_prop must lie in [0, 1], got {self.own_reward_prop!r}"
            )

    def as_array(self) -> np.ndarray:
        """The four terms as float64, in the order noop, action, incorrect_action, own_reward_prop."""
        return np.array(
            [self.noop, self.action, self.incorrect_action, self.own_reward_prop], dtype=np.float64
        )

    def to_dict(self) -> dict[str, float]:
        """The four terms by name (JSON-ready; ``RewardShaping(**d)`` rebuilds it)."""
        return {
            "noop": self.noop,
            "action": self.action,
            "incorrect_action": self.incorrect_action,
            "own_reward_prop": self.own_reward_prop,
        }


@dataclass(frozen=True)
class MbagConfig:
    """Configuration of a game: world, players, abilities, rewards, episode limits and goals.

    Attributes:
        world_size: ``(W, H, D)`` = (x, y, z), y up; each between (3, 4, 3) and (32, 32, 32).
        num_players: number of players; player 0 is the goal-aware human (1..8).
        horizon: episode length after which the episode is truncated, in
            ``[1, MAX_HORIZON]`` (10**9, so the int32 timestep observation cannot wrap).
        goal: the goal source, see :func:`mbag_env.goals.make_goal_sampler`.
        goal_visible: per player, whether its observation has the goal channel: a tuple (or list)
            of ``num_players`` bools. ``None`` means only player 0 (the human) sees the goal.
        infinite_blocks: players hold unlimited blocks of every placeable type (no GIVE actions).
        starting_inventory: with ``infinite_blocks=False``, how many blocks of each placeable
            type every player holds at reset, in ``[0, MAX_STARTING_INVENTORY]`` (1,000,000: the
            most the int32 inventory observation shows).
        teleportation: players place and break anywhere, ignoring reach, sight and bodies.
        random_start_locations: start players in random valid cells instead of x=i, y=2, z=0.
        action_masks: include ``action_mask`` in observations.
        terminate_on_goal_complete: end the episode when the edit distance reaches 0.
        truncate_on_no_progress: truncate after this many steps without a new best goal
            percentage, in ``[1, MAX_HORIZON]`` (``None`` disables it).
        reward_shaping: one :class:`RewardShaping` for all players, or a tuple with one per player.
        uniform_spaces: give every agent the same observation space (a zero goal channel
            for players that may not see the goal).
    """

    world_size: tuple[int, int, int] = DEFAULT_WORLD_SIZE
    num_players: int = 2
    horizon: int = 1500
    goal: Any = "houses"  # any source mbag_env.goals.make_goal_sampler accepts
    goal_visible: tuple[bool, ...] | None = None
    infinite_blocks: bool = True
    starting_inventory: int = 0
    teleportation: bool = False
    random_start_locations: bool = False
    action_masks: bool = True
    terminate_on_goal_complete: bool = True
    truncate_on_no_progress: int | None = None
    reward_shaping: RewardShaping | tuple[RewardShaping, ...] = field(default_factory=RewardShaping)
    uniform_spaces: bool = False

    def __post_init__(self) -> None:
        size = self.world_size
        if (
            not isinstance(size, (tuple, list))
            or len(size) != 3
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in size)
        ):
            raise ValueError(f"MbagConfig.world_size must be three integers (W, H, D), got {size!r}")
        object.__setattr__(self, "world_size", tuple(int(s) for s in size))
        for axis, value, low, high in zip(
            "WHD", self.world_size, MIN_WORLD_SIZE, MAX_WORLD_SIZE, strict=True
        ):
            if not low <= value <= high:
                raise ValueError(
                    f"MbagConfig.world_size {axis}={value} is outside the allowed range "
                    f"[{low}, {high}] (sizes from {MIN_WORLD_SIZE} to {MAX_WORLD_SIZE} are supported)"
                )
        _check_int("num_players", self.num_players, 1, MAX_PLAYERS)
        _check_int("horizon", self.horizon, 1, MAX_HORIZON)
        _check_int("starting_inventory", self.starting_inventory, 0, MAX_STARTING_INVENTORY)
        if self.truncate_on_no_progress is not None:
            _check_int("truncate_on_no_progress", self.truncate_on_no_progress, 1, MAX_HORIZON)
        for name in ("num_players", "horizon", "starting_inventory", "truncate_on_no_progress"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        for name in (
            "infinite_blocks",
            "teleportation",
            "random_start_locations",
            "action_masks",
            "terminate_on_goal_complete",
            "uniform_spaces",
        ):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"MbagConfig.{name} must be True or False, got {getattr(self, name)!r}")
        if self.goal_visible is not None:
            given = self.goal_visible
            if not isinstance(given, (tuple, list)) or not all(
                isinstance(v, (bool, np.bool_)) for v in given
            ):
                raise ValueError(
                    f"MbagConfig.goal_visible must be None or a tuple of True/False, one per player, "
                    f"got {given!r}"
                )
            visible = tuple(bool(v) for v in given)
            if len(visible) != self.num_players:
                raise ValueError(
                    f"MbagConfig.goal_visible must have one entry per player ({self.num_players}), "
                    f"got {len(visible)}"
                )
            object.__setattr__(self, "goal_visible", visible)
        shaping = self.reward_shaping
        if isinstance(shaping, RewardShaping):
            pass
        elif isinstance(shaping, (tuple, list)) and all(isinstance(s, RewardShaping) for s in shaping):
            if len(shaping) != self.num_players:
                raise ValueError(
                    f"MbagConfig.reward_shaping must have one RewardShaping per player "
                    f"({self.num_players}), got {len(shaping)}"
                )
            object.__setattr__(self, "reward_shaping", tuple(shaping))
        else:
            raise ValueError(
                f"MbagConfig.reward_shaping must be a RewardShaping or a tuple of them, got {shaping!r}"
            )

    @property
    def players_see_goal(self) -> tuple[bool, ...]:
        """Per player, whether it observes the goal (default: only player 0)."""
        if self.goal_visible is not None:
            return self.goal_visible
        return tuple(i == 0 for i in range(self.num_players))

    def shaping_array(self) -> np.ndarray:
        """Reward shaping as a float64 ``(num_players, 4)`` array (see :class:`RewardShaping`)."""
        shaping = self.reward_shaping
        rows = [shaping] * self.num_players if isinstance(shaping, RewardShaping) else list(shaping)
        return np.stack([row.as_array() for row in rows])

    def replace(self, **changes: Any) -> MbagConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (as episode recordings store them); a non-string goal
        source becomes its description. :meth:`from_dict` rebuilds the config."""
        shaping = self.reward_shaping
        return {
            "world_size": list(self.world_size),
            "num_players": self.num_players,
            "horizon": self.horizon,
            "goal": self.goal if isinstance(self.goal, str) else f"<{type(self.goal).__name__}>",
            "goal_visible": None if self.goal_visible is None else list(self.goal_visible),
            "infinite_blocks": bool(self.infinite_blocks),
            "starting_inventory": self.starting_inventory,
            "teleportation": bool(self.teleportation),
            "random_start_locations": bool(self.random_start_locations),
            "action_masks": bool(self.action_masks),
            "terminate_on_goal_complete": bool(self.terminate_on_goal_complete),
            "truncate_on_no_progress": self.truncate_on_no_progress,
            "reward_shaping": (
                shaping.to_dict()
                if isinstance(shaping, RewardShaping)
                else [item.to_dict() for item in shaping]
            ),
            "uniform_spaces": bool(self.uniform_spaces),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], goal: Any) -> MbagConfig:
        """Rebuild a config from :meth:`to_dict` output, with ``goal`` as its goal source.

        Raises:
            ValueError: as the constructor does, for a value it does not accept.
        """
        fields = dict(values)
        fields["world_size"] = tuple(fields["world_size"])
        if fields.get("goal_visible") is not None:
            fields["goal_visible"] = tuple(fields["goal_visible"])
        fields["reward_shaping"] = reward_shaping_from_plain(fields["reward_shaping"])
        fields["goal"] = goal
        return cls(**fields)


def reward_shaping_from_plain(value: Any) -> Any:
    """``reward_shaping`` as plain data gives it (:meth:`MbagConfig.to_dict`, JSON ``env_kwargs`` on a
    command line): a mapping of :class:`RewardShaping` fields becomes one, a list of such mappings a
    tuple (one per player); anything else is returned as is, for :class:`MbagConfig` to check.

    Raises:
        ValueError: for a mapping with a field :class:`RewardShaping` does not have.
    """

    def build(item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        unknown = set(item) - {f.name for f in dataclasses.fields(RewardShaping)}
        if unknown:
            raise ValueError(f"reward_shaping has unknown fields {sorted(unknown)}")
        return RewardShaping(**item)

    if isinstance(value, (list, tuple)):
        return tuple(build(item) for item in value)
    return build(value)


def _check_int(name: str, value: Any, low: int, high: int | None) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"MbagConfig.{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"MbagConfig.{name}={value} is outside the allowed range {allowed}")
