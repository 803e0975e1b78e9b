"""Training logs: one CSV row per update, TensorBoard scalars, and a PNG learning curve.

The CSV is the machine-readable record (``progress.csv`` in the run folder); TensorBoard gets the
same scalars; :func:`plot_learning_curve` turns the CSV into a PNG. On resume the CSV is appended
to, so one run folder holds the whole curve.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from baselines.common.checkpoint import save_training_checkpoint, to_plain
from mbag_env.core.actions import FIRST_PLACE, NOOP

if TYPE_CHECKING:
    import torch

    from baselines.common.networks import ObservationSpec

EPISODE_KEYS = ("return", "length", "goal_percentage", "completed", "human_actions", "human_place_break")
"""Per-episode statistics logged as ``episode/<key>`` (means over the episodes ending in an iteration).
``completed`` is 1 for an episode that ended with the goal built (terminated), else 0;
``human_*`` count the scripted human's non-NOOP and PLACE/BREAK actions (logged only when the agent
is not player 0, i.e. in the Assist envs)."""


class TrainingLog:
    """Writes scalars to ``run_dir/progress.csv`` and (optionally) TensorBoard in ``run_dir``.

    Args:
        run_dir: the run folder (created if missing).
        tensorboard: also write TensorBoard event files.
        resume_step: when resuming from a checkpoint taken at this step, drop CSV rows logged
            after it (iterations that ran after the checkpoint and will run again).

    Raises:
        ImportError: if ``tensorboard=True`` and the tensorboard package is not installed.
    """

    def __init__(self, run_dir: str | Path, tensorboard: bool = True, resume_step: int | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.run_dir / "progress.csv"
        self._fields: list[str] | None = None
        if self.csv_path.is_file() and self.csv_path.stat().st_size > 0:
            with self.csv_path.open(newline="") as handle:
                reader = csv.reader(handle)
                self._fields = next(reader)
                kept = list(reader)
            if resume_step is not None:
                step_column = self._fields.index("global_step")
                kept = [row for row in kept if float(row[step_column]) <= resume_step]
                with self.csv_path.open("w", newline="") as handle:
                    csv.writer(handle).writerows([self._fields, *kept])
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    "TensorBoard logging needs the tensorboard package: pip install tensorboard "
                    "(or pass --no-tensorboard)"
                ) from error
            self.writer = SummaryWriter(str(self.run_dir))

    def log(self, step: int, scalars: Mapping[str, float]) -> None:
        """Record ``scalars`` at environment step ``step`` (a CSV row and TensorBoard scalars).

        The first row fixes the CSV columns; later rows must use the same keys.

        Raises:
            ValueError: if the keys differ from the CSV's columns.
        """
        row = {"global_step": step, **scalars}
        if self._fields is None:
            self._fields = list(row)
            with self.csv_path.open("w", newline="") as handle:
                csv.writer(handle).writerow(self._fields)
        elif set(row) != set(self._fields):
            raise ValueError(
                f"log keys {sorted(row)} differ from the CSV columns {sorted(self._fields)} "
                f"in {self.csv_path}"
            )
        with self.csv_path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self._fields).writerow(row)
        if self.writer is not None:
            for key, value in scalars.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        """Flush and close TensorBoard."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class EpisodeTracker:
    """The :data:`EPISODE_KEYS` statistics of the episodes in flight on a vector env with next-step
    autoreset: a world whose episode ended at a step takes one resetting step next, which belongs to
    no episode and is not counted.

    Args:
        num_envs: the vector env's number of worlds.
    """

    def __init__(self, num_envs: int) -> None:
        self.counters = {
            key: np.zeros(num_envs) for key in ("return", "length", "human_actions", "human_place_break")
        }
        self.resetting = np.zeros(num_envs, dtype=bool)
        """Per world: whether the next step only resets it (its episode ended at the last step)."""
        self._goal_percentage = np.zeros(num_envs)
        self._terminated = np.zeros(num_envs, dtype=bool)

    def step(
        self,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: Mapping[str, Any],
        finished: Mapping[str, list[float]] | None = None,
    ) -> np.ndarray:
        """Count one step of every world (``infos`` from the env holds ``human_action`` and
        ``goal_percentage``); append each episode that ended at it to those lists of ``finished`` whose
        key is a statistic of :meth:`episode`.

        Returns:
            Per world, whether its episode ended at this step (:meth:`episode` gives its statistics
            until the next call).
        """
        for counter in self.counters.values():
            counter[self.resetting] = 0
        stepped = ~self.resetting
        self.counters["return"] += np.where(stepped, rewards, 0.0)
        self.counters["length"] += stepped
        human = np.asarray(infos["human_action"])
        self.counters["human_actions"] += stepped & (human != NOOP)
        self.counters["human_place_break"] += stepped & (human >= FIRST_PLACE)
        ended = (np.asarray(terminated) | np.asarray(truncated)) & stepped
        self._goal_percentage = np.asarray(infos["goal_percentage"])
        self._terminated = np.asarray(terminated)
        self.resetting = ended
        if finished is not None:
            for world in np.flatnonzero(ended):
                for key, value in self.episode(int(world)).items():
                    if key in finished:
                        finished[key].append(value)
        return ended

    def episode(self, world: int) -> dict[str, float]:
        """The statistics (:data:`EPISODE_KEYS`) of the episode that ``world`` ended at the last step."""
        return {
            "return": float(self.counters["return"][world]),
            "length": float(self.counters["length"][world]),
            "goal_percentage": float(self._goal_percentage[world]),
            "completed": float(self._terminated[world]),
            "human_actions": float(self.counters["human_actions"][world]),
            "human_place_break": float(self.counters["human_place_break"][world]),
        }


