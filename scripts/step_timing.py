"""Timing helpers shared by the speed scripts (``profile_env_step.py``, ``ab_single_step.py``,
``compare_reference_speed.py``), imported from the scripts' own folder.

``reference_speed_worker.py`` keeps its own copy of the loop on purpose: it runs inside the
reference env's virtual environment, where neither ``mbag_env`` nor this folder is importable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def per_call_us(function: Callable[[], object], seconds: float, blocks: int = 5) -> float:
    """Microseconds of this process's CPU time per call of ``function``: the median over ``blocks``
    blocks of about ``seconds / blocks`` each (after a warm-up call). CPU time, not wall-clock time,
    so that other jobs on the machine disturb the single-threaded figures less."""
    function()
    per_block: list[float] = []
    for _ in range(blocks):
        calls = 0
        start = time.process_time()
        while True:
            for _ in range(100):
                function()
            calls += 100
            elapsed = time.process_time() - start
            if elapsed >= seconds / blocks:
                per_block.append(elapsed / calls * 1e6)
                break
    return statistics.median(per_block)


def random_valid_stepper(env: Any, seed: int) -> tuple[Callable[[], None], Callable[[], np.ndarray]]:
    """A user's loop over ``env`` (a Gymnasium env with an ``action_mask`` observation): each call
    takes a random valid action (``rng.choice(np.flatnonzero(mask))``) and resets at the end of an
    episode. Returns ``(step, current_mask)``; the env is reset with ``seed`` first."""
    rng = np.random.default_rng(seed)
    current = {"observation": env.reset(seed=seed)[0]}

    def step() -> None:
        action = int(rng.choice(np.flatnonzero(current["observation"]["action_mask"])))
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()
        current["observation"] = observation

    return step, lambda: current["observation"]["action_mask"]
