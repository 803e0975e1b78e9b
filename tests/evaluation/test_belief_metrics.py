"""Belief metrics against hand-computed values: accuracy and p(θ_c) on the cells still to build,
calibration bins and the expected calibration error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mbag_env.blocks import AIR, DIRT, GLASS, NUM_BLOCK_TYPES, STONE
from mbag_env.evaluation.belief_metrics import BeliefAccuracy, plot_belief_accuracy, score_belief


def one_hot_rows(blocks: list[int], confidence: float) -> np.ndarray:
    """Rows putting ``confidence`` on each block and the rest evenly elsewhere."""
    rows = np.full((len(blocks), NUM_BLOCK_TYPES), (1.0 - confidence) / (NUM_BLOCK_TYPES - 1))
    rows[np.arange(len(blocks)), blocks] = confidence
    return rows


def test_score_belief_only_counts_cells_still_to_build() -> None:
    goal = np.array([STONE, AIR, GLASS, DIRT])
    blocks = np.array([AIR, AIR, GLASS, AIR])  # cells 0 and 3 are still to build
    marginals = one_hot_rows([STONE, STONE, STONE, GLASS], 0.7)
    correct, truth, confidence = score_belief(marginals, blocks, goal)
    assert correct.tolist() == [True, False]
    assert truth == pytest.approx([0.7, 0.3 / 9])
    assert confidence == pytest.approx([0.7, 0.7])
    # The (10, W, H, D) layout of a network's goal head gives the same answer.
    grid = marginals.T.reshape(NUM_BLOCK_TYPES, 1, 2, 2)
    again = score_belief(grid, blocks.reshape(1, 2, 2), goal.reshape(1, 2, 2))
    assert again[0].tolist() == correct.tolist() and again[1] == pytest.approx(truth)


def test_score_belief_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one world"):
        score_belief(np.zeros((3, NUM_BLOCK_TYPES)), np.zeros(4, np.uint8), np.zeros(4, np.uint8))


def test_belief_accuracy_curves_and_calibration_by_hand() -> None:
    accuracy = BeliefAccuracy(horizon=3, bins=2)
    goal = np.array([STONE, GLASS])
    blocks = np.array([AIR, AIR])
    accuracy.add(0, one_hot_rows([STONE, STONE], 0.9), blocks, goal)  # 1 of 2 right, confidence 0.9
    accuracy.add(0, one_hot_rows([STONE, GLASS], 0.4), blocks, goal)  # 2 of 2 right, confidence 0.4
    accuracy.add(1, one_hot_rows([DIRT, DIRT], 0.9), goal, goal)  # nothing to build: not scored
    curve = accuracy.curve("accuracy", min_worlds=2)
    assert curve["step"] == [0.0] and curve["mean"] == pytest.approx([0.75]) and curve["worlds"] == [2.0]
    assert accuracy.curve("accuracy", min_worlds=3)["step"] == []
    truth = accuracy.curve("truth_probability", min_worlds=1)
    assert truth["mean"] == pytest.approx([(0.9 + 0.1 / 9 + 0.4 + 0.4) / 4])
    calibration = accuracy.calibration()
    assert calibration["confidence"] == pytest.approx([0.4, 0.9])
    assert calibration["accuracy"] == pytest.approx([1.0, 0.5])
    assert calibration["cells"] == [2.0, 2.0]
    # ECE: (2·|0.4 − 1.0| + 2·|0.9 − 0.5|) / 4
    assert accuracy.expected_calibration_error() == pytest.approx((2 * 0.6 + 2 * 0.4) / 4)
    assert set(accuracy.to_dict()) == {
        "accuracy",
        "truth_probability",
        "calibration",
        "expected_calibration_error",
    }
    with pytest.raises(ValueError, match="outside"):
        accuracy.add(3, one_hot_rows([STONE, STONE], 0.9), blocks, goal)


def test_plot_belief_accuracy_draws_every_belief(tmp_path: Path) -> None:
    goal = np.array([STONE, GLASS])
    blocks = np.array([AIR, AIR])
    results = {}
    for name, guess in (("right", [STONE, GLASS]), ("wrong", [GLASS, STONE])):
        accuracy = BeliefAccuracy(horizon=3, bins=2)
        for step in range(3):
            accuracy.add(step, one_hot_rows(guess, 0.8), blocks, goal)
        results[name] = accuracy.to_dict(min_worlds=1)
    path = tmp_path / "plots" / "belief.png"
    plot_belief_accuracy(results, path, score_step=1, min_worlds=1, title="two beliefs")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
