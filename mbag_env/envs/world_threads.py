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


class _Helper:
    """One helper thread: it sleeps on a lock until given a task, runs it, and says so."""

    def __init__(self, thread: int) -> None:
        self.thread = thread
        self._go = threading.Lock()
        self._go.acquire()
        self._started = threading.Lock()
        self._started.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._runner: KernelRunner | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._serve, name=f"mbag-worlds-{thread}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._go.acquire()
            self._started.release()
            try:
                assert self._runner is not None
                self._runner(self.thread)
            except BaseException as error:  # raised again on the caller by finish()
                self._error = error
            self._done.release()

    def start(self, runner: KernelRunner) -> None:
        """Wake the thread to call ``runner(thread)``."""
        self._runner = runner
        self._error = None
        self._go.release()

    def wait_started(self) -> None:
        """Return once the thread has taken up its task."""
        self._started.acquire()

    def finish(self) -> None:
        """Wait for the task to end; raise its exception, if any."""
        self._done.acquire()
        self._started.acquire(blocking=False)  # the task's start, unless wait_started took it
        self._runner = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


class WorldThreads:
    """Helper threads shared by every batch of the process (see the module docstring).

    They are started on first use and again after a ``fork`` (a child process inherits none of
    its parent's threads). A call made while another thread's call is using them runs on its
    calling thread alone.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._helpers: list[_Helper] = []
        self._pid = -1

    def run(self, runner: KernelRunner, threads: int, meanwhile: Callable[[], None] | None = None) -> None:
        """Call ``runner(thread)`` on the calling thread (``thread = 0``) and on ``threads - 1``
        helpers at once.

        ``meanwhile``, if given, runs on the calling thread first, while the helpers already work;
        it must not touch what the kernel touches. Every helper has taken up its task (and then
        lets go of the GIL inside the kernel) before ``meanwhile`` starts, so Python code there does
        not hold them up. Exceptions are raised here once every thread has stopped.
        """
        if threads <= 1 or not self._lock.acquire(blocking=False):
            if meanwhile is not None:
                meanwhile()
            runner(0)
            return
        try:
            helpers = self._helpers_for(threads - 1)
            for helper in helpers:
                helper.start(runner)
            try:
                if meanwhile is not None:
                    for helper in helpers:
                        helper.wait_started()
                    meanwhile()
                runner(0)
            finally:
                self._finish(helpers)
        finally:
            self._lock.release()

    def _finish(self, helpers: list[_Helper]) -> None:
        """Wait for every helper; raise the first helper's exception. Interrupted while waiting
        (Ctrl-C), the helpers are given up: later calls start fresh ones."""
        errors = []
        try:
            for helper in helpers:
                try:
                    helper.finish()
                except Exception as error:
                    errors.append(error)
        except BaseException:
            self._helpers = []
            raise
        if errors:
            raise errors[0]

    def _helpers_for(self, count: int) -> list[_Helper]:
        if self._pid != os.getpid():
            self._helpers = []  # a forked child: its parent's threads do not run here
            self._pid = os.getpid()
        while len(self._helpers) < count:
            self._helpers.append(_Helper(len(self._helpers) + 1))
        return self._helpers[:count]


WORLD_THREADS = WorldThreads()
"""The process's one pool of helpers, shared by every batch."""
