"""The leaderboard's worker processes: play episode tasks one per worker at a time, replace a worker that
dies (failing only its own episode), and make workers die with the main process (prctl + watchdog)."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mbag_env.evaluation.episode_tasks import EpisodeTask, failed_result, run_task

PR_SET_PDEATHSIG = 1
"""``prctl`` option of Linux: the signal a process receives when its parent dies."""


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker process end when the process ``parent_pid`` that started it ends.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill it at once (ignored where it
    fails); everywhere, a daemon thread checks once a second whether the parent is still the
    parent (an orphan is adopted by another process) and ends the process if not. Without this a
    ``kill -9`` of the leaderboard would leave its workers running their episodes.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    if os.getppid() != parent_pid:  # the parent died before we could ask to die with it
        os._exit(1)
    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


WORKER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Thread-count variables a worker sets to 1 unless the user set them (read by torch and BLAS)."""


def limit_worker_threads() -> None:
    """One math thread per worker (unless the user's environment says otherwise): ``--workers N``
    on N cores then runs N threads, not N times torch's default (oversubscribed, a network call of
    a learnt assistant ran tens of times slower). Must run before the worker imports torch."""
    for name in WORKER_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def _worker_main(connection: multiprocessing.connection.Connection, parent_pid: int) -> None:
    """A worker process: announce ``("ready", pid)``, then play each task received and send back
    ``("result", result)`` until it receives ``None`` or the connection closes. Ctrl-C is left to
    the main process, which stops the workers."""
    limit_worker_threads()
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection.send(("ready", os.getpid()))
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = run_task(task)
        except KeyboardInterrupt:  # raised by the assistant itself: stop the whole run, as in-process
            connection.send(("interrupted", None))
            continue
        except BaseException as error:  # noqa: B036 - SystemExit from an assistant fails its episode
            result = failed_result(task, f"{type(error).__name__}: {error}")
        connection.send(("result", result))


@dataclass
class _Worker:
    """A worker process of :func:`execute_in_processes` and the task it is playing."""

    process: Any
    connection: multiprocessing.connection.Connection
    ready: bool = False
    task: EpisodeTask | None = None


def _exit_description(code: int | None) -> str:
    """``"exit code 1"``, ``"killed by SIGSEGV"``, or ``"exit code unknown"``."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


MAX_START_FAILURES = 3
"""Worker processes that may die in a row before playing anything before the run gives up."""


def execute_in_processes(
    tasks: Sequence[EpisodeTask], on_result: Callable[[dict[str, Any]], None], workers: int
) -> None:
    """Play ``tasks`` in ``workers`` spawned processes, one task per worker at a time.

    Each worker is sent its next task only after it returned the previous one, so when a worker
    dies the task it held is known exactly: that episode is reported failed, a fresh worker
    replaces it, and no other episode is affected (unlike a ``ProcessPoolExecutor``, which fails
    every pending future when one worker dies).
    """
    context = multiprocessing.get_context("spawn")  # safe with threads (torch, numba) in the parent
    queue = deque(tasks)
    live: list[_Worker] = []
    start_failures = 0
    finished = False

    def start_worker() -> _Worker:
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_worker_main, args=(child_end, os.getpid()), name="mbag-leaderboard-worker"
        )
        process.start()
        child_end.close()  # so that the worker's death reads as end-of-file here
        return _Worker(process, parent_end)

    try:
        while queue or any(worker.task is not None for worker in live):
            busy = sum(worker.task is not None for worker in live)
            while len(live) < min(workers, busy + len(queue)):
                live.append(start_worker())
            for worker in live:
                if worker.ready and worker.task is None and queue:
                    worker.task = queue.popleft()
                    with contextlib.suppress(OSError):  # a dead worker is noticed below
                        worker.connection.send(worker.task)
            waiting = [worker.connection for worker in live] + [worker.process.sentinel for worker in live]
            ready = set(multiprocessing.connection.wait(waiting))
            for worker in list(live):
                if worker.connection not in ready and worker.process.sentinel not in ready:
                    continue
                message = None
                dead = False
                try:
                    if worker.connection.poll():
                        message = worker.connection.recv()
                except Exception:  # end of file, or a message cut short by the worker's death
                    dead = True
                if message is not None:
                    kind, payload = message
                    if kind == "ready":
                        worker.ready = True
                        start_failures = 0
                    elif kind == "interrupted":
                        raise KeyboardInterrupt
                    else:
                        worker.task = None
                        on_result(payload)
                    continue
                if not dead and worker.process.is_alive() and worker.process.sentinel not in ready:
                    continue
                worker.process.join(timeout=5)
                if worker.process.is_alive():  # it sent something unreadable and lives on: end it
                    worker.process.kill()
                    worker.process.join(timeout=5)
                code = worker.process.exitcode
                worker.connection.close()
                live.remove(worker)
                if worker.task is not None:
                    on_result(
                        failed_result(
                            worker.task,
                            f"worker process died ({_exit_description(code)}) while playing this episode; "
                            "the other episodes went on",
                        )
                    )
                elif not worker.ready:
                    start_failures += 1
                    if start_failures >= MAX_START_FAILURES:
                        raise RuntimeError(
                            f"{start_failures} worker processes died while starting "
                            f"(last: {_exit_description(code)}); try --workers 1 to see the error"
                        )
        finished = True
    finally:
        for worker in live:
            if finished:
                with contextlib.suppress(OSError):
                    worker.connection.send(None)
            else:
                worker.process.kill()
        for worker in live:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.connection.close()
