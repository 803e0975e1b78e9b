"""AssistanceZero's tree: it plans with the core's rules, finds the optimal move of a known MDP, with a
perfect goal head its expected rewards are exactly the env's rewards, and it follows the reference
implementation's conventions (rewards, value normalisation, visit-count exponent, two-level noise)."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest

import mbag_env  # noqa: F401
from baselines.assistance_zero.mcts import (  # mcts imports tree_kernels inside mbag_env's kernel cache
    BatchedMCTS,
    SearchConfig,
    SearchResult,
    completed_q,
    completed_q_policy,
    most_visited,
    top_k_policy,
    tree_kernels,
    two_level_dirichlet_noise,
    visit_policy,
)
from baselines.assistance_zero.replay import ReplayBuffer
from baselines.assistance_zero.train import _store_episode
from mbag_env.blocks import AIR, BEDROCK, DIRT, FIRST_PLACEABLE, NUM_BLOCK_TYPES, NUM_PLACEABLE, PLANKS
from mbag_env.config import MbagConfig, RewardShaping
from mbag_env.core.actions import FIRST_PLACE, NOOP
from mbag_env.core.state import ENV_TIMESTEP
from tests.baselines.conftest import one_block_goal

WORLD = (6, 6, 6)


def one_hot(values: np.ndarray, classes: int) -> np.ndarray:
    """``(n, *shape)`` ids as ``(n, classes, *shape)`` float32 one-hot."""
    return np.moveaxis(np.eye(classes, dtype=np.float32)[values], -1, 1)


def uniform_evaluator(goal_visible: bool) -> Callable[..., tuple[np.ndarray, ...]]:
    """A network that knows nothing: uniform prior over valid actions, value 0, and the belief of a
    goal-visible player (the observed goal) or a uniform belief."""

    def evaluate(world, timestep, mask, human_mask):  # type: ignore[no-untyped-def]
        prior = mask / mask.sum(axis=1, keepdims=True)
        if goal_visible:
            belief = one_hot(world[:, 3], NUM_BLOCK_TYPES)
        else:
            belief = np.full((len(world), NUM_BLOCK_TYPES, *world.shape[2:]), 0.1, dtype=np.float32)
        human = human_mask / human_mask.sum(axis=1, keepdims=True)
        return prior.astype(np.float32), np.zeros(len(world), np.float32), belief, human.astype(np.float32)

    return evaluate


def goal_prior_evaluator(weight: float = 0.8) -> Callable[..., tuple[np.ndarray, ...]]:
    """A goal-visible network whose prior has half-learned the goal: ``weight`` split evenly between
    each correct PLACE (the goal's block on a cell still air) and a decoy (a wrong block on the same
    cell), the rest uniform over the valid actions; value 0, the observed goal as belief."""
    uniform = uniform_evaluator(True)

    def evaluate(world, timestep, mask, human_mask):  # type: ignore[no-untyped-def]
        prior, value, belief, human = uniform(world, timestep, mask, human_mask)
        prior *= 1 - weight
        cells = world.shape[2] * world.shape[3] * world.shape[4]
        for row in range(len(world)):
            blocks, goal = world[row, 0].ravel(), world[row, 3].ravel()
            targets = np.flatnonzero((blocks == AIR) & (goal != AIR))
            actions = []
            for cell in targets:
                wrong = DIRT if goal[cell] != DIRT else PLANKS
                place = FIRST_PLACE + (int(goal[cell]) - FIRST_PLACEABLE) * cells + cell
                decoy = FIRST_PLACE + (wrong - FIRST_PLACEABLE) * cells + cell
                actions += [a for a in (place, decoy) if mask[row, a]]
            for action in actions:
                prior[row, action] += weight / len(actions)
            if not actions:
                prior[row] /= prior[row].sum()
        return prior, value, belief, human

    return evaluate


def place_planks(x: int, z: int) -> int:
    """The flat action placing planks at ``(x, 2, z)`` of the small world (6×6×6, 216 cells)."""
    return FIRST_PLACE + (PLANKS - DIRT) * 216 + (x * 6 + 2) * 6 + z


def goal_visible_search(
    goal: np.ndarray, config: SearchConfig, evaluate: Callable[..., tuple[np.ndarray, ...]]
) -> tuple[BatchedMCTS, SearchResult, dict[str, np.ndarray]]:
    """AlphaZero mode (θ visible, the builder plans): one tree searched with ``config`` and ``evaluate``
    from the start of ``mbag/Build-Small-v0`` with ``goal``; the search, its result and the start's
    observation."""
    env = gym.make("mbag/Build-Small-v0", goal=goal)
    observation, _ = env.reset(seed=0)
    search = BatchedMCTS(env.unwrapped.config, 0, 1, config, goal_visible=True)
    result = search.search(observation["world"][None], np.array([0]), evaluate, np.random.default_rng(0))
    return search, result, observation


@pytest.mark.parametrize("bilevel", [True, False])
def test_search_finds_the_optimal_action_of_a_one_block_goal(bilevel: bool) -> None:
    """AlphaZero mode (θ visible): the correct PLACE, given the same prior as a wrong block on the same
    cell, is the most visited, and its backed-up value is exactly 1 (reward +1, then the goal is
    complete: a terminal node). (Unvisited edges get no reward bonus, as in the reference: a uniform
    prior would leave one correct action among ~100 unfound in 40 simulations.)"""
    goal = one_block_goal((2, 2, 2), PLANKS)
    config = SearchConfig(num_simulations=40, bilevel=bilevel, dirichlet_epsilon=0.0)
    search, result, observation = goal_visible_search(goal, config, goal_prior_evaluator())
    correct = place_planks(2, 2)
    assert observation["action_mask"][correct] and observation["action_mask"].sum() > 50
    assert result.visits.sum() == 40
    assert result.visits[0].argmax() == correct
    edge_q = search.forest.edge_value[0, 0, correct] / search.forest.edge_visits[0, 0, correct]
    assert edge_q == pytest.approx(1.0)
    # A wrong block at the same cell is worth -1 at once (and 0 after), never preferred.
    wrong = correct - 216
    assert result.visits[0, wrong] <= 1
    # The tree planned on the core's state: the child of the correct move has the goal built.
    child = search.forest.node_first_child[0, 0, correct]
    np.testing.assert_array_equal(search.forest.node_blocks[0, child], goal)
    assert search.forest.node_terminal[0, child]


def test_first_play_reward_ablation_finds_the_rewarding_action_under_a_uniform_prior() -> None:
    """The ablation ``first_play_reward`` values unvisited edges at V + E[r(a)]: with a prior that knows
    nothing, the one correct PLACE among ~100 is found and most visited within 40 simulations, which
    the reference's rule does not do."""
    goal = one_block_goal((2, 2, 2), PLANKS)
    correct = place_planks(2, 2)
    visits = {}
    for ablation in (True, False):
        config = SearchConfig(num_simulations=40, dirichlet_epsilon=0.0, first_play_reward=ablation)
        _, result, _ = goal_visible_search(goal, config, uniform_evaluator(True))
        visits[ablation] = result.visits[0]
    assert visits[True].argmax() == correct and visits[True][correct] > 20
    assert visits[False][correct] <= 1


