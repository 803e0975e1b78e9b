"""The assistant leaderboard: evaluate assistants on a fixed suite and write JSON, Markdown and a PNG.

Run ``mbag-leaderboard --quick`` (or ``python scripts/leaderboard.py``). An *assistant spec* is

- a scripted assistant's name: ``idle``, ``random`` or ``oracle`` (:mod:`.assistants`);
- a baseline checkpoint path ending in ``.pt``, loaded with ``baselines.common.policy:load_policy``,
  which picks the policy class from the checkpoint's algorithm (PPO, AssistanceZero, Dreamer,
  options; needs the repository's ``baselines`` package and PyTorch);
- a Python import path ``module:factory``: ``factory()`` returns a policy (an object with
  ``act(observation) -> action``, or a callable); it is passed ``env=`` (the
  :class:`~mbag_env.envs.single.MbagEnv` of the episode) and ``seed=`` if it takes them;
- any of these as ``label=spec`` to choose the name shown in the tables.

A *suite* (:data:`SUITES`, versioned by :data:`SUITE_VERSION`) fixes the world size, the shipped
test houses, the scripted human models, the seeds, the horizon and the score step. Every
assistant plays every (house, human, seed) episode of ``mbag/Assist-v0`` with the same env seed,
so results are paired and, for a given suite and ``--seed``, deterministic (independent of
``--workers`` and of Ray).

**Headline score**: the mean goal percentage at the suite's score step (95% confidence
interval). The score step is shorter than the time the scripted humans need alone, so the
score rises only when the assistant speeds the build up and falls when it undoes work. The
second column is the human's number of actions until the house is complete (or the horizon):
the effort the assistant saves the human.

**Paired differences**: because the episodes are paired, the board also gives, for every
assistant, the mean per-episode difference to a reference assistant (assistant − reference) in
both columns, overall and per scripted human, with 95% Student-t intervals over the episodes both
finished (:func:`paired_differences`). The reference is ``idle`` when it is evaluated;
``--reference LABEL`` picks another evaluated assistant.

Episodes run in worker processes (``--workers``) or on a Ray cluster (``--ray ADDRESS``). Each
finished episode is appended to ``episodes.jsonl`` at once; ``leaderboard.json``,
``leaderboard.md`` and ``leaderboard.png`` are written at the end (also after Ctrl-C, from what
finished), each atomically (:mod:`.atomic`: a crash leaves the previous file, never a partial one).
A malformed spec, a missing checkpoint, or an assistant that raises or returns an invalid action
is reported by name; its episodes are recorded as failed and the run goes on. An assistant that
kills its worker process (``os._exit``, a segfault) fails only the episode it was playing: the
worker is replaced and the other episodes go on. Worker processes die with the main process
(``PR_SET_PDEATHSIG`` on Linux, and a watchdog thread that exits when the parent is gone), so a
``kill -9`` of the run leaves no orphans.

**Resume**: ``run.json`` beside ``episodes.jsonl`` records the suite (:meth:`Suite.describe`) and
``--seed``. A rerun with the same ``--out`` keeps the episodes that finished ``ok`` (each line
stores its assistant's spec text), recomputes failed and missing ones, and writes the same
tables as an uninterrupted run; a truncated last line (a run killed mid-write) is dropped. It
refuses (:class:`SystemExit`) to mix episodes of another suite or ``--seed``, or of another spec
under the same label; ``--fresh`` starts over. Kept episodes of assistants not requested in the
rerun stay in ``episodes.jsonl`` but are not shown. An assistant's *code* is not compared: after
changing a factory or retraining a checkpoint in place, use ``--fresh`` (or another label).

A ``module:factory`` spec imports (runs) that module. The working folder is appended to
``sys.path`` (after the installed packages, only when a spec names a module) so that factories
there are found; ``python -m`` itself would put it first.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import importlib
import importlib.util
import inspect
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mbag_env.assistants.bayes import parse_bayes_spec
from mbag_env.config import MbagConfig
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.assistants import DEFAULT_ASSISTANTS, is_scripted_assistant, make_scripted_assistant
from mbag_env.evaluation.atomic import atomic_open, atomic_path, atomic_write_text
from mbag_env.evaluation.metrics import SCALAR_METRICS, Estimate, episode_metrics, mean_confidence_interval
from mbag_env.evaluation.recording import export_gif, run_episode
from mbag_env.goals import find_shipped_dataset, load_shipped_goals
from mbag_env.humans.policy import Policy, as_policy
from mbag_env.humans.scripted import HumanModel

SUITE_VERSION = 1
"""Version of the suite definitions; bump it whenever a suite or the episode protocol changes."""

HEADLINE = "score_goal_percentage"
"""The metric the leaderboard ranks by: the goal percentage at the suite's score step."""

SECOND = "human_actions"
"""The second column: the human's actions until completion (or the horizon); lower is better."""

SUITE_HUMANS: tuple[HumanModel, ...] = (
    HumanModel("goal_seeking"),
    HumanModel("layer_builder"),
    HumanModel("goal_seeking", epsilon=0.1, temperature=0.5),
    HumanModel("layer_builder", act_every=2),
)
"""The scripted human models every assistant is paired with: the two noise-free builders, a
noisy goal-seeking human (10% random actions, Boltzmann choices at temperature 0.5), and a slow
layer builder that acts every other step."""


