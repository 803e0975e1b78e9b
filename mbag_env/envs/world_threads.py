"""Threads that run one compiled kernel over a batch's worlds together, the calling thread included.

Large vector envs step and observe their worlds on all cores. numba's own parallel loops
(``prange``) did not pay on small machines: its ``workqueue`` pool keeps the calling thread
busy-waiting while the pool's threads work, so on 2 cores two workers and the waiting caller
shared two CPUs and a batched step ran only 1.1–1.3× faster than on one thread; its OpenMP pool
busy-waits *between* calls, which slowed batched steps on a shared or oversubscribed machine up
to 20× in our measurements.

Here every thread (the caller and sleeping helpers) calls the same ``nogil`` kernel once, and
the kernel hands out the worlds a few at a time from a shared atomic counter
(:func:`~mbag_env.core.jit.claim_worlds`), so threads that finish early take over the work of
slow ones (the scripted human's search costs some worlds ten times what it costs others) without
taking the GIL between chunks. Each thread has its own row of the batch's scratch arrays, which
stays in its core's cache.

The number of threads is numba's ``NUMBA_NUM_THREADS`` (by default the CPUs this process may run
on); set that environment variable to change it (``1``: every batch on the calling thread).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from numba.core import config as numba_config  # type: ignore[attr-defined]

MIN_WORLDS_FOR_THREADS = 64
"""Smaller batches run on the calling thread alone: waking a helper costs tens of microseconds,
about what a few dozen worlds' steps cost."""

WORLDS_PER_CLAIM = 8
"""How many worlds a thread takes from the counter at a time (the load balancing's grain)."""

KernelRunner = Callable[[int], None]
"""``run(thread)``: call the kernel once with the work space of ``thread`` (0 is the caller)."""


def kernel_threads(num_worlds: int) -> int:
    """How many threads (the caller included) step a batch of ``num_worlds`` worlds: numba's
    ``NUMBA_NUM_THREADS``, or 1 below :data:`MIN_WORLDS_FOR_THREADS` worlds."""
    if num_worlds < MIN_WORLDS_FOR_THREADS:
        return 1
    return max(1, int(numba_config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


class WorldThreads:
    """Helper threads shared by every batch of the process (see the module docstring).

    They are started on first use and again after a ``fork`` (a child process inherits none of
    its parent's threads).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid = -1
        self._helpers = 0

    def run(self, runner: KernelRunner, threads: int, meanwhile: Callable[[], None] | None = None) -> None:
        """Call ``runner(thread)`` on the calling thread (``thread = 0``) and on ``threads - 1``
        helpers at once.

        ``meanwhile``, if given, runs on the calling thread first, while the helpers already work;
        it must not touch what the kernel touches. Every helper has entered the kernel (and let go
        of the GIL) before ``meanwhile`` starts, so Python code there does not hold them up.
        Exceptions are raised here once every thread has stopped.
        """
        helpers = threads - 1
        if helpers <= 0:
            if meanwhile is not None:
                meanwhile()
            runner(0)
            return
        started = [threading.Event() for _ in range(helpers)]

        def help_with(thread: int) -> None:
            started[thread - 1].set()
            runner(thread)

        executor = self._executor_for(helpers)
        futures: list[Future[None]] = [executor.submit(help_with, thread) for thread in range(1, threads)]
        try:
            if meanwhile is not None:
                for event in started:
                    event.wait()
                meanwhile()
            runner(0)
        finally:
            for future in futures:
                future.result()

    def _executor_for(self, helpers: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None or self._pid != os.getpid() or self._helpers < helpers:
                if self._executor is not None and self._pid == os.getpid():
                    self._executor.shutdown(wait=True)
                self._executor = ThreadPoolExecutor(max_workers=helpers, thread_name_prefix="mbag-worlds")
                self._pid = os.getpid()
                self._helpers = helpers
            return self._executor


WORLD_THREADS = WorldThreads()
"""The process's one pool of helpers, shared by every batch."""
