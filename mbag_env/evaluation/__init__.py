"""Evaluation of assistants: scripted reference assistants, metrics, recordings and the leaderboard.

Modules:

- :mod:`~mbag_env.evaluation.assistants`: ``idle``, ``random`` and the privileged ``oracle``;
- :mod:`~mbag_env.evaluation.metrics`: per-episode metrics and 95% confidence intervals;
- :mod:`~mbag_env.evaluation.belief_metrics`: a goal belief's accuracy on the cells still to
  build and its calibration, by episode step (the exact posterior and learned heads alike);
- :mod:`~mbag_env.evaluation.recording`: :class:`EpisodeRecording` (``.npz``), bit-exact
  replay, GIF and per-layer image export;
- :mod:`~mbag_env.evaluation.leaderboard`: the ``mbag-leaderboard`` command, built from
  :mod:`~mbag_env.evaluation.suites`, :mod:`~mbag_env.evaluation.assistant_specs`,
  :mod:`~mbag_env.evaluation.episode_tasks`, :mod:`~mbag_env.evaluation.runner` (where episodes
  run), :mod:`~mbag_env.evaluation.worker_pool`,
  :mod:`~mbag_env.evaluation.run_store`, :mod:`~mbag_env.evaluation.leaderboard_summary` and
  :mod:`~mbag_env.evaluation.leaderboard_report`.
"""

from mbag_env.evaluation.assistants import (
    SCRIPTED_ASSISTANTS,
    IdleAssistant,
    OracleAssistant,
    RandomAssistant,
    make_scripted_assistant,
)
from mbag_env.evaluation.belief_metrics import BeliefAccuracy, score_belief
from mbag_env.evaluation.metrics import (
    EpisodeMetrics,
    Estimate,
    aggregate,
    compute_episode_metrics,
    episode_metrics,
    mean_confidence_interval,
)
from mbag_env.evaluation.recording import (
    RECORDING_FORMAT_VERSION,
    EpisodeRecording,
    InvalidActionError,
    RecordingError,
    ReplayMismatchError,
    export_gif,
    export_layer_images,
    replay,
    run_episode,
    verify_replay,
)

__all__ = [
    "BeliefAccuracy",
    "RECORDING_FORMAT_VERSION",
    "SCRIPTED_ASSISTANTS",
    "EpisodeMetrics",
    "EpisodeRecording",
    "Estimate",
    "IdleAssistant",
    "InvalidActionError",
    "OracleAssistant",
    "RandomAssistant",
    "RecordingError",
    "ReplayMismatchError",
    "aggregate",
    "compute_episode_metrics",
    "episode_metrics",
    "export_gif",
    "export_layer_images",
    "make_scripted_assistant",
    "mean_confidence_interval",
    "replay",
    "run_episode",
    "score_belief",
    "verify_replay",
]
