"""How good a goal belief is: accuracy on the cells still to build, and calibration, per step.

Any per-cell belief ``p(θ_c = b | history)`` — the exact posterior of
:class:`~mbag_env.assistants.belief.GoalBelief`, or a learned goal head such as
AssistanceZero's p̂(θ|h) — can be scored against the true goal with the same code, so the two
are compared on equal terms:

* **accuracy on the cells still to build**: among cells whose current block differs from θ,
  the share where the belief's most likely block is θ's (cells already right are easy: a belief
  that copies the world is right on all of them and wrong on every cell still to build);
* **mean p(θ_c)** on those cells: the probability the belief gives the truth;
* **calibration** on those cells: the belief's confidence ``max_b p_c(b)`` binned, against
  how often its most likely block is right (a calibrated belief lies on the diagonal).

:class:`BeliefAccuracy` accumulates these over many episodes by episode step, and
:func:`plot_belief_accuracy` draws the curves and reliability diagrams of several beliefs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mbag_env.evaluation.metrics import mean_confidence_interval


def score_belief(
    marginals: np.ndarray, blocks: np.ndarray, goal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The belief on one world's cells still to build.

    Args:
        marginals: ``(V, 10)`` or ``(10, W, H, D)`` per-cell probabilities over block types.
        blocks: the current blocks, ``V`` or ``(W, H, D)`` values.
        goal: θ, the same shape as ``blocks``.

    Returns:
        For the cells where ``blocks != goal``, in cell order: whether the most likely block is
        θ's (bool), the probability of θ's block, and the belief's confidence ``max_b p_c(b)``.

    Raises:
        ValueError: if the shapes do not agree.
    """
    blocks = np.asarray(blocks).ravel()
    goal = np.asarray(goal).ravel()
    marginals = np.asarray(marginals, dtype=np.float64)
    if marginals.ndim != 2:  # (10, W, H, D), as a network's goal head lays it out
        marginals = marginals.reshape(marginals.shape[0], -1).T
    if marginals.shape[0] != blocks.size or goal.shape != blocks.shape:
        raise ValueError(
            f"marginals {marginals.shape}, blocks {blocks.shape} and goal {goal.shape} "
            "do not describe one world"
        )
    to_build = np.flatnonzero(blocks != goal)
    rows = marginals[to_build]
    truth = goal[to_build].astype(np.int64)
    correct = rows.argmax(axis=1) == truth
    return correct, rows[np.arange(len(truth)), truth], rows.max(axis=1, initial=0.0)


