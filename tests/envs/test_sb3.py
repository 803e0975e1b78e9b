"""Stable-Baselines3 on the raw envs: its env checker on every registered id, and MaskablePPO's
``"MultiInputPolicy"`` training on ``gym.make`` envs with the env's ``action_masks()``."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import mbag_env
from tests.torch_threads import one_torch_thread

pytest.importorskip("stable_baselines3", reason="the SB3 tests need the 'examples' extra")

from stable_baselines3.common.env_checker import check_env  # noqa: E402

ENV_IDS = sorted(mbag_env.ENV_IDS)

SB3_UNCONVENTIONAL_WORLD = (
    "Your observation world has an unconventional shape (neither an image, nor a 1D vector). "
    "We recommend you to flatten the observation to have only a 1D vector or use a custom policy "
    "to properly process the data."
)
"""The one advice SB3's checker gives: it warns about every ``Box`` that is neither 1-D nor a 3-D
image, and ``world`` is the ``(C, W, H, D)`` voxel grid of SPEC §5 by design. It is advice, not a
fault: ``MultiInputPolicy`` flattens it (trained below), a custom extractor can use the 3-D shape."""


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One torch thread for SB3's small networks (see :func:`tests.torch_threads.one_torch_thread`)."""
    with one_torch_thread():
        yield


def warnings_of(check: Callable[[], Any]) -> list[str]:
    """The messages of every warning ``check`` emits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check()
    return [str(warning.message) for warning in caught]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_passes_with_no_warning_but_the_world_shape_advice(env_id: str) -> None:
    env = gym.make(env_id)
    found = warnings_of(lambda: check_env(env))  # raises on any real problem
    assert set(found) <= {SB3_UNCONVENTIONAL_WORLD}, f"SB3 check_env warned: {found}"
    # No warning about any other entry: timestep, inventory and action_mask are 1-D boxes.
    assert found.count(SB3_UNCONVENTIONAL_WORLD) == 1
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_on_the_unwrapped_env_and_other_configs(env_id: str) -> None:
    """The checker also passes without Gymnasium's wrappers, with finite blocks (GIVE actions) and
    without masks."""
    for fields in ({}, {"infinite_blocks": False, "starting_inventory": 2}, {"action_masks": False}):
        env = gym.make(env_id, horizon=20, **fields).unwrapped
        assert set(warnings_of(functools.partial(check_env, env))) <= {SB3_UNCONVENTIONAL_WORLD}, fields


def test_timestep_is_a_one_element_box_in_every_interface() -> None:
    """``timestep`` is int32 ``(1,)`` (Gymnasium env), ``(N, 1)`` (vector env) and ``(1,)`` per
    PettingZoo agent, and holds the number of steps taken."""
    env = gym.make("mbag/Assist-Small-v0")
    space = env.observation_space["timestep"]
    assert space.shape == (1,) and space.dtype == np.int32 and int(space.high[0]) == 200
    observation, info = env.reset(seed=0)
    for _ in range(3):
        assert observation["timestep"].shape == (1,) and observation["timestep"].dtype == np.int32
        assert observation["timestep"].item() == info["timestep"]
        observation, _, _, _, info = env.step(0)
    assert observation["timestep"].item() == 3
    vector = gym.make_vec("mbag/Build-Small-v0", num_envs=3, vectorization_mode="vector_entry_point")
    assert vector.single_observation_space["timestep"].shape == (1,)
    assert vector.observation_space["timestep"].shape == (3, 1)
    observations, _ = vector.reset(seed=0)
    observations, _, _, _, _ = vector.step(np.zeros(3, dtype=np.int64))
    assert observations["timestep"].shape == (3, 1) and vector.observation_space.contains(observations)
    np.testing.assert_array_equal(observations["timestep"], [[1], [1], [1]])
    parallel = mbag_env.parallel_env(world_size=(6, 6, 6))
    observations, _ = parallel.reset(seed=0)
    for agent in parallel.agents:
        assert parallel.observation_space(agent)["timestep"].shape == (1,)
        assert parallel.observation_space(agent).contains(observations[agent])


@pytest.mark.parametrize("env_id", ["mbag/Build-Small-v0", "mbag/Assist-Small-v0"])
def test_maskable_ppo_multi_input_policy_trains_on_the_raw_env(env_id: str) -> None:
    """512 steps of MaskablePPO on ``gym.make(env_id)`` as it is: the masks come from the env's
    ``action_masks()`` (called before every step), so the builder never takes an invalid action."""
    sb3_contrib = pytest.importorskip("sb3_contrib", reason="MaskablePPO needs the 'examples' extra")
    from stable_baselines3.common.callbacks import BaseCallback

    env = gym.make(env_id)
    unwrapped: Any = env.unwrapped
    mask_calls = []
    action_masks = unwrapped.action_masks
    unwrapped.action_masks = lambda: mask_calls.append(1) or action_masks()

    class RecordValidity(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.valid: list[bool] = []

        def _on_step(self) -> bool:
            self.valid.extend(bool(info["action_valid"]) for info in self.locals["infos"])
            return True

    validity = RecordValidity()
    model = sb3_contrib.MaskablePPO(
        "MultiInputPolicy", env, n_steps=256, batch_size=128, n_epochs=1, seed=0, device="cpu"
    )
    found = warnings_of(lambda: model.learn(total_timesteps=512, callback=validity))
    assert found == []
    assert model.num_timesteps == 512 and len(validity.valid) == 512
    assert len(mask_calls) >= 512
    if env_id.startswith("mbag/Build"):
        assert all(validity.valid)  # alone in the world, a masked action is always valid
    else:
        # The human acts first and may take the cell the assistant chose (SPEC §3, action masks).
        assert np.mean(validity.valid) > 0.9
    observation, _ = env.reset(seed=1)
    action, _ = model.predict(observation, action_masks=unwrapped.action_masks())
    assert observation["action_mask"][int(action)]
