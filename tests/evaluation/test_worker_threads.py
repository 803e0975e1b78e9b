"""Leaderboard workers run one math thread each unless the user's environment says otherwise."""

from __future__ import annotations

import os

import pytest

from mbag_env.evaluation.worker_pool import WORKER_THREAD_VARIABLES, limit_worker_threads


def test_workers_default_to_one_thread_and_keep_the_users_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WORKER_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    limit_worker_threads()
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "3"