@dataclass(frozen=True)
class Suite:
    """A fixed set of episodes: shipped test houses × scripted humans × seeds.

    Attributes:
        name: ``"quick"``, ``"full"``, or a custom name.
        world_size: the world (and the shipped test set of that size).
        houses: indices into the shipped test set.
        humans: the scripted human models.
        seeds: episode seeds (each combined with the house, human and ``--seed``).
        horizon: the episode horizon.
        score_step: the step at which the headline goal percentage is read.
        version: :data:`SUITE_VERSION`.
    """

    name: str
    world_size: tuple[int, int, int]
    houses: tuple[int, ...]
    humans: tuple[HumanModel, ...]
    seeds: tuple[int, ...]
    horizon: int
    score_step: int
    version: int = SUITE_VERSION

    def __post_init__(self) -> None:
        if not self.houses or not self.humans or not self.seeds:
            raise ValueError(f"suite {self.name!r} needs at least one house, human and seed")
        if not 1 <= self.score_step <= self.horizon:
            raise ValueError(f"suite {self.name!r}: score_step must be in [1, horizon={self.horizon}]")
        if len(set(human.label for human in self.humans)) != len(self.humans):
            raise ValueError(f"suite {self.name!r} lists a human model twice")

    @property
    def num_episodes(self) -> int:
        """Episodes per assistant."""
        return len(self.houses) * len(self.humans) * len(self.seeds)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (with the test set's checksum, for provenance)."""
        info = find_shipped_dataset("test", self.world_size)
        return {
            "name": self.name,
            "version": self.version,
            "world_size": list(self.world_size),
            "dataset": "dataset:test",
            "dataset_goals_sha256": None if info is None else info.goals_sha256,
            "houses": list(self.houses),
            "humans": [human.label for human in self.humans],
            "seeds": list(self.seeds),
            "horizon": self.horizon,
            "score_step": self.score_step,
            "episodes_per_assistant": self.num_episodes,
        }


SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        world_size=(6, 6, 6),
        houses=tuple(range(20)),
        humans=SUITE_HUMANS,
        seeds=(0,),
        horizon=200,
        score_step=30,
    ),
    "full": Suite(
        name="full",
        world_size=(11, 10, 10),
        houses=tuple(range(500)),
        humans=SUITE_HUMANS,
        seeds=(0,),
        horizon=1500,
        score_step=100,
    ),
}
"""The shipped suites: ``quick`` (6×6×6, the first 20 test houses, horizon 200, score at step 30)
and ``full`` (11×10×10, all 500 test houses, the paper's horizon 1500, score at step 100). Each
score step is about half the median number of steps the goal-seeking human needs alone (55 and
200), where an idle assistant leaves roughly 70% and 55% of the house built."""


# ----------------------------------------------------------------------------- assistant specs
class AssistantSpecError(ValueError):
    """An assistant spec that cannot be used (the message says why and what is accepted)."""


SPEC_HELP = (
    "an assistant is idle, random, oracle, bayes (or bayes:threshold=0.6,epsilon=0.1,prior=default), "
    "a checkpoint path ending in .pt, or module:factory "
    "(optionally prefixed with label=)"
)


@dataclass(frozen=True)
class AssistantSpec:
    """A parsed assistant spec (see the module docstring).

    Attributes:
        text: the spec as given.
        label: the name shown in the tables.
        kind: ``"scripted"``, ``"checkpoint"`` or ``"factory"``.
        target: the scripted name, the checkpoint path, or ``module:factory``.
    """

    text: str
    label: str
    kind: str
    target: str

    def build(self, env: MbagEnv, seed: int) -> Policy:
        """A fresh policy for one episode in ``env``, seeded with ``seed``.

        Raises:
            AssistantSpecError: if the checkpoint or factory cannot be loaded or returns no policy.
        """
        if self.kind == "scripted":
            return make_scripted_assistant(self.target, env, seed)
        if self.kind == "checkpoint":
            load_policy = _baselines_loader()
            try:
                return _call_with_optional(load_policy, (self.target,), {"seed": seed})
            except Exception as error:  # torch raises many types for a bad file; name the file
                raise AssistantSpecError(
                    f"cannot load checkpoint {self.target}: {type(error).__name__}: {error}"
                ) from error
        factory = _import_factory(self.target)
        policy = _call_with_optional(factory, (), {"env": env, "seed": seed})
        normalised = as_policy(policy) if (callable(policy) or isinstance(policy, Policy)) else None
        if normalised is None or isinstance(normalised, HumanModel):
            raise AssistantSpecError(
                f"{self.target} returned {policy!r}, not a policy "
                "(an object with act(observation), or a callable)"
            )
        return normalised


