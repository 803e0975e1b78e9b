"""``baselines.assistance_zero.diagnostics`` (run by ``scripts/evaluate_assistance_zero.py``): the belief
comparison against the exact posterior (``--compare-belief``) and the exact-posterior search ablation
(``--exact-belief``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import torch

import mbag_env  # noqa: F401
from baselines.assistance_zero.diagnostics import (
    AZ_BELIEF,
    EXACT_BELIEF,
    EXACT_ROW,
    BeliefComparison,
    exact_belief,
    main,
)
from mbag_env.blocks import NUM_BLOCK_TYPES
from tests.baselines.conftest import save_untrained_checkpoint, untrained_assistance_zero

SMALL = (6, 6, 6)


def one_hot(values: np.ndarray) -> np.ndarray:
    """``(n, W, H, D)`` ids as ``(n, 10, W, H, D)`` probabilities."""
    return np.moveaxis(np.eye(NUM_BLOCK_TYPES)[values], -1, 1)


def test_belief_comparison_scores_both_beliefs_on_the_recorded_worlds() -> None:
    """A network belief that is θ scores 1 everywhere; the exact posterior is fed every world's
    observations but scored only where ``recording``; both curves count the same worlds."""
    envs = gym.make_vec("mbag/Assist-Small-v0", num_envs=2, vectorization_mode="vector_entry_point")
    observations, _ = envs.reset(seed=5)
    goals = envs.unwrapped.batch.state.goal.copy()  # type: ignore[attr-defined]
    policy = SimpleNamespace(last_belief=one_hot(goals))
    comparison = BeliefComparison(policy, exact_belief(SMALL, 2), horizon=200)  # type: ignore[arg-type]
    try:
        for _ in range(5):
            comparison(observations, goals, np.array([True, False]))
            observations, *_ = envs.step(np.zeros(2, dtype=np.int64))
    finally:
        envs.close()
    network, exact = comparison.accuracy[AZ_BELIEF], comparison.accuracy[EXACT_BELIEF]
    assert [len(scores) for scores in network.accuracy[:6]] == [1, 1, 1, 1, 1, 0]
    assert [len(scores) for scores in exact.accuracy[:6]] == [1, 1, 1, 1, 1, 0]
    assert all(scores == [1.0] for scores in network.accuracy[:5])
    assert all(scores == [1.0] for scores in network.truth_probability[:5])
    assert 0.0 <= exact.truth_probability[0][0] < 1.0
    summary = comparison.to_dict(min_worlds=1)
    assert set(summary["beliefs"]) == {AZ_BELIEF, EXACT_BELIEF}
    assert summary["beliefs"][AZ_BELIEF]["expected_calibration_error"] == 0.0
    assert summary["exact_epsilon"] == 0.1 and summary["min_worlds"] == 1


def test_main_writes_the_comparison_and_the_exact_belief_row(tmp_path: Path) -> None:
    """End to end on an untrained tiny checkpoint that waits: the JSON holds ``belief_comparison`` and the
    "AssistanceZero + exact belief" row with its paired differences, and the belief plot is drawn."""
    torch.manual_seed(0)
    config, model = untrained_assistance_zero()
    with torch.no_grad():  # an assistant that waits (NOOP): short episodes, few belief updates
        model.policy_head.globals.bias[0] = 30.0  # type: ignore[index, union-attr]
    checkpoint = save_untrained_checkpoint(tmp_path / "tiny.pt", config, model)
    output = main(
        [
            str(checkpoint),
            "--episodes",
            "2",
            "--num-envs",
            "2",
            "--simulations",
            "1",
            "--compare-belief",
            "--exact-belief",
            "--belief-min-worlds",
            "2",
            "--belief-plot",
            str(tmp_path / "belief.png"),
            "--json",
            str(tmp_path / "out.json"),
        ]
    )
    written = json.loads((tmp_path / "out.json").read_text())
    assert list(written["results"]) == ["idle (NOOP)", "AssistanceZero", EXACT_ROW]
    assert set(written["results"][EXACT_ROW]["paired_difference"]) >= {"score_goal_percentage", "length"}
    assert EXACT_ROW in written["table"]
    beliefs = written["belief_comparison"]["beliefs"]
    assert set(beliefs) == {AZ_BELIEF, EXACT_BELIEF}
    for result in beliefs.values():
        assert result["accuracy"]["step"][:1] == [0.0] and result["calibration"]["cells"]
        assert result["accuracy"]["worlds"] == result["truth_probability"]["worlds"]
    assert beliefs[AZ_BELIEF]["accuracy"]["worlds"] == beliefs[EXACT_BELIEF]["accuracy"]["worlds"]
    assert output["belief_comparison"] == written["belief_comparison"]
    assert (tmp_path / "belief.png").stat().st_size > 0
