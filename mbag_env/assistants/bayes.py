"""The Bayesian-belief assistant: infer θ from the human's changes, act on the posterior.

:class:`BayesAssistant` plays the assistant's seat of ``mbag/Assist-v0`` from its observations
alone. Each step it

1. reads the human's places and breaks since its previous observation from the blocks and the
   ``last_interacted`` channel, and updates its :class:`~.belief.GoalBelief` over the prior's
   candidate houses (the human model is in :mod:`.belief`);
2. scores every cell by the expected drop in edit distance of acting there under the posterior
   marginals ``p_c(b) = p(θ_c = b | history)``: placing ``b`` on air gains ``2 p_c(b) − 1``,
   breaking a block ``w`` gains ``1 − 2 p_c(w)`` (an exact consequence of the edit distance of
   SPEC §4: a correct action is +1, any wrong one −1);
3. keeps the cells whose gain passes ``threshold`` and that it may touch (below), takes the best
   valid place/break among them (largest gain, then the one farthest from the human), else flies
   toward the nearest spot from which it could act on one of them (a breadth-first search over
   body positions), else gets out of the way: it flies to the nearest spot outside the likely
   house, under open sky, and waits there (:func:`move_out_of_the_way`).

**Staying out of the human's way.** Cells the human has placed or broken are never touched
(the human knows θ; undoing its work only costs both of them), and the only blocks the assistant
breaks are its own (it fixes its own mistakes but never digs into the ground or a block it did not
place: the human, who knows θ, works bottom-up and does that, while a wrong break by the assistant
deep inside a house can leave a hole the human can no longer reach). Cells close to the human — within
``human_radius`` of its feet — are left to it: the human is about to act there, and a block put
in front of it either takes the cell it was flying to or blocks its path. The assistant never
places a block into the human's body column or the cell above its head, so it cannot shut the
human in from above. A human that has neither moved nor changed a block for :data:`STUCK_STEPS`
steps is taken to be blocked: the spot the assistant stands on stops being a parking spot.

**Checking its own belief.** The prior is a sample of houses; when the true house is unlike all
of them the posterior can be confident and wrong. Before each human change is absorbed, the
assistant scores what its belief predicted for that cell (:class:`PredictionRecord`) and acts
only while the estimated share of its confident predictions that came true passes
``min_precision``; otherwise it waits out of the way and keeps scoring, and resumes once the human's
changes confirm the belief again.

It never reads θ, the env's state or ``info``: it is built from the world's public settings
(size, players, inventory and teleport rules) and sees only the observations passed to
:meth:`BayesAssistant.act`. A new episode is recognised by ``observation["timestep"] == 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numba
import numpy as np

from mbag_env.assistants.belief import SELF_LABEL, GoalBelief, HumanModelLikelihood
from mbag_env.assistants.priors import GoalPrior, default_prior, initial_world
from mbag_env.blocks import AIR, FIRST_PLACEABLE, IS_BREAKABLE, NUM_PLACEABLE
from mbag_env.config import MbagConfig
from mbag_env.core import state
from mbag_env.core.actions import NOOP, break_action, cell_coordinates, cell_index, place_action
from mbag_env.core.jit import kernel
from mbag_env.core.rules import feet_cell
from mbag_env.goals.datasets import load_shipped_goals
from mbag_env.humans.goal_seeking import (
    NO_CELL,
    human_scratch_size,
    path_to_work,
    push_neighbours,
    start_search,
)

PARKING_AIR = 0.95
"""A parking spot's cells must be air in θ with at least this posterior probability."""

STUCK_STEPS = 8
"""When the human has neither moved nor changed a block for this many steps, the cells the
assistant's body stands in are no longer parking spots for the rest of the episode: a human
that waits that long usually cannot reach its next cell, and a wrong belief can park the
assistant in exactly that cell (seen at 11×10×10: a roof ridge left unbuilt for 1,200 steps)."""