def test_search_backs_up_discounted_returns_over_two_steps() -> None:
    """A two-block goal (prior as in the test above): the best first move is one of the two correct
    places, then the other one, worth exactly 1 (it ends the episode): the root's mean return tends to
    1 + γ·1."""
    goal = one_block_goal((2, 2, 2), PLANKS)
    goal[3, 2, 2] = PLANKS
    gamma = 0.9
    config = SearchConfig(num_simulations=60, dirichlet_epsilon=0.0, gamma=gamma)
    search, result, _ = goal_visible_search(goal, config, goal_prior_evaluator())
    forest = search.forest
    first, second = place_planks(2, 2), place_planks(3, 2)
    best = int(result.visits[0].argmax())
    assert best in (first, second)
    child = forest.node_first_child[0, 0, best]
    assert forest.node_env[0, child, ENV_TIMESTEP] == 1
    then = int(forest.edge_visits[0, child].argmax())
    assert then == (second if best == first else first)
    assert forest.edge_value[0, child, then] / forest.edge_visits[0, child, then] == pytest.approx(1.0)
    # The root's mean return mixes the line's 1 + γ with the few exploring samples below it.
    q = forest.edge_value[0, 0, best] / forest.edge_visits[0, 0, best]
    assert 1 + gamma - 0.3 < q < 1 + gamma


def _random_valid(mask: np.ndarray, rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(mask)))


ASSISTANT_SHAPING = [{}, {"noop": 0.25, "action": -0.125, "incorrect_action": -1.5}]
"""Shaping terms for the assistant only (the human's reward is not the tree's)."""