def parse_assistant_spec(text: str) -> AssistantSpec:
    """Check an assistant spec and say what it names.

    Raises:
        AssistantSpecError: for a malformed spec, a missing checkpoint, a missing ``baselines``
            package, or a factory that cannot be imported; the message names the spec.
    """
    original = text
    label, text = _split_label(text)
    if not text:
        raise AssistantSpecError(f"empty assistant spec {original!r}: {SPEC_HELP}")
    if is_scripted_assistant(text):
        if text.startswith("bayes:"):
            try:
                parse_bayes_spec(text)
            except ValueError as error:
                raise AssistantSpecError(f"assistant {original!r}: {error}") from None
        return AssistantSpec(original, label, "scripted", text)
    if text.endswith(".pt"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise AssistantSpecError(f"checkpoint {text!r} not found (no such file: {path.resolve()})")
        _baselines_loader()
        return AssistantSpec(original, label, "checkpoint", str(path))
    module, colon, attribute = text.partition(":")
    if colon and module and attribute and all(part.isidentifier() for part in module.split(".")):
        _import_factory(text)
        return AssistantSpec(original, label, "factory", text)
    raise AssistantSpecError(f"malformed assistant spec {original!r}: {SPEC_HELP}")


def _split_label(text: str) -> tuple[str, str]:
    """``"label=spec"`` as ``("label", "spec")``; a spec without a label is its own label."""
    text = text.strip()
    label, equals, rest = text.partition("=")
    if equals and label and ":" not in label and "/" not in label:
        return label.strip(), rest.strip()
    return text, text


def _names_a_module(text: str) -> bool:
    """Whether the spec ``text`` is (or tries to be) a ``module:factory`` spec."""
    _, spec = _split_label(text)
    return ":" in spec and not spec.endswith(".pt") and not is_scripted_assistant(spec)


def _baselines_loader() -> Callable[..., Any]:
    """``baselines.common.policy.load_policy``, or a clear error when the baselines are not installed."""
    try:
        found = importlib.util.find_spec("baselines.common.policy") is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise AssistantSpecError(
            "loading a .pt checkpoint needs the repository's baselines package "
            "(baselines.common.policy:load_policy) "
            "and PyTorch: run from the repository root after pip install -e '.[baselines]'"
        )
    try:
        module = importlib.import_module("baselines.common.policy")
    except ImportError as error:
        raise AssistantSpecError(
            f"cannot import baselines.common.policy to load checkpoints: {error}"
        ) from error
    loader = getattr(module, "load_policy", None)
    if not callable(loader):
        raise AssistantSpecError("baselines.common.policy has no load_policy(path) to load checkpoints with")
    return loader


def _import_factory(target: str) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise AssistantSpecError(
            f"cannot import module {module_name!r} of assistant {target!r}: {error}"
        ) from error
    factory: Any = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise AssistantSpecError(
                f"module {module_name!r} has no attribute {attribute!r} (assistant {target!r})"
            )
        factory = getattr(factory, part)
    if not callable(factory):
        raise AssistantSpecError(f"{target!r} is not callable; it must be a factory returning a policy")
    return factory


def _call_with_optional(function: Callable[..., Any], args: tuple, optional: dict[str, Any]) -> Any:
    """Call ``function(*args, **those optional keywords its signature accepts)``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return function(*args)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    keywords = {name: value for name, value in optional.items() if takes_any or name in parameters}
    return function(*args, **keywords)


# ----------------------------------------------------------------------------- episodes
@dataclass(frozen=True)
class EpisodeTask:
    """One episode of the suite for one assistant (picklable: it travels to worker processes)."""

    spec: AssistantSpec
    suite: Suite
    human_index: int
    house: int
    seed: int
    base_seed: int
    record_dir: str | None = None
    gif_dir: str | None = None

    @property
    def key(self) -> tuple[str, str, int, int]:
        """``(assistant label, human label, house, seed)``."""
        return (self.spec.label, self.suite.humans[self.human_index].label, self.house, self.seed)

    @property
    def file_stem(self) -> str:
        """The name (without suffix) of the episode's recording and GIF."""
        assistant, human, house, seed = self.key
        return f"{_file_label(assistant)}__{_file_label(human)}__house{house:03d}__seed{seed}"

    def outputs_present(self) -> bool:
        """Whether the recording and GIF this task asks for exist (a kept episode needs them)."""
        for folder, suffix in ((self.record_dir, ".npz"), (self.gif_dir, ".gif")):
            if folder is not None and not (Path(folder) / f"{self.file_stem}{suffix}").is_file():
                return False
        return True


def episode_seeds(base_seed: int, house: int, human_index: int, seed: int) -> tuple[int, int]:
    """``(env seed, assistant seed)`` of one episode; the same for every assistant (paired episodes)."""
    sequence = np.random.SeedSequence([base_seed, house, human_index, seed])
    env_seed, assistant_seed = sequence.generate_state(2, dtype=np.uint32)
    return int(env_seed), int(assistant_seed)


@lru_cache(maxsize=4)
def _test_goals(world_size: tuple[int, int, int]) -> np.ndarray:
    return load_shipped_goals("test", world_size)


def run_task(task: EpisodeTask) -> dict[str, Any]:
    """Play one episode and return its JSON-ready result (``status`` ``"ok"`` or ``"failed"``).

    Errors of the assistant (loading it, acting, invalid actions) and of the episode are caught
    and returned as ``{"status": "failed", "error": message}``, so one bad episode never stops
    the run.
    """
    suite = task.suite
    human = suite.humans[task.human_index]
    assistant, human_label, house, seed = task.key
    result: dict[str, Any] = {
        "assistant": assistant,
        "spec": task.spec.text,
        "human": human_label,
        "house": house,
        "seed": seed,
    }
    env_seed, assistant_seed = episode_seeds(task.base_seed, house, task.human_index, seed)
    try:
        goals = _test_goals(suite.world_size)
        config = MbagConfig(
            world_size=suite.world_size, num_players=2, horizon=suite.horizon, goal=goals[house]
        )
        env = MbagEnv(config, agent=1, human_policy=human)
        policy = task.spec.build(env, assistant_seed)
        extra = {"suite": suite.name, "suite_version": suite.version, "house": house, "human": human_label}
        recording = run_episode(env, policy, env_seed, assistant_name=assistant, extra=extra)
        metrics = episode_metrics(recording, score_step=suite.score_step)
        name = task.file_stem
        if task.record_dir is not None:
            recording.save(Path(task.record_dir) / f"{name}.npz")
        if task.gif_dir is not None:
            export_gif(recording, Path(task.gif_dir) / f"{name}.gif")
    except Exception as error:  # the run must go on: the failure is reported with its message
        result.update(status="failed", error=f"{type(error).__name__}: {error}")
        return result
    result.update(status="ok", metrics=metrics.to_dict())
    return result


def warm_up(suite: Suite) -> float:
    """Compile (or load from numba's cache) the kernels an episode needs, in this process, and
    return the seconds it took: a short episode with the oracle beside the suite's first human.

    Done before starting worker processes, so that they load the cache instead of all compiling
    the same kernels at once.
    """
    start = time.perf_counter()
    goals = _test_goals(suite.world_size)
    config = MbagConfig(world_size=suite.world_size, num_players=2, horizon=2, goal=goals[suite.houses[0]])
    env = MbagEnv(config, agent=1, human_policy=suite.humans[0])
    run_episode(env, make_scripted_assistant("oracle", env), seed=0)
    return time.perf_counter() - start


def _file_label(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:60]


def _failed(task: EpisodeTask, message: str) -> dict[str, Any]:
    assistant, human, house, seed = task.key
    return {
        "assistant": assistant,
        "spec": task.spec.text,
        "human": human,
        "house": house,
        "seed": seed,
        "status": "failed",
        "error": message,
    }


def execute(
    tasks: Sequence[EpisodeTask],
    on_result: Callable[[dict[str, Any]], None],
    workers: int = 1,
    ray_address: str | None = None,
) -> None:
    """Run ``tasks`` in this process, in ``workers`` processes, or on Ray, calling ``on_result``
    with each result as it finishes (in completion order).

    With worker processes, a worker that dies (``os._exit``, a segfault, the OOM killer) fails
    only the episode it was playing; it is replaced and the other episodes go on. Workers die
    with this process (see :func:`_die_with_parent`).
    """
    if ray_address is not None:
        _execute_on_ray(tasks, on_result, ray_address)
    elif workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_result(run_task(task))
    else:
        _execute_in_processes(tasks, on_result, workers)


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


def _worker_main(connection: multiprocessing.connection.Connection, parent_pid: int) -> None:
    """A worker process: announce ``("ready", pid)``, then play each task received and send back
    ``("result", result)`` until it receives ``None`` or the connection closes. Ctrl-C is left to
    the main process, which stops the workers."""
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
            result = _failed(task, f"{type(error).__name__}: {error}")
        connection.send(("result", result))


@dataclass
class _Worker:
    """A worker process of :func:`_execute_in_processes` and the task it is playing."""

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


def _execute_in_processes(
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
                        _failed(
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


def _execute_on_ray(
    tasks: Sequence[EpisodeTask], on_result: Callable[[dict[str, Any]], None], address: str
) -> None:
    try:
        import ray
    except ImportError as error:
        raise SystemExit(
            f"--ray needs the ray package ({error}); install it with: pip install 'mbag_env[ray]'"
        ) from None
    ray.init(address=None if address == "local" else address, ignore_reinit_error=True, log_to_driver=False)
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
                    result = _failed(task, f"Ray task failed: {type(error).__name__}: {error}")
                on_result(result)
    finally:
        for reference in pending:
            ray.cancel(reference)
        ray.shutdown()  # stops a local instance; only disconnects from a cluster


# ----------------------------------------------------------------------------- results
def summarise(
    suite: Suite,
    specs: Sequence[AssistantSpec],
    invalid: dict[str, str],
    results: Iterable[dict[str, Any]],
    base_seed: int,
    *,
    reference: str | None = "idle",
) -> dict[str, Any]:
    """The leaderboard as a JSON-ready dict: suite, ranked assistants with aggregated metrics
    (overall and per human), failures, paired differences to ``reference`` (``"paired"``, see
    :func:`paired_differences`; ``None`` when ``reference`` is ``None`` or not among ``specs``),
    and every episode's metrics (sorted, so deterministic)."""
    order = {spec.label: index for index, spec in enumerate(specs)}
    human_order = {human.label: index for index, human in enumerate(suite.humans)}
    episodes = sorted(
        results, key=lambda r: (order.get(r["assistant"], 0), human_order[r["human"]], r["house"], r["seed"])
    )
    rows = []
    for spec in specs:
        mine = [r for r in episodes if r["assistant"] == spec.label]
        ok = [r for r in mine if r["status"] == "ok"]
        failed = [r for r in mine if r["status"] != "ok"]
        summary = _aggregate_dicts([r["metrics"] for r in ok])
        per_human = {
            human.label: _aggregate_dicts([r["metrics"] for r in ok if r["human"] == human.label])
            for human in suite.humans
        }
        rows.append(
            {
                "assistant": spec.label,
                "spec": spec.text,
                "kind": spec.kind,
                "status": "ok" if not failed and len(ok) == suite.num_episodes else "incomplete",
                "episodes": len(ok),
                "failed": len(failed),
                "errors": sorted({r["error"] for r in failed})[:5],
                "metrics": {name: estimate.to_dict() for name, estimate in summary.items()},
                "per_human": {
                    label: {name: estimate.to_dict() for name, estimate in values.items()}
                    for label, values in per_human.items()
                },
            }
        )
    for text, message in invalid.items():
        rows.append(
            {
                "assistant": text,
                "spec": text,
                "kind": "invalid",
                "status": "invalid",
                "episodes": 0,
                "failed": suite.num_episodes,
                "errors": [message],
                "metrics": {},
                "per_human": {},
            }
        )
    rows.sort(key=_rank_key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    evaluated = [str(row["assistant"]) for row in rows if row["kind"] != "invalid"]  # in rank order
    paired = None
    if reference is not None and reference in evaluated:
        paired = paired_differences(
            episodes, reference, [human.label for human in suite.humans], assistants=evaluated
        )
    return {
        "leaderboard": "mbag_env assistant leaderboard",
        "headline": {
            "metric": HEADLINE,
            "description": f"mean goal percentage at step {suite.score_step} (95% CI)",
            "second": SECOND,
            "second_description": "human actions until completion or the horizon (lower is better)",
        },
        "suite": suite.describe(),
        "seed": base_seed,
        "assistants": rows,
        "paired": paired,
        "episodes": episodes,
    }


PAIRED_METRICS = (HEADLINE, SECOND)
"""The metrics of the paired differences: the headline goal percentage and the human's actions."""


def paired_differences(
    episodes: Iterable[dict[str, Any]] | dict[str, Any],
    reference: str,
    humans: Sequence[str],
    assistants: Sequence[str] | None = None,
    metrics: Sequence[str] = PAIRED_METRICS,
) -> dict[str, Any]:
    """Mean paired differences (assistant − ``reference``) with 95% Student-t intervals.

    Episodes are paired by ``(human, house, seed)``: every assistant plays the same episodes. A
    pair counts for a metric only when both episodes have ``status`` ``"ok"`` and the metric is
    not ``None`` in both; the interval is :func:`~mbag_env.evaluation.metrics.mean_confidence_interval`
    of the per-episode differences, so its ``n`` is the number of pairs.

    Args:
        episodes: episode results as written by :func:`run_task` (``assistant``, ``human``,
            ``house``, ``seed``, ``status`` and, when ok, ``metrics``), or a board from
            :func:`summarise` (its ``"episodes"`` are used).
        reference: the label of the reference assistant.
        humans: the human labels of the per-human breakdown (the suite's, in order).
        assistants: the labels to compare, in output order (the reference is skipped); by
            default every assistant in ``episodes`` in order of appearance.
        metrics: the metrics to difference (default: :data:`PAIRED_METRICS`).

    Returns:
        ``{"reference": reference, "metrics": [...], "assistants": {label: {"overall": {metric:
        Estimate dict}, "per_human": {human: {metric: Estimate dict}}}}}``, the estimates as
        :meth:`~mbag_env.evaluation.metrics.Estimate.to_dict` (mean ``None`` when nothing paired).
    """
    results: list[dict[str, Any]] = list(episodes["episodes"] if isinstance(episodes, dict) else episodes)
    if assistants is None:
        assistants = list(dict.fromkeys(r["assistant"] for r in results))
    by_assistant: dict[str, dict[tuple[str, int, int], dict[str, Any]]] = {}
    for result in results:
        if result.get("status") == "ok":
            key = (result["human"], result["house"], result["seed"])
            by_assistant.setdefault(result["assistant"], {})[key] = result["metrics"]
    baseline = by_assistant.get(reference, {})

    def differences(
        mine: dict[tuple[str, int, int], dict[str, Any]], metric: str, human: str | None
    ) -> list[float]:
        values: list[float] = []
        for key, theirs in baseline.items():
            if (human is None or key[0] == human) and key in mine:
                own, base = mine[key].get(metric), theirs.get(metric)
                if own is not None and base is not None:
                    values.append(float(own) - float(base))
        return values

    compared: dict[str, Any] = {}
    for label in assistants:
        if label == reference:
            continue
        mine = by_assistant.get(label, {})
        compared[label] = {
            "overall": {
                metric: mean_confidence_interval(differences(mine, metric, None)).to_dict()
                for metric in metrics
            },
            "per_human": {
                human: {
                    metric: mean_confidence_interval(differences(mine, metric, human)).to_dict()
                    for metric in metrics
                }
                for human in humans
            },
        }
    return {"reference": reference, "metrics": list(metrics), "assistants": compared}


def _rank_key(row: dict[str, Any]) -> tuple[int, float, float, str]:
    """Rank order: assistants without a failed episode first, then those with some failed
    episodes, then those with no ok episode (invalid specs included); within each group by the
    headline score (higher first), then the human's actions (fewer first), then the name. So a
    failing assistant never ranks above a working one, whatever its score on the episodes it
    finished."""
    headline = row["metrics"].get(HEADLINE, {}).get("mean")
    second = row["metrics"].get(SECOND, {}).get("mean")
    group = 2 if row["episodes"] == 0 else 1 if row["failed"] else 0
    return (
        group,
        -headline if headline is not None else math.inf,
        second if second is not None else math.inf,
        row["assistant"],
    )


def _aggregate_dicts(metrics: Sequence[dict[str, Any]]) -> dict[str, Estimate]:
    """:func:`~mbag_env.evaluation.metrics.aggregate` for metrics already turned into dicts."""
    summary = {}
    for name in SCALAR_METRICS:
        values = [math.nan if m.get(name) is None else float(m[name]) for m in metrics]
        summary[name] = mean_confidence_interval(values)
    return summary


def _format_estimate(estimate: dict[str, Any], percent: bool = False, digits: int = 1) -> str:
    if not estimate or estimate.get("mean") is None:
        return "—"
    scale = 100.0 if percent else 1.0
    mean = estimate["mean"] * scale
    half = (estimate["high"] - estimate["low"]) / 2 * scale
    suffix = "%" if percent else ""
    return f"{mean:.{digits}f}{suffix} ± {half:.{digits}f}"


def _format_difference(estimate: dict[str, Any], scale: float = 1.0) -> str:
    """A signed mean difference with its 95% half-width, e.g. ``+13.3 ± 2.0``."""
    if not estimate or estimate.get("mean") is None:
        return "—"
    half = (estimate["high"] - estimate["low"]) / 2 * scale
    return f"{estimate['mean'] * scale:+.1f} ± {half:.1f}"


def _paired_markdown(paired: dict[str, Any] | None, humans: Sequence[str], step: int) -> list[str]:
    """The paired-differences tables of :func:`markdown_table` (no lines when there is nothing)."""
    if not paired or not paired["assistants"]:
        return []
    reference = paired["reference"]
    compared = paired["assistants"]
    counts = sorted({values["overall"][HEADLINE]["n"] for values in compared.values()})
    over = (
        f"{counts[0]} paired episodes"
        if len(counts) == 1
        else f"{counts[0]}–{counts[-1]} paired episodes (see the pairs column)"
    )
    lines = [
        "",
        f"Paired differences vs `{reference}` (assistant − {reference}, 95 % CI over {over}); "
        f"goal % in percentage points:",
        "",
        f"| assistant | Δ goal % @ step {step} | Δ human actions | "
        + " | ".join(f"Δ goal % `{h}`" for h in humans)
        + " | pairs (goal %) |",
        "|---|---:|---:|" + "---:|" * len(humans) + "---:|",
    ]
    for label, values in compared.items():
        overall = values["overall"]
        cells = [
            _format_difference(overall.get(HEADLINE, {}), scale=100.0),
            _format_difference(overall.get(SECOND, {})),
            *(
                _format_difference(values["per_human"].get(h, {}).get(HEADLINE, {}), scale=100.0)
                for h in humans
            ),
            str(overall.get(HEADLINE, {}).get("n", 0)),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Δ human actions vs `{reference}` per scripted human:",
        "",
        "| assistant | " + " | ".join(f"`{h}`" for h in humans) + " |",
        "|---|" + "---:|" * len(humans),
    ]
    for label, values in compared.items():
        cells = [_format_difference(values["per_human"].get(h, {}).get(SECOND, {})) for h in humans]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def markdown_table(board: dict[str, Any]) -> str:
    """The leaderboard as Markdown: the ranked table, a per-human table, the paired differences
    to the reference assistant (when there is one), and any failures."""
    suite = board["suite"]
    step = suite["score_step"]
    lines = [
        f"# Assistant leaderboard — suite `{suite['name']}` v{suite['version']}",
        "",
        f"World {'×'.join(map(str, suite['world_size']))}, {len(suite['houses'])} shipped test houses × "
        f"{len(suite['humans'])} scripted humans × {len(suite['seeds'])} seed(s), "
        f"horizon {suite['horizon']}, seed {board['seed']}. Ranked by the mean goal percentage at "
        f"step {step}; ± is the 95% confidence half-width.",
        "",
        f"| rank | assistant | goal % @ step {step} | human actions to completion | completed | "
        "final goal % | assistant correct / incorrect | assistant share | episodes (failed) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in board["assistants"]:
        m = row["metrics"]
        if m:
            correct = (m["assistant_correct_places"]["mean"] or 0) + (
                m["assistant_correct_breaks"]["mean"] or 0
            )
            wrong = (m["assistant_incorrect_places"]["mean"] or 0) + (
                m["assistant_incorrect_breaks"]["mean"] or 0
            )
            work = f"{correct:.1f} / {wrong:.1f}"
            completed = _format_estimate(m["completed"], percent=True, digits=0)
        else:
            work = completed = "—"
        lines.append(
            f"| {row['rank']} | {row['assistant']} | {_format_estimate(m.get(HEADLINE, {}), percent=True)} | "
            f"{_format_estimate(m.get(SECOND, {}))} | {completed} | "
            f"{_format_estimate(m.get('goal_percentage', {}), percent=True)} | {work} | "
            f"{_format_estimate(m.get('assistant_share', {}), percent=True, digits=0)} | "
            f"{row['episodes']} ({row['failed']}) |"
        )
    humans = suite["humans"]
    lines += [
        "",
        f"Goal % at step {step} per scripted human:",
        "",
        "| assistant | " + " | ".join(f"`{h}`" for h in humans) + " |",
        "|---|" + "---:|" * len(humans),
    ]
    for row in board["assistants"]:
        cells = [
            _format_estimate(row["per_human"].get(h, {}).get(HEADLINE, {}), percent=True) for h in humans
        ]
        lines.append(f"| {row['assistant']} | " + " | ".join(cells) + " |")
    lines += _paired_markdown(board.get("paired"), humans, step)
    failures = [row for row in board["assistants"] if row["errors"]]
    if failures:
        lines += ["", "Failures:", ""]
        for row in failures:
            for error in row["errors"]:
                lines.append(f"- `{row['assistant']}` ({row['failed']} episodes): {error}")
    return "\n".join(lines) + "\n"


def bar_chart(board: dict[str, Any], path: Path) -> Path:
    """A PNG bar chart of the headline score per assistant with 95% confidence intervals, in rank
    order (assistants with failed episodes are marked); "no results" when none has a score.
    Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in board["assistants"] if row["metrics"].get(HEADLINE, {}).get("mean") is not None]
    labels = [
        f"{row['assistant']}\n({row['failed']} failed)" if row["failed"] else row["assistant"] for row in rows
    ]
    means = np.array([row["metrics"][HEADLINE]["mean"] * 100 for row in rows])
    lows = np.array([row["metrics"][HEADLINE]["low"] * 100 for row in rows])
    highs = np.array([row["metrics"][HEADLINE]["high"] * 100 for row in rows])
    figure, axis = plt.subplots(figsize=(max(4.0, 1.3 * len(rows) + 2), 3.6), dpi=120)
    positions = np.arange(len(rows))
    axis.bar(positions, means, yerr=np.vstack([means - lows, highs - means]), capsize=4, color="#4c78a8")
    axis.set_xticks(
        positions, labels, rotation=20 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center"
    )
    axis.set_ylabel(f"goal % at step {board['suite']['score_step']}")
    bottom = min(0.0, float(lows.min()) - 8.0) if len(rows) else 0.0
    axis.set_ylim(bottom, 105)
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_title(f"mbag_env leaderboard — suite {board['suite']['name']} v{board['suite']['version']}")
    if not rows:
        evaluated = len(board["assistants"])
        axis.set_xticks([])
        axis.text(
            0.5,
            0.5,
            "no results: no assistant finished an episode"
            + (f"\n({evaluated} assistant(s) failed; see leaderboard.md)" if evaluated else ""),
            transform=axis.transAxes,
            ha="center",
            va="center",
            fontsize=11,
            color="#b00020",
        )
    for position, mean, low, high in zip(positions, means, lows, highs, strict=True):
        above = mean >= 0
        axis.text(
            position + 0.08,
            (high + 1.5) if above else (low - 1.5),
            f"{mean:.1f}",
            ha="left",
            va="bottom" if above else "top",
            fontsize=8,
        )
    figure.tight_layout()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png")
    finally:
        plt.close(figure)
    return path


def write_outputs(board: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``leaderboard.json``, ``leaderboard.md`` and ``leaderboard.png`` into ``out_dir``, each
    atomically (:mod:`.atomic`): a crash or a full disk leaves the previous file, never a partial one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "leaderboard.json",
        "markdown": out_dir / "leaderboard.md",
        "png": out_dir / "leaderboard.png",
    }
    atomic_write_text(paths["json"], json.dumps(board, indent=1, sort_keys=False) + "\n")
    atomic_write_text(paths["markdown"], markdown_table(board))
    bar_chart(board, paths["png"])
    return paths


# ----------------------------------------------------------------------------- command line
def build_suite(args: argparse.Namespace) -> Suite:
    """The suite chosen on the command line (``--quick``/``--suite``, narrowed by ``--houses``,
    ``--humans``, ``--seeds``)."""
    suite = SUITES["quick" if args.quick else args.suite]
    changes: dict[str, Any] = {}
    if args.houses is not None:
        total = len(_test_goals(suite.world_size))
        if not 1 <= args.houses <= total:
            raise SystemExit(
                f"--houses must be in [1, {total}] for the {suite.name} suite, got {args.houses}"
            )
        changes["houses"] = tuple(range(args.houses))
    if args.humans:
        try:
            changes["humans"] = tuple(HumanModel.parse(text) for text in args.humans)
        except ValueError as error:
            raise SystemExit(f"--humans: {error}") from None
    if args.seeds is not None:
        if args.seeds < 1:
            raise SystemExit(f"--seeds must be >= 1, got {args.seeds}")
        changes["seeds"] = tuple(range(args.seeds))
    if changes:
        changes["name"] = suite.name + "-custom"
        suite = dataclasses.replace(suite, **changes)
    return suite


def _house_list(text: str) -> list[int]:
    """``"0,3,7"`` as ``[0, 3, 7]``; a bad list is reported by argparse."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated house indices such as 0,3; got {text!r}"
        ) from None


def make_parser() -> argparse.ArgumentParser:
    """The ``mbag-leaderboard`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mbag-leaderboard",
        description="Evaluate assistants on a fixed suite of shipped test houses and scripted humans; "
        "write leaderboard.json, leaderboard.md and leaderboard.png.",
        epilog=SPEC_HELP + ". A module:factory spec imports, and so runs, that module's code; the working "
        "folder is searched after the installed packages. A rerun with the same --out resumes: it keeps the "
        "finished episodes in OUT/episodes.jsonl, runs the missing and failed ones, and refuses another "
        "suite or --seed there (--fresh starts over). "
        "Example: mbag-leaderboard --quick idle random oracle ppo=runs/ppo/final.pt",
    )
    parser.add_argument(
        "assistants",
        nargs="*",
        default=list(DEFAULT_ASSISTANTS),
        help="assistant specs (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the quick suite (6×6×6, 20 houses; under a minute)"
    )
    parser.add_argument(
        "--suite", choices=sorted(SUITES), default="full", help="suite (default: %(default)s)"
    )
    parser.add_argument("--houses", type=int, help="use only the first N houses of the suite's test set")
    parser.add_argument(
        "--humans", nargs="+", metavar="MODEL", help="human models, e.g. goal_seeking:epsilon=0.1"
    )
    parser.add_argument("--seeds", type=int, help="number of seeds per (house, human) (suite default: 1)")
    parser.add_argument(
        "--seed", type=int, default=0, help="base seed of every episode seed (default: %(default)s)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: %(default)s)"
    )
    parser.add_argument(
        "--ray", metavar="ADDRESS", help="run episodes on a Ray cluster (an address, 'auto', or 'local')"
    )
    parser.add_argument("--out", type=Path, help="output folder (default: results/leaderboard_<suite>)")
    parser.add_argument("--record", action="store_true", help="also save every episode as a .npz recording")
    parser.add_argument(
        "--gif",
        type=_house_list,
        metavar="HOUSES",
        help="also write an animated GIF (OUT/gifs/) of every episode on these comma-separated house "
        "indices, e.g. 0,3, for every assistant, human and seed (needs imageio); mbag-replay turns any "
        "recording into a GIF or MP4",
    )
    parser.add_argument(
        "--reference",
        metavar="LABEL",
        help="the evaluated assistant to report paired differences against (default: idle, when evaluated)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="discard the episodes already in OUT/episodes.jsonl instead of resuming from them",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


# ----------------------------------------------------------------------------- resuming a run
EPISODES_FILE = "episodes.jsonl"
"""The episodes of a run, one JSON object a line, appended as they finish."""

RUN_FILE = "run.json"
"""What the episodes in :data:`EPISODES_FILE` belong to: the suite and ``--seed`` (:func:`run_header`)."""

LOCK_FILE = ".leaderboard.lock"
"""Locked while a run writes into its output folder, so that two runs never share one."""


def run_header(suite: Suite, base_seed: int) -> dict[str, Any]:
    """The content of ``run.json``: what a resumed run must match to reuse the episodes."""
    return {"leaderboard_run": 1, "suite": suite.describe(), "seed": base_seed}


def read_episodes(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """The episodes in ``path`` as ``(line, result)`` pairs, and the number of lines dropped
    because they are not a whole episode (the last line of a run killed while writing it)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], 0
    episodes: list[tuple[str, dict[str, Any]]] = []
    dropped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            result = json.loads(line)
        except ValueError:
            dropped += 1
            continue
        if not isinstance(result, dict) or not {"assistant", "human", "house", "seed", "status"} <= set(
            result
        ):
            dropped += 1
            continue
        episodes.append((line, result))
    return episodes, dropped


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_same_run(out_dir: Path, header: dict[str, Any], episodes: int) -> None:
    """Refuse (:class:`SystemExit`, naming the differences) to add to the ``episodes`` episodes in
    ``out_dir`` unless its ``run.json`` describes the same suite and ``--seed`` as ``header``."""
    run_path = out_dir / RUN_FILE
    advice = "use --fresh to discard them and start over there, or choose another --out"
    if not run_path.is_file():
        raise SystemExit(
            f"{out_dir / EPISODES_FILE} holds {episodes} episodes but there is no {run_path} saying which "
            f"suite they belong to (written by an older mbag-leaderboard?); {advice}"
        )
    try:
        stored = json.loads(run_path.read_text(encoding="utf-8"))
        stored_suite, stored_seed = stored["suite"], stored["seed"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"cannot read {run_path} ({type(error).__name__}: {error}); {advice}") from None
    differences = [
        f"{key} {_short(stored_suite.get(key))} there, {_short(header['suite'].get(key))} now"
        for key in sorted(set(stored_suite) | set(header["suite"]))
        if stored_suite.get(key) != header["suite"].get(key)
    ]
    if stored_seed != header["seed"]:
        differences.append(f"--seed {stored_seed} there, {header['seed']} now")
    if differences:
        raise SystemExit(
            f"{out_dir} holds {episodes} episodes of a different run, not mixing them with this one "
            f"(suite or seed differ: {'; '.join(differences)}); {advice}"
        )


def check_same_specs(episodes: Iterable[dict[str, Any]], specs: Sequence[AssistantSpec], path: Path) -> None:
    """Refuse (:class:`SystemExit`) when a kept episode's assistant label is requested with another
    spec than the one that played it."""
    wanted = {spec.label: spec.text for spec in specs}
    for episode in episodes:
        label = episode["assistant"]
        if label in wanted and episode["status"] == "ok" and episode.get("spec") != wanted[label]:
            raise SystemExit(
                f"{path} holds episodes of assistant {label!r} played by spec {episode.get('spec')!r}, but "
                f"this run gives {wanted[label]!r} for that label: name it differently (label=spec), "
                "use --fresh to start over, or choose another --out"
            )


def resume(
    out_dir: Path, header: dict[str, Any], specs: Sequence[AssistantSpec], tasks: Sequence[EpisodeTask]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Prepare ``out_dir`` for a run of ``tasks`` that resumes from its ``episodes.jsonl``.

    Checks that the episodes there belong to the same run (:func:`check_same_run`,
    :func:`check_same_specs`), rewrites ``episodes.jsonl`` atomically with its ``ok`` episodes
    (dropping failed ones, duplicates, and unreadable lines) and writes ``run.json``.

    Returns:
        The kept ``ok`` episodes of ``tasks`` (those whose recording and GIF, when asked for,
        exist), and counts: ``kept``, ``failed`` (failed episodes of ``tasks`` to recompute),
        ``dropped`` (unreadable lines) and ``other`` (episodes of assistants not requested now,
        kept in the file but not shown).
    """
    path = out_dir / EPISODES_FILE
    previous, dropped = read_episodes(path)
    if previous:
        check_same_run(out_dir, header, len(previous))
        check_same_specs((result for _, result in previous), specs, path)
    requested = {task.key: task for task in tasks}
    lines: list[str] = []
    kept: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    failed: set[tuple] = set()
    counts = {"kept": 0, "failed": 0, "dropped": dropped, "other": 0}
    for line, result in previous:
        key = (result["assistant"], result["human"], result["house"], result["seed"])
        task = requested.get(key)
        if result["status"] != "ok":
            if task is not None:
                failed.add(key)
            continue
        if key in seen or (task is not None and not task.outputs_present()):
            continue
        seen.add(key)
        lines.append(line)
        if task is None:
            counts["other"] += 1
        else:
            kept.append(result)
    counts["kept"] = len(kept)
    counts["failed"] = len(failed - seen)
    if previous or dropped:
        with atomic_open(path) as handle:
            handle.writelines(line + "\n" for line in lines)
    atomic_write_text(out_dir / RUN_FILE, json.dumps(header, indent=1) + "\n")
    return kept, counts


def start_fresh(out_dir: Path, header: dict[str, Any]) -> None:
    """Empty ``episodes.jsonl`` (first: a crash in between never pairs old episodes with a new
    ``run.json``) and write ``run.json``."""
    path = out_dir / EPISODES_FILE
    if path.exists():
        atomic_write_text(path, "")
    atomic_write_text(out_dir / RUN_FILE, json.dumps(header, indent=1) + "\n")


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` (where ``fcntl`` exists), or refuse if another run does."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(out_dir / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SystemExit(
                f"another mbag-leaderboard is writing to {out_dir}; "
                "wait for it to finish or choose another --out"
            ) from None
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run the leaderboard from the command line; returns the exit status (1 if anything failed)."""
    args = make_parser().parse_args(argv)
    if any(_names_a_module(text) for text in args.assistants) and os.getcwd() not in sys.path:
        # module:factory specs from the working folder; appended, so that a file there named like an
        # installed package (tqdm.py, json.py) never shadows it.
        sys.path.append(os.getcwd())
    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    suite = build_suite(args)
    out_dir = args.out if args.out is not None else Path("results") / f"leaderboard_{suite.name}"
    specs: list[AssistantSpec] = []
    invalid: dict[str, str] = {}
    for text in args.assistants:
        try:
            spec = parse_assistant_spec(text)
        except AssistantSpecError as error:
            invalid[text] = str(error)
            print(f"error: assistant {text!r}: {error}", file=sys.stderr)
            continue
        if any(other.label == spec.label for other in specs):
            invalid[text] = f"duplicate assistant label {spec.label!r}; name them with label=spec"
            print(f"error: {invalid[text]}", file=sys.stderr)
            continue
        specs.append(spec)
    reference = "idle" if args.reference is None else args.reference
    if args.reference is not None and all(spec.label != reference for spec in specs):
        print(
            f"warning: --reference {reference!r} is not among the evaluated assistants "
            f"({', '.join(spec.label for spec in specs) or 'none'}); skipping the paired differences",
            file=sys.stderr,
        )
    record_dir = str(out_dir / "recordings") if args.record else None
    gif_houses = set(args.gif or ())
    if gif_houses - set(suite.houses):
        raise SystemExit(
            f"--gif: houses {sorted(gif_houses - set(suite.houses))} are not in the {suite.name} suite "
            f"(houses {min(suite.houses)}..{max(suite.houses)})"
        )
    if gif_houses and importlib.util.find_spec("imageio") is None:
        raise SystemExit("--gif needs imageio: pip install 'mbag_env[render]'")
    gif_dir = str(out_dir / "gifs")
    tasks = [
        EpisodeTask(
            spec,
            suite,
            human_index,
            house,
            seed,
            args.seed,
            record_dir,
            gif_dir if house in gif_houses else None,
        )
        for spec in specs
        for human_index in range(len(suite.humans))
        for house in suite.houses
        for seed in suite.seeds
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        return _run(args, suite, out_dir, specs, invalid, tasks, reference)


def _run(
    args: argparse.Namespace,
    suite: Suite,
    out_dir: Path,
    specs: Sequence[AssistantSpec],
    invalid: dict[str, str],
    tasks: Sequence[EpisodeTask],
    reference: str,
) -> int:
    """The run of :func:`main` once the output folder is locked: resume, play, write the tables."""
    header = run_header(suite, args.seed)
    if args.fresh:
        start_fresh(out_dir, header)
        kept: list[dict[str, Any]] = []
    else:
        kept, counts = resume(out_dir, header, specs, tasks)
        if counts["dropped"]:
            print(
                f"warning: dropped {counts['dropped']} unreadable line(s) of {out_dir / EPISODES_FILE} "
                "(a run killed while writing)",
                file=sys.stderr,
            )
        if kept or counts["failed"] or counts["other"]:
            print(
                f"resuming {out_dir}: kept {counts['kept']} finished episodes, "
                f"recomputing {counts['failed']} failed ones, {len(tasks) - counts['kept']} to run"
                + (
                    f" ({counts['other']} episodes of other assistants kept, not shown)"
                    if counts["other"]
                    else ""
                )
                + "; --fresh starts over"
            )
    done = {(r["assistant"], r["human"], r["house"], r["seed"]) for r in kept}
    todo = [task for task in tasks if task.key not in done]
    if todo and args.ray is None:
        compile_seconds = warm_up(suite)
        if compile_seconds > 5:
            print(f"compiled the numba kernels in {compile_seconds:.0f} s (once per version of the sources)")
    partial_path = out_dir / EPISODES_FILE
    results: list[dict[str, Any]] = []
    start = time.perf_counter()
    from tqdm import tqdm

    progress = tqdm(
        total=len(tasks),
        initial=len(kept),
        desc=f"leaderboard {suite.name}",
        unit="episode",
        disable=args.no_progress,
    )
    interrupted = False
    with partial_path.open("a", encoding="utf-8") as partial:

        def on_result(result: dict[str, Any]) -> None:
            line = json.dumps(result)
            partial.write(line + "\n")
            partial.flush()
            results.append(json.loads(line))  # as a resumed run reads it back
            if result["status"] != "ok":
                progress.write(
                    f"failed: {result['assistant']} on house {result['house']} with {result['human']}: "
                    f"{result['error']}"
                )
            progress.update(1)

        try:
            execute(todo, on_result, workers=args.workers, ray_address=args.ray)
        except KeyboardInterrupt:
            interrupted = True
            progress.write(f"interrupted: writing the {len(kept) + len(results)} finished episodes")
    progress.close()
    elapsed = time.perf_counter() - start
    board = summarise(suite, specs, invalid, [*kept, *results], args.seed, reference=reference)
    board["run"] = {
        "wall_seconds": round(elapsed, 2),
        "workers": 1 if args.ray else args.workers,
        "ray": args.ray,
        "complete": not interrupted,
        "resumed": len(kept),
        "ran": len(results),
    }
    paths = write_outputs(board, out_dir)
    print(markdown_table(board))
    print(
        f"{len(results)} episodes in {elapsed:.1f} s"
        + (f" ({len(kept)} resumed from {partial_path})" if kept else "")
        + f"; wrote {', '.join(str(p) for p in paths.values())}"
    )
    failed = any(row["status"] != "ok" for row in board["assistants"])
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
