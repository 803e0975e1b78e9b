"""Every checkpoint shipped in ``assets/checkpoints/`` loads and acts, the same on observations
whose ``timestep`` is the current ``(1,)`` array and on the 0-d scalar of the format they were
trained with (see CHANGELOG.md): the networks take ``(B,)`` timesteps either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mbag_env
from baselines.common.networks import ObservationSpec, batch_timesteps
from baselines.common.policy import load_policy

CHECKPOINTS = sorted((Path(__file__).resolve().parents[2] / "assets" / "checkpoints").glob("*.pt"))
STEPS = 12


def env_id_for(spec: ObservationSpec) -> str:
    """The registered id whose spaces the checkpoint's observation spec was read from (at the
    checkpoint's horizon: the ``cpu-2h`` runs trained on 30-step episodes)."""
    for env_id in sorted(mbag_env.ENV_IDS):
        env = gym.make(env_id, horizon=spec.horizon)
        if ObservationSpec.from_spaces(env.observation_space, env.action_space) == spec:  # type: ignore[arg-type]
            return env_id
    raise AssertionError(f"no registered id has the observation spec {spec}")


def with_scalar_timestep(observation: dict[str, Any]) -> dict[str, Any]:
    """The observation as the envs gave it before the change: ``timestep`` a 0-d int32 array."""
    return {**observation, "timestep": np.asarray(observation["timestep"], dtype=np.int32).reshape(())}


def test_every_shipped_checkpoint_is_tested() -> None:
    assert len(CHECKPOINTS) >= 2, "assets/checkpoints/ should hold the headline runs' checkpoints"


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda path: path.stem)
def test_shipped_checkpoint_acts_the_same_on_both_timestep_shapes(path: Path) -> None:
    policy = load_policy(path, deterministic=True, seed=0)
    legacy = load_policy(path, deterministic=True, seed=0)  # a twin fed the old observations
    env = gym.make(env_id_for(policy.spec), goal="houses:test")
    observation, _ = env.reset(seed=0)
    assert observation["timestep"].shape == (1,)
    for _ in range(STEPS):
        action = policy.act(observation)
        assert legacy.act(with_scalar_timestep(observation)) == action
        assert observation["action_mask"][action], "a shipped policy chose a masked action"
        observation, _, terminated, truncated, _ = env.step(action)
        assert not (terminated or truncated)
    assert observation["timestep"].item() == STEPS
    # Batched, as the leaderboard's vector path and the training scripts call it: (N, 1) vs (N,).
    vector = gym.make_vec(
        env_id_for(policy.spec), num_envs=2, vectorization_mode="vector_entry_point", goal="houses:test"
    )
    observations, _ = vector.reset(seed=0)
    for _ in range(2):
        actions = policy.act_batch(observations)
        old = {**observations, "timestep": observations["timestep"][:, 0]}
        np.testing.assert_array_equal(legacy.act_batch(old), actions)
        assert observations["action_mask"][np.arange(2), actions].all()
        observations, *_ = vector.step(actions)


def test_batch_timesteps_accepts_both_shapes_and_refuses_others() -> None:
    np.testing.assert_array_equal(batch_timesteps(np.array([[3], [4]]), 2), [3, 4])
    np.testing.assert_array_equal(batch_timesteps(np.array([3, 4]), 2), [3, 4])
    np.testing.assert_array_equal(batch_timesteps(np.array([[7]]), 1), [7])
    with pytest.raises(ValueError, match="one value per observation"):
        batch_timesteps(np.array([[3, 4]]), 1)
    with pytest.raises(ValueError, match="one value per observation"):
        batch_timesteps(np.zeros((2, 1, 1)), 2)
