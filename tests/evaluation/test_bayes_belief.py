"""``mbag_env.evaluation.bayes_belief`` (run by ``scripts/bayes_belief_accuracy.py``): the bayes
assistant's posterior scored against θ on a suite's episodes."""

from __future__ import annotations

import dataclasses

from mbag_env.evaluation.bayes_belief import evaluate
from mbag_env.evaluation.suites import SUITES


def test_evaluate_scores_every_step_of_every_episode() -> None:
    """One house, one human, a short horizon: every step up to the episode's end is scored once,
    with accuracies and probabilities in [0, 1]."""
    quick = SUITES["quick"]
    suite = dataclasses.replace(
        quick, name="tiny", houses=(0,), humans=quick.humans[:1], horizon=20, score_step=10
    )
    accuracy = evaluate("bayes", suite, base_seed=0)
    result = accuracy.to_dict(1)
    assert result["accuracy"]["step"][0] == 0.0
    assert all(worlds == 1 for worlds in result["accuracy"]["worlds"])
    assert all(0.0 <= value <= 1.0 for value in result["accuracy"]["mean"])
    assert 0.0 <= result["expected_calibration_error"] <= 1.0