@contextmanager
def interruptible(
    save_last: Callable[[], object], last_checkpoint: str | Path, *resources: Any
) -> Iterator[None]:
    """Run a training loop inside this block: on Ctrl-C, call ``save_last`` (which saves the last
    checkpoint when the network and optimizer are whole), say how to resume from ``last_checkpoint``
    and re-raise; in any case close ``resources`` (the progress bar, the log, the envs) in order."""
    try:
        yield
    except KeyboardInterrupt:
        save_last()
        print(f"\ninterrupted: continue with --resume {last_checkpoint}", file=sys.stderr)
        raise
    finally:
        for resource in resources:
            resource.close()


def open_training_log(run_dir: str | Path, config: Any, resume_step: int | None = None) -> TrainingLog:
    """Create the run folder, write ``config`` (a dataclass with a ``tensorboard`` field) to its
    ``config.json`` and open its :class:`TrainingLog` (``resume_step``: see there)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(to_plain(asdict(config)), indent=2))
    return TrainingLog(run_dir, tensorboard=config.tensorboard, resume_step=resume_step)


def episode_metrics(finished: Mapping[str, Sequence[float]], has_human: bool = True) -> dict[str, float]:
    """``episode/<key>``: the mean of each statistic over the episodes that ended (NaN when none did;
    the ``human`` ones only with ``has_human``), and ``episode/count``."""
    metrics = {
        f"episode/{key}": float(np.mean(values)) if values else float("nan")
        for key, values in finished.items()
        if has_human or not key.startswith("human")
    }
    metrics["episode/count"] = len(finished["return"])
    return metrics


def throughput_metrics(
    steps: int, collect_seconds: float, update_seconds: float, env_seconds: float
) -> dict[str, float]:
    """An iteration's ``throughput/*`` scalars (the columns :func:`throughput_summary` reads): ``steps``
    env steps collected in ``collect_seconds`` (of which ``env_seconds`` inside the env) and learned
    from in ``update_seconds``."""
    return {
        "throughput/sps_total": steps / (collect_seconds + update_seconds),
        "throughput/sps_collect": steps / collect_seconds,
        "throughput/sps_env_only": steps / max(env_seconds, 1e-9),
        "throughput/collect_seconds": collect_seconds,
        "throughput/env_seconds": env_seconds,
        "throughput/update_seconds": update_seconds,
    }


def read_csv(path: str | Path) -> list[dict[str, float]]:
    """Rows of a ``progress.csv`` as floats (empty cells become NaN)."""
    rows: list[dict[str, float]] = []
    with Path(path).open(newline="") as handle:
        for raw in csv.DictReader(handle):
            rows.append(
                {key: float(value) if value not in ("", None) else math.nan for key, value in raw.items()}
            )
    return rows


LEARNING_CURVE_METRICS = ("episode/goal_percentage", "episode/return")
"""The panels of a learning curve unless a baseline names others."""


def plot_learning_curve(
    csv_path: str | Path,
    png_path: str | Path,
    metrics: Sequence[str] = LEARNING_CURVE_METRICS,
    title: str = "",
    reference_lines: Mapping[str, Mapping[str, float]] | None = None,
) -> Path:
    """Plot ``metrics`` from a ``progress.csv`` against environment steps into a PNG.

    Args:
        csv_path: the CSV written by :class:`TrainingLog`.
        png_path: where to write the image.
        metrics: CSV columns, one panel each.
        title: figure title.
        reference_lines: per metric, labelled horizontal lines (e.g. a random policy's level).

    Raises:
        ValueError: if a metric is not a column of the CSV.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows_with_metrics(csv_path, metrics)
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        steps, values = _finite_series(rows, metric)
        axis.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=1, label="per iteration")
        axis.plot(steps, _smooth(values), color="tab:blue", linewidth=2, label="smoothed")
        for index, (label, level) in enumerate((reference_lines or {}).get(metric, {}).items()):
            axis.axhline(level, color=f"C{index + 1}", linestyle="--", label=label)
        label_step_axis(axis, metric, legend_fontsize=8)
    if title:
        figure.suptitle(title)
    return save_figure(figure, png_path, dpi=110)


