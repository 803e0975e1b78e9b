"""GAE under Gymnasium next-step autoreset, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.ppo import compute_gae

GAMMA, LAMBDA = 0.9, 0.8


def column(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)[:, None]


def test_no_episode_end_is_plain_gae() -> None:
    rewards, values = column([1, 0, 2]), column([0.5, 0.2, 0.1])
    flags = np.zeros((3, 1), dtype=bool)
    advantages, returns = compute_gae(rewards, values, flags, flags, flags, np.array([0.3]), GAMMA, LAMBDA)
    d2 = 2 + GAMMA * 0.3 - 0.1
    d1 = 0 + GAMMA * 0.1 - 0.2
    d0 = 1 + GAMMA * 0.2 - 0.5
    a2, a1 = d2, d1 + GAMMA * LAMBDA * d2
    a0 = d0 + GAMMA * LAMBDA * a1
    assert advantages[:, 0] == pytest.approx([a0, a1, a2], rel=1e-5)
    assert returns[:, 0] == pytest.approx([a0 + 0.5, a1 + 0.2, a2 + 0.1], rel=1e-5)


def test_termination_cuts_and_reset_step_is_ignored() -> None:
    # t=0 normal, t=1 terminates, t=2 is the autoreset step (action ignored), t=3 a new episode.
    rewards, values = column([1, 5, 0, 2]), column([0.5, 0.4, 9.0, 0.3])
    terminated = column([0, 1, 0, 0]).astype(bool)
    truncated = np.zeros_like(terminated)
    resetting = column([0, 0, 1, 0]).astype(bool)
    advantages, returns = compute_gae(
        rewards, values, terminated, truncated, resetting, np.array([0.7]), GAMMA, LAMBDA
    )
    a3 = 2 + GAMMA * 0.7 - 0.3
    a1 = 5 - 0.4  # terminal: no bootstrap from the final observation's value (9.0)
    a0 = (1 + GAMMA * 0.4 - 0.5) + GAMMA * LAMBDA * a1
    assert advantages[:, 0] == pytest.approx([a0, a1, 0.0, a3], rel=1e-5)
    assert returns[2, 0] == pytest.approx(9.0)  # advantage 0: the value is its own target


def test_truncation_bootstraps_from_the_final_observation() -> None:
    # t=0 is truncated; t=1 is the autoreset step whose stored observation is the final one.
    rewards, values = column([1, 0, 3]), column([0.5, 4.0, 0.2])
    terminated = np.zeros((3, 1), dtype=bool)
    truncated = column([1, 0, 0]).astype(bool)
    resetting = column([0, 1, 0]).astype(bool)
    advantages, _ = compute_gae(
        rewards, values, terminated, truncated, resetting, np.array([0.6]), GAMMA, LAMBDA
    )
    assert advantages[0, 0] == pytest.approx(1 + GAMMA * 4.0 - 0.5, rel=1e-5)
    assert advantages[1, 0] == 0.0
    assert advantages[2, 0] == pytest.approx(3 + GAMMA * 0.6 - 0.2, rel=1e-5)


def test_end_on_last_step_uses_next_value_only_when_truncated() -> None:
    rewards, values = column([1.0]), column([0.5])
    no = np.zeros((1, 1), dtype=bool)
    yes = np.ones((1, 1), dtype=bool)
    terminal, _ = compute_gae(rewards, values, yes, no, no, np.array([10.0]), GAMMA, LAMBDA)
    truncated, _ = compute_gae(rewards, values, no, yes, no, np.array([10.0]), GAMMA, LAMBDA)
    assert terminal[0, 0] == pytest.approx(0.5)
    assert truncated[0, 0] == pytest.approx(1 + GAMMA * 10.0 - 0.5)


def test_worlds_are_independent() -> None:
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(6, 3)).astype(np.float32)
    values = rng.normal(size=(6, 3)).astype(np.float32)
    terminated = rng.random((6, 3)) < 0.2
    truncated = np.zeros((6, 3), dtype=bool)
    resetting = np.zeros((6, 3), dtype=bool)
    resetting[1:] = terminated[:-1]
    next_value = rng.normal(size=3)
    together, _ = compute_gae(rewards, values, terminated, truncated, resetting, next_value, GAMMA, LAMBDA)
    for world in range(3):
        alone, _ = compute_gae(
            rewards[:, [world]], values[:, [world]], terminated[:, [world]], truncated[:, [world]],
            resetting[:, [world]], next_value[[world]], GAMMA, LAMBDA,
        )  # fmt: skip
        assert together[:, world] == pytest.approx(alone[:, 0])
