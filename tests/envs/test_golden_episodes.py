"""Golden episodes: seeded episodes of every env id (and of the vector and PettingZoo envs, each
scripted human model, finite blocks and teleportation) hash to the digests stored in
``tests/fixtures/golden_episodes.json``.

The digest is the sha256 of every observation array (world, inventory, timestep, action mask),
reward, end flag and goal percentage in order, so any change to the observations, rewards or
masks a refactor makes shows here. When a change of behaviour is intended, regenerate the file
with ``MBAG_UPDATE_GOLDEN=1 python -m pytest tests/envs/test_golden_episodes.py`` and say why in
the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mbag_env
from mbag_env.envs.single import MbagEnv

GOLDEN_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "golden_episodes.json"
UPDATE = os.environ.get("MBAG_UPDATE_GOLDEN") == "1"


class Digest:
    """A running sha256 of arrays and scalars, in the order they are added."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.steps = 0

    def add_observation(self, observation: Mapping[str, Any]) -> None:
        for key in sorted(observation):
            array = np.ascontiguousarray(observation[key])
            self._hash.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
            self._hash.update(array.tobytes())

    def add_values(self, *values: Any) -> None:
        for value in values:
            array = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
            self._hash.update(array.tobytes())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def random_valid(mask: np.ndarray, rng: np.random.Generator, idle: float = 0.2) -> int:
    """A uniformly random valid action, or NOOP with probability ``idle``."""
    if rng.random() < idle:
        return 0
    return int(rng.choice(np.flatnonzero(mask)))


def single_episode(env: gym.Env, seed: int, max_steps: int, idle_assistant: bool = False) -> Digest:
    digest = Digest()
    rng = np.random.default_rng(seed)
    observation, info = env.reset(seed=seed)
    digest.add_observation(observation)
    digest.add_values(info["goal_percentage"], info["edit_distance"])
    for _ in range(max_steps):
        action = 0 if idle_assistant else random_valid(observation["action_mask"], rng)
        observation, reward, terminated, truncated, info = env.step(action)
        digest.add_observation(observation)
        digest.add_values(reward, terminated, truncated, info["goal_percentage"], info["human_action"])
        digest.steps += 1
        if terminated or truncated:
            break
    return digest


def gym_id_episode(env_id: str, seed: int, max_steps: int) -> Callable[[], Digest]:
    return lambda: single_episode(gym.make(env_id), seed, max_steps)


def human_model_episode(human: str, seed: int, idle: bool) -> Callable[[], Digest]:
    def run() -> Digest:
        env = gym.make("mbag/Assist-Small-v0", human_policy=mbag_env.humans.HumanModel.parse(human))
        return single_episode(env, seed, 200, idle_assistant=idle)

    return run


def config_episode(seed: int, max_steps: int, **fields: Any) -> Callable[[], Digest]:
    return lambda: single_episode(MbagEnv(**fields), seed, max_steps)


def vector_episode(env_id: str, num_envs: int, seed: int, steps: int) -> Callable[[], Digest]:
    def run() -> Digest:
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
        digest = Digest()
        rng = np.random.default_rng(seed)
        observations, infos = envs.reset(seed=seed)
        digest.add_observation(observations)
        for _ in range(steps):
            actions = np.array([random_valid(mask, rng) for mask in observations["action_mask"]])
            observations, rewards, terminated, truncated, infos = envs.step(actions)
            digest.add_observation(observations)
            digest.add_values(rewards, terminated, truncated, infos["goal_percentage"])
            digest.steps += 1
        return digest

    return run


def parallel_episode(seed: int, **fields: Any) -> Callable[[], Digest]:
    def run() -> Digest:
        env = mbag_env.parallel_env(**fields)
        digest = Digest()
        rng = np.random.default_rng(seed)
        observations, infos = env.reset(seed=seed)
        while env.agents:
            for agent in sorted(observations):
                digest.add_observation(observations[agent])
            actions = {agent: random_valid(observations[agent]["action_mask"], rng) for agent in env.agents}
            observations, rewards, terminations, truncations, infos = env.step(actions)
            for agent in sorted(rewards):
                digest.add_values(rewards[agent], terminations[agent], truncations[agent])
            digest.steps += 1
        return digest

    return run


EPISODES: dict[str, Callable[[], Digest]] = {
    **{f"{env_id} seed 3": gym_id_episode(env_id, 3, 400) for env_id in mbag_env.ENV_IDS},
    "Assist-Small goal_seeking idle assistant": human_model_episode("goal_seeking", 5, idle=True),
    "Assist-Small layer_builder idle assistant": human_model_episode("layer_builder", 6, idle=True),
    "Assist-Small layer_builder random assistant": human_model_episode("layer_builder", 7, idle=False),
    "Assist-Small noisy goal_seeking": human_model_episode(
        "goal_seeking:epsilon=0.3,temperature=0.5", 8, idle=False
    ),
    "Assist-Small slow Boltzmann layer_builder": human_model_episode(
        "layer_builder:temperature=2,act_every=2", 9, idle=True
    ),
    "finite blocks with GIVE": config_episode(
        10, 200, world_size=(6, 6, 6), horizon=200, agent=1, infinite_blocks=False, starting_inventory=3
    ),
    "teleportation, shaping, random starts": config_episode(
        11,
        200,
        world_size=(6, 7, 5),
        horizon=200,
        agent=1,
        teleportation=True,
        random_start_locations=True,
        reward_shaping=mbag_env.RewardShaping(
            noop=-0.01, action=0.02, incorrect_action=-0.5, own_reward_prop=0.3
        ),
    ),
    "three players, random human policy": config_episode(
        12, 150, world_size=(6, 6, 6), horizon=150, num_players=3, agent=2, human_policy="layer_builder"
    ),
    "vector Assist-Small x4": vector_episode("mbag/Assist-Small-v0", 4, 13, 250),
    "vector Build-v0 x2": vector_episode("mbag/Build-v0", 2, 14, 60),
    "parallel env, two agents": parallel_episode(15, world_size=(6, 6, 6), horizon=120),
}


def _stored() -> dict[str, Any]:
    if not GOLDEN_FILE.exists():
        return {}
    return dict(json.loads(GOLDEN_FILE.read_text()))


@pytest.mark.parametrize("name", sorted(EPISODES))
def test_golden_episode(name: str) -> None:
    digest = EPISODES[name]()
    got = {"sha256": digest.hexdigest(), "steps": digest.steps}
    if UPDATE:
        stored = _stored()
        stored[name] = got
        GOLDEN_FILE.write_text(json.dumps(dict(sorted(stored.items())), indent=1) + "\n")
        return
    expected = _stored().get(name)
    assert expected is not None, f"no golden digest for {name!r}: run with MBAG_UPDATE_GOLDEN=1"
    assert got == expected, f"episode {name!r} changed (observations, rewards, masks or ends)"


def test_golden_file_has_no_stale_entries() -> None:
    if UPDATE:
        pytest.skip("regenerating")
    assert set(_stored()) == set(EPISODES)