@pytest.mark.parametrize("shaping", [None, ASSISTANT_SHAPING], ids=["unshaped", "shaped"])
def test_perfect_goal_head_gives_the_env_reward(shaping: list[dict[str, float]] | None) -> None:
    """With p̂(θ|h) = the true θ, the tree's expected reward of a (human, assistant) step equals the env's
    reward for the same two actions (with the assistant's shaping terms too: NOOP, action and
    incorrect action), and the tree's next state equals the env's (also when both act on the same
    cell)."""
    chosen = {"human": NOOP}
    kwargs = {} if shaping is None else {"reward_shaping": shaping}
    env = gym.make(
        "mbag/Assist-Small-v0",
        goal="houses:train",
        human_policy=lambda observation: chosen["human"],
        **kwargs,
    )
    rng = np.random.default_rng(3)
    observation, _ = env.reset(seed=5)
    batch = env.unwrapped.batch
    human_observation = lambda: batch.first_observation(0, batch.observation_buffers(0), True)  # noqa: E731
    # Wander into a state with some blocks placed and broken.
    for _ in range(25):
        chosen["human"] = _random_valid(human_observation()["action_mask"], rng)
        observation, *_ = env.step(_random_valid(observation["action_mask"], rng))
    goal = batch.state.goal[0].copy()
    config: MbagConfig = env.unwrapped.config
    search = BatchedMCTS(
        config,
        1,
        1,
        SearchConfig(num_simulations=1, c_puct=1e4, bilevel=False, dirichlet_epsilon=0.0),
        goal_visible=False,
    )
    compared, same_cell, nonzero = 0, 0, 0
    for trial in range(60):
        state = env.unwrapped.get_state()
        human_mask = human_observation()["action_mask"]
        human_action = _random_valid(human_mask, rng)
        assistant_mask = observation["action_mask"]
        cell_actions = [a for a in np.flatnonzero(assistant_mask) if a >= FIRST_PLACE]
        if trial % 3 == 0 and human_action >= FIRST_PLACE:
            # Make the assistant act on the human's cell when its mask allows (a conflict).
            cell = (human_action - FIRST_PLACE) % 216
            same = [a for a in cell_actions if (a - FIRST_PLACE) % 216 == cell]
            assistant_action = int(rng.choice(same)) if same else _random_valid(assistant_mask, rng)
        elif trial % 5 == 1:
            assistant_action = NOOP
        else:
            assistant_action = int(rng.choice(cell_actions)) if cell_actions else NOOP

        def evaluate(world, timestep, mask, hmask, a=assistant_action, h=human_action):  # type: ignore[no-untyped-def]
            prior = np.zeros(mask.shape, np.float32)
            prior[0, a] = 1.0
            human = np.zeros(mask.shape, np.float32)
            human[0, h] = 1.0
            return prior, np.zeros(1, np.float32), one_hot(goal[None], NUM_BLOCK_TYPES), human

        search.search(
            observation["world"][None],
            np.array([observation["timestep"]]),
            evaluate,
            np.random.default_rng(trial),
        )
        np.testing.assert_array_equal(
            search.forest.node_human_probs[0, 0] > 0, np.eye(len(human_mask))[human_action] > 0
        )
        child = search.forest.node_first_child[0, 0, assistant_action]
        assert child == 1 and search.forest.node_human_action[0, child] == human_action
        chosen["human"] = human_action
        next_observation, reward, terminated, truncated, _ = env.step(assistant_action)
        assert search.forest.node_reward[0, child] == pytest.approx(reward)
        np.testing.assert_array_equal(search.forest.node_blocks[0, child], batch.state.blocks[0])
        np.testing.assert_array_equal(
            search.forest.node_players[0, child, :, :3], batch.state.player_ints[0, :, :3]
        )
        compared += 1
        nonzero += reward != 0
        same_cell += (
            human_action >= FIRST_PLACE
            and (human_action - FIRST_PLACE) % 216 == (assistant_action - FIRST_PLACE) % 216
        )
        if terminated or truncated:
            break
        if trial % 2 == 0:
            observation = env.unwrapped.set_state(state)
        else:
            observation = next_observation
    assert compared >= 30 and nonzero >= 10 and same_cell >= 2


