"""The config fields the baselines' training runs share: :class:`RunConfig` (every trainer) and
:class:`PPOFamilyConfig` (PPO, PPO over options and option-critic).

Each trainer's config dataclass inherits one of them, so a shared field is declared, documented and
checked once. Configs are stored in checkpoints as plain dicts and rebuilt by field name, so a field's
place in the class does not matter to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from baselines.common.config_checks import require_in_range, require_positive_ints
from baselines.common.networks import NetworkConfig


@dataclass
class RunConfig:
    """The fields of every baseline's training run.

    Attributes:
        env_id: a registered ``mbag/`` id.
        env_kwargs: extra keyword arguments for the env (e.g. ``{"goal": "houses:test"}``, a
            fixed ``np.ndarray`` goal, or ``{"horizon": 50}``).
        seed: seed of every RNG and of the env's worlds.
        torch_threads: torch CPU threads (<= 0: torch's default).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        run_dir: output folder (default ``runs/<algorithm>-<env>-s<seed>``, see :meth:`fill_run_dir`).
        checkpoint_every: save ``checkpoints/last.pt`` every this many iterations (DreamerV3: env steps).
        tensorboard: write TensorBoard events.
        progress: show a progress bar.
    """

    env_id: str = field(default="mbag/Build-Small-v0", metadata={"help": "registered env id"})
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 1
    torch_threads: int = 1
    device: str = "auto"
    run_dir: str = ""
    checkpoint_every: int = 10
    tensorboard: bool = True
    progress: bool = True

    def fill_run_dir(self, prefix: str) -> None:
        """Set an empty :attr:`run_dir` to ``runs/<prefix>-<env name>-s<seed>``."""
        if not self.run_dir:
            self.run_dir = f"runs/{prefix}-{self.env_id.split('/')[-1]}-s{self.seed}"


@dataclass
class PPOFamilyConfig(RunConfig):
    """The fields and checks of the clipped-PPO trainers (PPO, PPO over options, option-critic).

    Attributes:
        total_steps: environment steps to train for (summed over the vector env's worlds).
        num_envs: worlds stepped together.
        num_steps: samples per world per rollout (batch = ``num_envs * num_steps``).
        learning_rate: Adam step size (annealed linearly to 0 when ``anneal_lr``).
        anneal_lr: anneal the learning rate over ``total_steps``.
        gamma: discount (0.95: a place or break is rewarded at once, so a short horizon of
            credit lowers the variance of the advantages).
        gae_lambda: GAE λ.
        num_minibatches: minibatches per epoch.
        update_epochs: passes over each rollout.
        norm_adv: normalise advantages per minibatch.
        clip_coef: PPO ratio clip ε.
        clip_vloss: clip the value update to ``clip_coef`` around the rollout's values.
        ent_coef: entropy bonus weight.
        vf_coef: value loss weight.
        max_grad_norm: global gradient-norm clip.
        hidden_channels, conv_layers, global_hidden: network sizes (:class:`NetworkConfig`). The
            default has no 3×3×3 convolution (each one costs ~5× the rest of an update on a CPU);
            per-cell features plus pooled global context already learn the small tasks.
    """

    positive_ints: ClassVar[tuple[str, ...]] = (
        "total_steps",
        "num_envs",
        "num_steps",
        "num_minibatches",
        "update_epochs",
        "checkpoint_every",
    )
    """The fields that must be positive integers (a subclass may add its own)."""

    total_steps: int = 200_000
    num_envs: int = 16
    num_steps: int = 64
    learning_rate: float = 1e-3
    anneal_lr: bool = True
    gamma: float = 0.95
    gae_lambda: float = 0.8
    num_minibatches: int = 8
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden_channels: int = 32
    conv_layers: int = 0
    global_hidden: int = 128

    def __post_init__(self) -> None:
        require_positive_ints(self, self.positive_ints)
        if self.batch_size < self.num_minibatches:
            raise ValueError(
                f"{type(self).__name__}: batch size num_envs*num_steps={self.batch_size} is smaller than "
                f"num_minibatches={self.num_minibatches}"
            )
        require_in_range(self, ("gamma", "gae_lambda"), 0.0, 1.0)

    @property
    def batch_size(self) -> int:
        """Samples per rollout (``num_envs * num_steps``)."""
        return self.num_envs * self.num_steps

    def network_config(self) -> NetworkConfig:
        """The trunk sizes as a :class:`NetworkConfig`."""
        return NetworkConfig(self.hidden_channels, self.conv_layers, self.global_hidden)
