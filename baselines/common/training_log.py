"""Training logs: one CSV row per update, TensorBoard scalars, and a PNG learning curve.

The CSV is the machine-readable record (``progress.csv`` in the run folder); TensorBoard gets the
same scalars; :func:`plot_learning_curve` turns the CSV into a PNG. On resume the CSV is appended
to, so one run folder holds the whole curve.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm


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


def read_csv(path: str | Path) -> list[dict[str, float]]:
    """Rows of a ``progress.csv`` as floats (empty cells become NaN)."""
    rows: list[dict[str, float]] = []
    with Path(path).open(newline="") as handle:
        for raw in csv.DictReader(handle):
            rows.append(
                {key: float(value) if value not in ("", None) else math.nan for key, value in raw.items()}
            )
    return rows


def plot_learning_curve(
    csv_path: str | Path,
    png_path: str | Path,
    metrics: Sequence[str] = ("episode/goal_percentage", "episode/return"),
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

    rows = read_csv(csv_path)
    if rows:
        unknown = [metric for metric in metrics if metric not in rows[0]]
        if unknown:
            raise ValueError(f"metrics {unknown} are not columns of {csv_path}")
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        # Episode statistics are NaN in iterations where no episode ended: plot the others.
        points = [(row["global_step"], row[metric]) for row in rows if math.isfinite(row[metric])]
        steps, values = [step for step, _ in points], [value for _, value in points]
        axis.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=1, label="per iteration")
        axis.plot(steps, _smooth(values), color="tab:blue", linewidth=2, label="smoothed")
        for index, (label, level) in enumerate((reference_lines or {}).get(metric, {}).items()):
            axis.axhline(level, color=f"C{index + 1}", linestyle="--", label=label)
        axis.set_xlabel("environment steps")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=110)
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
