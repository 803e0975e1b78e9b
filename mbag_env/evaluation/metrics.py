"""Episode metrics for assistance, and their aggregation with 95% confidence intervals.

Per episode (:class:`EpisodeMetrics`, from a recording by :func:`episode_metrics` or from plain
arrays by :func:`compute_episode_metrics`):

- the goal percentage at the end, at a chosen step (the leaderboard's headline step) and its
  mean over the episode's steps, and the whole curve over time;
- whether the house was completed and after how many steps;
- the human's actions (valid, non-NOOP) and its place/break actions, up to completion or the
  horizon: how much work the human had to do;
- the assistant's correct and incorrect places and breaks, and its share of the work: the
  fraction of all correct places and breaks (by human and assistant) that the assistant made.

An action counts as *correct* when it lowered the edit distance (+1) and *incorrect* when it
raised it (-1); invalid actions change nothing and count as neither.

:func:`aggregate` turns a list of episodes into a mean with a 95% Student-t confidence
interval per metric (:class:`Estimate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mbag_env.core.actions import KIND_BREAK, KIND_PLACE, NOOP, decode_actions
from mbag_env.core.reward import goal_percentage
from mbag_env.evaluation.recording import EpisodeRecording

# Two-sided 95% Student-t critical values t_{0.975, df} for df = 1..30.
_T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z_975 = 1.959964


@dataclass(frozen=True)
class EpisodeMetrics:
    """What one episode says about an assistant (see the module docstring).

    Attributes:
        goal_percentage: at the end of the episode.
        score_goal_percentage: at the score step (the end when no score step was given; the
            final value when the episode ended earlier).
        mean_goal_percentage: averaged over steps 1..H (the area under the curve over H), where
            H is the horizon (or T when no horizon was given) and the curve keeps its final
            value after the episode ended, so episodes of different lengths compare.
        completed: the world reached the goal.
        steps: number of steps T.
        steps_to_completion: T when completed, else ``None``.
        human_actions: the human's valid non-NOOP actions.
        human_place_break: the human's valid places and breaks.
        human_correct: the human's correct places and breaks.
        assistant_actions: the assistant's valid non-NOOP actions.
        assistant_correct_places, assistant_incorrect_places, assistant_correct_breaks,
        assistant_incorrect_breaks: the assistant's place and break outcomes.
        assistant_share: assistant's correct places+breaks over everyone's (0 when nobody
            made one).
        goal_percentage_curve: ``float64 (T + 1,)``, after reset and after each step.
    """

    goal_percentage: float
    score_goal_percentage: float
    mean_goal_percentage: float
    completed: bool
    steps: int
    steps_to_completion: int | None
    human_actions: int
    human_place_break: int
    human_correct: int
    assistant_actions: int
    assistant_correct_places: int
    assistant_incorrect_places: int
    assistant_correct_breaks: int
    assistant_incorrect_breaks: int
    assistant_share: float
    goal_percentage_curve: np.ndarray

    def to_dict(self, with_curve: bool = False) -> dict[str, float | int | bool | None | list[float]]:
        """JSON-ready values (the curve only if ``with_curve``)."""
        values: dict[str, float | int | bool | None | list[float]] = {
            name: getattr(self, name) for name in SCALAR_METRICS
        }
        if with_curve:
            values["goal_percentage_curve"] = [float(v) for v in self.goal_percentage_curve]
        return values


SCALAR_METRICS = (
    "goal_percentage",
    "score_goal_percentage",
    "mean_goal_percentage",
    "completed",
    "steps",
    "steps_to_completion",
    "human_actions",
    "human_place_break",
    "human_correct",
    "assistant_actions",
    "assistant_correct_places",
    "assistant_incorrect_places",
    "assistant_correct_breaks",
    "assistant_incorrect_breaks",
    "assistant_share",
)
"""Names of the per-episode scalar metrics, in table order."""


def goal_percentage_at(curve: np.ndarray, step: int) -> float:
    """The goal percentage after ``step`` steps; past the episode's end, its final value."""
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return float(curve[min(step, len(curve) - 1)])


