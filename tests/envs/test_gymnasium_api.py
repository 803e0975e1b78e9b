"""Every registered Gymnasium id: the official checker, determinism, pickling, specs, rendering."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env

import mbag_env

ENV_IDS = sorted(mbag_env.ENV_IDS)


def rollout(env: gym.Env, seed: int, steps: int) -> list[tuple]:
    """Random valid actions from a seeded generator; returns everything the env emitted."""
    rng = np.random.default_rng(seed)
    observation, info = env.reset(seed=seed)
    trace: list[tuple] = [(observation, info)]
    for _ in range(steps):
        valid = np.flatnonzero(observation["action_mask"])
        action = int(valid[rng.integers(len(valid))])
        observation, reward, terminated, truncated, info = env.step(action)
        trace.append((observation, reward, terminated, truncated, info))
        if terminated or truncated:
            observation, info = env.reset()
            trace.append((observation, info))
    return trace


def assert_same(left: object, right: object) -> None:
    if isinstance(left, dict):
        assert isinstance(right, dict) and left.keys() == right.keys()
        for key in left:
            assert_same(left[key], right[key])
    elif isinstance(left, (tuple, list)):
        assert len(left) == len(right)  # type: ignore[arg-type]
        for a, b in zip(left, right, strict=True):  # type: ignore[call-overload]
            assert_same(a, b)
    elif isinstance(left, np.ndarray):
        np.testing.assert_array_equal(left, right)
    else:
        assert left == right


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id: str) -> None:
    first = rollout(gym.make(env_id, horizon=40), seed=3, steps=60)
    second = rollout(gym.make(env_id, horizon=40), seed=3, steps=60)
    assert_same(first, second)
    other = rollout(gym.make(env_id, horizon=40), seed=4, steps=60)
    assert not all(np.array_equal(a[0]["world"], b[0]["world"]) for a, b in zip(first, other, strict=True)), (
        "different seeds should give different episodes"
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_round_trip(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    for action in (0, 3, 5):
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(1)
    for _ in range(20):
        action = int(rng.integers(env.action_space.n))
        assert_same(env.step(action), clone.step(action))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_serialises(env_id: str) -> None:
    env = gym.make(env_id)
    assert env.spec is not None
    text = env.spec.to_json()
    restored = EnvSpec.from_json(text)
    assert restored.id == env_id
    remade = gym.make(restored)
    assert remade.observation_space == env.observation_space
    assert remade.action_space == env.action_space


@pytest.mark.parametrize("env_id", ENV_IDS)
# "human" opens a pygame window and returns None: tests/play/test_window.py covers it headless
@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi"])
def test_render_modes(env_id: str, render_mode: str) -> None:
    env = gym.make(env_id, render_mode=render_mode)
    env.reset(seed=0)
    before = env.render()
    env.step(env.unwrapped.batch.actions.encode("break", (0, 1, 0)))  # type: ignore[attr-defined]
    after = env.render()
    if render_mode == "rgb_array":
        assert isinstance(before, np.ndarray) and before.dtype == np.uint8 and before.ndim == 3
        assert before.shape[2] == 3
        assert not np.array_equal(before, after), "breaking a block must change the image"
    else:
        assert isinstance(before, str) and "y=0" in before
        assert before != after


def test_string_entry_point_form() -> None:
    env = gym.make("mbag_env:mbag/Build-Small-v0")
    observation, _ = env.reset(seed=0)
    assert observation["world"].shape == (4, 6, 6, 6)


def test_assistant_has_no_goal_channel() -> None:
    builder = gym.make("mbag/Build-v0")
    assistant = gym.make("mbag/Assist-v0")
    assert builder.observation_space["world"].shape == (4, 11, 10, 10)
    assert assistant.observation_space["world"].shape == (3, 11, 10, 10)
    observation, _ = assistant.reset(seed=0)
    assert observation["world"].shape == (3, 11, 10, 10)


def test_action_masks_method_matches_observation() -> None:
    env = gym.make("mbag/Build-Small-v0")
    observation, _ = env.reset(seed=2)
    np.testing.assert_array_equal(env.unwrapped.action_masks(), observation["action_mask"])  # type: ignore[attr-defined]
    unmasked = gym.make("mbag/Build-Small-v0", action_masks=False)
    observation, _ = unmasked.reset(seed=2)
    assert "action_mask" not in observation
    assert unmasked.unwrapped.action_masks().shape == (unmasked.action_space.n,)  # type: ignore[attr-defined]
