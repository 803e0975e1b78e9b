"""The belief over the goal θ: a posterior over a :class:`~.priors.GoalPrior`'s structures and
their materials.

**What it observes.** Only what the assistant's observation shows: the blocks and the
``last_interacted`` channel. A cell whose block changed between two consecutive observations
and whose ``last_interacted`` label is not the observer's own (label 1) was changed by the
human (:func:`human_changes`). Nothing else is read: not θ, not the env's random state, not
``info``.

**The human model it assumes** (:class:`HumanModelLikelihood`): each change the human makes
is, with probability ``1 − ε``, a correct one under θ (a PLACE of block ``b`` at a cell where
``θ_c = b``; a BREAK of block ``w`` where ``θ_c ≠ w``) and, with probability ``ε``, a random
one, any particular random change having probability ``1 / 8`` (one of the eight placeable
types). So a change multiplies the probability of every goal consistent with it by ``1 − ε +
ε/8`` and of every other goal by ``ε/8``. What the human does not do (moves, no-ops, the
order of its work) is not used: that would tie the belief to one scripted human. The ``ε``
term keeps the posterior proper when no candidate explains everything: each candidate's
weight falls by a constant factor per contradicted change, so the marginals come from the
candidates that contradict fewest.

**Exact inference.** A goal is a structure ``s`` plus a material ``m_i`` for each of its
classes, with the classes' materials independent a priori. A change at cell ``c`` concerns only
the class ``s`` has there, so the posterior keeps, per candidate and class, the log-likelihood
of each of the eight materials; a candidate's evidence is the product over classes of
``Σ_m prior(m) · likelihood(m)`` (times the fixed factors of changes on its air and bedrock
cells), and the marginal ``p(θ_c = b)`` sums the candidates' weights times their class's
material posterior. Nothing is sampled: for a finite goal set (materials fixed) it is the
exact posterior over the set.

**The outside component.** When θ's structure is in none of the candidates (common in large
worlds, where houses vary far more), the posterior would still pick the candidates that fit best
and predict their unseen cells with unearned confidence. So the prior can hold, with probability
``outside_mass``, an *outside* goal whose cells are independent, each distributed as the
candidates' prior marginal. Its evidence is exact too (a product over cells), and the marginals
are the mixture of the two components' marginals weighted by their posterior probabilities.
The outside component gains weight when different candidates explain different changes (it
can mix them cell by cell); a change that every candidate contradicts alike moves nothing,
since the outside cell prior is the candidates' own marginal. Measured on 11×10×10 training
houses it did not stop the assistant's wrong placements, so the assistant's default is
``outside_mass = 0`` (an option: ``bayes:outside=0.5``).

:class:`GoalBelief` keeps the posterior of a batch of worlds (one row of log-weights each) and
gives the per-cell marginals ``p(θ_c = b | history)`` (:meth:`GoalBelief.marginals`) that the
Bayesian assistant acts on and that learned goal heads can be compared with.
:class:`ObservedGoalBelief` feeds one from a batch of observation streams (e.g. a vector env's),
as the Bayesian assistant feeds its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np

from mbag_env.assistants.priors import FIRST_CLASS, NUM_CLASSES, GoalPrior, initial_world
from mbag_env.blocks import AIR, FIRST_PLACEABLE, NUM_BLOCK_TYPES, NUM_PLACEABLE

SELF_LABEL = 1
"""The ``last_interacted`` (and players) label of the observer itself."""

PRUNE_LOG_RATIO = 30.0
"""Candidates whose log-weight falls this far below the best are dropped from a world's active
set (a weight ratio below 1e-13: no longer visible in any marginal). With a mistake-tolerant
human model a dropped candidate could in principle come back after many more changes; at this
margin it would need ten more contradictions by every better candidate than by itself."""


@dataclass(frozen=True)
class HumanModelLikelihood:
    """The assumed human: a correct change under θ with probability ``1 − epsilon``, a random
    one otherwise (module docstring).

    Raises:
        ValueError: if ``epsilon`` is not in ``(0, 1)``.
    """

    epsilon: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < float(self.epsilon) < 1.0:
            raise ValueError(f"epsilon must lie in (0, 1) (exclusive), got {self.epsilon!r}")

    @property
    def log_consistent(self) -> float:
        """Log-likelihood of a change consistent with the candidate goal."""
        return float(np.log(1.0 - self.epsilon + self.epsilon / NUM_PLACEABLE))

    @property
    def log_inconsistent(self) -> float:
        """Log-likelihood of a change the candidate goal contradicts."""
        return float(np.log(self.epsilon / NUM_PLACEABLE))


def human_changes(
    previous_blocks: np.ndarray, blocks: np.ndarray, last_interacted: np.ndarray
) -> list[tuple[int, int, int]]:
    """The human's place/break changes between two consecutive observations of one world.

    Args:
        previous_blocks: ``(W, H, D)`` blocks of the earlier observation.
        blocks: ``(W, H, D)`` blocks of the later one.
        last_interacted: ``(W, H, D)`` the later observation's ``last_interacted`` channel
            (1 = the observer, 2.. = other players).

    Returns:
        ``(flat cell, old block, new block)`` for every changed cell the observer did not
        change itself, in cell order.
    """
    changed = np.flatnonzero((blocks != previous_blocks).ravel() & (last_interacted.ravel() != SELF_LABEL))
    before = previous_blocks.ravel()
    after = blocks.ravel()
    return [(int(c), int(before[c]), int(after[c])) for c in changed]


class GoalBelief:
    """The posterior over a prior's candidates and their materials, for a batch of worlds.

    Args:
        prior: the candidates and their prior weights.
        num_worlds: rows of the batch.
        likelihood: the assumed human model (default ``epsilon = 0.1``).
        outside_mass: prior probability that θ is none of the candidates (the *outside*
            component of the module docstring); 0 for a goal set known to hold θ.

    Each world keeps the material log-likelihoods of its candidates and an *active set* of the
    candidates within :data:`PRUNE_LOG_RATIO` of its best one; updates and marginals cost time
    in the size of the active set, which shrinks fast once the human has made a few changes.
    """

    def __init__(
        self,
        prior: GoalPrior,
        num_worlds: int = 1,
        likelihood: HumanModelLikelihood | None = None,
        outside_mass: float = 0.0,
    ) -> None:
        if num_worlds < 1:
            raise ValueError(f"num_worlds must be >= 1, got {num_worlds}")
        self.prior = prior
        self.num_worlds = int(num_worlds)
        self.likelihood = HumanModelLikelihood() if likelihood is None else likelihood
        if not 0.0 <= outside_mass < 1.0:
            raise ValueError(f"outside_mass must lie in [0, 1), got {outside_mass!r}")
        self.outside_mass = float(outside_mass)
        self._class_evidence_prior = _logsumexp(prior.log_material_prior, axis=2)  # zeros (normalised)
        self._worlds: list[_WorldPosterior] = [self._fresh() for _ in range(self.num_worlds)]
        self._candidate_prior_marginals = self._candidate_marginals(self._worlds[0])
        self._log_outside_prior = np.log(np.maximum(self._candidate_prior_marginals, 1e-12))
        self._prior_marginals = self._candidate_prior_marginals
        for posterior in self._worlds:
            posterior.marginals = self._prior_marginals

    def _fresh(self) -> _WorldPosterior:
        size = self.prior.size
        return _WorldPosterior(
            active=np.arange(size, dtype=np.int64),
            log_weights=self.prior.log_weights.copy(),
            material_log_likelihood=np.zeros((size, NUM_CLASSES, NUM_PLACEABLE)),
            class_evidence=self._class_evidence_prior.copy(),
            outside_log_likelihood=np.zeros((self.prior.labels.shape[0], NUM_BLOCK_TYPES)),
            outside_log_evidence=0.0,
            marginals=getattr(self, "_prior_marginals", None),
        )

    def reset(self, world: int | None = None) -> None:
        """Back to the prior, for one world or (``None``) all of them."""
        worlds = range(self.num_worlds) if world is None else [self._check_world(world)]
        for index in worlds:
            self._worlds[index] = self._fresh()

    def observe_change(self, world: int, cell: int, old_block: int, new_block: int) -> None:
        """Update world ``world`` on one change the human made at flat ``cell``.

        A PLACE (``old_block`` air) is consistent with goals whose block there is ``new_block``;
        a BREAK (``new_block`` air) with those whose block differs from ``old_block``.

        Raises:
            ValueError: for a change that is neither a place nor a break.
        """
        posterior = self._worlds[self._check_world(world)]
        placing = old_block == AIR
        if placing == (new_block == AIR) or not (0 <= cell < self.prior.labels.shape[0]):
            raise ValueError(
                f"a change must place or break a block in the world, got {old_block} -> {new_block} at {cell}"
            )
        block = new_block if placing else old_block
        hit, miss = self.likelihood.log_consistent, self.likelihood.log_inconsistent
        # The outside component: cells independent, each with the prior's marginal.
        per_block = np.full(NUM_BLOCK_TYPES, miss if placing else hit)
        per_block[block] = hit if placing else miss
        cell_scores = self._log_outside_prior[cell] + posterior.outside_log_likelihood[cell]
        before = _logsumexp(cell_scores, axis=0)
        posterior.outside_log_evidence += float(_logsumexp(cell_scores + per_block, axis=0) - before)
        posterior.outside_log_likelihood[cell] += per_block
        active = posterior.active
        labels = self.prior.labels[cell, active].astype(np.int64)
        # Air and bedrock are fixed: the change is consistent or not whatever the materials.
        fixed = labels < FIRST_CLASS
        fixed_consistent = (labels[fixed] == block) if placing else (labels[fixed] != block)
        posterior.log_weights[active[fixed]] += np.where(fixed_consistent, hit, miss)
        # A material class: the likelihood of each of its eight possible materials.
        classed = active[~fixed]
        classes = labels[~fixed] - FIRST_CLASS
        per_material = np.full(NUM_PLACEABLE, miss if placing else hit)
        if FIRST_PLACEABLE <= block < FIRST_PLACEABLE + NUM_PLACEABLE:
            per_material[block - FIRST_PLACEABLE] = hit if placing else miss
        likelihood = posterior.material_log_likelihood
        likelihood[classed, classes] += per_material
        new_evidence = _logsumexp(
            self.prior.log_material_prior[classed, classes] + likelihood[classed, classes], axis=1
        )
        posterior.log_weights[classed] += new_evidence - posterior.class_evidence[classed, classes]
        posterior.class_evidence[classed, classes] = new_evidence
        best = posterior.log_weights[active].max()
        posterior.active = active[posterior.log_weights[active] >= best - PRUNE_LOG_RATIO]
        posterior.marginals = None

    def observe(
        self, world: int, previous_blocks: np.ndarray, blocks: np.ndarray, last_interacted: np.ndarray
    ) -> list[tuple[int, int, int]]:
        """Update world ``world`` on the human's changes between two observations
        (:func:`human_changes`); return those changes."""
        changes = human_changes(previous_blocks, blocks, last_interacted)
        for cell, old, new in changes:
            self.observe_change(world, cell, old, new)
        return changes

    def observe_batch(
        self, previous_blocks: np.ndarray, blocks: np.ndarray, last_interacted: np.ndarray
    ) -> list[list[tuple[int, int, int]]]:
        """Update every world of the batch on the human's changes between two observations.

        Args:
            previous_blocks: ``(B, W, H, D)`` blocks of the earlier observations.
            blocks: ``(B, W, H, D)`` blocks of the later ones.
            last_interacted: ``(B, W, H, D)`` the later observations' ``last_interacted``
                channel (from the observer's point of view: 1 = itself).

        Returns:
            Each world's changes (:func:`human_changes`).

        Raises:
            ValueError: if the shapes do not match the batch.
        """
        shape = (self.num_worlds, *self.prior.world_size)
        for name, array in (
            ("previous_blocks", previous_blocks),
            ("blocks", blocks),
            ("last_interacted", last_interacted),
        ):
            if np.shape(array) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(array)}")
        return [
            self.observe(world, previous_blocks[world], blocks[world], last_interacted[world])
            for world in range(self.num_worlds)
        ]

    def marginals(self, world: int) -> np.ndarray:
        """``float64 (V, 10)``: ``p(θ_c = b | history)`` for world ``world`` (rows sum to 1)."""
        posterior = self._worlds[self._check_world(world)]
        if posterior.marginals is None:
            posterior.marginals = self._compute_marginals(posterior)
        return posterior.marginals

    def batch_marginals(self) -> np.ndarray:
        """``float64 (B, W, H, D, 10)``: the marginals of every world of the batch."""
        shape = (*self.prior.world_size, NUM_BLOCK_TYPES)
        return np.stack([self.marginals(world).reshape(shape) for world in range(self.num_worlds)])

    def posterior(self, world: int) -> tuple[np.ndarray, np.ndarray]:
        """``(candidate indices, probabilities)`` of world ``world``'s active candidates."""
        posterior = self._worlds[self._check_world(world)]
        return posterior.active.copy(), _normalised(posterior.log_weights[posterior.active])

    def active_size(self, world: int) -> int:
        """Number of candidates still in world ``world``'s active set."""
        return int(len(self._worlds[self._check_world(world)].active))

    def candidate_probability(self, world: int) -> float:
        """The posterior probability that θ is one of the candidates (1 − that of the outside
        component; always 1 with ``outside_mass = 0``)."""
        return self._candidate_probability(self._worlds[self._check_world(world)])

    def _candidate_probability(self, posterior: _WorldPosterior) -> float:
        if self.outside_mass == 0.0:
            return 1.0
        inside = np.log1p(-self.outside_mass) + float(
            _logsumexp(posterior.log_weights[posterior.active], axis=0)
        )
        outside = np.log(self.outside_mass) + posterior.outside_log_evidence
        return float(1.0 / (1.0 + np.exp(outside - inside)))

    def _compute_marginals(self, posterior: _WorldPosterior) -> np.ndarray:
        inside = self._candidate_marginals(posterior)
        if self.outside_mass == 0.0:
            return inside
        weight = self._candidate_probability(posterior)
        scores = self._log_outside_prior + posterior.outside_log_likelihood
        outside = np.exp(scores - scores.max(axis=1, keepdims=True))
        outside /= outside.sum(axis=1, keepdims=True)
        return weight * inside + (1.0 - weight) * outside

    def _candidate_marginals(self, posterior: _WorldPosterior) -> np.ndarray:
        active = posterior.active
        weights = _normalised(posterior.log_weights[active])
        scores = self.prior.log_material_prior[active] + posterior.material_log_likelihood[active]
        materials = np.exp(scores - scores.max(axis=2, keepdims=True))
        materials /= materials.sum(axis=2, keepdims=True)
        return _weighted_marginals(self.prior.labels, active, weights, materials)

    def _check_world(self, world: int) -> int:
        if not 0 <= int(world) < self.num_worlds:
            raise ValueError(f"world must be in [0, {self.num_worlds}), got {world!r}")
        return int(world)


class ObservedGoalBelief:
    """A :class:`GoalBelief` fed from a batch of observation streams, one per world, the way the
    Bayesian assistant feeds its own: from the observer's observations alone.

    Each :meth:`update` takes the observers' next observations. A world whose ``timestep`` is 0
    starts a new episode: its posterior goes back to the prior and that observation becomes the
    baseline (nobody has acted yet). Every other world is updated on the human's changes since
    its previous observation (:meth:`GoalBelief.observe_batch`, i.e. :func:`human_changes`:
    cells whose block changed and whose ``last_interacted`` label is not the observer's own,
    :data:`SELF_LABEL`). Before the first update the baseline is ``initial_blocks`` (as the
    Bayesian assistant's is :func:`~.priors.initial_world`).

    Args:
        belief: the posterior to feed (its ``num_worlds`` is the batch size).
        initial_blocks: ``(W, H, D)`` blocks assumed before the first observation (default:
            :func:`~.priors.initial_world` of the prior's world size).
    """

    def __init__(self, belief: GoalBelief, initial_blocks: np.ndarray | None = None) -> None:
        self.belief = belief
        shape = tuple(belief.prior.world_size)
        start = initial_world(shape) if initial_blocks is None else np.asarray(initial_blocks, dtype=np.uint8)
        if start.shape != shape:
            raise ValueError(f"initial_blocks must have shape {shape}, got {start.shape}")
        self.previous_blocks = np.repeat(start[None], belief.num_worlds, axis=0)

    def update(self, observations: Mapping[str, np.ndarray]) -> list[list[tuple[int, int, int]]]:
        """Absorb the next observation of every world.

        Args:
            observations: ``world`` ``(B, C, W, H, D)`` (channel 0 the blocks, channel 2
                ``last_interacted`` from the observer's point of view) and ``timestep`` ``(B,)``.

        Returns:
            Each world's human changes since its previous observation (none for a world whose
            episode just started).

        Raises:
            ValueError: if the observations do not match the batch or the prior's world size.
        """
        world = np.asarray(observations["world"])
        timestep = np.asarray(observations["timestep"]).reshape(-1)
        expected = (self.belief.num_worlds, *self.belief.prior.world_size)
        if world.ndim != 5 or (world.shape[0], *world.shape[2:]) != expected or len(timestep) != expected[0]:
            raise ValueError(
                f"observations must hold world (B, C, W, H, D) and timestep (B,) with (B, W, H, D) = "
                f"{expected}, got world {world.shape} and timestep {timestep.shape}"
            )
        blocks, last_interacted = world[:, 0], world[:, 2]
        for index in np.flatnonzero(timestep == 0):
            self.belief.reset(int(index))
            self.previous_blocks[index] = blocks[index]
        changes = self.belief.observe_batch(self.previous_blocks, blocks, last_interacted)
        self.previous_blocks = blocks.astype(np.uint8, copy=True)
        return changes

    def marginals(self) -> np.ndarray:
        """``float64 (B, 10, W, H, D)``: ``p(θ_c = b | history)`` of every world, block type
        first as a network's goal head lays it out (:meth:`GoalBelief.batch_marginals`
        transposed)."""
        return np.moveaxis(self.belief.batch_marginals(), -1, 1)

    def __call__(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """:meth:`update` on ``observations``, then the :meth:`marginals` ``(B, 10, W, H, D)``."""
        self.update(observations)
        return self.marginals()


@dataclass(eq=False)
class _WorldPosterior:
    """One world's posterior: active candidates, their log-weights (prior × evidence), the
    per-class material log-likelihoods and class evidences, the outside component's per-cell
    log-likelihoods and log evidence, and the cached marginals."""

    active: np.ndarray
    log_weights: np.ndarray
    material_log_likelihood: np.ndarray
    class_evidence: np.ndarray
    outside_log_likelihood: np.ndarray
    outside_log_evidence: float
    marginals: np.ndarray | None


def _normalised(log_weights: np.ndarray) -> np.ndarray:
    shifted = np.exp(log_weights - log_weights.max())
    return shifted / shifted.sum()


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    top = values.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.exp(values - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


@numba.njit(cache=True)
def _weighted_marginals(
    labels: np.ndarray, active: np.ndarray, weights: np.ndarray, materials: np.ndarray
) -> np.ndarray:
    """``out[c, b]`` = Σ_k weights[k] · p_k(θ_c = b), where candidate ``active[k]``'s label at
    ``c`` is air, bedrock or a class whose material posterior is ``materials[k, class]``."""
    num_cells = labels.shape[0]
    out = np.zeros((num_cells, NUM_BLOCK_TYPES))
    for c in range(num_cells):
        row = labels[c]
        for k in range(active.shape[0]):
            label = row[active[k]]
            if label < FIRST_CLASS:
                out[c, label] += weights[k]
            else:
                material = materials[k, label - FIRST_CLASS]
                for m in range(NUM_PLACEABLE):
                    out[c, FIRST_PLACEABLE + m] += weights[k] * material[m]
    return out
