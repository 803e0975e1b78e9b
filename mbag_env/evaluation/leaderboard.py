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
finished). A malformed spec, a missing checkpoint, or an assistant that raises or returns an
invalid action is reported by name; its episodes are recorded as failed and the run goes on.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import importlib
import importlib.util
import inspect
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mbag_env.assistants.bayes import parse_bayes_spec
from mbag_env.config import MbagConfig
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.assistants import DEFAULT_ASSISTANTS, is_scripted_assistant, make_scripted_assistant
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
    text = text.strip()
    label, equals, rest = text.partition("=")
    if equals and label and ":" not in label and "/" not in label:
        text = rest.strip()
        label = label.strip()
    else:
        label = text
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
    result: dict[str, Any] = {"assistant": assistant, "human": human_label, "house": house, "seed": seed}
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
        name = f"{_file_label(assistant)}__{_file_label(human_label)}__house{house:03d}__seed{seed}"
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
    with each result as it finishes (in completion order)."""
    if ray_address is not None:
        _execute_on_ray(tasks, on_result, ray_address)
    elif workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_result(run_task(task))
    else:
        context = multiprocessing.get_context("spawn")  # safe with threads (torch, numba) in the parent
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(run_task, task): task for task in tasks}
            try:
                for future in concurrent.futures.as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as error:  # a worker process died: report, keep the others
                        result = _failed(
                            futures[future], f"worker process failed: {type(error).__name__}: {error}"
                        )
                    on_result(result)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


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


def _rank_key(row: dict[str, Any]) -> tuple[float, float, str]:
    headline = row["metrics"].get(HEADLINE, {}).get("mean")
    second = row["metrics"].get(SECOND, {}).get("mean")
    return (
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
    """A PNG bar chart of the headline score per assistant with 95% confidence intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in board["assistants"] if row["metrics"].get(HEADLINE, {}).get("mean") is not None]
    labels = [row["assistant"] for row in rows]
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
    figure.savefig(path)
    plt.close(figure)
    return path


def write_outputs(board: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``leaderboard.json``, ``leaderboard.md`` and ``leaderboard.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "leaderboard.json",
        "markdown": out_dir / "leaderboard.md",
        "png": out_dir / "leaderboard.png",
    }
    paths["json"].write_text(json.dumps(board, indent=1, sort_keys=False) + "\n")
    paths["markdown"].write_text(markdown_table(board))
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
        epilog=SPEC_HELP + ". Example: mbag-leaderboard --quick idle random oracle ppo=runs/ppo/final.pt",
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
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the leaderboard from the command line; returns the exit status (1 if anything failed)."""
    args = make_parser().parse_args(argv)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # module:factory specs from the working folder, as with python -m
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
    if tasks and args.ray is None:
        compile_seconds = warm_up(suite)
        if compile_seconds > 5:
            print(f"compiled the numba kernels in {compile_seconds:.0f} s (once per version of the sources)")
    partial_path = out_dir / "episodes.jsonl"
    results: list[dict[str, Any]] = []
    start = time.perf_counter()
    from tqdm import tqdm

    progress = tqdm(
        total=len(tasks), desc=f"leaderboard {suite.name}", unit="episode", disable=args.no_progress
    )
    interrupted = False
    with partial_path.open("w") as partial:

        def on_result(result: dict[str, Any]) -> None:
            results.append(result)
            partial.write(json.dumps(result) + "\n")
            partial.flush()
            if result["status"] != "ok":
                progress.write(
                    f"failed: {result['assistant']} on house {result['house']} with {result['human']}: "
                    f"{result['error']}"
                )
            progress.update(1)

        try:
            execute(tasks, on_result, workers=args.workers, ray_address=args.ray)
        except KeyboardInterrupt:
            interrupted = True
            progress.write(f"interrupted: writing the {len(results)} finished episodes")
    progress.close()
    elapsed = time.perf_counter() - start
    board = summarise(suite, specs, invalid, results, args.seed, reference=reference)
    board["run"] = {
        "wall_seconds": round(elapsed, 2),
        "workers": 1 if args.ray else args.workers,
        "ray": args.ray,
        "complete": not interrupted,
    }
    paths = write_outputs(board, out_dir)
    print(markdown_table(board))
    print(f"{len(results)} episodes in {elapsed:.1f} s; wrote {', '.join(str(p) for p in paths.values())}")
    failed = any(row["status"] != "ok" for row in board["assistants"])
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