def compute_episode_metrics(
    *,
    edit_distance: np.ndarray,
    actions: np.ndarray,
    action_valid: np.ndarray,
    action_delta: np.ndarray,
    num_cells: int,
    human: int = 0,
    assistant: int | None = 1,
    score_step: int | None = None,
    horizon: int | None = None,
) -> EpisodeMetrics:
    """Metrics of one episode from its per-step arrays.

    Args:
        edit_distance: ``(T + 1,)`` edit distance after reset and after each step.
        actions: ``(T, P)`` the actions taken.
        action_valid: ``(T, P)`` whether each was valid.
        action_delta: ``(T, P)`` the edit-distance drop each caused.
        num_cells: ``W * H * D`` (to tell places from breaks in the action layout).
        human: the human's seat.
        assistant: the assistant's seat, or ``None`` when there is none (assistant metrics 0).
        score_step: the step of :attr:`EpisodeMetrics.score_goal_percentage`.
        horizon: the episode horizon, for :attr:`EpisodeMetrics.mean_goal_percentage`.

    Raises:
        ValueError: on inconsistent shapes.
    """
    edit_distance = np.asarray(edit_distance, dtype=np.int64)
    actions = np.asarray(actions, dtype=np.int64)
    valid = np.asarray(action_valid, dtype=np.bool_)
    delta = np.asarray(action_delta, dtype=np.int64)
    steps = actions.shape[0]
    if actions.ndim != 2 or valid.shape != actions.shape or delta.shape != actions.shape:
        raise ValueError(
            f"actions, action_valid and action_delta must share a (T, P) shape, got {actions.shape}, "
            f"{valid.shape}, {delta.shape}"
        )
    if edit_distance.shape != (steps + 1,):
        raise ValueError(f"edit_distance must have shape ({steps + 1},), got {edit_distance.shape}")
    curve = goal_percentage(int(edit_distance[0]), edit_distance)
    completed = bool(edit_distance[-1] == 0)
    kinds, _ = decode_actions(actions, num_cells)
    is_place = (kinds == KIND_PLACE) & valid
    is_break = (kinds == KIND_BREAK) & valid
    is_action = valid & (actions != NOOP)
    correct = delta > 0
    incorrect = delta < 0

    def count(mask: np.ndarray, seat: int | None) -> int:
        return 0 if seat is None else int(mask[:, seat].sum())

    human_correct = count((is_place | is_break) & correct, human)
    assistant_correct = count((is_place | is_break) & correct, assistant)
    total_correct = human_correct + assistant_correct
    return EpisodeMetrics(
        goal_percentage=float(curve[-1]),
        score_goal_percentage=goal_percentage_at(curve, steps if score_step is None else score_step),
        mean_goal_percentage=_mean_over_horizon(curve, steps if horizon is None else max(horizon, steps)),
        completed=completed,
        steps=steps,
        steps_to_completion=steps if completed else None,
        human_actions=count(is_action, human),
        human_place_break=count(is_place | is_break, human),
        human_correct=human_correct,
        assistant_actions=count(is_action, assistant),
        assistant_correct_places=count(is_place & correct, assistant),
        assistant_incorrect_places=count(is_place & incorrect, assistant),
        assistant_correct_breaks=count(is_break & correct, assistant),
        assistant_incorrect_breaks=count(is_break & incorrect, assistant),
        assistant_share=assistant_correct / total_correct if total_correct else 0.0,
        goal_percentage_curve=curve,
    )


def _mean_over_horizon(curve: np.ndarray, horizon: int) -> float:
    """Mean of ``curve[1:]`` extended with its final value up to ``horizon`` steps."""
    if horizon == 0:
        return float(curve[0])
    observed = curve[1:]
    return float((observed.sum() + (horizon - len(observed)) * curve[-1]) / horizon)


def episode_metrics(
    recording: EpisodeRecording, score_step: int | None = None, human: int = 0
) -> EpisodeMetrics:
    """Metrics of an :class:`~mbag_env.evaluation.recording.EpisodeRecording`.

    The assistant is the recording's agent seat (none when the agent is the human itself).
    """
    if not isinstance(recording, EpisodeRecording):
        raise ValueError(f"episode_metrics needs an EpisodeRecording, got {type(recording).__name__}")
    width, height, depth = recording.world_size
    return compute_episode_metrics(
        edit_distance=recording.edit_distance,
        actions=recording.actions,
        action_valid=recording.action_valid,
        action_delta=recording.action_delta,
        num_cells=width * height * depth,
        human=human,
        assistant=None if recording.agent == human else recording.agent,
        score_step=score_step,
        horizon=recording.config.horizon,
    )


@dataclass(frozen=True)
class Estimate:
    """A mean with its two-sided 95% confidence interval ``[low, high]`` over ``n`` values.

    With one value the interval is that value; with none, all fields are NaN and ``n = 0``.
    """

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready values (NaN becomes ``None``)."""
        return {
            "mean": _json_float(self.mean),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "n": self.n,
        }


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def t_critical_95(degrees_of_freedom: int) -> float:
    """The two-sided 95% Student-t critical value (exact table up to 30, then interpolated in
    ``1/df`` toward the normal 1.96; accurate to 0.002)."""
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be >= 1, got {degrees_of_freedom}")
    if degrees_of_freedom <= len(_T_975):
        return _T_975[degrees_of_freedom - 1]
    # Linear in 1/df between df = 30 and df = infinity (the textbook interpolation).
    fraction = 30.0 / degrees_of_freedom
    return _Z_975 + (_T_975[-1] - _Z_975) * fraction


def mean_confidence_interval(values: Sequence[float] | np.ndarray) -> Estimate:
    """Mean and 95% Student-t confidence interval of ``values`` (NaN entries are dropped)."""
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    n = int(array.size)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(array.mean())
    if n == 1:
        return Estimate(mean, mean, mean, 1)
    half = t_critical_95(n - 1) * float(array.std(ddof=1)) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def aggregate(metrics: Sequence[EpisodeMetrics]) -> dict[str, Estimate]:
    """:func:`mean_confidence_interval` of every scalar metric over ``metrics``.

    ``completed`` becomes the completion rate; ``steps_to_completion`` averages over the
    completed episodes only.
    """
    summary: dict[str, Estimate] = {}
    for name in SCALAR_METRICS:
        values = [getattr(m, name) for m in metrics]
        numbers = [math.nan if value is None else float(value) for value in values]
        summary[name] = mean_confidence_interval(numbers)
    return summary
