"""The helper threads that share a batch's kernels (mbag_env.envs.world_threads) and the atomic
counter the kernels take worlds from (mbag_env.core.jit.claim_worlds)."""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest

from mbag_env.core.jit import claim_worlds
from mbag_env.envs.world_threads import (
    MIN_WORLDS_FOR_THREADS,
    WORLD_THREADS,
    WorldThreads,
    kernel_threads,
)


@numba.njit(nogil=True, cache=True, _nrt=False)
def _take_worlds(next_world: np.ndarray, chunk: int, owner: np.ndarray, thread: int) -> None:
    """Mark each world taken with the thread that took it (and spin a while on each, so that the
    threads really overlap)."""
    while True:
        first = claim_worlds(next_world, chunk)
        if first >= owner.shape[0]:
            return
        for world in range(first, min(first + chunk, owner.shape[0])):
            spin = 0
            for step in range(2000):
                spin += step % 7
            owner[world] = 1 + thread + 0 * spin


@pytest.mark.parametrize("chunk", [1, 8, 5000])
def test_threads_share_the_worlds_each_taken_once(chunk: int) -> None:
    owner = np.zeros(4000, dtype=np.int64)
    next_world = np.zeros(1, dtype=np.int64)
    WORLD_THREADS.run(lambda thread: _take_worlds(next_world, chunk, owner, thread), threads=3)
    assert (owner > 0).all()  # every world taken, none skipped
    assert next_world[0] >= owner.shape[0]
    if chunk == 5000:
        assert len(np.unique(owner)) == 1  # one chunk holds the whole batch: one thread took it


def test_claim_worlds_returns_the_value_before_the_add() -> None:
    @numba.njit(_nrt=False)
    def claims(counter: np.ndarray) -> tuple[int, int, int]:
        return claim_worlds(counter, 3), claim_worlds(counter, 3), claim_worlds(counter, 10)

    counter = np.zeros(1, dtype=np.int64)
    assert claims(counter) == (0, 3, 6)
    assert counter[0] == 16


def test_meanwhile_runs_on_the_caller_before_its_share() -> None:
    events: list[tuple[str, int]] = []
    lock = threading.Lock()
    caller = threading.get_ident()

    def runner(thread: int) -> None:
        with lock:
            events.append(("run", thread))

    def meanwhile() -> None:
        assert threading.get_ident() == caller
        with lock:
            events.append(("meanwhile", -1))

    WorldThreads().run(runner, threads=3, meanwhile=meanwhile)
    assert sorted(thread for kind, thread in events if kind == "run") == [0, 1, 2]
    assert events.index(("meanwhile", -1)) < events.index(("run", 0))


def test_an_error_on_a_helper_is_raised_to_the_caller() -> None:
    def runner(thread: int) -> None:
        if thread == 1:
            raise RuntimeError("helper failed")

    with pytest.raises(RuntimeError, match="helper failed"):
        WorldThreads().run(runner, threads=2)


def test_one_thread_runs_everything_on_the_caller() -> None:
    seen: list[int] = []
    WorldThreads().run(lambda thread: seen.append(threading.get_ident()), threads=1, meanwhile=lambda: None)
    assert seen == [threading.get_ident()]


def test_small_batches_stay_on_the_calling_thread() -> None:
    assert kernel_threads(MIN_WORLDS_FOR_THREADS - 1) == 1
    assert kernel_threads(MIN_WORLDS_FOR_THREADS) == max(1, numba.config.NUMBA_NUM_THREADS)


def test_the_pool_works_again_after_a_helper_failed() -> None:
    pool = WorldThreads()

    def failing(thread: int) -> None:
        if thread == 1:
            raise ValueError("once")

    with pytest.raises(ValueError, match="once"):
        pool.run(failing, threads=2)
    seen: list[int] = []
    lock = threading.Lock()

    def recording(thread: int) -> None:
        with lock:
            seen.append(thread)

    for _ in range(50):  # each call waits for its own helpers' tasks, none left over from before
        seen.clear()
        pool.run(recording, threads=2, meanwhile=lambda: None)
        assert sorted(seen) == [0, 1]


def test_a_call_while_the_helpers_are_busy_runs_on_its_own_thread() -> None:
    pool = WorldThreads()
    inner: list[int] = []

    def outer(thread: int) -> None:
        if thread == 0:
            pool.run(inner.append, threads=2)  # the helpers are taken: everything on this thread

    pool.run(outer, threads=2)
    assert inner == [0]
