"""Where the leaderboard's episodes run: in this process, in worker processes
(:mod:`.worker_pool`) or as Ray tasks on a cluster (:func:`connect_ray`).

:func:`execute` plays a list of :class:`~.episode_tasks.EpisodeTask` and hands each result to a
callback as it finishes (in completion order); an episode that cannot run (a worker that dies, a
Ray task that fails) comes back as a failed result, never as an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mbag_env.evaluation.episode_tasks import EpisodeTask, failed_result, run_task
from mbag_env.evaluation.worker_pool import execute_in_processes

__all__ = ["RayConnectionError", "connect_ray", "execute"]


def execute(
    tasks: Sequence[EpisodeTask],
    on_result: Callable[[dict[str, Any]], None],
    workers: int = 1,
    ray_address: str | None = None,
    ray: Any = None,
) -> None:
    """Run ``tasks`` in this process, in ``workers`` processes, or on Ray, calling ``on_result``
    with each result as it finishes (in completion order).

    With worker processes, a worker that dies (``os._exit``, a segfault, the OOM killer) fails
    only the episode it was playing; it is replaced and the other episodes go on. Workers die
    with this process (see :func:`~mbag_env.evaluation.worker_pool._die_with_parent`).

    With ``ray_address``, ``ray`` is the module already connected by :func:`connect_ray` (the
    caller then shuts it down); without it, this connects and shuts Ray down itself.
    """
    if ray_address is not None:
        if ray is not None:
            _execute_on_ray(tasks, on_result, ray)
            return
        ray = connect_ray(ray_address)
        try:
            _execute_on_ray(tasks, on_result, ray)
        finally:
            ray.shutdown()  # stops a local instance; only disconnects from a cluster
    elif workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_result(run_task(task))
    else:
        execute_in_processes(tasks, on_result, workers)


class RayConnectionError(RuntimeError):
    """Ray is installed but no cluster could be reached (or no local instance started)."""


def connect_ray(address: str) -> Any:
    """Import Ray and connect to the cluster at ``address`` (``"local"``: start a local instance);
    return the ``ray`` module.

    Raises:
        SystemExit: when Ray is not installed (the message says how to install it).
        RayConnectionError: when ``ray.init`` fails; the message is one line with what to do.
    """
    try:
        import ray
    except ImportError as error:
        raise SystemExit(
            f"--ray needs the ray package ({error}); install it with: pip install 'mbag_env[ray]'"
        ) from None
    try:
        ray.init(
            address=None if address == "local" else address, ignore_reinit_error=True, log_to_driver=False
        )
    except Exception as error:  # ConnectionError, TimeoutError, RuntimeError, ... depending on the failure
        lines = str(error).strip().splitlines()
        reason = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        if address == "local":
            raise RayConnectionError(f"cannot start a local Ray instance: {reason}") from error
        raise RayConnectionError(
            f"cannot connect to a Ray cluster at {address!r}: {reason}; "
            "start one with `ray start --head` or use --ray local"
        ) from error
    return ray


def _execute_on_ray(
    tasks: Sequence[EpisodeTask], on_result: Callable[[dict[str, Any]], None], ray: Any
) -> None:
    """Play ``tasks`` as Ray tasks (one CPU each) with the connected ``ray`` module, calling
    ``on_result`` as they finish; a task Ray could not run fails its episode."""
    remote_task = ray.remote(num_cpus=1)(run_task)
    pending = {remote_task.remote(task): task for task in tasks}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for reference in done:
                task = pending.pop(reference)
                try:
                    result = ray.get(reference)
                except Exception as error:  # a Ray worker died or the task could not run there
                    result = failed_result(task, f"Ray task failed: {type(error).__name__}: {error}")
                on_result(result)
    finally:
        for reference in pending:
            ray.cancel(reference)
