"""Timing helpers shared by the speed scripts (``profile_env_step.py``, ``ab_single_step.py``,
``compare_reference_speed.py``, ``reference_speed_worker.py``), imported from the scripts' own folder.

It imports only the standard library and numpy: ``reference_speed_worker.py`` runs it inside the
reference env's virtual environment, where ``mbag_env`` is not installed (a script's own folder is
always importable).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def machine_record(load_before: float, load_after: float, **versions: object) -> dict[str, object]:
    """The machine a timing ran on, for a script's JSON: its CPUs, the load average before and after
    the timing, the platform, Python's version and ``versions`` (package name -> version)."""
    return {
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **versions,
    }


def per_call_us(function: Callable[[], object], seconds: float, blocks: int = 5) -> float:
    """Microseconds of this process's CPU time per call of ``function``: the median over ``blocks``
    blocks of about ``seconds / blocks`` each (after a warm-up call). CPU time, not wall-clock time,
    so that other jobs on the machine disturb the single-threaded figures less."""
    function()
    per_block: list[float] = []
    for _ in range(blocks):
        calls, elapsed = call_for(function, seconds / blocks, 100, time.process_time)
        per_block.append(elapsed / calls * 1e6)
    return statistics.median(per_block)


def call_for(
    function: Callable[[], object], seconds: float, batch: int, clock: Callable[[], float]
) -> tuple[int, float]:
    """Call ``function`` in batches of ``batch`` calls until ``clock`` has advanced ``seconds``; the
    number of calls and the clock's advance."""
    calls = 0
    start = clock()
    while True:
        for _ in range(batch):
            function()
        calls += batch
        elapsed = clock() - start
        if elapsed >= seconds:
            return calls, elapsed


def timed(step: Callable[[], object], seconds: float) -> dict[str, float]:
    """Call ``step`` for about ``seconds`` of wall-clock time (after a warm-up of 20 calls); the
    steps, wall-clock and CPU seconds (the comparison of ``compare_reference_speed.py``)."""
    for _ in range(20):
        step()
    cpu_start = time.process_time()
    steps, wall = call_for(step, seconds, 20, time.perf_counter)
    return {"steps": steps, "wall_s": wall, "cpu_s": time.process_time() - cpu_start}


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