def plot_run_curve(log: TrainingLog, title: str, metrics: Sequence[str] = LEARNING_CURVE_METRICS) -> Path:
    """Plot the learning curve of the run that ``log`` records (:func:`plot_learning_curve`) into its run
    folder's ``learning_curve.png``."""
    return plot_learning_curve(log.csv_path, log.run_dir / "learning_curve.png", metrics, title=title)


def finish_run(
    save: Callable[[str, int], Path],
    iteration: int,
    log: TrainingLog,
    title: str,
    metrics: Sequence[str] = LEARNING_CURVE_METRICS,
) -> Path:
    """End a training run after ``iteration``: save its checkpoint as ``last.pt`` and ``final.pt``
    (``save(name, iteration)``) and plot its learning curve (:func:`plot_run_curve`).

    Returns:
        The path of ``final.pt``.
    """
    save("last.pt", iteration)
    final = save("final.pt", iteration)
    plot_run_curve(log, title, metrics)
    return final


def show_progress(bar: Any, steps: int, finished: Mapping[str, Sequence[float]], **shown: str) -> None:
    """Advance the progress ``bar`` by an iteration's ``steps`` env steps; when episodes ended in the
    iteration (``finished``: their statistics), show their mean goal percentage and ``shown`` (a label
    and its text each)."""
    bar.update(steps)
    if finished["goal_percentage"]:
        bar.set_postfix(goal=f"{np.mean(finished['goal_percentage']):.3f}", **shown)


def log_iteration(
    log: TrainingLog,
    global_step: int,
    scalars: Mapping[str, float],
    learning_rate: float,
    throughput: Mapping[str, float],
    bar: Any,
    steps: int,
    finished: Mapping[str, Sequence[float]],
    **shown: str,
) -> None:
    """Record one iteration of a PPO-style training loop: a log row at ``global_step`` of ``scalars``
    (the iteration's own), the ``learning_rate`` and the ``throughput`` (:func:`throughput_metrics`);
    then :func:`show_progress` of ``steps`` env steps with ``shown`` and the steps per second."""
    log.log(global_step, {**scalars, "charts/learning_rate": learning_rate, **throughput})
    show_progress(bar, steps, finished, **shown, sps=f"{throughput['throughput/sps_total']:.0f}")


def save_model_checkpoint(
    path: str | Path,
    algorithm: str,
    config: Any,
    spec: ObservationSpec,
    model: Any,
    optimizer: torch.optim.Optimizer,
    global_step: int,
    **extra: Any,
) -> Path:
    """:func:`~baselines.common.checkpoint.save_training_checkpoint` of a ``model`` whose ``config``
    dataclass holds its sizes, with its ``optimizer``'s current state."""
    return save_training_checkpoint(
        path,
        algorithm,
        config,
        spec,
        asdict(model.config),
        model,
        optimizer.state_dict(),
        global_step,
        **extra,
    )


