"""Shared fixtures of the baseline tests: skip without torch, one torch thread, a trivial goal, an
untrained AssistanceZero checkpoint."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from baselines.assistance_zero.config import AZConfig
    from baselines.assistance_zero.network import AssistanceZeroNetwork

torch = pytest.importorskip("torch", reason="the baselines need PyTorch (pip install mbag_env[baselines])")

from mbag_env.blocks import BEDROCK, DIRT, PLANKS  # noqa: E402

SMALL_WORLD = (6, 6, 6)
TRIVIAL_CELL = (2, 2, 2)
TINY_AZ_RUN = {
    "num_simulations": 2,
    "steps_per_iteration": 4,
    "batch_size": 8,
    "hidden_channels": 8,
    "conv_layers": 0,
    "global_hidden": 8,
    "tensorboard": False,
    "progress": False,
}
"""AssistanceZero settings of the smallest training runs (two simulations, a network without
residual blocks, no logging); a test adds the numbers of envs and steps it needs."""
TINY_PPO_RUN = {
    "num_envs": 4,
    "num_steps": 8,
    "num_minibatches": 2,
    "update_epochs": 2,
    "hidden_channels": 8,
    "conv_layers": 0,
    "global_hidden": 16,
    "tensorboard": False,
    "progress": False,
}
"""PPO settings of the smallest training runs (four worlds, 32-sample rollouts, a network without
convolutions, no logging); a test adds the goal, the number of steps and the run folder."""


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """The CI machine has two cores shared with other jobs; one thread is fastest for these nets."""
    torch.set_num_threads(1)


def one_block_goal(cell: tuple[int, int, int] = TRIVIAL_CELL, block: int = PLANKS) -> np.ndarray:
    """The initial world (bedrock at y=0, dirt at y=1) plus one block: a one-action goal."""
    goal = np.zeros(SMALL_WORLD, dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    goal[cell] = block
    return goal


@pytest.fixture
def trivial_goal() -> np.ndarray:
    """One planks block at (2, 2, 2) on the small world (reachable from the start position)."""
    return one_block_goal()


def untrained_assistance_zero() -> tuple[AZConfig, AssistanceZeroNetwork]:
    """An untrained AssistanceZero network of 4 hidden channels on the default env, and its config."""
    import gymnasium as gym

    from baselines.assistance_zero.config import AZConfig
    from baselines.assistance_zero.network import AssistanceZeroNetwork
    from baselines.common.networks import ObservationSpec

    config = AZConfig(hidden_channels=4, global_hidden=8, tensorboard=False, progress=False, run_dir="unused")
    env = gym.make(config.env_id)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    return config, AssistanceZeroNetwork(spec, config.network_config())


def save_untrained_checkpoint(path: Path, config: AZConfig, model: AssistanceZeroNetwork) -> Path:
    """``model`` (from :func:`untrained_assistance_zero`) saved as a checkpoint of ``config`` at
    environment step 0, as evaluation scripts load it."""
    from baselines.common.checkpoint import save_checkpoint, to_plain

    return save_checkpoint(
        path,
        {
            "algorithm": config.algorithm,
            "config": to_plain(asdict(config)),
            "observation_spec": model.spec.to_dict(),
            "network_config": asdict(model.config),
            "model": model.state_dict(),
            "global_step": 0,
        },
    )