class BeliefAccuracy:
    """Accumulates :func:`score_belief` over episodes, by episode step.

    Args:
        horizon: the longest episode (steps ``0 .. horizon - 1``).
        bins: calibration bins over confidence ``[0, 1]``.
    """

    def __init__(self, horizon: int, bins: int = 10) -> None:
        if horizon < 1 or bins < 1:
            raise ValueError(f"horizon and bins must be positive, got {horizon} and {bins}")
        self.horizon = horizon
        self.accuracy: list[list[float]] = [[] for _ in range(horizon)]
        self.truth_probability: list[list[float]] = [[] for _ in range(horizon)]
        self.bin_edges = np.linspace(0.0, 1.0, bins + 1)
        self.bin_count = np.zeros(bins, dtype=np.int64)
        self.bin_correct = np.zeros(bins, dtype=np.int64)
        self.bin_confidence = np.zeros(bins, dtype=np.float64)

    def add(self, step: int, marginals: np.ndarray, blocks: np.ndarray, goal: np.ndarray) -> None:
        """Score one world's belief at episode ``step`` (worlds with nothing left to build add
        nothing)."""
        if not 0 <= step < self.horizon:
            raise ValueError(f"step {step} is outside [0, {self.horizon})")
        correct, truth_probability, confidence = score_belief(marginals, blocks, goal)
        if len(correct) == 0:
            return
        self.accuracy[step].append(float(correct.mean()))
        self.truth_probability[step].append(float(truth_probability.mean()))
        index = np.clip(
            np.searchsorted(self.bin_edges, confidence, side="right") - 1, 0, len(self.bin_count) - 1
        )
        np.add.at(self.bin_count, index, 1)
        np.add.at(self.bin_correct, index, correct.astype(np.int64))
        np.add.at(self.bin_confidence, index, confidence)

    def curve(self, name: str, min_worlds: int = 10) -> dict[str, list[float]]:
        """``accuracy`` or ``truth_probability`` by step: the steps with at least ``min_worlds``
        scored worlds, their mean, and 95 % Student-t bounds."""
        values = {"accuracy": self.accuracy, "truth_probability": self.truth_probability}[name]
        steps = [step for step, scores in enumerate(values) if len(scores) >= min_worlds]
        estimates = [mean_confidence_interval(np.asarray(values[step])) for step in steps]
        return {
            "step": [float(step) for step in steps],
            "mean": [e.mean for e in estimates],
            "low": [e.low for e in estimates],
            "high": [e.high for e in estimates],
            "worlds": [float(len(values[step])) for step in steps],
        }

    def calibration(self) -> dict[str, list[float]]:
        """Per non-empty confidence bin: mean confidence, accuracy and the number of cells."""
        filled = self.bin_count > 0
        return {
            "confidence": (self.bin_confidence[filled] / self.bin_count[filled]).tolist(),
            "accuracy": (self.bin_correct[filled] / self.bin_count[filled]).tolist(),
            "cells": self.bin_count[filled].astype(float).tolist(),
        }

    def expected_calibration_error(self) -> float:
        """The cell-weighted mean gap between confidence and accuracy over the bins."""
        total = self.bin_count.sum()
        if total == 0:
            return float("nan")
        filled = self.bin_count > 0
        gap = np.abs(self.bin_confidence[filled] - self.bin_correct[filled]) / total
        return float(gap.sum())

    def to_dict(self, min_worlds: int = 10) -> dict[str, Any]:
        """JSON-ready curves, calibration and expected calibration error."""
        return {
            "accuracy": self.curve("accuracy", min_worlds),
            "truth_probability": self.curve("truth_probability", min_worlds),
            "calibration": self.calibration(),
            "expected_calibration_error": self.expected_calibration_error(),
        }


PLOT_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")
"""Line colours of :func:`plot_belief_accuracy`, one per belief in order."""


def plot_belief_accuracy(
    results: Mapping[str, Mapping[str, Any]], path: Path, score_step: int, min_worlds: int, title: str
) -> None:
    """Three panels for the beliefs ``results`` (name → :meth:`BeliefAccuracy.to_dict`): argmax
    accuracy and mean p(θ_c) on the cells still to build by step (mean and 95% CI, a dotted line
    at ``score_step``; the curves keep the steps with at least ``min_worlds`` episodes), and the
    reliability diagrams with each belief's expected calibration error. Written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for (name, result), colour in zip(results.items(), PLOT_COLOURS, strict=False):
        for axis, key in zip(axes[:2], ("accuracy", "truth_probability"), strict=True):
            curve = result[key]
            axis.plot(curve["step"], curve["mean"], color=colour, label=name)
            axis.fill_between(curve["step"], curve["low"], curve["high"], color=colour, alpha=0.2)
        calibration = result["calibration"]
        axes[2].plot(
            calibration["confidence"],
            calibration["accuracy"],
            "o-",
            color=colour,
            label=f"{name} (ECE {result['expected_calibration_error']:.3f})",
        )
    for axis, label in zip(
        axes[:2],
        ("argmax accuracy on cells still to build", "mean p(θ_c) on cells still to build"),
        strict=True,
    ):
        axis.axvline(score_step, color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel(f"episode step (≥{min_worlds} episodes still building)")
        axis.set_ylabel(label)
        axis.set_ylim(0, 1)
        axis.legend(fontsize=8)
    axes[2].plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes[2].set_xlabel("confidence max_b p(θ_c = b), cells still to build")
    axes[2].set_ylabel("share where the argmax is θ_c")
    axes[2].set_xlim(0, 1)
    axes[2].set_ylim(0, 1)
    axes[2].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
