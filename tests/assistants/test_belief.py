"""The goal belief against brute-force posteriors, and how it reads the human's changes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mbag_env.assistants import GoalBelief, GoalPrior, HumanModelLikelihood, human_changes
from mbag_env.assistants.priors import initial_world
from mbag_env.blocks import (
    AIR,
    BEDROCK,
    DIRT,
    FIRST_PLACEABLE,
    GLASS,
    LOG,
    NUM_BLOCK_TYPES,
    PLANKS,
    STONE,
    WOOL,
)

TINY = (3, 4, 3)
NUM_PLACEABLE = 8


def cell(x: int, y: int, z: int) -> int:
    return int(np.ravel_multi_index((x, y, z), TINY))


def consistent(goal_flat: np.ndarray, change: tuple[int, int, int]) -> bool:
    """SPEC human model: a PLACE of b is correct iff θ_c = b, a BREAK of w iff θ_c != w."""
    position, old, new = change
    if old == AIR:
        return bool(goal_flat[position] == new)
    return bool(goal_flat[position] != old)


def likelihood(goal_flat: np.ndarray, changes: list[tuple[int, int, int]], epsilon: float) -> float:
    hit = 1 - epsilon + epsilon / NUM_PLACEABLE
    miss = epsilon / NUM_PLACEABLE
    return float(np.prod([hit if consistent(goal_flat, change) else miss for change in changes]))


def brute_force(
    goals: np.ndarray, prior: np.ndarray, changes: list[tuple[int, int, int]], epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior over ``goals (N, V)`` and the marginals ``(V, 10)``."""
    weights = np.array([p * likelihood(goal, changes, epsilon) for goal, p in zip(goals, prior, strict=True)])
    posterior = weights / weights.sum()
    marginals = np.zeros((goals.shape[1], NUM_BLOCK_TYPES))
    for goal, p in zip(goals, posterior, strict=True):
        marginals[np.arange(goals.shape[1]), goal] += p
    return posterior, marginals


def full_posterior(belief: GoalBelief, world: int = 0) -> np.ndarray:
    indices, probabilities = belief.posterior(world)
    out = np.zeros(belief.prior.size)
    out[indices] = probabilities
    return out


def tiny_goals() -> np.ndarray:
    goals = np.stack([initial_world(TINY) for _ in range(5)])
    goals[0][1, 2, 1] = STONE
    goals[1][1, 2, 1] = GLASS
    goals[2][1, 2, 1] = STONE
    goals[2][0, 2, 1] = PLANKS
    goals[3][1, 1, 1] = AIR
    goals[3][2, 2, 2] = WOOL
    goals[4][1, 2, 1] = STONE
    goals[4][1, 3, 1] = STONE
    return goals


FINITE_SET_CHANGES = [
    (cell(1, 2, 1), AIR, STONE),  # goals 0, 2, 4
    (cell(0, 2, 1), AIR, PLANKS),  # goal 2 only
    (cell(1, 1, 1), DIRT, AIR),  # break dirt: goal 3 only
    (cell(0, 3, 0), AIR, WOOL),  # air in every goal: a mistake under all of them
    (cell(1, 2, 1), STONE, AIR),  # undo the stone: goals 1 and 3
    (cell(1, 2, 1), AIR, GLASS),  # goal 1
    (cell(0, 0, 0), BEDROCK, AIR),  # a break no goal explains (bedrock stays)
]