@dataclass(frozen=True)
class BayesSettings:
    """How the Bayesian assistant acts (chosen on training houses; see ``docs/results.md``).

    Attributes:
        threshold: act on a cell only when the expected edit-distance drop passes this, in
            ``[0, 1)`` (0.6: place a block only when its posterior probability is above 0.8).
        epsilon: the assumed human's mistake rate (:class:`~.belief.HumanModelLikelihood`).
        outside_mass: prior probability that the goal is none of the prior's candidates
            (:class:`~.belief.GoalBelief`); ignored (taken as 0) for an exact finite goal set.
        human_radius: leave cells within this Euclidean distance of the human's feet to the
            human (0 turns it off).
        max_targets: how many of the best cells the path search aims for when none can be
            acted on from where the assistant stands.
        min_precision: the posterior predictive check (:class:`PredictionRecord`): act only
            while the estimated share of the belief's confident predictions of the human's
            changes that came true is at least this (0 turns the check off).
    """

    threshold: float = 0.6
    epsilon: float = 0.1
    outside_mass: float = 0.0
    human_radius: float = 0.0
    max_targets: int = 16
    min_precision: float = 0.75

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold < 1.0:
            raise ValueError(f"threshold must lie in [0, 1), got {self.threshold!r}")
        HumanModelLikelihood(self.epsilon)
        if not 0.0 <= self.outside_mass < 1.0:
            raise ValueError(f"outside_mass must lie in [0, 1), got {self.outside_mass!r}")
        if not self.human_radius >= 0.0:
            raise ValueError(f"human_radius must be >= 0, got {self.human_radius!r}")
        if self.max_targets < 1:
            raise ValueError(f"max_targets must be >= 1, got {self.max_targets!r}")
        if not 0.0 <= self.min_precision <= 1.0:
            raise ValueError(f"min_precision must lie in [0, 1], got {self.min_precision!r}")

    @property
    def confident_probability(self) -> float:
        """The posterior probability at which placing a block passes :attr:`threshold`."""
        return (1.0 + self.threshold) / 2.0


PRECISION_PRIOR = (3.0, 1.0)
"""Beta pseudo-counts (right, wrong) of :class:`PredictionRecord`: the belief starts trusted
(estimate 0.75), and one miss early in an episode stops the assistant until three hits."""


@dataclass
class PredictionRecord:
    """A posterior predictive check of the belief against the human's own changes.

    The prior is only a sample of houses; when the true house is unlike all of them (a larger
    world, another generator) the posterior can be confident and wrong, and an assistant acting
    on it fills the house with blocks the human must break. So before each human change is
    absorbed, the assistant looks at what its belief said about that cell: a confident
    prediction (probability at least :attr:`BayesSettings.confident_probability` for one block
    type) that the human's change confirms is a hit, one it contradicts is a miss, and the human
    breaking a block the assistant placed is a miss. A human who breaks a block it placed itself
    corrects its own mistake: the miss that placement scored is taken back. The share of hits,
    estimated with the :data:`PRECISION_PRIOR` pseudo-counts, is the precision the assistant's
    own confident placements can expect; it acts only while that passes
    :attr:`BayesSettings.min_precision`.
    """

    hits: int = 0
    misses: int = 0
    missed_cells: set[int] = field(default_factory=set)
    """Cells where a human placement scored a miss (taken back if the human breaks it)."""

    @property
    def precision(self) -> float:
        """The estimated share of confident predictions that come true."""
        right, wrong = PRECISION_PRIOR
        return (self.hits + right) / (self.hits + self.misses + right + wrong)

    def score(
        self, cell: int, marginals: np.ndarray | None, old: int, new: int, undoes_own: bool, confident: float
    ) -> None:
        """Score the belief's ``marginals`` row ``(10,)`` for ``cell`` (``None``: no prediction
        yet) against the human's change ``old → new``; ``undoes_own``: the cell held a block the
        assistant placed."""
        if undoes_own:
            self.misses += 1
            return
        if new == AIR and cell in self.missed_cells:
            self.missed_cells.discard(cell)
            self.misses -= 1
            return
        if marginals is None:
            return
        if new != AIR:
            placeable = marginals[FIRST_PLACEABLE : FIRST_PLACEABLE + NUM_PLACEABLE]
            if placeable.max() < confident:
                return
            if FIRST_PLACEABLE + int(placeable.argmax()) == new:
                self.hits += 1
            else:
                self.misses += 1
                self.missed_cells.add(cell)
        elif marginals[AIR] >= confident:
            self.hits += 1
        elif marginals[old] >= confident:
            self.misses += 1


