"""Small helpers shared by the baselines: networks, masking, checkpoints, logging, seeding."""

from baselines.common.checkpoint import load_checkpoint, save_checkpoint
from baselines.common.masking import masked_log_probs, masked_logits, sample_masked
from baselines.common.networks import (
    NUM_GLOBAL_ACTIONS,
    ActorCritic,
    NetworkConfig,
    ObservationSpec,
    batch_timesteps,
    flatten_action_logits,
    observation_to_tensors,
)
from baselines.common.policy import ActorCriticPolicy, load_policy
from baselines.common.seeding import seed_everything, select_device, set_torch_threads
from baselines.common.training_log import TrainingLog, plot_learning_curve

__all__ = [
    "NUM_GLOBAL_ACTIONS",
    "ActorCritic",
    "ActorCriticPolicy",
    "NetworkConfig",
    "ObservationSpec",
    "TrainingLog",
    "batch_timesteps",
    "flatten_action_logits",
    "load_checkpoint",
    "load_policy",
    "masked_log_probs",
    "masked_logits",
    "observation_to_tensors",
    "plot_learning_curve",
    "sample_masked",
    "save_checkpoint",
    "seed_everything",
    "select_device",
    "set_torch_threads",
]
