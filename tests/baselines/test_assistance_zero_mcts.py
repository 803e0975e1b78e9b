"""AssistanceZero's tree: it plans with the core's rules, finds the optimal move of a known MDP, and with
a perfect goal head its expected rewards are exactly the env's rewards."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest

import mbag_env  # noqa: F401
from baselines.assistance_zero.mcts import BatchedMCTS, SearchConfig, most_visited, visit_policy
from mbag_env.blocks import AIR, BEDROCK, DIRT, NUM_BLOCK_TYPES, PLANKS
from mbag_env.config import MbagConfig
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


@pytest.mark.parametrize("bilevel", [True, False])
def test_search_finds_the_optimal_action_of_a_one_block_goal(bilevel: bool) -> None:
    """AlphaZero mode (θ visible): one correct PLACE among ~100 valid actions is the most visited, and
    its backed-up value is exactly 1 (reward +1, then the goal is complete: a terminal node)."""
    goal = one_block_goal((2, 2, 2), PLANKS)
    env = gym.make("mbag/Build-Small-v0", goal=goal)
    observation, _ = env.reset(seed=0)
    config = env.unwrapped.config
    search = BatchedMCTS(
        config,
        0,
        1,
        SearchConfig(num_simulations=40, bilevel=bilevel, dirichlet_epsilon=0.0),
        goal_visible=True,
    )
    result = search.search(
        observation["world"][None], np.array([0]), uniform_evaluator(True), np.random.default_rng(0)
    )
    correct = FIRST_PLACE + (PLANKS - DIRT) * 216 + (2 * 6 + 2) * 6 + 2
    assert observation["action_mask"][correct] and observation["action_mask"].sum() > 50
    assert result.visits.sum() == 40
    assert result.visits[0].argmax() == correct
    edge_q = search.edge_value[0, 0, correct] / search.edge_visits[0, 0, correct]
    assert edge_q == pytest.approx(1.0)
    # A wrong block at the same cell is worth -1 at once (and 0 after), never preferred.
    wrong = correct - 216
    assert result.visits[0, wrong] <= 1
    # The tree planned on the core's state: the child of the correct move has the goal built.
    child = search.node_first_child[0, 0, correct]
    np.testing.assert_array_equal(search.node_blocks[0, child], goal)
    assert search.node_terminal[0, child]


def test_search_backs_up_discounted_returns_over_two_steps() -> None:
    """A two-block goal: the best first move is one of the two correct places, and the values along the
    best line are 1 + γ·1 (the second place ends the episode)."""
    goal = one_block_goal((2, 2, 2), PLANKS)
    goal[3, 2, 2] = PLANKS
    env = gym.make("mbag/Build-Small-v0", goal=goal)
    observation, _ = env.reset(seed=0)
    gamma = 0.9
    search = BatchedMCTS(
        env.unwrapped.config,
        0,
        1,
        SearchConfig(num_simulations=60, dirichlet_epsilon=0.0, gamma=gamma),
        goal_visible=True,
    )
    result = search.search(
        observation["world"][None], np.array([0]), uniform_evaluator(True), np.random.default_rng(0)
    )
    first = FIRST_PLACE + (PLANKS - DIRT) * 216 + (2 * 6 + 2) * 6 + 2
    second = FIRST_PLACE + (PLANKS - DIRT) * 216 + (3 * 6 + 2) * 6 + 2
    best = int(result.visits[0].argmax())
    assert best in (first, second)
    q = search.edge_value[0, 0, best] / search.edge_visits[0, 0, best]
    assert q == pytest.approx(1 + gamma, abs=0.15)
    assert search.node_env[0, search.node_first_child[0, 0, best], ENV_TIMESTEP] == 1


def _random_valid(mask: np.ndarray, rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(mask)))


def test_perfect_goal_head_gives_the_env_reward() -> None:
    """With p̂(θ|h) = the true θ, the tree's expected reward of a (human, assistant) step equals the env's
    reward for the same two actions, and the tree's next state equals the env's (also when both act on
    the same cell)."""
    chosen = {"human": NOOP}
    env = gym.make(
        "mbag/Assist-Small-v0", goal="houses:train", human_policy=lambda observation: chosen["human"]
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
            search.node_human_probs[0, 0] > 0, np.eye(len(human_mask))[human_action] > 0
        )
        child = search.node_first_child[0, 0, assistant_action]
        assert child == 1 and search.node_human_action[0, child] == human_action
        chosen["human"] = human_action
        next_observation, reward, terminated, truncated, _ = env.step(assistant_action)
        assert search.node_reward[0, child] == pytest.approx(reward)
        np.testing.assert_array_equal(search.node_blocks[0, child], batch.state.blocks[0])
        np.testing.assert_array_equal(search.node_players[0, child, :, :3], batch.state.player_ints[0, :, :3])
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


def test_tree_reward_is_the_expected_edit_distance_change() -> None:
    """A PLACE of block b on air is worth 2·p̂(b) − 1 and a BREAK of block o is worth 1 − 2·p̂(o) under the
    factorised belief (edit distance per cell: 0 equal, 1 air vs block, 2 two different blocks)."""
    env = gym.make("mbag/Assist-Small-v0", goal="houses:train")
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
        (place, lambda cell: 2 * belief[0, DIRT + (place - FIRST_PLACE) // 216].ravel()[cell] - 1),
        (brk, lambda cell: 1 - 2 * belief[0, DIRT].ravel()[cell]),
    ):

        def evaluate(world, timestep, m, hm, action=action):  # type: ignore[no-untyped-def]
            prior = np.zeros(m.shape, np.float32)
            prior[0, action] = 1.0
            human = np.zeros(m.shape, np.float32)
            human[0, NOOP] = 1.0
            return prior, np.zeros(1, np.float32), belief, human

        search.search(observation["world"][None], np.array([0]), evaluate, rng)
        cell = (action - FIRST_PLACE) % 216
        assert search.node_reward[0, 1] == pytest.approx(expected(cell), abs=1e-6)
        assert observation["world"][0].ravel()[cell] in ((AIR,) if action == place else (DIRT,))
    assert BEDROCK not in observation["world"][0][:, 2:]


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