class BayesAssistant:
    """The Bayesian-belief assistant (module docstring).

    Args:
        config: the world's settings; only its public rules are read (size, number of players,
            ``infinite_blocks``, ``teleportation``), never its goal.
        prior: the candidate goals; default :func:`~.priors.default_prior` for the world size
            (training-split houses and their symmetric copies).
        settings: acting parameters (:class:`BayesSettings`).
        player: the assistant's seat (default 1); every other player is treated as the human.

    Raises:
        ValueError: if the prior's world size differs from the config's.
    """

    name = "bayes"

    def __init__(
        self,
        config: MbagConfig,
        prior: GoalPrior | None = None,
        settings: BayesSettings | None = None,
        player: int = 1,
    ) -> None:
        self.world_size = tuple(config.world_size)
        self.prior = default_prior(self.world_size) if prior is None else prior
        if self.prior.world_size != self.world_size:
            raise ValueError(
                f"the prior's world size {self.prior.world_size} differs from the world's {self.world_size}"
            )
        if not 0 <= player < config.num_players:
            raise ValueError(f"player must be in [0, {config.num_players}), got {player!r}")
        self.settings = BayesSettings() if settings is None else settings
        self.player = int(player)
        self.num_players = int(config.num_players)
        self.params = np.zeros(state.NUM_PARAMS, dtype=np.int64)
        self.params[state.PARAM_NUM_PLAYERS] = config.num_players
        self.params[state.PARAM_INFINITE_BLOCKS] = config.infinite_blocks
        self.params[state.PARAM_TELEPORTATION] = config.teleportation
        self.belief = GoalBelief(
            self.prior,
            1,
            HumanModelLikelihood(self.settings.epsilon),
            outside_mass=self.settings.outside_mass if self.prior.open_world else 0.0,
        )
        self.scratch = np.zeros(human_scratch_size(self.world_size), dtype=np.int32)
        self._start_episode()

    def _start_episode(self) -> None:
        self.belief.reset()
        self.previous_blocks = initial_world(self.world_size)
        self.previous_own = np.zeros(int(np.prod(self.world_size)), dtype=np.bool_)
        self.human_touched = np.zeros(int(np.prod(self.world_size)), dtype=np.bool_)
        self.previous_marginals: np.ndarray | None = None
        self.record = PredictionRecord()
        self.previous_human: tuple[int, ...] | None = None
        self.human_still_steps = 0
        self.not_parking = np.zeros(int(np.prod(self.world_size)), dtype=np.bool_)

    def reset(self) -> None:
        """Forget the episode (called automatically when an observation has timestep 0)."""
        self._start_episode()

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Update the belief on the human's changes and choose an action (module docstring).

        Raises:
            ValueError: when the observation has no ``action_mask`` (make the env with
                ``action_masks=True``, the default) or a world of another size.
        """
        world = np.asarray(observation["world"])
        if world.shape[1:] != self.world_size:
            raise ValueError(f"observation world {world.shape[1:]} does not match {self.world_size}")
        if "action_mask" not in observation:
            raise ValueError(
                "the bayes assistant needs observation['action_mask']; create the env with action_masks=True"
            )
        if np.asarray(observation["timestep"]).item() == 0:  # (1,), or 0-d as before
            self._start_episode()
        blocks, players, last_interacted = world[0], world[1], world[2]
        confident = self.settings.confident_probability
        changes = self.belief.observe(0, self.previous_blocks, blocks, last_interacted)
        for cell, old, new in changes:
            self.human_touched[cell] = True
            prediction = None if self.previous_marginals is None else self.previous_marginals[cell]
            self.record.score(cell, prediction, old, new, bool(self.previous_own[cell]), confident)
        self.previous_blocks = blocks.copy()
        self.previous_own = last_interacted.ravel() == SELF_LABEL
        marginals = self.belief.marginals(0)
        self.previous_marginals = marginals
        gains, blocks_to_place = expected_gains(marginals, blocks.ravel())
        player_ints = players_from_observation(
            players, self.player, self.num_players, observation["inventory"]
        )
        self._note_a_waiting_human(player_ints, bool(changes))
        allowed = self._allowed_cells(blocks, last_interacted, player_ints)
        air_probability = np.where(self.not_parking, 0.0, marginals[:, AIR])
        return int(
            choose_action(
                blocks,
                player_ints,
                self.params,
                self.player,
                np.asarray(observation["action_mask"], dtype=np.bool_),
                gains,
                blocks_to_place,
                allowed,
                air_probability,
                self.settings.threshold,
                self.settings.max_targets,
                self.scratch,
            )
        )

    def _note_a_waiting_human(self, player_ints: np.ndarray, human_changed: bool) -> None:
        """Count the steps the human has neither moved nor changed a block; after
        :data:`STUCK_STEPS` of them, the assistant's body cells stop being parking spots."""
        human = tuple(
            int(player_ints[seat, field])
            for seat in range(self.num_players)
            if seat != self.player
            for field in (state.PLAYER_X, state.PLAYER_Y, state.PLAYER_Z)
        )
        still = not human_changed and human == self.previous_human
        self.previous_human = human
        self.human_still_steps = self.human_still_steps + 1 if still else 0
        if self.human_still_steps >= STUCK_STEPS:
            x, y, z = (
                int(player_ints[self.player, k]) for k in (state.PLAYER_X, state.PLAYER_Y, state.PLAYER_Z)
            )
            width, height, depth = self.world_size
            for body in (y, y + 1):
                if 0 <= y and body < height:
                    self.not_parking[(x * height + body) * depth + z] = True
            self.human_still_steps = 0

    def _allowed_cells(
        self, blocks: np.ndarray, last_interacted: np.ndarray, player_ints: np.ndarray
    ) -> np.ndarray:
        """Cells the assistant may act on: air it may fill, or blocks it placed itself; never the
        human's cells, nor those in front of the human."""
        if self.record.precision < self.settings.min_precision:
            return np.zeros(blocks.size, dtype=np.bool_)
        allowed = ~self.human_touched & ((blocks.ravel() == AIR) | (last_interacted.ravel() == SELF_LABEL))
        width, height, depth = self.world_size
        grid = allowed.reshape(self.world_size)
        for other in range(self.num_players):
            if other == self.player or player_ints[other, state.PLAYER_Y] < 0:
                continue
            x, y, z = (int(player_ints[other, k]) for k in (state.PLAYER_X, state.PLAYER_Y, state.PLAYER_Z))
            grid[x, y:, z] = False  # its body and the column above its head
            radius = self.settings.human_radius
            if radius > 0:
                xs, ys, zs = np.ogrid[:width, :height, :depth]
                grid &= (xs - x) ** 2 + (ys - y) ** 2 + (zs - z) ** 2 > radius**2
        return allowed