@pytest.mark.parametrize("incorrect", [0.0, -1.0])
def test_tree_reward_is_the_expected_edit_distance_change(incorrect: float) -> None:
    """A PLACE of block b on air is worth 2·p̂(b) − 1 and a BREAK of block o is worth 1 − 2·p̂(o) under the
    factorised belief (edit distance per cell: 0 equal, 1 air vs block, 2 two different blocks); with
    the assistant's incorrect-action term c, a PLACE adds c·(1 − p̂(b)) (it raises the distance unless
    θ = b) and a BREAK c·p̂(o) (it raises it when θ = o), so c = −1 places only above p̂(b) = 2/3."""
    env = gym.make(
        "mbag/Assist-Small-v0", goal="houses:train", reward_shaping=[{}, {"incorrect_action": incorrect}]
    )
    observation, _ = env.reset(seed=1)
    search = BatchedMCTS(
        env.unwrapped.config,
        1,
        1,
        SearchConfig(num_simulations=1, c_puct=1e4, bilevel=False, dirichlet_epsilon=0.0),
        goal_visible=False,
    )
    rng = np.random.default_rng(0)
    belief = rng.dirichlet(np.ones(NUM_BLOCK_TYPES), size=(6, 6, 6)).astype(np.float32)
    belief = np.moveaxis(belief, -1, 0)[None]
    mask = observation["action_mask"]
    place = next(a for a in np.flatnonzero(mask) if FIRST_PLACE <= a < FIRST_PLACE + 8 * 216)
    brk = next(a for a in np.flatnonzero(mask) if a >= FIRST_PLACE + 8 * 216)
    for action, expected in (
        (
            place,
            lambda cell: (
                (2 - incorrect) * belief[0, DIRT + (place - FIRST_PLACE) // 216].ravel()[cell] - 1 + incorrect
            ),
        ),
        (brk, lambda cell: 1 - (2 - incorrect) * belief[0, DIRT].ravel()[cell]),
    ):

        def evaluate(world, timestep, m, hm, action=action):  # type: ignore[no-untyped-def]
            prior = np.zeros(m.shape, np.float32)
            prior[0, action] = 1.0
            human = np.zeros(m.shape, np.float32)
            human[0, NOOP] = 1.0
            return prior, np.zeros(1, np.float32), belief, human

        search.search(observation["world"][None], np.array([0]), evaluate, rng)
        cell = (action - FIRST_PLACE) % 216
        assert search.forest.node_reward[0, 1] == pytest.approx(expected(cell), abs=1e-6)
        # The first-play values use the same expected reward (the action assumed to succeed).
        blocks_flat = observation["world"][0].ravel().astype(np.uint8)
        flat_belief = belief[0].reshape(NUM_BLOCK_TYPES, 216)
        assert tree_kernels.expected_action_reward(
            blocks_flat, flat_belief, int(action), 216, search.shaping[1]
        ) == pytest.approx(expected(cell), abs=1e-6)
        assert observation["world"][0].ravel()[cell] in ((AIR,) if action == place else (DIRT,))
    assert BEDROCK not in observation["world"][0][:, 2:]


def test_search_refuses_an_own_reward_proportion_it_cannot_score() -> None:
    """The tree scores the shared reward: an assistant shaping with own_reward_prop is refused."""
    config = MbagConfig(world_size=WORLD, num_players=2, reward_shaping=RewardShaping(own_reward_prop=0.5))
    with pytest.raises(ValueError, match="own_reward_prop"):
        BatchedMCTS(config, 1, 1, SearchConfig(num_simulations=1), goal_visible=False)


def test_batched_search_is_independent_per_tree_and_respects_active() -> None:
    """Trees of a batch do not interact; inactive rows are not searched; visit_policy normalises."""
    envs = gym.make_vec("mbag/Assist-Small-v0", num_envs=3, vectorization_mode="vector_entry_point")
    observations, _ = envs.reset(seed=0)
    search = BatchedMCTS(envs.unwrapped.config, 1, 3, SearchConfig(num_simulations=8), goal_visible=False)
    active = np.array([True, False, True])
    result = search.search(
        observations["world"],
        observations["timestep"],
        uniform_evaluator(False),
        np.random.default_rng(0),
        active,
    )
    assert result.visits[1].sum() == 0 and result.visits[0].sum() == 8 and result.visits[2].sum() == 8
    assert not result.visits[0][~observations["action_mask"][0]].any()
    np.testing.assert_array_equal(result.mask[0], observations["action_mask"][0])
    policy = visit_policy(result.visits[[0, 2]], 1.5)
    np.testing.assert_allclose(policy.sum(axis=1), 1.0)
    greedy = visit_policy(result.visits[[0, 2]], 0.0)
    assert (greedy.max(axis=1) == 1.0).all()


def test_most_visited_breaks_ties_by_mean_return() -> None:
    visits = np.array([[1, 1, 1, 0], [3, 1, 0, 0]])
    q = np.array([[0.2, 0.9, 0.5, -np.inf], [0.0, 5.0, -np.inf, -np.inf]])
    np.testing.assert_array_equal(most_visited(visits, q), [1, 0])
    np.testing.assert_array_equal(most_visited(visits), [0, 0])
    np.testing.assert_array_equal(visit_policy(visits, 0.0, q).argmax(axis=1), [1, 0])


def _place_on_air(mask: np.ndarray, blocks: np.ndarray, avoid: list[int]) -> int:
    """The first valid PLACE action on an air cell not in ``avoid``."""
    for action in np.flatnonzero(mask):
        cell = (action - FIRST_PLACE) % 216
        if (
            FIRST_PLACE <= action < FIRST_PLACE + NUM_PLACEABLE * 216
            and blocks[cell] == AIR
            and cell not in avoid
        ):
            return int(action)
    raise AssertionError("no PLACE on air")


def test_tree_q_of_two_steps_matches_the_reference_reward_rule() -> None:
    """Two simulations down one line (assistant PLACE + human PLACE, then assistant NOOP + human PLACE),
    with beliefs and values fixed per depth: the assistant's change is scored under the belief of the
    node it acts from, the human's under the belief of the node the step leads to, and the root's Q,
    the nodes' own returns and their min–max ranges are the closed forms of the reference's backup."""
    env = gym.make("mbag/Assist-Small-v0", goal="houses:train")
    observation, _ = env.reset(seed=1)
    gamma = 0.9
    search = BatchedMCTS(
        env.unwrapped.config,
        1,
        1,
        SearchConfig(num_simulations=2, c_puct=1e4, dirichlet_epsilon=0.0, gamma=gamma),
        goal_visible=False,
    )
    rng = np.random.default_rng(0)
    beliefs = [np.moveaxis(rng.dirichlet(np.ones(NUM_BLOCK_TYPES), size=WORLD), -1, 0) for _ in range(3)]
    values = [0.3, -0.2, 0.5]
    start = int(observation["timestep"].item())
    chosen: dict[int, tuple[int, int]] = {}

    def evaluate(world, timestep, mask, human_mask):  # type: ignore[no-untyped-def]
        depth = int(timestep[0]) - start
        if depth not in chosen:
            blocks = world[0, 0].ravel()
            used = [(a - FIRST_PLACE) % 216 for pair in chosen.values() for a in pair if a >= FIRST_PLACE]
            own = _place_on_air(mask[0], blocks, used) if depth == 0 else NOOP
            used.append((own - FIRST_PLACE) % 216)
            chosen[depth] = (own, _place_on_air(human_mask[0], blocks, used) if depth < 2 else NOOP)
        own, human = chosen[depth]
        prior, human_probs = np.zeros(mask.shape, np.float32), np.zeros(mask.shape, np.float32)
        prior[0, own] = human_probs[0, human] = 1.0
        value = np.array([values[depth]], np.float32)
        return prior, value, beliefs[depth][None].astype(np.float32), human_probs

    search.search(observation["world"][None], np.array([start]), evaluate, np.random.default_rng(0))
    assert search.forest.node_count[0] == 3 and sorted(chosen) == [0, 1, 2]

    def place_reward(action: int, depth: int) -> float:
        """A PLACE of block k on air at cell c is worth 2·p̂(θ_c = k) − 1 under depth's belief."""
        block = FIRST_PLACEABLE + (action - FIRST_PLACE) // 216
        return 2 * float(beliefs[depth][block].ravel()[(action - FIRST_PLACE) % 216]) - 1

    (own, human), (_, human_next) = chosen[0], chosen[1]
    child, grandchild = search.forest.node_first_child[0, 0, own], search.forest.node_first_child[0, 1, NOOP]
    assert (child, grandchild) == (1, 2)
    for node, action in ((1, own), (1, human), (2, human_next)):
        cell = (action - FIRST_PLACE) % 216
        assert (
            search.forest.node_blocks[0, node].ravel()[cell]
            == FIRST_PLACEABLE + (action - FIRST_PLACE) // 216
        )
    r1 = place_reward(own, 0) + place_reward(human, 1)
    r2 = place_reward(human_next, 2)
    assert search.forest.node_reward[0, 1] == pytest.approx(r1)
    assert search.forest.node_reward[0, 2] == pytest.approx(r2)
    # The old rule (the human's change under the parent's belief) gives another number here.
    assert abs(place_reward(human, 0) - place_reward(human, 1)) > 0.05

    first, second = r1 + gamma * values[1], r1 + gamma * (r2 + gamma * values[2])
    assert search.forest.edge_visits[0, 0, own] == 2
    assert search.forest.edge_value[0, 0, own] / 2 == pytest.approx((first + second) / 2)
    # Each node's own samples include the reward into it (0 at the root) and its first evaluation.
    own_root = [gamma * values[0], gamma * first, gamma * second]
    assert search.forest.node_visits[0, :3].tolist() == [3, 2, 1]
    assert search.forest.node_value_sum[0, 0] == pytest.approx(sum(own_root))
    assert search.forest.node_value_sum[0, 1] == pytest.approx(first + second)
    # A node's range covers its own samples and the samples of the edges out of it.
    assert search.forest.node_min[0, 0] == pytest.approx(min(own_root + [first, second]))
    assert search.forest.node_max[0, 0] == pytest.approx(max(own_root + [first, second]))
    child_samples = [first, second, r2 + gamma * values[2]]
    assert search.forest.node_min[0, 1] == pytest.approx(min(child_samples))
    assert search.forest.node_max[0, 1] == pytest.approx(max(child_samples))


def _one_node_forest(world_size: tuple[int, int, int], **arrays: np.ndarray) -> tree_kernels.Forest:
    """A forest of one tree of one node over ``world_size`` (two players) whose fields ``arrays`` (by
    name; ``node_mask`` among them, which fixes the number of actions) replace the zeroed ones."""
    num_actions = arrays["node_mask"].shape[2]
    return tree_kernels.new_forest(1, 1, num_actions, world_size, 2, 1, False)._replace(**arrays)


def _documented_choice(
    prior: np.ndarray,
    mask: np.ndarray,
    visits: np.ndarray,
    value: np.ndarray,
    node_sum: float,
    low: float,
    high: float,
    c_puct: float,
    bilevel: bool,
) -> int:
    """The tree_kernels module docstring's selection rule, written plainly (one node, one cell)."""
    types = np.array([tree_kernels.action_type(a, 1) for a in range(len(prior))])
    node_visits = 1 + visits.sum()
    node_mean = node_sum / node_visits

    def normalised(q: np.ndarray) -> np.ndarray:
        return (q - low) / max(high - low, 0.01)

    members, unvisited, parent_visits, scale = np.flatnonzero(mask), node_mean, node_visits, 1.0
    if bilevel:
        kinds = np.unique(types[mask])
        type_prior = np.array([prior[mask & (types == k)].sum() for k in kinds])
        type_visits = np.array([visits[types == k].sum() for k in kinds])
        type_value = np.array([value[types == k].sum() for k in kinds])
        type_q = np.where(type_visits > 0, type_value / np.maximum(type_visits, 1), node_mean)
        score = normalised(type_q) + c_puct * type_prior * np.sqrt(node_visits) / (1 + type_visits)
        best = int(score.argmax())
        members = np.flatnonzero(mask & (types == kinds[best]))
        unvisited = type_value[best] / type_visits[best] if type_visits[best] else 0.0
        parent_visits, scale = max(type_visits[best], 1), type_prior[best]
    n = visits[members]
    q = np.where(n > 0, value[members] / np.maximum(n, 1), unvisited)
    score = normalised(q) + c_puct * prior[members] / scale * np.sqrt(parent_visits) / (1 + n)
    return int(members[score.argmax()])


@pytest.mark.parametrize("bilevel", [True, False])
def test_selection_normalises_q_and_values_unvisited_edges_by_the_means(bilevel: bool) -> None:
    """On random statistics of one node (a 1-cell world: NOOP, 6 moves, 8 PLACEs, 1 BREAK) the kernel's
    PUCT choice is the documented one: min–max normalised Q, unvisited actions at their type's mean
    (bilevel) or the node's mean (flat), unvisited types at the node's mean."""
    A, kinds = FIRST_PLACE + NUM_PLACEABLE + 1, tree_kernels.NUM_ACTION_TYPES
    rng = np.random.default_rng(0)
    for _ in range(200):
        mask = rng.random(A) < 0.7
        mask[NOOP] = True
        prior = np.where(mask, rng.random(A), 0.0).astype(np.float32)
        prior /= prior.sum()
        visits = np.where(mask & (rng.random(A) < 0.4), rng.integers(1, 4, A), 0).astype(np.int32)
        value = visits * rng.uniform(-1.0, 2.0, A)
        node_sum = float(rng.uniform(-2.0, 4.0))
        low, high = float(rng.uniform(-1.5, -0.5)), float(rng.uniform(-0.5, 2.5))
        types = np.array([tree_kernels.action_type(a, 1) for a in range(A)])
        type_prior = np.bincount(types[mask], weights=prior[mask], minlength=kinds)
        forest = _one_node_forest(
            (1, 1, 1),
            node_mask=mask[None, None],
            node_prior=prior[None, None],
            node_type_prior=type_prior.astype(np.float32)[None, None],
            node_type_valid=np.bincount(types[mask], minlength=kinds)[None, None] > 0,
            node_fpu=np.zeros((1, 1, 0), np.float32),
            node_type_fpu=np.zeros((1, 1, 0), np.float32),
            edge_visits=visits[None, None],
            edge_value=value[None, None],
            type_visits=np.bincount(types, weights=visits, minlength=kinds).astype(np.int32)[None, None],
            type_value=np.bincount(types, weights=value, minlength=kinds)[None, None],
            node_visits=np.array([[1 + visits.sum()]], np.int32),
            node_value_sum=np.array([[node_sum]]),
            node_min=np.array([[low]]),
            node_max=np.array([[high]]),
        )
        chosen = tree_kernels.select_action(forest, 0, 0, 1.0, bilevel, False, 1)
        expected = _documented_choice(
            prior.astype(np.float64), mask, visits, value, node_sum, low, high, 1.0, bilevel
        )
        assert chosen == expected


def test_acting_and_target_distributions_are_visits_to_the_power_of_the_exponent() -> None:
    """``temperature`` is the reference's exponent: π ∝ N^1.5 (sharper than the visit frequencies), and
    the training loop stores that same distribution as the replay's policy target."""
    visits = np.array([[0, 1, 3, 6], [2, 2, 0, 0]])
    expected = visits**1.5 / (visits**1.5).sum(axis=1, keepdims=True)
    policy = visit_policy(visits, 1.5)
    np.testing.assert_allclose(policy, expected)
    assert policy[0, 3] > 6 / 10 and policy[1, 0] == pytest.approx(0.5)
    replay = ReplayBuffer(4, (4, 2, 2, 2), 4, 4)
    steps = [
        {
            "world": np.zeros((4, 2, 2, 2), np.uint8),
            "timestep": index,
            "mask": np.ones(4, bool),
            "policy": policy[index],
            "goal": np.zeros((2, 2, 2), np.uint8),
            "belief": np.zeros((NUM_BLOCK_TYPES, 2, 2, 2), np.float16),
            "reward": 0.0,
            "human_action": NOOP,
            "human_mask": np.ones(4, bool),
        }
        for index in range(2)
    ]
    _store_episode(replay, steps, 0.95)
    for row in range(2):
        target = np.zeros(4)
        np.add.at(target, replay.policy_actions[row], replay.policy_probs[row])
        np.testing.assert_allclose(target, expected[row], rtol=1e-6)


def test_root_noise_is_drawn_by_action_type_then_within_the_type() -> None:
    """The noise moves each type's prior mass by ε·(η_t − P_t) with η ~ Dir(α) over the valid types (mean
    1/K, variance (1/K)(1 − 1/K)/(Kα + 1)) whatever the type's number of actions; within a type of n
    valid actions the shares get ε·ξ with ξ ~ Dir(10/n)."""
    types = np.array([0] * 1 + [1] * 1 + [7] * 50 + [8] * 5 + [2] * 3)
    valid = np.ones(len(types), bool)
    valid[-3:] = False  # a type without a valid action gets no noise
    rng = np.random.default_rng(0)
    prior = np.where(valid, rng.random(len(types)), 0.0)
    prior /= prior.sum()
    eps, alpha, within, samples = 0.25, 0.25, 10.0, 4000
    kinds = [0, 1, 7, 8]
    mass = np.zeros((samples, len(kinds)))
    place_share = np.zeros((samples, 50))
    for index in range(samples):
        noisy = two_level_dirichlet_noise(prior, valid, types, eps, alpha, within, rng)
        assert noisy.sum() == pytest.approx(1.0) and not noisy[~valid].any()
        mass[index] = [noisy[types == k].sum() for k in kinds]
        place_share[index] = noisy[types == 7] / mass[index, 2]
    K = len(kinds)
    type_prior = np.array([prior[types == k].sum() for k in kinds])
    np.testing.assert_allclose(mass.mean(axis=0), (1 - eps) * type_prior + eps / K, atol=0.006)
    eta_variance = (1 / K) * (1 - 1 / K) / (K * alpha + 1)
    np.testing.assert_allclose(mass.var(axis=0), eps**2 * eta_variance, rtol=0.15)
    conditional = prior[types == 7] / type_prior[2]
    np.testing.assert_allclose(place_share.mean(axis=0), (1 - eps) * conditional + eps / 50, atol=0.002)
    xi_variance = (1 / 50) * (1 - 1 / 50) / (within + 1)
    assert place_share.var(axis=0).mean() == pytest.approx(eps**2 * xi_variance, rel=0.1)


def _one_node_statistics(num_cells: int) -> dict[str, np.ndarray]:
    """Statistics of a root visited 4 times: the network's evaluation (return 10) and three visits of
    MOVE +y (type 3, return 10 each); its prior puts 0.9 on that move and spreads 0.1 over four
    valid PLACE actions whose expected rewards under the belief are 0.1, 0.8, -1 and 0.3."""
    actions = FIRST_PLACE + (NUM_PLACEABLE + 1) * num_cells
    places = [FIRST_PLACE + cell for cell in range(4)]
    mask = np.zeros((1, 1, actions), dtype=np.bool_)
    prior = np.zeros((1, 1, actions), dtype=np.float32)
    mask[0, 0, 3] = True
    prior[0, 0, 3] = 0.9
    mask[0, 0, places] = True
    prior[0, 0, places] = 0.025
    fpu = np.zeros((1, 1, actions), dtype=np.float32)
    fpu[0, 0, places] = [0.1, 0.8, -1.0, 0.3]
    types = tree_kernels.NUM_ACTION_TYPES
    type_prior = np.zeros((1, 1, types), dtype=np.float32)
    type_prior[0, 0, 3], type_prior[0, 0, tree_kernels.TYPE_PLACE] = 0.9, 0.1
    type_valid = type_prior > 0
    type_fpu = np.full((1, 1, types), -np.inf, dtype=np.float32)
    type_fpu[0, 0, 3], type_fpu[0, 0, tree_kernels.TYPE_PLACE] = 0.0, 0.8
    edge_visits = np.zeros((1, 1, actions), dtype=np.int32)
    edge_value = np.zeros((1, 1, actions))
    edge_visits[0, 0, 3], edge_value[0, 0, 3] = 3, 30.0
    type_visits = np.zeros((1, 1, types), dtype=np.int32)
    type_value = np.zeros((1, 1, types))
    type_visits[0, 0, 3], type_value[0, 0, 3] = 3, 30.0
    return {
        "node_mask": mask,
        "node_prior": prior,
        "node_type_prior": type_prior,
        "node_type_valid": type_valid,
        "node_fpu": fpu,
        "node_type_fpu": type_fpu,
        "edge_visits": edge_visits,
        "edge_value": edge_value,
        "type_visits": type_visits,
        "type_value": type_value,
        "node_visits": np.array([[4]], dtype=np.int32),
        "node_value_sum": np.array([[40.0]]),
        "node_min": np.array([[9.5]]),
        "node_max": np.array([[10.5]]),
    }


@pytest.mark.parametrize(
    ("first_play", "expected"),
    [
        # Reference: PLACE unvisited is worth the node's mean 10 (normalised 0.5), like the visited
        # move (0.5); exploration 0.9·2/4 = 0.45 for the move against 0.1·2/1 = 0.2: the move.
        (tree_kernels.FIRST_PLAY_REFERENCE, 3),
        # Bonus: PLACE is worth 10 + 0.8 (normalised 1.3) + 0.2 > 0.5 + 0.45: PLACE, and within it
        # (type unvisited: Q = 0 + E[r]) the 0.8 action, equal priors.
        (tree_kernels.FIRST_PLAY_MEAN_PLUS_REWARD, FIRST_PLACE + 1),
    ],
)
def test_expected_reward_bonus_values_unvisited_actions_at_the_mean_plus_their_expected_reward(
    first_play: int, expected: int
) -> None:
    num_cells = 8
    forest = _one_node_forest((2, 2, 2), **_one_node_statistics(num_cells))
    chosen = tree_kernels.select_action(forest, 0, 0, 1.0, True, first_play, num_cells)
    assert chosen == expected


def test_expected_reward_bonus_finds_the_rewarding_action_under_a_uniform_prior() -> None:
    """Like the ``first_play_reward`` ablation, the ``expected_reward_bonus`` option finds the one
    correct PLACE among ~100 with a prior that knows nothing; the two options exclude each other."""
    correct = place_planks(2, 2)
    config = SearchConfig(num_simulations=40, dirichlet_epsilon=0.0, expected_reward_bonus=True)
    _, result, _ = goal_visible_search(one_block_goal((2, 2, 2), PLANKS), config, uniform_evaluator(True))
    assert result.visits[0].argmax() == correct and result.visits[0][correct] > 20
    with pytest.raises(ValueError, match="exclude"):
        SearchConfig(first_play_reward=True, expected_reward_bonus=True)


def test_completed_q_fills_unvisited_actions_with_the_type_mean_plus_expected_reward() -> None:
    """Hand-computed completed Q: visited actions keep their mean; an unvisited action of a visited
    type gets that type's mean plus E[r]; of an unvisited type, the root's mean plus E[r]."""
    types = np.array([0, 1, 1, 2, 2])
    visits = np.array([[2, 1, 0, 0, 0]])
    value_sum = np.array([[3.0, 4.0, 0.0, 0.0, 0.0]])  # means 1.5 and 4.0; root mean 7 / 3
    expected = np.array([[0.0, 0.0, 0.5, -1.0, 0.8]])
    q = completed_q(visits, value_sum, expected, types)
    np.testing.assert_allclose(q, [[1.5, 4.0, 4.5, 7 / 3 - 1.0, 7 / 3 + 0.8]])


def test_completed_q_policy_is_the_prior_times_exp_sigma_of_the_normalised_q() -> None:
    """π' = softmax(log π + (c_visit + max N) · scale · q̂) over the valid actions (Gumbel MuZero),
    with q̂ the completed Q min–max normalised over the valid actions; invalid actions get 0."""
    types = np.array([0, 1, 1, 2, 2])
    visits = np.array([[2, 1, 0, 0, 0]])
    value_sum = np.array([[3.0, 4.0, 0.0, 0.0, 0.0]])
    expected = np.array([[0.0, 0.0, 0.5, -1.0, 0.8]])
    prior = np.array([[0.5, 0.2, 0.1, 0.1, 0.1]])
    mask = np.array([[True, True, True, False, True]])
    policy = completed_q_policy(prior, mask, visits, value_sum, expected, types, 0.1, 50.0)
    q = np.array([1.5, 4.0, 4.5, 7 / 3 + 0.8])  # the valid ones
    normalised = (q - 1.5) / (4.5 - 1.5)
    weights = np.array([0.5, 0.2, 0.1, 0.1]) * np.exp((50 + 2) * 0.1 * normalised)
    np.testing.assert_allclose(policy[0, [0, 1, 2, 4]], weights / weights.sum())
    assert policy[0, 3] == 0.0
    # The best completed value wins even though it was never visited and its prior is small.
    assert policy[0].argmax() == 2
    # No valid action: a zero row, no NaN.
    assert not completed_q_policy(prior, mask & False, visits, value_sum, expected, types, 0.1, 50.0).any()


def test_top_k_policy_keeps_the_likeliest_actions_renormalised() -> None:
    policy = np.array([[0.1, 0.4, 0.2, 0.3], [0.0, 0.0, 1.0, 0.0]])
    np.testing.assert_allclose(top_k_policy(policy, 2), [[0.0, 4 / 7, 0.0, 3 / 7], [0.0, 0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(top_k_policy(policy, 4), policy)


def test_completed_q_policy_raises_a_valuable_action_the_prior_neglects() -> None:
    """A prior with 0.95 on one move and a uniform rest: after 4 simulations the completed-Q policy
    (the policy target) has raised the one correct PLACE's mass by the largest factor, more than 20
    times as much as the move's (at most e^σ(1) = e^((50 + max N) · 0.1)), and left every wrong
    placement at or below its prior; it is a distribution over the valid actions, and the option
    needs the expected-reward first-play values."""
    correct = place_planks(2, 2)
    uniform = uniform_evaluator(True)

    def move_prior(world, timestep, mask, human_mask):  # type: ignore[no-untyped-def]
        prior, value, belief, human = uniform(world, timestep, mask, human_mask)
        prior *= 0.05
        prior[:, 1] += 0.95
        return prior, value, belief, human

    config = SearchConfig(
        num_simulations=4, dirichlet_epsilon=0.0, expected_reward_bonus=True, completed_q_scale=0.1
    )
    _, result, observation = goal_visible_search(one_block_goal((2, 2, 2), PLANKS), config, move_prior)
    assert result.improved is not None
    improved, valid = result.improved[0], result.mask[0]
    np.testing.assert_allclose(improved.sum(), 1.0)
    assert not improved[~valid].any()
    prior = move_prior(observation["world"][None], None, valid[None], valid[None])[0][0]
    boost = np.exp((50 + result.visits[0].max()) * 0.1)
    ratio = improved / np.where(valid, prior, 1.0)
    assert ratio[correct] == pytest.approx(ratio.max()) and boost >= ratio[correct] / ratio[1] > 20
    wrong = [a for a in np.flatnonzero(valid) if a >= FIRST_PLACE and a != correct]
    assert np.all(improved[wrong] <= prior[wrong] * 1.0001)
    with pytest.raises(ValueError, match="needs expected_reward_bonus"):
        SearchConfig(completed_q_scale=0.1)
