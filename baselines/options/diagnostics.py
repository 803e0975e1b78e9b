"""Diagnostics that show whether options are real: usage, durations, terminations, and where they act.

:class:`OptionUsage` accumulates, per option, how often it was chosen, how many primitive steps it
ran, how many of its executions ended, and the cells its PLACE/BREAK actions targeted. Its
:meth:`~OptionUsage.metrics` become ``options/*`` columns of a run's ``progress.csv``;
:func:`plot_option_maps` draws one PNG per option of where in the house it acts (top view and
side view of the targeted cells), and :func:`plot_option_curves` plots the columns over training.
Both option-critic and PPO over hand-designed options use these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baselines.common.training_log import label_step_axis, read_csv, save_figure
from mbag_env.core.actions import KIND_BREAK, KIND_PLACE, decode_action


def finished_episode_lists(has_human: bool) -> dict[str, list[float]]:
    """Empty lists for the statistics an options run logs of each episode that ends: return, length,
    goal percentage, completion and, beside a scripted human, the human's PLACE/BREAK count."""
    keys = ("return", "length", "goal_percentage", "completed")
    finished: dict[str, list[float]] = {key: [] for key in keys}
    if has_human:
        finished["human_place_break"] = []
    return finished


class OptionUsage:
    """Per-option counters over some stretch of experience (e.g. one training iteration).

    Args:
        names: the options' names.
        world_size: ``(W, H, D)`` (for the maps of targeted cells).
    """

    def __init__(self, names: Sequence[str], world_size: tuple[int, int, int]) -> None:
        self.names = list(names)
        self.world_size = tuple(int(s) for s in world_size)
        self.num_cells = int(np.prod(self.world_size))
        self.reset()
        self.cell_maps = np.zeros((len(self.names), *self.world_size), dtype=np.int64)
        self.position_maps = np.zeros((len(self.names), *self.world_size), dtype=np.int64)

    def reset(self) -> None:
        """Zero the counters (not the cumulative maps)."""
        count = len(self.names)
        self.choices = np.zeros(count, dtype=np.int64)
        self.steps = np.zeros(count, dtype=np.int64)
        self.terminations = np.zeros(count, dtype=np.int64)
        self.completed_durations: list[list[int]] = [[] for _ in range(count)]

    def record_choice(self, option: int) -> None:
        """An option was started."""
        self.choices[option] += 1

    def record_step(self, option: int, action: int, feet: Sequence[int] | None = None) -> None:
        """One primitive step of ``option`` with ``action`` (and the player's feet cell)."""
        self.steps[option] += 1
        cell = self.action_cell(action)
        if cell is not None:
            self.cell_maps[(option, *cell)] += 1
        if feet is not None:
            self.position_maps[(option, *feet)] += 1

    def record_end(self, option: int, duration: int, terminated: bool) -> None:
        """An execution of ``option`` ended after ``duration`` steps, by its termination
        (``terminated``) or because the episode ended."""
        self.completed_durations[option].append(int(duration))
        self.terminations[option] += int(terminated)

    def action_cell(self, action: int) -> tuple[int, int, int] | None:
        """The cell a PLACE/BREAK action targets (``None`` for NOOP, moves and GIVE)."""
        kind, _, cell = decode_action(int(action), self.num_cells)
        if kind != KIND_PLACE and kind != KIND_BREAK:
            return None
        return tuple(int(c) for c in np.unravel_index(cell, self.world_size))  # type: ignore[return-value]

    def metrics(self, prefix: str = "options") -> dict[str, float]:
        """``{prefix}/choice_frac_<name>``, ``steps_frac_<name>``, ``duration_<name>``,
        ``termination_rate_<name>`` (terminations per step of the option), and the overall
        ``mean_duration``, ``termination_rate`` and the number of options active on at least 10% of
        steps (``active_options``)."""
        total_steps = max(int(self.steps.sum()), 1)
        total_choices = max(int(self.choices.sum()), 1)
        result: dict[str, float] = {}
        for index, name in enumerate(self.names):
            durations = self.completed_durations[index]
            result[f"{prefix}/choice_frac_{name}"] = float(self.choices[index] / total_choices)
            result[f"{prefix}/steps_frac_{name}"] = float(self.steps[index] / total_steps)
            result[f"{prefix}/duration_{name}"] = float(np.mean(durations)) if durations else math.nan
            result[f"{prefix}/termination_rate_{name}"] = (
                float(self.terminations[index] / self.steps[index]) if self.steps[index] else math.nan
            )
        all_durations = [d for durations in self.completed_durations for d in durations]
        result[f"{prefix}/mean_duration"] = float(np.mean(all_durations)) if all_durations else math.nan
        result[f"{prefix}/termination_rate"] = float(self.terminations.sum() / total_steps)
        result[f"{prefix}/active_options"] = float((self.steps / total_steps >= 0.1).sum())
        return result