@pytest.mark.parametrize("epsilon", [0.1, 0.35])
def test_finite_goal_set_posterior_matches_brute_force(epsilon: float) -> None:
    goals = tiny_goals()
    weights = np.array([0.1, 0.3, 0.2, 0.15, 0.25])
    prior = GoalPrior.from_goals(goals, weights=weights)
    belief = GoalBelief(prior, likelihood=HumanModelLikelihood(epsilon))
    flat = goals.reshape(len(goals), -1)
    _, marginals = brute_force(flat, weights, [], epsilon)
    np.testing.assert_allclose(belief.marginals(0), marginals, atol=1e-9)
    np.testing.assert_allclose(full_posterior(belief), weights, atol=1e-9)
    seen: list[tuple[int, int, int]] = []
    for change in FINITE_SET_CHANGES:
        belief.observe_change(0, *change)
        seen.append(change)
        posterior, marginals = brute_force(flat, weights, seen, epsilon)
        np.testing.assert_allclose(full_posterior(belief), posterior, atol=1e-9)
        np.testing.assert_allclose(belief.marginals(0), marginals, atol=1e-9)
        np.testing.assert_allclose(belief.marginals(0).sum(axis=1), 1.0)
    assert full_posterior(belief).argmax() == 1
    belief.reset()
    np.testing.assert_allclose(full_posterior(belief), weights, atol=1e-9)


def test_observe_change_rejects_changes_that_are_not_a_place_or_break() -> None:
    belief = GoalBelief(GoalPrior.from_goals(tiny_goals()))
    with pytest.raises(ValueError, match="must place or break"):
        belief.observe_change(0, cell(1, 2, 1), STONE, GLASS)
    with pytest.raises(ValueError, match="must place or break"):
        belief.observe_change(0, cell(1, 2, 1), AIR, AIR)
    with pytest.raises(ValueError, match="must place or break"):
        belief.observe_change(0, 10_000, AIR, STONE)
    with pytest.raises(ValueError, match=r"world must be in \[0, 1\)"):
        belief.observe_change(1, cell(1, 2, 1), AIR, STONE)
    with pytest.raises(ValueError, match="epsilon must lie in"):
        HumanModelLikelihood(1.0)
    with pytest.raises(ValueError, match="num_worlds"):
        GoalBelief(belief.prior, num_worlds=0)


def structure_examples() -> np.ndarray:
    examples = np.stack([initial_world(TINY) for _ in range(7)])
    examples[0][1, 2, 1] = STONE
    examples[1][1, 2, 1] = GLASS  # same structure as 0
    examples[2][1, 2, 1] = STONE
    examples[2][1, 3, 1] = PLANKS  # three classes: dirt, stone, planks
    examples[3][1, 2, 1] = STONE
    examples[3][1, 3, 1] = STONE
    examples[4][0, 1, 0] = WOOL  # the first appearing material is not dirt
    examples[4][0, 2, 0] = WOOL
    examples[5][1, 2, 1] = STONE  # a duplicate: twice the weight
    examples[6][1, 2, 1] = LOG
    examples[6][2, 2, 2] = GLASS
    examples[6][2, 3, 2] = LOG
    return examples


