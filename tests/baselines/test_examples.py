"""The example scripts run end to end (tiny budgets; MaskablePPO only where sb3-contrib is installed)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_vector_actor_critic_example_runs() -> None:
    example = load_example("vector_actor_critic")
    result = example.main(["--total-steps", "256", "--num-envs", "4", "--num-steps", "8", "--horizon", "10"])
    assert result["episodes"] >= 4
    assert math.isfinite(result["return"]) and math.isfinite(result["goal_percentage"])


def test_sb3_example_uses_the_raw_env() -> None:
    """No wrapper: the example hands MaskablePPO the ``gym.make`` env with its Dict observation."""
    example = load_example("sb3_maskable_ppo")
    env = example.make_env(horizon=5)
    assert type(env.unwrapped).__name__ == "MbagEnv"
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation) and observation["timestep"].shape == (1,)
    mask = env.unwrapped.action_masks()
    assert mask.dtype == np.bool_ and mask[0]
    np.testing.assert_array_equal(mask, observation["action_mask"])


def test_sb3_maskable_ppo_example_runs() -> None:
    pytest.importorskip("sb3_contrib", reason="the SB3 example needs the 'examples' extra")
    example = load_example("sb3_maskable_ppo")
    result = example.main(
        ["--total-steps", "64", "--n-steps", "32", "--horizon", "8", "--eval-episodes", "1"]
    )
    assert math.isfinite(result["goal_percentage"]) and math.isfinite(result["return"])


def test_rllib_assistant_example_runs() -> None:
    """One PPO iteration of RLlib on the PettingZoo env with the scripted human inside (about 20 s)."""
    pytest.importorskip("ray.rllib", reason="the RLlib example needs the 'rllib' extra")
    example = load_example("rllib_assistant")
    arguments = ["--iterations", "1", "--train-batch-size", "64", "--minibatch-size", "32"]
    result = example.main([*arguments, "--num-epochs", "1", "--horizon", "20", "--hidden-channels", "8"])
    assert result["iteration"] == 1 and result["env_steps"] >= 64
    assert result["episodes"] >= 3  # 64 steps of 20-step episodes
    assert math.isfinite(result["return"]) and math.isfinite(result["goal_percentage"])


def test_rllib_env_has_only_the_assistant_as_agent() -> None:
    pytest.importorskip("ray.rllib", reason="the RLlib example needs the 'rllib' extra")
    example = load_example("rllib_assistant")
    env = example.make_env({"world_size": [6, 6, 6], "horizon": 5, "scripted_human": "layer_builder"})
    observations, _ = env.reset(seed=0)
    assert set(observations) == {"assistant"}
    assert env.par_env.scripted_human.kind == "layer_builder"
    for _ in range(5):
        observations, rewards, terminations, truncations, _ = env.step({"assistant": 0})
    assert truncations["__all__"] or terminations["__all__"]