def plot_option_maps(
    cell_maps: np.ndarray,
    position_maps: np.ndarray,
    names: Sequence[str],
    out_dir: str | Path,
    prefix: str = "option",
    title: str = "",
) -> list[Path]:
    """One PNG per option: where its PLACE/BREAK actions land (top view x–z summed over height and
    side view x–y summed over depth) and where the player stood while it ran (top view).

    Returns:
        the written paths, ``<out_dir>/<prefix>_<index>_<name>.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(names):
        cells, positions = cell_maps[index], position_maps[index]
        figure, axes = plt.subplots(1, 3, figsize=(10, 3.3))
        panels = (
            (cells.sum(axis=1).T, "x", "z", "PLACE/BREAK targets, top view"),
            (cells.sum(axis=2).T, "x", "y (up)", "PLACE/BREAK targets, side view"),
            (positions.sum(axis=1).T, "x", "z", "player position, top view"),
        )
        for axis, (image, xlabel, ylabel, panel_title) in zip(axes, panels, strict=True):
            shown = axis.imshow(image, origin="lower", cmap="viridis")
            axis.set_xlabel(xlabel)
            axis.set_ylabel(ylabel)
            axis.set_title(panel_title, fontsize=8)
            figure.colorbar(shown, ax=axis, fraction=0.046)
        total = int(cells.sum())
        figure.suptitle(f"{title} option {index} '{name}': {total} place/break, {int(positions.sum())} steps")
        paths.append(save_figure(figure, out_dir / f"{prefix}_{index}_{name}.png", dpi=80))
    return paths


def plot_option_curves(
    csv_path: str | Path,
    png_path: str | Path,
    names: Sequence[str],
    extra: Sequence[str] = (),
    title: str = "",
) -> Path:
    """Plot the ``options/*`` columns of a ``progress.csv`` over training: the share of steps per
    option, the mean duration per option, and any ``extra`` columns (one panel each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv(csv_path)
    panels: list[tuple[str, list[str]]] = [
        ("share of steps", [f"options/steps_frac_{name}" for name in names]),
        ("mean duration (steps)", [f"options/duration_{name}" for name in names]),
    ] + [(column, [column]) for column in extra]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    steps = [row["global_step"] for row in rows]
    for axis, (label, columns) in zip(axes[0], panels, strict=True):
        for column in columns:
            if rows and column in rows[0]:
                axis.plot(steps, [row[column] for row in rows], label=column.split("/")[-1], linewidth=1.5)
        label_step_axis(axis, label, legend_fontsize=6)
    if title:
        figure.suptitle(title)
    return save_figure(figure, png_path, dpi=90)


def plot_method_curves(
    runs: dict[str, Sequence[str | Path]],
    png_path: str | Path,
    metric: str = "episode/return",
    title: str = "",
    bins: int = 16,
) -> Path:
    """Learning curves of several methods, each the mean over its runs (seeds) of ``metric`` from the
    runs' ``progress.csv``, binned over environment steps; the band spans the seeds' min and max.

    Args:
        runs: method label -> run folders (each holding a ``progress.csv``).
        png_path: where to write the image.
        metric: the CSV column.
        title: figure title.
        bins: number of step bins.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 3.8))
    for index, (label, folders) in enumerate(runs.items()):
        curves = []
        edges = None
        for folder in folders:
            rows = [row for row in read_csv(Path(folder) / "progress.csv") if math.isfinite(row[metric])]
            steps = np.array([row["global_step"] for row in rows])
            values = np.array([row[metric] for row in rows])
            if edges is None:
                edges = np.linspace(0, steps.max(), bins + 1)
            which = np.clip(np.digitize(steps, edges[1:-1]), 0, bins - 1)
            curves.append([values[which == b].mean() if (which == b).any() else np.nan for b in range(bins)])
        assert edges is not None
        centres = (edges[:-1] + edges[1:]) / 2
        curves_array = np.array(curves)
        seen = np.isfinite(curves_array).any(axis=0)  # bins before any episode ended are left out
        centres, curves_array = centres[seen], curves_array[:, seen]
        colour = f"C{index}"
        axis.plot(
            centres,
            np.nanmean(curves_array, axis=0),
            color=colour,
            linewidth=2,
            label=f"{label} ({len(folders)} seeds)",
        )
        axis.fill_between(
            centres, np.nanmin(curves_array, axis=0), np.nanmax(curves_array, axis=0), color=colour, alpha=0.2
        )
    label_step_axis(axis, metric, legend_fontsize=8)
    if title:
        axis.set_title(title, fontsize=9)
    return save_figure(figure, png_path, dpi=90)
