"""The compiled scripted humans: HumanModel, the noise-free builders finishing the held-out
houses alone, and their use inside mbag/Assist-v0 and the vector env."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import mbag_env
from mbag_env.core.actions import NOOP
from mbag_env.humans import HUMAN_KINDS, HumanModel, as_policy
from mbag_env.humans.goal_seeking import goal_seeking_action, human_scratch_size
from mbag_env.humans.layer_builder import layer_builder_action, layer_builder_scratch_size
from mbag_env.humans.scripted import MAX_ACT_EVERY, scripted_human_action
from tests.humans.helpers import (
    CI_HOUSES,
    LARGE,
    LARGE_HORIZON,
    SMALL,
    SMALL_HORIZON,
    held_out_goals,
    human_world,
    solo_episode,
    unfinished_houses,
)


# ----------------------------------------------------------------------------- HumanModel
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "builder"}, "HumanModel.kind must be one of"),
        ({"epsilon": -0.1}, "HumanModel.epsilon must lie in [0, 1]"),
        ({"epsilon": 1.5}, "HumanModel.epsilon must lie in [0, 1]"),
        ({"epsilon": math.nan}, "HumanModel.epsilon must be finite"),
        ({"epsilon": "0.1"}, "HumanModel.epsilon must be a number"),
        ({"epsilon": True}, "HumanModel.epsilon must be a number"),
        ({"temperature": -1.0}, "HumanModel.temperature must be 0 (off) or a positive number"),
        ({"temperature": math.inf}, "HumanModel.temperature must be finite"),
        ({"act_every": 0}, "HumanModel.act_every must be an integer >= 1"),
        ({"act_every": 1.5}, "HumanModel.act_every must be an integer >= 1"),
        ({"act_every": True}, "HumanModel.act_every must be an integer >= 1"),
        (
            {"act_every": 2**63},
            "HumanModel.act_every must be an integer >= 1 and at most MAX_ACT_EVERY=1000000",
        ),
        ({"act_every": np.uint64(2**64 - 1)}, "at most MAX_ACT_EVERY=1000000, got np.uint64"),
        ({"act_every": MAX_ACT_EVERY + 1}, "got 1000001"),
        ({"act_every": np.True_}, "HumanModel.act_every must be an integer >= 1"),
    ],
)
def test_human_model_rejects_bad_parameters(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        HumanModel(**fields)


def test_human_model_array_label_and_parse() -> None:
    model = HumanModel("layer_builder", epsilon=0.2, temperature=0.5, act_every=3)
    np.testing.assert_array_equal(model.as_array(), [HUMAN_KINDS.index("layer_builder"), 0.2, 0.5, 3.0])
    assert model.label == "layer_builder:epsilon=0.2,temperature=0.5,act_every=3"
    assert HumanModel.parse(model.label) == model
    assert HumanModel.parse("goal_seeking") == HumanModel() and HumanModel().noise_free
    assert HumanModel.from_dict(model.to_dict()) == model
    assert not model.noise_free
    with pytest.raises(ValueError, match="names epsilon, temperature, act_every"):
        HumanModel.parse("goal_seeking:speed=2")
    with pytest.raises(ValueError, match="is not a number"):
        HumanModel.parse("goal_seeking:epsilon=lots")
    assert as_policy("layer_builder") == HumanModel("layer_builder")


def test_scratch_row_is_large_enough_for_every_kind() -> None:
    for size in [(3, 4, 3), SMALL, LARGE, (32, 32, 32), (7, 13, 5)]:
        assert human_scratch_size(size) >= layer_builder_scratch_size(size)


def test_layer_builder_names_a_too_small_scratch() -> None:
    goal = held_out_goals(SMALL)[0]
    env = mbag_env.MbagEnv(world_size=SMALL, num_players=1, goal=goal)
    env.reset(seed=0)
    state = env.batch.state
    with pytest.raises(ValueError, match="scratch row needs 2 entries per cell"):
        layer_builder_action(human_world(state, 0, env.batch.params), 0, np.zeros(10, dtype=np.int32))


# ----------------------------------------------------------------------------- finishing houses alone
@pytest.mark.parametrize("kind", HUMAN_KINDS)
def test_noise_free_humans_finish_every_small_held_out_house(kind: str) -> None:
    """All 500 houses of make_goal_sampler("dataset:test", (6, 6, 6)) (about a second each kind)."""
    goals = held_out_goals(SMALL)
    assert len(goals) == 500
    model = HumanModel(kind)
    unfinished = unfinished_houses(goals, model, SMALL_HORIZON)
    assert unfinished == [], f"{kind} did not finish houses {unfinished[:20]} within {SMALL_HORIZON} steps"


@pytest.mark.parametrize("kind", HUMAN_KINDS)
def test_noise_free_humans_finish_large_houses(kind: str) -> None:
    goals = held_out_goals(LARGE)
    model = HumanModel(kind)
    unfinished = unfinished_houses(goals, model, LARGE_HORIZON, CI_HOUSES)
    assert unfinished == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", HUMAN_KINDS)
def test_noise_free_humans_finish_every_large_held_out_house(kind: str) -> None:
    goals = held_out_goals(LARGE)
    model = HumanModel(kind)
    unfinished = unfinished_houses(goals, model, LARGE_HORIZON)
    assert unfinished == [], f"{kind} left {len(unfinished)} of {len(goals)} unfinished: {unfinished[:20]}"


@pytest.mark.parametrize("kind", HUMAN_KINDS)
def test_humans_finish_with_teleportation_and_finite_blocks(kind: str) -> None:
    goal = held_out_goals(SMALL)[3]
    assert solo_episode(goal, HumanModel(kind), SMALL_HORIZON, teleportation=True)[0]
    # Finite blocks: enough of every type to build the house.
    finite = {"infinite_blocks": False, "starting_inventory": 216}
    assert solo_episode(goal, HumanModel(kind), SMALL_HORIZON, **finite)[0]


# ----------------------------------------------------------------------------- behaviour
def test_layer_builder_sweeps_layers_in_serpentine_order() -> None:
    # A goal of two full layers of planks; with teleportation reach does not matter, so the
    # layer builder's placements follow its scan order exactly.
    goal = np.zeros(SMALL, dtype=np.uint8)
    goal[:, 0] = 1
    goal[:, 1] = 2
    goal[:, 2:4] = 6
    completed, actions = solo_episode(goal, HumanModel("layer_builder"), SMALL_HORIZON, teleportation=True)
    assert completed
    width, height, depth = SMALL
    cells = [(action - 7) % (width * height * depth) for action in actions]
    expected = [
        (x * height + y) * depth + (z if x % 2 == 0 else depth - 1 - z)
        for y in (2, 3)
        for x in range(width)
        for z in range(depth)
    ]
    assert cells == expected


def test_the_two_builders_behave_differently() -> None:
    goal = held_out_goals(SMALL)[5]
    _, goal_seeking = solo_episode(goal, HumanModel("goal_seeking"), SMALL_HORIZON)
    _, layer_builder = solo_episode(goal, HumanModel("layer_builder"), SMALL_HORIZON)
    assert goal_seeking != layer_builder


def test_noise_free_model_is_exactly_the_bare_kind() -> None:
    """scripted_human_action with a noise-free model returns the kind's own action and draws
    exactly the same random numbers."""
    goal = held_out_goals(SMALL)[7]
    env = mbag_env.MbagEnv(world_size=SMALL, num_players=2, agent=1, goal=goal, horizon=60)
    env.reset(seed=3)
    state = env.batch.state
    scratch = np.zeros(human_scratch_size(SMALL), dtype=np.int32)
    rng = np.random.default_rng(0)
    for _ in range(60):
        for kind, bare in (("goal_seeking", goal_seeking_action), ("layer_builder", layer_builder_action)):
            ints_model, ints_bare = state.env_ints[0].copy(), state.env_ints[0].copy()
            model = HumanModel(kind).as_array()
            world = human_world(state, 0, env.batch.params, ints_model)
            got = scripted_human_action(model, *world, 0, scratch)
            want = bare(world._replace(env_ints=ints_bare), 0, scratch)
            assert got == want
            np.testing.assert_array_equal(ints_model, ints_bare)
        mask = env.action_masks()
        _, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            break


def test_act_every_acts_only_on_multiples_of_k() -> None:
    goal = held_out_goals(SMALL)[2]
    completed, actions = solo_episode(goal, HumanModel("goal_seeking", act_every=3), 3 * SMALL_HORIZON)
    assert completed
    assert all(action == NOOP for step, action in enumerate(actions) if step % 3 != 0)
    _, every_step = solo_episode(goal, HumanModel("goal_seeking"), SMALL_HORIZON)
    assert [action for step, action in enumerate(actions) if step % 3 == 0] == every_step


def test_largest_act_every_acts_only_at_step_zero() -> None:
    """At the bound the kernel's float64 -> int64 conversion is exact: the human waits, it does not act
    every step (what act_every=2**63 did before it was refused)."""
    goal = held_out_goals(SMALL)[2]
    _, actions = solo_episode(goal, HumanModel("goal_seeking", act_every=MAX_ACT_EVERY), 12)
    _, every_step = solo_episode(goal, HumanModel("goal_seeking"), 12)
    assert actions[0] == every_step[0] != NOOP
    assert actions[1:] == [NOOP] * 11


@pytest.mark.parametrize(
    "model",
    [
        HumanModel("goal_seeking", epsilon=0.1),
        HumanModel("layer_builder", epsilon=0.1),
        HumanModel("goal_seeking", temperature=1.0),
        HumanModel("layer_builder", temperature=1.0, act_every=2),
    ],
    ids=lambda model: model.label,
)
def test_noisy_humans_still_build_and_are_reproducible(model: HumanModel) -> None:
    goals = held_out_goals(SMALL)
    finished = 0
    for house in CI_HOUSES[:8]:
        completed, actions = solo_episode(goals[house], model, 3 * SMALL_HORIZON, seed=house)
        finished += completed
        assert solo_episode(goals[house], model, 3 * SMALL_HORIZON, seed=house)[1] == actions
    assert finished == 8


# ----------------------------------------------------------------------------- in the envs
def test_scripted_humans_inside_assist_env_and_vector_env() -> None:
    model = HumanModel("layer_builder", epsilon=0.05, temperature=0.5)
    num_envs = 3
    vector = gym.make_vec(
        "mbag/Assist-Small-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", human_policy=model
    )
    singles = [gym.make("mbag/Assist-Small-v0", human_policy=model) for _ in range(num_envs)]
    vector.reset(seed=5)
    for index, env in enumerate(singles):
        env.reset(seed=5 + index)
    acted = 0
    ended = np.zeros(num_envs, dtype=bool)
    for _ in range(40):
        _, _, terminated, truncated, infos = vector.step(np.zeros(num_envs, dtype=np.int64))
        for index, env in enumerate(singles):
            if ended[index]:
                continue
            _, _, single_terminated, single_truncated, info = env.step(NOOP)
            assert info["human_action"] == infos["human_action"][index]
            assert (single_terminated, single_truncated) == (terminated[index], truncated[index])
            acted += info["human_action"] != NOOP
        ended |= terminated | truncated
    assert acted > 0