def plot_run_comparison(
    runs: Mapping[str, str | Path],
    png_path: str | Path,
    metrics: Sequence[str],
    title: str = "",
    window: int = 50,
) -> Path:
    """Plot ``metrics`` of several runs' ``progress.csv`` files against environment steps, one panel per
    metric and one curve per run (trailing mean over ``window`` logged values), into a PNG.

    Args:
        runs: label -> a ``progress.csv`` (or the run folder holding one).
        png_path: where to write the image.
        metrics: CSV columns, one panel each.
        title: figure title.
        window: the smoothing window, in logged rows.

    Raises:
        ValueError: for no runs, or a metric that is not a column of a run's CSV.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not runs:
        raise ValueError("plot_run_comparison needs at least one run")
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for index, (label, source) in enumerate(runs.items()):
        csv_path = Path(source) / "progress.csv" if Path(source).is_dir() else Path(source)
        rows = _rows_with_metrics(csv_path, metrics)
        for axis, metric in zip(axes[0], metrics, strict=True):
            steps, values = _finite_series(rows, metric)
            axis.plot(steps, _smooth(values, window), color=f"C{index}", linewidth=1.8, label=label)
    for axis, metric in zip(axes[0], metrics, strict=True):
        label_step_axis(axis, metric, legend_fontsize=7)
    if title:
        figure.suptitle(title)
    return save_figure(figure, png_path, dpi=110)


def _rows_with_metrics(csv_path: str | Path, metrics: Sequence[str]) -> list[dict[str, float]]:
    """:func:`read_csv`, refusing ``metrics`` that are not its columns (an empty CSV has none to check)."""
    rows = read_csv(csv_path)
    unknown = [metric for metric in metrics if rows and metric not in rows[0]]
    if unknown:
        raise ValueError(f"metrics {unknown} are not columns of {csv_path}")
    return rows


def _finite_series(rows: Sequence[Mapping[str, float]], metric: str) -> tuple[list[float], list[float]]:
    """``(steps, values)`` of ``metric`` over the rows where it is finite (episode statistics are NaN in
    iterations where no episode ended)."""
    points = [(row["global_step"], row[metric]) for row in rows if math.isfinite(row[metric])]
    return [step for step, _ in points], [value for _, value in points]


def training_summary(
    global_step: int, iteration: int, run_dir: str | Path, checkpoint: str | Path, csv_path: str | Path
) -> dict[str, Any]:
    """What a baseline's ``train`` returns: the final env step and iteration, the run folder, the final
    checkpoint and the whole run's :func:`throughput_summary`."""
    return {
        "global_step": global_step,
        "iteration": iteration,
        "run_dir": str(run_dir),
        "checkpoint": str(checkpoint),
        **throughput_summary(csv_path),
    }


def label_step_axis(axis: Any, ylabel: str, legend_fontsize: int) -> None:
    """Label a panel of curves over training: environment steps across, ``ylabel`` up, a light grid and
    a legend."""
    axis.set_xlabel("environment steps")
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=legend_fontsize)


def save_figure(figure: Any, png_path: str | Path, dpi: int) -> Path:
    """Lay out a matplotlib ``figure``, write it as a PNG to ``png_path`` (creating its folder), close it
    and return the path."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=dpi)
    plt.close(figure)
    return png_path


def throughput_summary(csv_path: str | Path) -> dict[str, float]:
    """Whole-run throughput from a ``progress.csv``: total steps over total collection, update and
    pure env time (so the split says where the wall-clock time went).

    Returns:
        ``steps``, ``collect_seconds``, ``update_seconds``, ``env_seconds`` and the rates
        ``sps_total`` (steps / (collect + update)), ``sps_collect`` (steps / collect, i.e. env plus
        network inference) and ``sps_env_only`` (steps / time inside ``env.step``), and the
        medians of the per-iteration rates and of the update's share of the time.
    """
    rows = read_csv(csv_path)
    if not rows:
        return {}
    # Each row's rate times its seconds gives back the steps of that iteration.
    steps = sum(
        row["throughput/sps_total"] * (row["throughput/collect_seconds"] + row["throughput/update_seconds"])
        for row in rows
    )
    collect = sum(row["throughput/collect_seconds"] for row in rows)
    update = sum(row["throughput/update_seconds"] for row in rows)
    env = sum(row["throughput/env_seconds"] for row in rows)
    return {
        "steps": round(steps),
        "collect_seconds": collect,
        "update_seconds": update,
        "env_seconds": env,
        "sps_total": steps / (collect + update),
        "sps_collect": steps / collect,
        "sps_env_only": steps / env,
        # Medians over iterations: robust to a first iteration that compiles the env's kernels and
        # to bursts of load from other processes on a shared machine.
        "median_sps_total": _median([row["throughput/sps_total"] for row in rows]),
        "median_sps_collect": _median([row["throughput/sps_collect"] for row in rows]),
        "median_sps_env_only": _median([row["throughput/sps_env_only"] for row in rows]),
        "median_update_fraction": _median(
            [
                row["throughput/update_seconds"]
                / (row["throughput/collect_seconds"] + row["throughput/update_seconds"])
                for row in rows
            ]
        ),
    }


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


def progress_bar(total: int, initial: int = 0, description: str = "", disable: bool = False) -> Any:
    """A tqdm bar counting environment steps."""
    return tqdm(
        total=total, initial=initial, desc=description, unit="step", dynamic_ncols=True, disable=disable
    )


def _smooth(values: Sequence[float], window: int = 4) -> list[float]:
    """Trailing mean over the last ``window`` values."""
    return [
        sum(values[max(0, i + 1 - window) : i + 1]) / (i + 1 - max(0, i + 1 - window))
        for i in range(len(values))
    ]
