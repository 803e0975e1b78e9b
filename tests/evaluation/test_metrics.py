"""Episode metrics on a hand-made episode, against the env's own counters, and the intervals."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import mbag_env
from mbag_env.core.actions import FIRST_PLACE
from mbag_env.evaluation import (
    aggregate,
    compute_episode_metrics,
    episode_metrics,
    make_scripted_assistant,
    mean_confidence_interval,
    run_episode,
)
from mbag_env.evaluation.metrics import t_critical_95
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel

VOLUME = 3 * 4 * 3  # a (3, 4, 3) world


def place(cell: int, slot: int = 0) -> int:
    return FIRST_PLACE + slot * VOLUME + cell


def break_(cell: int) -> int:
    return FIRST_PLACE + 8 * VOLUME + cell


def hand_made_episode(score_step: int | None = None):
    """Five steps of a two-player episode on a (3, 4, 3) world, d0 = 4.

    step  human (player 0)             assistant (player 1)        d after
    1     correct place (+1)           incorrect place (-1)        4
    2     move                         correct break (+1)          3
    3     NOOP                         invalid place (no-op)       3
    4     correct place (+1)           correct place (+1)          1
    5     correct break (+1)           NOOP                        0
    """
    return compute_episode_metrics(**HAND_MADE, num_cells=VOLUME, score_step=score_step)


HAND_MADE: dict[str, Any] = {
    "actions": np.array(
        [
            [place(5), place(7, slot=2)],
            [3, break_(7)],
            [0, place(9)],
            [place(6), place(10)],
            [break_(11), 0],
        ]
    ),
    "action_valid": np.array([[1, 1], [1, 1], [1, 0], [1, 1], [1, 1]], dtype=bool),
    "action_delta": np.array([[1, -1], [0, 1], [0, 0], [1, 1], [1, 0]]),
    "edit_distance": np.array([4, 4, 3, 3, 1, 0]),
}
"""The arrays of :func:`hand_made_episode`'s table."""


def test_metrics_of_a_hand_made_episode() -> None:
    metrics = hand_made_episode(score_step=2)
    assert metrics.goal_percentage == 1.0
    assert metrics.score_goal_percentage == pytest.approx(0.25)  # d = 3 after step 2
    np.testing.assert_allclose(metrics.goal_percentage_curve, [0, 0, 0.25, 0.25, 0.75, 1.0])
    assert metrics.mean_goal_percentage == pytest.approx((0 + 0.25 + 0.25 + 0.75 + 1.0) / 5)
    assert metrics.completed and metrics.steps == 5 and metrics.steps_to_completion == 5
    assert metrics.human_actions == 4  # place, move, place, break (NOOP is no action)
    assert metrics.human_place_break == 3
    assert metrics.human_correct == 3
    assert metrics.assistant_actions == 3  # the invalid place is not an action
    assert metrics.assistant_correct_places == 1
    assert metrics.assistant_incorrect_places == 1
    assert metrics.assistant_correct_breaks == 1
    assert metrics.assistant_incorrect_breaks == 0
    assert metrics.assistant_share == pytest.approx(2 / 5)
    assert hand_made_episode(score_step=50).score_goal_percentage == 1.0  # past the end: final value
    # Over a horizon of 10 steps the completed house counts 100% for the 5 steps after the end.
    padded = compute_episode_metrics(**HAND_MADE, num_cells=VOLUME, horizon=10)
    assert padded.mean_goal_percentage == pytest.approx((0 + 0.25 + 0.25 + 0.75 + 1.0 + 5 * 1.0) / 10)
    assert hand_made_episode().score_goal_percentage == 1.0
    as_dict = metrics.to_dict()
    assert as_dict["assistant_share"] == pytest.approx(0.4) and "goal_percentage_curve" not in as_dict
    assert len(metrics.to_dict(with_curve=True)["goal_percentage_curve"]) == 6


def test_metrics_reject_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="edit_distance must have shape"):
        compute_episode_metrics(
            edit_distance=np.zeros(3),
            actions=np.zeros((3, 2)),
            action_valid=np.zeros((3, 2)),
            action_delta=np.zeros((3, 2)),
            num_cells=VOLUME,
        )


def test_metrics_of_a_real_episode_agree_with_the_env_counters() -> None:
    goal = load_shipped_goals("test", (6, 6, 6))[11]
    env = mbag_env.MbagEnv(world_size=(6, 6, 6), goal=goal, agent=1, horizon=80, human_policy=HumanModel())
    recording = run_episode(env, make_scripted_assistant("random", env, seed=2), seed=2)
    metrics = episode_metrics(recording, score_step=30)
    info = env.batch.info(0, 1)
    assert metrics.assistant_correct_places == info["correct_places"]
    assert metrics.assistant_incorrect_places == info["incorrect_places"]
    assert metrics.assistant_correct_breaks == info["correct_breaks"]
    assert metrics.assistant_incorrect_breaks == info["incorrect_breaks"]
    assert metrics.goal_percentage == pytest.approx(info["goal_percentage"])
    human = env.batch.info(0, 0)
    assert metrics.human_correct == human["correct_places"] + human["correct_breaks"]


def test_confidence_intervals() -> None:
    estimate = mean_confidence_interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182 * np.std([1, 2, 3, 4], ddof=1) / 2
    assert estimate.mean == 2.5 and estimate.n == 4
    assert estimate.low == pytest.approx(2.5 - half) and estimate.high == pytest.approx(2.5 + half)
    assert mean_confidence_interval([0.7]) == mean_confidence_interval([0.7, math.nan])
    assert mean_confidence_interval([0.7]).low == 0.7
    empty = mean_confidence_interval([])
    assert empty.n == 0 and math.isnan(empty.mean) and empty.to_dict()["mean"] is None
    assert t_critical_95(1) == 12.706 and t_critical_95(30) == 2.042
    assert t_critical_95(120) == pytest.approx(1.980, abs=0.002)
    assert t_critical_95(10**6) == pytest.approx(1.960, abs=0.001)
    summary = aggregate([hand_made_episode(), hand_made_episode()])
    assert summary["completed"].mean == 1.0 and summary["assistant_share"].half_width == 0.0
