"""Bad input gets clear errors; snapshots round-trip; policies plug in as the human."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import mbag_env
from mbag_env import MbagConfig, RewardShaping


def flat_goal(size: tuple[int, int, int]) -> np.ndarray:
    goal = np.zeros(size, dtype=np.uint8)
    goal[:, 0] = 1
    goal[:, 1] = 2
    goal[1, 2, 1] = 6
    return goal


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"world_size": (2, 4, 3)}, "world_size W=2"),
        ({"world_size": (3, 3, 3)}, "world_size H=3"),
        ({"world_size": (33, 10, 10)}, "world_size W=33"),
        ({"world_size": (5, 5)}, "three integers"),
        ({"num_players": 0}, "num_players"),
        ({"horizon": 0}, "horizon"),
        ({"reward_shaping": RewardShaping(own_reward_prop=0.5), "num_players": 2}, None),
        ({"truncate_on_no_progress": 0}, "truncate_on_no_progress"),
        ({"goal_visible": (True,), "num_players": 2}, "goal_visible"),
        ({"teleportation": "yes"}, "teleportation"),
        ({"world_size": 11}, "world_size must be three integers"),
        ({"world_size": (True, 5, 5)}, "world_size must be three integers"),
        ({"world_size": (6.0, 6, 6)}, "world_size must be three integers"),
        ({"horizon": 2**31}, r"horizon=2147483648 is outside the allowed range \[1, 1000000000\]"),
        ({"horizon": True}, "horizon must be an integer"),
        ({"horizon": 10.0}, "horizon must be an integer"),
        ({"num_players": np.True_}, "num_players must be an integer"),
        ({"truncate_on_no_progress": 2**40}, "truncate_on_no_progress"),
        ({"starting_inventory": 1_000_001}, r"starting_inventory=1000001 .* \[0, 1000000\]"),
        ({"starting_inventory": 2**31}, "starting_inventory"),
        ({"starting_inventory": 2**32}, "starting_inventory"),
        ({"goal_visible": "ye"}, "goal_visible must be None or a tuple of True/False"),
        ({"goal_visible": (1, 0)}, "goal_visible must be None or a tuple of True/False"),
        ({"goal_visible": ("yes", "")}, "goal_visible must be None or a tuple of True/False"),
        ({"action_masks": 1}, "action_masks must be True or False"),
        ({"goal_visible": [True, np.False_]}, None),
        ({"horizon": 10**9, "starting_inventory": 10**6, "infinite_blocks": False}, None),
    ],
)
def test_config_errors_name_the_field(fields: dict, message: str | None) -> None:
    if message is None:
        MbagConfig(**fields)
        return
    with pytest.raises(ValueError, match=message):
        MbagConfig(**fields)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"world_size": 11}, "MbagConfig.world_size must be three integers"),
        ({"world_size": "666"}, "MbagConfig.world_size must be three integers"),
        ({"horizon": 2**31}, "MbagConfig.horizon"),
        ({"starting_inventory": 2**31, "infinite_blocks": False}, "MbagConfig.starting_inventory"),
    ],
)
def test_env_constructor_errors_name_the_field(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make("mbag/Build-Small-v0", **fields)


def test_largest_inventory_stays_in_the_observation_space() -> None:
    env = gym.make("mbag/Build-Small-v0", infinite_blocks=False, starting_inventory=1_000_000)
    observation, _ = env.reset(seed=0)
    assert observation["inventory"].max() == 1_000_000
    assert env.observation_space["inventory"].contains(observation["inventory"])


@pytest.mark.parametrize("proportion", [-0.1, 1.5, float("nan")])
def test_own_reward_prop_range(proportion: float) -> None:
    with pytest.raises(ValueError, match="own_reward_prop"):
        RewardShaping(own_reward_prop=proportion)


def test_per_player_shaping_length() -> None:
    with pytest.raises(ValueError, match="one RewardShaping per player"):
        MbagConfig(num_players=2, reward_shaping=(RewardShaping(),))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda goal: goal[:, :, :5], "shape"),
        (lambda goal: np.where(goal == 1, 3, goal).astype(np.uint8), "bedrock"),
        (lambda goal: np.where(goal == 6, 12, goal).astype(np.uint8), "12"),
    ],
)
def test_bad_goals_are_rejected(change, message: str) -> None:
    goal = change(flat_goal((6, 6, 6)))
    with pytest.raises(ValueError, match=message):
        env = mbag_env.MbagEnv(world_size=(6, 6, 6), num_players=1, goal=goal)
        env.reset(seed=0)


@pytest.mark.parametrize("action", [-1, 10**7, 2.5, "3", True])
def test_bad_actions(action: object) -> None:
    env = gym.make("mbag/Build-Small-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_step_after_termination_needs_reset() -> None:
    goal = flat_goal((6, 6, 6))
    env = mbag_env.MbagEnv(world_size=(6, 6, 6), num_players=1, goal=goal)
    env.reset(seed=0)
    place = env.batch.actions.encode("place", (1, 2, 1), 6)
    _, reward, terminated, truncated, info = env.step(place)
    assert reward == 1.0 and terminated and not truncated
    assert info["goal_percentage"] == 1.0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    env.step(0)


def test_step_before_reset() -> None:
    env = mbag_env.MbagEnv(world_size=(6, 6, 6), num_players=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_get_set_state_round_trip() -> None:
    env = gym.make("mbag/Assist-Small-v0").unwrapped
    env.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(10):
        env.step(int(rng.integers(env.action_space.n)))
    snapshot = env.get_state()
    actions = [int(a) for a in rng.integers(env.action_space.n, size=25)]
    first = [env.step(action) for action in actions if not env._needs_reset]
    restored = env.set_state(snapshot)
    assert env.get_state()["world"]["blocks"].tobytes() == snapshot["world"]["blocks"].tobytes()
    second = [env.step(action) for action in actions[: len(first)]]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a[0]["world"], b[0]["world"])
        assert a[1:4] == b[1:4]
    assert restored["world"].shape == (3, 6, 6, 6)
    with pytest.raises(ValueError, match="get_state"):
        env.set_state({"world": {}})


def test_python_human_policy() -> None:
    calls = []

    def lazy_human(observation: dict) -> int:
        calls.append(observation["world"].shape)
        return 0

    env = gym.make("mbag/Assist-Small-v0", human_policy=lazy_human)
    env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert calls == [(4, 6, 6, 6)], "the human sees the goal channel"
    assert info["human_action"] == 0 and info["goal_percentage"] == 0.0

    bad = gym.make("mbag/Assist-Small-v0", human_policy=lambda observation: 10**8)
    bad.reset(seed=0)
    with pytest.raises(ValueError, match="human policy returned an invalid action"):
        bad.step(0)
    with pytest.raises(ValueError, match="human_policy"):
        gym.make("mbag/Assist-Small-v0", human_policy=42)


def five_point_seven(observation: dict) -> float:
    return 3.7


@pytest.mark.parametrize("value", [3.7, "5", True, np.float64(2.0), np.bool_(False), None, [1]])
def test_human_policy_non_integer_actions_are_not_coerced(value: object) -> None:
    env = gym.make("mbag/Assist-Small-v0", human_policy=lambda observation: value)
    env.reset(seed=0)
    with pytest.raises(
        TypeError, match=rf"human policy .*lambda.* returned {re.escape(repr(value))} .*must be an integer"
    ):
        env.step(0)


def test_human_policy_object_with_float_action_is_named() -> None:
    class FloatHuman:
        def act(self, observation: dict) -> float:
            return 1.0

        def __repr__(self) -> str:
            return "FloatHuman()"

    env = gym.make("mbag/Assist-Small-v0", human_policy=FloatHuman())
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"FloatHuman\(\) returned 1\.0"):
        env.step(0)
    named = gym.make("mbag/Assist-Small-v0", human_policy=five_point_seven)
    named.reset(seed=0)
    with pytest.raises(TypeError, match="five_point_seven.* returned 3.7"):
        named.step(0)


@pytest.mark.parametrize("value", [np.int64(0), np.int8(0), np.array(0, dtype=np.int32), 0])
def test_human_policy_integer_types_are_accepted(value: object) -> None:
    env = gym.make("mbag/Assist-Small-v0", human_policy=lambda observation: value)
    env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert info["human_action"] == 0 and type(info["human_action"]) is not bool


def test_scripted_human_builds_the_house_alone() -> None:
    env = gym.make("mbag/Assist-Small-v0")
    for seed in range(3):
        env.reset(seed=seed)
        terminated = truncated = False
        while not (terminated or truncated):
            _, _, terminated, truncated, info = env.step(0)
        assert terminated and info["goal_percentage"] == 1.0


def test_shaping_rewards() -> None:
    shaping = RewardShaping(noop=-0.5, action=0.25, incorrect_action=-2.0)
    env = mbag_env.MbagEnv(
        world_size=(6, 6, 6), num_players=1, goal=flat_goal((6, 6, 6)), reward_shaping=shaping
    )
    env.reset(seed=0)
    assert env.step(0)[1] == -0.5
    wrong = env.batch.actions.encode("place", (2, 2, 1), 6)
    assert env.step(wrong)[1] == -1.0 + 0.25 - 2.0
    invalid = env.batch.actions.encode("place", (5, 5, 5), 6)
    _, reward, _, _, info = env.step(invalid)
    assert reward == -0.5 and not info["action_valid"]


def test_own_reward_prop_splits_credit() -> None:
    config = MbagConfig(
        world_size=(6, 6, 6),
        num_players=2,
        goal=flat_goal((6, 6, 6)),
        reward_shaping=(RewardShaping(own_reward_prop=1.0), RewardShaping(own_reward_prop=0.0)),
    )
    env = mbag_env.MbagParallelEnv(config)
    env.reset(seed=0)
    place = env.batch.actions.encode("place", (1, 2, 1), 6)
    _, rewards, terminated, _, _ = env.step({"human": 0, "assistant": place})
    assert rewards == {"human": 0.0, "assistant": 1.0}
    assert terminated["human"]


@pytest.mark.parametrize("env_id", ["mbag/Build-Small-v0", "mbag/Assist-Small-v0"])
def test_step_returns_plain_python_values_equal_to_the_batch_info(env_id: str) -> None:
    """The step reads its info, reward and flags through memoryviews of the state rows: the same
    values as ``WorldBatch.info`` (which converts the arrays), as plain Python ints, bools and floats."""
    env = gym.make(env_id)
    unwrapped = env.unwrapped
    observation, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    kinds = {"goal_percentage": float, "action_valid": bool, "action_correct": bool}
    for _ in range(60):
        action = int(rng.choice(np.flatnonzero(observation["action_mask"])))
        observation, reward, terminated, truncated, info = env.step(action)
        assert info == unwrapped.batch.info(0, unwrapped.agent)
        for key, value in info.items():
            assert type(value) is kinds.get(key, int), (key, value)
        assert type(reward) is float and reward == unwrapped.batch.rewards[0, unwrapped.agent]
        assert type(terminated) is bool and type(truncated) is bool
        if terminated or truncated:
            observation, _ = env.reset()