def expected_gains(marginals: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The expected edit-distance drop of the best place or break at every cell.

    Args:
        marginals: ``(V, 10)`` ``p(θ_c = b)``.
        blocks: ``(V,)`` the current blocks.

    Returns:
        ``(gains, blocks_to_place)``: ``float64 (V,)`` the expected drop (``2 p_c(b) − 1`` for
        the likeliest placeable ``b`` on air, ``1 − 2 p_c(w)`` for breaking a breakable ``w``,
        ``-inf`` where neither applies) and ``int64 (V,)`` that ``b`` (0 where not air).
    """
    placeable = marginals[:, FIRST_PLACEABLE : FIRST_PLACEABLE + NUM_PLACEABLE]
    best = placeable.argmax(axis=1)
    cells = np.arange(len(blocks))
    gains = np.full(len(blocks), -np.inf)
    air = blocks == AIR
    gains[air] = 2.0 * placeable[cells[air], best[air]] - 1.0
    breakable = IS_BREAKABLE[blocks]
    gains[breakable] = 1.0 - 2.0 * marginals[cells[breakable], blocks[breakable]]
    blocks_to_place = np.where(air, best + FIRST_PLACEABLE, 0).astype(np.int64)
    return gains, blocks_to_place


def players_from_observation(
    players: np.ndarray, player: int, num_players: int, inventory: np.ndarray
) -> np.ndarray:
    """Player rows (positions, and the observer's inventory) rebuilt from the players channel.

    The channel labels the observer 1 and the others 2, 3, … in seat order; a player's feet are
    the lower of its two cells. A player not seen gets ``y = -1``.
    """
    rows = np.zeros((num_players, state.NUM_PLAYER_FIELDS), dtype=np.int64)
    others = [seat for seat in range(num_players) if seat != player]
    for seat in range(num_players):
        label = SELF_LABEL if seat == player else 2 + others.index(seat)
        xs, ys, zs = np.nonzero(players == label)
        if len(xs) == 0:
            rows[seat, state.PLAYER_Y] = -1
            continue
        lowest = int(np.argmin(ys))
        rows[seat, state.PLAYER_X], rows[seat, state.PLAYER_Y], rows[seat, state.PLAYER_Z] = (
            xs[lowest],
            ys[lowest],
            zs[lowest],
        )
    inventory = np.asarray(inventory, dtype=np.int64)
    rows[player, state.PLAYER_INVENTORY : state.PLAYER_INVENTORY + len(inventory)] = inventory
    for seat in others:  # others' inventories are not observed; they never matter to our moves
        rows[seat, state.PLAYER_INVENTORY : state.PLAYER_INVENTORY + len(inventory)] = (
            state.INFINITE_BLOCK_COUNT
        )
    return rows


@numba.njit(cache=True)
def choose_action(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    mask: np.ndarray,
    gains: np.ndarray,
    blocks_to_place: np.ndarray,
    allowed: np.ndarray,
    air_probability: np.ndarray,
    threshold: float,
    max_targets: int,
    scratch: np.ndarray,
) -> int:
    """The assistant's action given the expected gains (see the module docstring).

    Among allowed cells whose gain passes ``threshold``: the valid place/break with the
    largest gain (ties: farthest from the other players); else the first move toward the best
    ``max_targets`` of them; else :func:`move_out_of_the_way` (``air_probability``: the
    marginal ``p(θ_c = air)`` per flat cell).
    """
    _, height, depth = blocks.shape
    num_cells = blocks.size
    best_action = -1
    best_gain = -1.0
    best_far = -1.0
    candidates = np.empty(num_cells, dtype=np.int64)
    count = 0
    for cell in range(num_cells):
        gain = gains[cell]
        if not allowed[cell] or not gain > threshold:
            continue
        candidates[count] = cell
        count += 1
        x, y, z = cell_coordinates(cell, height, depth)
        if blocks[x, y, z] == AIR:
            action = place_action(blocks_to_place[cell] - FIRST_PLACEABLE, cell, num_cells)
        else:
            action = break_action(cell, num_cells)
        if not mask[action]:
            continue
        far = 1e9
        for other in range(player_ints.shape[0]):
            if other == player or player_ints[other, state.PLAYER_Y] < 0:
                continue
            dx = x - player_ints[other, state.PLAYER_X]
            dy = y - player_ints[other, state.PLAYER_Y]
            dz = z - player_ints[other, state.PLAYER_Z]
            far = min(far, float(dx * dx + dy * dy + dz * dz))
        if gain > best_gain + 1e-12 or (abs(gain - best_gain) <= 1e-12 and far > best_far):
            best_action = action
            best_gain = gain
            best_far = far
    if best_action >= 0:
        return best_action
    if params[state.PARAM_TELEPORTATION] != 0:
        return NOOP
    if count > 0:
        order = np.argsort(-gains[candidates[:count]])
        targets = np.empty(min(count, max_targets), dtype=np.int32)
        for k in range(targets.shape[0]):
            targets[k] = candidates[order[k]]
        direction = path_to_work(blocks, player_ints, params, player, scratch, targets, False)
        if 0 <= direction < 6:
            return 1 + direction
    return move_out_of_the_way(blocks, player_ints, params, player, air_probability, scratch)


@kernel()
def move_out_of_the_way(
    blocks: np.ndarray,
    player_ints: np.ndarray,
    params: np.ndarray,
    player: int,
    air_probability: np.ndarray,
    scratch: np.ndarray,
) -> int:
    """The first move toward the nearest *parking spot*, NOOP when standing on one or none is
    reachable.

    A parking spot is a body position whose two cells and every cell above them will likely
    stay air (``air_probability`` at least :data:`PARKING_AIR` under the belief): outside the
    house and under open sky, where the assistant blocks neither a doorway nor the human's way
    to a roof. Breadth-first search over body positions.
    """
    _, height, depth = blocks.shape
    first_move, queue = start_search(scratch, blocks.size, 0, feet_cell(blocks, player_ints, player))
    head = 0
    tail = 1
    while head < tail:
        position = queue[head]
        head += 1
        x, y, z = cell_coordinates(position, height, depth)
        clear = True
        for above in range(y, height):
            if (
                blocks[x, above, z] != AIR
                or air_probability[cell_index(x, above, z, height, depth)] < PARKING_AIR
            ):
                clear = False
                break
        if clear:
            return NOOP if first_move[position] == 6 else 1 + first_move[position]
        tail = push_neighbours(
            blocks, player_ints, params, player, first_move, queue, tail, position, NO_CELL
        )
    return NOOP


BAYES_OPTIONS = ("prior", "threshold", "epsilon", "outside", "radius", "precision")
"""Option names of a ``bayes:name=value,...`` assistant spec."""

OPTION_FIELDS = {"radius": "human_radius", "outside": "outside_mass", "precision": "min_precision"}
"""Spec options whose :class:`BayesSettings` field has another name."""


def parse_bayes_spec(text: str) -> tuple[str, BayesSettings]:
    """Read ``"bayes"`` or ``"bayes:name=value,..."`` (names :data:`BAYES_OPTIONS`).

    ``prior`` is ``default`` (the structures of the shipped training houses,
    :func:`~.priors.default_prior`), ``dataset:train`` or ``dataset:test`` (the exact posterior
    over that shipped set; the test set holds the answer, so it is a privileged reference, not
    a fair assistant) or a path to an ``.npz`` goal dataset (exact posterior over its goals).

    Returns:
        ``(prior source, settings)``.

    Raises:
        ValueError: for another name, an unknown option or a bad value (the message names it).
    """
    name, _, rest = text.strip().partition(":")
    if name != "bayes":
        raise ValueError(f"not a bayes assistant spec: {text!r}")
    values: dict[str, Any] = {}
    prior = "default"
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = (piece.strip() for piece in item.partition("="))
        if not equals or key not in BAYES_OPTIONS:
            raise ValueError(f"bad bayes option {item!r} in {text!r}; options are {', '.join(BAYES_OPTIONS)}")
        if key == "prior":
            prior = value
            continue
        try:
            field = OPTION_FIELDS.get(key, key)
            values[field] = float(value)
        except ValueError:
            raise ValueError(f"bayes option {key}={value!r} is not a number") from None
    if not (prior in ("default", "dataset:train", "dataset:test") or prior.endswith(".npz")):
        raise ValueError(
            f"bayes prior must be default, dataset:train, dataset:test or an .npz path, got {prior!r}"
        )
    return prior, BayesSettings(**values)


def prior_from_source(source: str, world_size: tuple[int, int, int]) -> GoalPrior:
    """The prior a :func:`parse_bayes_spec` source names, for ``world_size`` (cached per process).

    Raises:
        ValueError: if nothing ships for that world size, or the file's goals have another size.
        GoalFileError: if the ``.npz`` file cannot be read.
    """
    if source == "default":
        return default_prior(tuple(world_size))
    prior = _cached_prior(source, tuple(world_size))
    if prior.world_size != tuple(world_size):
        raise ValueError(f"the goals of {source} are {prior.world_size}, the world is {tuple(world_size)}")
    return prior


@lru_cache(maxsize=4)
def _cached_prior(source: str, world_size: tuple[int, int, int]) -> GoalPrior:
    if source.startswith("dataset:"):
        split = source.partition(":")[2]
        return GoalPrior.from_goals(load_shipped_goals(split, world_size), name=f"shipped {split} houses")
    return GoalPrior.from_file(source)


def make_bayes_assistant(text: str, config: MbagConfig, player: int = 1) -> BayesAssistant:
    """A :class:`BayesAssistant` for the world ``config`` from a spec such as ``"bayes"`` or
    ``"bayes:threshold=0.5,prior=dataset:train"`` (:func:`parse_bayes_spec`)."""
    source, settings = parse_bayes_spec(text)
    width, height, depth = config.world_size
    return BayesAssistant(config, prior_from_source(source, (width, height, depth)), settings, player)
