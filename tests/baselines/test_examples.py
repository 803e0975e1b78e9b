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


def test_flat_observation_wrapper() -> None:
    example = load_example("sb3_maskable_ppo")
    env = example.make_env(horizon=5)
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    # blocks (10) + player (2) + last interacted (2) + goal (10) one-hot classes per cell, + time.
    assert observation.shape == ((10 + 2 + 2 + 10) * 6 * 6 * 6 + 1,)
    assert observation[:-1].reshape(24, -1).sum(axis=0).max() <= 4  # one class per channel and cell
    mask = env.action_masks()
    assert mask.dtype == np.bool_ and mask[0]


def test_sb3_maskable_ppo_example_runs() -> None:
    pytest.importorskip("sb3_contrib", reason="the SB3 example needs the 'examples' extra")
    example = load_example("sb3_maskable_ppo")
    result = example.main(
        ["--total-steps", "64", "--n-steps", "32", "--horizon", "8", "--eval-episodes", "1"]
    )
    assert math.isfinite(result["goal_percentage"]) and math.isfinite(result["return"])
