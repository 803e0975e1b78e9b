"""One leaderboard episode: the picklable :class:`EpisodeTask`, its seeds, and :func:`run_task`, which
plays it and returns its JSON-ready result (never raising for a failing assistant)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mbag_env.compile_cache import WarmUp, compile_notice
from mbag_env.config import MbagConfig
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.assistant_specs import AssistantSpec
from mbag_env.evaluation.assistants import make_scripted_assistant
from mbag_env.evaluation.metrics import episode_metrics
from mbag_env.evaluation.recording import export_gif, run_episode
from mbag_env.evaluation.suites import SUITES, Suite, suite_goals


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
        goals = suite_goals(suite)
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


def warm_up(suite: Suite | None = None) -> WarmUp:
    """Compile (or load from numba's cache) the kernels an episode needs, in this process: a short
    episode with the oracle beside the suite's first human (default: the quick suite's), inside
    :func:`~mbag_env.compile_cache.compile_notice`, which announces a cold cache on stderr before
    compiling and the seconds it took after. Returns what it measured.

    Every command line tool calls it before its real work; the leaderboard does so before starting
    worker processes, so that they load the cache instead of all compiling the same kernels at once.
    """
    if suite is None:
        suite = SUITES["quick"]
    with compile_notice() as timing:
        goals = suite_goals(suite)
        config = MbagConfig(
            world_size=suite.world_size, num_players=2, horizon=2, goal=goals[suite.houses[0]]
        )
        env = MbagEnv(config, agent=1, human_policy=suite.humans[0])
        run_episode(env, make_scripted_assistant("oracle", env), seed=0)
    return timing


def _file_label(text: str) -> str:
    """``text`` as a safe file-name part: other characters than letters, digits, ``-_.`` become ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:60]


def failed_result(task: EpisodeTask, message: str) -> dict[str, Any]:
    """The result of ``task`` when it could not be played: ``status`` ``"failed"`` with ``message``."""
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