def enumerate_structure_prior(prior: GoalPrior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (structure, material assignment) of ``prior``: goals ``(M, V)``, their prior
    probabilities and the structure each comes from."""
    goals, probabilities, owners = [], [], []
    for n in range(prior.size):
        labels = prior.labels[:, n]
        classes = sorted({int(label) - 2 for label in labels if label >= 2})
        assert len(classes) <= 3, "keep the brute force small"
        for assignment in itertools.product(range(NUM_PLACEABLE), repeat=len(classes)):
            lut = np.array([AIR, BEDROCK] + [0] * NUM_PLACEABLE, dtype=np.uint8)
            probability = np.exp(prior.log_weights[n])
            for klass, material in zip(classes, assignment, strict=True):
                lut[2 + klass] = FIRST_PLACEABLE + material
                probability *= np.exp(prior.log_material_prior[n, klass, material])
            goals.append(lut[labels])
            probabilities.append(probability)
            owners.append(n)
    return np.array(goals), np.array(probabilities), np.array(owners)


STRUCTURE_CHANGES = [
    (cell(1, 2, 1), AIR, STONE),
    (cell(2, 1, 2), DIRT, AIR),  # unlikely: the dirt class is almost surely dirt
    (cell(1, 3, 1), AIR, PLANKS),
    (cell(2, 2, 2), AIR, GLASS),  # only structure 6 has a block there
    (cell(0, 2, 0), AIR, WOOL),
    (cell(1, 3, 1), PLANKS, AIR),
]


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_structure_posterior_matches_brute_force_over_materials(epsilon: float) -> None:
    prior = GoalPrior.from_examples(structure_examples(), symmetries=False)
    assert prior.size == 5
    goals, probabilities, owners = enumerate_structure_prior(prior)
    np.testing.assert_allclose(probabilities.sum(), 1.0)
    belief = GoalBelief(prior, likelihood=HumanModelLikelihood(epsilon))
    seen: list[tuple[int, int, int]] = []
    for change in [None, *STRUCTURE_CHANGES]:
        if change is not None:
            belief.observe_change(0, *change)
            seen.append(change)
        posterior, marginals = brute_force(goals, probabilities, seen, epsilon)
        np.testing.assert_allclose(belief.marginals(0), marginals, atol=1e-9)
        structures = np.bincount(owners, weights=posterior, minlength=prior.size)
        np.testing.assert_allclose(full_posterior(belief), structures, atol=1e-9)
    # The belief learnt the materials: one stone placement says its class is stone.
    marginals = belief.marginals(0)
    assert marginals[cell(1, 2, 1)].argmax() == STONE and marginals[cell(1, 2, 1), STONE] > 0.6
    assert marginals[cell(2, 2, 2), GLASS] > 3 * GoalBelief(prior).marginals(0)[cell(2, 2, 2), GLASS]


def test_human_changes_ignore_the_observers_own_changes() -> None:
    previous = initial_world(TINY)
    blocks = previous.copy()
    last = np.zeros(TINY, dtype=np.uint8)
    blocks[1, 2, 1] = STONE  # placed by the human (label 2)
    last[1, 2, 1] = 2
    blocks[0, 2, 0] = GLASS  # placed by the observer itself: ignored
    last[0, 2, 0] = 1
    blocks[2, 1, 2] = AIR  # the human broke the dirt
    last[2, 1, 2] = 2
    blocks[0, 1, 1] = AIR  # the observer broke this one: ignored
    last[0, 1, 1] = 1
    last[2, 1, 0] = 2  # interacted with earlier, unchanged: nothing to report
    changes = human_changes(previous, blocks, last)
    assert changes == [(cell(1, 2, 1), AIR, STONE), (cell(2, 1, 2), DIRT, AIR)]
    assert all(isinstance(value, int) for change in changes for value in change)
    assert human_changes(blocks, blocks, last) == []

    prior = GoalPrior.from_goals(tiny_goals())
    belief, manual = GoalBelief(prior), GoalBelief(prior)
    assert belief.observe(0, previous, blocks, last) == changes
    for change in changes:
        manual.observe_change(0, *change)
    np.testing.assert_allclose(belief.marginals(0), manual.marginals(0))
    np.testing.assert_allclose(full_posterior(belief), full_posterior(manual))
    assert not np.allclose(belief.marginals(0), GoalBelief(prior).marginals(0))


def random_step(rng: np.random.Generator, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A few random places and breaks above the bedrock, labelled human (2) or self (1)."""
    after = blocks.copy()
    last = np.zeros(TINY, dtype=np.uint8)
    for _ in range(rng.integers(0, 4)):
        x, y, z = rng.integers(0, TINY[0]), rng.integers(1, TINY[1]), rng.integers(0, TINY[2])
        after[x, y, z] = rng.choice([STONE, GLASS, PLANKS]) if after[x, y, z] == AIR else AIR
        last[x, y, z] = rng.integers(1, 3)
    return after, last


def test_observe_batch_matches_per_world_observe() -> None:
    prior = GoalPrior.from_examples(structure_examples(), symmetries=False)
    batch = GoalBelief(prior, num_worlds=3)
    singles = [GoalBelief(prior) for _ in range(3)]
    rng = np.random.default_rng(4)
    blocks = np.stack([initial_world(TINY)] * 3)
    for _ in range(5):
        steps = [random_step(rng, world) for world in blocks]
        after = np.stack([step[0] for step in steps])
        last = np.stack([step[1] for step in steps])
        changes = batch.observe_batch(blocks, after, last)
        for world, single in enumerate(singles):
            assert changes[world] == single.observe(0, blocks[world], after[world], last[world])
            np.testing.assert_allclose(batch.marginals(world), single.marginals(0), atol=1e-12)
            np.testing.assert_allclose(full_posterior(batch, world), full_posterior(single), atol=1e-12)
        blocks = after
    stacked = batch.batch_marginals()
    assert stacked.shape == (3, *TINY, NUM_BLOCK_TYPES)
    for world in range(3):
        np.testing.assert_allclose(stacked[world].reshape(-1, NUM_BLOCK_TYPES), batch.marginals(world))
    assert not np.allclose(stacked[0], stacked[1]), "the worlds saw different changes"
    batch.reset(1)
    np.testing.assert_allclose(batch.marginals(1), GoalBelief(prior).marginals(0))
    np.testing.assert_allclose(batch.marginals(0), singles[0].marginals(0))

    good = np.stack([initial_world(TINY)] * 3)
    with pytest.raises(ValueError, match="previous_blocks must have shape"):
        batch.observe_batch(good[:2], good, good)
    with pytest.raises(ValueError, match="blocks must have shape"):
        batch.observe_batch(good, good[:, :2], good)
    with pytest.raises(ValueError, match="last_interacted must have shape"):
        batch.observe_batch(good, good, good[0])


def outside_brute_force(
    prior_marginals: np.ndarray, changes: list[tuple[int, int, int]], epsilon: float
) -> tuple[float, np.ndarray]:
    """The outside component (cells independent, each with the candidates' prior marginal):
    its evidence and its posterior marginals, cell by cell over the ten block ids."""
    prior = np.maximum(prior_marginals, 1e-12)
    prior /= prior.sum(axis=1, keepdims=True)
    evidence = 1.0
    marginals = prior.copy()
    for position in {change[0] for change in changes}:
        weights = prior[position].copy()
        for block in range(NUM_BLOCK_TYPES):
            goal = np.zeros(prior.shape[0], dtype=np.uint8)
            goal[position] = block
            here = [change for change in changes if change[0] == position]
            weights[block] *= likelihood(goal, here, epsilon)
        evidence *= weights.sum()
        marginals[position] = weights / weights.sum()
    return evidence, marginals


@pytest.mark.parametrize("outside_mass", [0.2, 0.7])
def test_outside_component_matches_brute_force(outside_mass: float) -> None:
    epsilon = 0.1
    prior = GoalPrior.from_examples(structure_examples(), symmetries=False)
    goals, probabilities, _ = enumerate_structure_prior(prior)
    belief = GoalBelief(prior, likelihood=HumanModelLikelihood(epsilon), outside_mass=outside_mass)
    _, prior_marginals = brute_force(goals, probabilities, [], epsilon)
    np.testing.assert_allclose(belief.marginals(0), prior_marginals, atol=1e-9)
    # Each change fits another candidate and none fits them all: the outside component, free
    # to take each cell's likeliest block, takes over. The last change (a block where every
    # candidate has air, so the outside prior has it at 1e-12 too) moves nothing.
    changes = [
        (cell(1, 2, 1), AIR, STONE),
        (cell(2, 2, 2), AIR, GLASS),
        (cell(0, 2, 0), AIR, WOOL),
        (cell(1, 3, 1), AIR, PLANKS),
        (cell(0, 3, 2), AIR, GLASS),
    ]
    seen: list[tuple[int, int, int]] = []
    inside_probability = []
    for change in changes:
        belief.observe_change(0, *change)
        seen.append(change)
        inside_evidence = float(
            sum(p * likelihood(goal, seen, epsilon) for goal, p in zip(goals, probabilities, strict=True))
        )
        _, inside_marginals = brute_force(goals, probabilities, seen, epsilon)
        outside_evidence, outside_marginals = outside_brute_force(prior_marginals, seen, epsilon)
        inside = (1 - outside_mass) * inside_evidence
        weight = inside / (inside + outside_mass * outside_evidence)
        assert belief.candidate_probability(0) == pytest.approx(weight, abs=1e-9)
        expected = weight * inside_marginals + (1 - weight) * outside_marginals
        np.testing.assert_allclose(belief.marginals(0), expected, atol=1e-9)
        inside_probability.append(weight)
    # One change cannot tell them apart: the outside's cell marginal is the candidates' own.
    assert inside_probability[0] == pytest.approx(1 - outside_mass)
    assert inside_probability[-2] < (1 - outside_mass) / 5, "the outside component took over"
    assert inside_probability[-1] == pytest.approx(inside_probability[-2])
    with pytest.raises(ValueError, match="outside_mass must lie in"):
        GoalBelief(prior, outside_mass=1.0)


def test_observed_goal_belief_feeds_the_posterior_from_observation_streams() -> None:
    """ObservedGoalBelief equals GoalBelief.observe on consecutive observations (the observer's own
    changes ignored), restarts a world at timestep 0 and lays the marginals out block type first."""
    from mbag_env.assistants.belief import ObservedGoalBelief

    prior = GoalPrior.from_examples(structure_examples(), symmetries=False)
    observed = ObservedGoalBelief(GoalBelief(prior, num_worlds=2))
    manual = [GoalBelief(prior) for _ in range(2)]
    rng = np.random.default_rng(5)
    blocks = np.stack([initial_world(TINY)] * 2)
    world = np.zeros((2, 3, *TINY), dtype=np.uint8)
    for step in range(6):
        if step > 0:
            steps = [random_step(rng, row) for row in blocks]
            after = np.stack([s[0] for s in steps])
            world[:, 0], world[:, 2] = after, np.stack([s[1] for s in steps])
        else:
            after = blocks
            world[:, 0] = blocks
        timestep = np.array([step, step % 3])  # world 1 starts a new episode at step 3
        changes = observed.update({"world": world, "timestep": timestep})
        for index, single in enumerate(manual):
            if timestep[index] == 0:
                single.reset()
                assert changes[index] == []
            else:
                assert changes[index] == single.observe(0, blocks[index], after[index], world[index, 2])
        marginals = observed.marginals()
        assert marginals.shape == (2, NUM_BLOCK_TYPES, *TINY)
        for index, single in enumerate(manual):
            np.testing.assert_allclose(
                marginals[index].reshape(NUM_BLOCK_TYPES, -1).T, single.marginals(0), atol=1e-12
            )
        blocks = after.copy()
    assert not np.allclose(marginals[0], marginals[1]), "world 1 restarted at step 3"
    restarted = observed({"world": world, "timestep": np.array([6, 0])})
    np.testing.assert_allclose(restarted[1], np.moveaxis(GoalBelief(prior).batch_marginals(), -1, 1)[0])
    with pytest.raises(ValueError, match="observations must hold"):
        observed.update({"world": world[:1], "timestep": np.array([1])})
    with pytest.raises(ValueError, match="initial_blocks must have shape"):
        ObservedGoalBelief(GoalBelief(prior), initial_blocks=np.zeros((2, 2, 2), dtype=np.uint8))


def test_observed_goal_belief_matches_the_bayes_assistants_own_belief() -> None:
    """Fed the assistant's observations of a real episode, it holds the marginals the Bayesian
    assistant acts on (same prior, same human model)."""
    import gymnasium as gym

    import mbag_env  # noqa: F401
    from mbag_env.assistants import BayesAssistant, default_prior
    from mbag_env.assistants.belief import ObservedGoalBelief

    env = gym.make("mbag/Assist-Small-v0")
    assistant = BayesAssistant(env.unwrapped.config)  # type: ignore[attr-defined]
    observed = ObservedGoalBelief(GoalBelief(default_prior((6, 6, 6)), likelihood=HumanModelLikelihood(0.1)))
    observation, _ = env.reset(seed=3)
    changed = 0
    for _ in range(25):
        action = assistant.act(observation)
        batch = {key: np.asarray(observation[key])[None] for key in ("world", "timestep")}
        changed += len(observed.update(batch)[0])
        np.testing.assert_allclose(
            observed.marginals()[0].reshape(NUM_BLOCK_TYPES, -1).T, assistant.previous_marginals, atol=1e-12
        )
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    assert changed > 0, "the human changed something"
