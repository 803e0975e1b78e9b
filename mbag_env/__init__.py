"""mbag_env: a fast Minecraft-style assistance-game benchmark.

Importing the package registers the Gymnasium ids (SPEC §7):

=========================  =========  =========  ========================================
id                         world      horizon    the agent
=========================  =========  =========  ========================================
``mbag/Build-v0``          11×10×10   1500       the goal-aware builder, alone
``mbag/Build-Small-v0``    6×6×6      200        the goal-aware builder, alone
``mbag/Assist-v0``         11×10×10   1500       the assistant, beside a scripted human
``mbag/Assist-Small-v0``   6×6×6      200        the assistant, beside a scripted human
=========================  =========  =========  ========================================

Each id also has a vector entry point for
``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")``.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from mbag_env.compile_cache import package_kernel_cache

with package_kernel_cache():
    # Every module with compiled kernels is imported here, so all cache in one versioned folder.
    import mbag_env.render  # noqa: F401
    from mbag_env.blocks import BLOCK_NAMES
    from mbag_env.config import DEFAULT_WORLD_SIZE, SMALL_WORLD_SIZE, MbagConfig, RewardShaping
    from mbag_env.core.actions import ActionSpace
    from mbag_env.envs.parallel import MbagAECEnv, MbagParallelEnv, env, parallel_env, supersuit_vec_env
    from mbag_env.envs.single import MbagEnv
    from mbag_env.envs.vector import MbagVectorEnv
    from mbag_env.humans.policy import Policy

__version__ = "0.1.0"

__all__ = [
    "BLOCK_NAMES",
    "ActionSpace",
    "MbagConfig",
    "MbagAECEnv",
    "MbagEnv",
    "MbagParallelEnv",
    "MbagVectorEnv",
    "Policy",
    "RewardShaping",
    "env",
    "parallel_env",
    "supersuit_vec_env",
    "ENV_IDS",
]

SMALL_HORIZON = 200
"""Horizon of the ``-Small-`` training presets (the full-size ids use the paper's 1500)."""

ENV_IDS: dict[str, dict[str, object]] = {
    "mbag/Build-v0": {"world_size": list(DEFAULT_WORLD_SIZE), "num_players": 1, "horizon": 1500, "agent": 0},
    "mbag/Build-Small-v0": {
        "world_size": list(SMALL_WORLD_SIZE),
        "num_players": 1,
        "horizon": SMALL_HORIZON,
        "agent": 0,
    },
    "mbag/Assist-v0": {"world_size": list(DEFAULT_WORLD_SIZE), "num_players": 2, "horizon": 1500, "agent": 1},
    "mbag/Assist-Small-v0": {
        "world_size": list(SMALL_WORLD_SIZE),
        "num_players": 2,
        "horizon": SMALL_HORIZON,
        "agent": 1,
    },
}
"""Every registered id with the keyword arguments it passes to :class:`MbagEnv`."""

for _env_id, _kwargs in ENV_IDS.items():
    if _env_id not in registry:
        register(
            id=_env_id,
            entry_point="mbag_env.envs.single:MbagEnv",
            vector_entry_point="mbag_env.envs.vector:MbagVectorEnv",
            kwargs=dict(_kwargs),
        )
