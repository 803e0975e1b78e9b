"""Training-curve figures of baselines.common.training_log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from baselines.common.training_log import plot_learning_curve, plot_run_comparison, read_csv


def _write_run(folder: Path, slope: float) -> Path:
    folder.mkdir(parents=True)
    lines = ["global_step,agent/place_break_fraction,episode/goal_percentage"]
    for step in range(1, 41):
        goal = "" if step % 3 else f"{0.5 + slope * step / 40:.3f}"  # episodes end only some iterations
        lines.append(f"{step * 256},{slope * step / 40:.4f},{goal}")
    (folder / "progress.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_run_comparison_draws_one_curve_per_run_and_panel(tmp_path: Path) -> None:
    """Two runs (a folder and a CSV path), two metrics with NaN gaps: a PNG with two panels, the
    curves in different colours; a missing metric or no run is an error naming it."""
    flat = _write_run(tmp_path / "flat", 0.0)
    rising = _write_run(tmp_path / "rising", 0.4)
    metrics = ("agent/place_break_fraction", "episode/goal_percentage")
    png = plot_run_comparison(
        {"flat": flat, "rising": rising / "progress.csv"}, tmp_path / "out" / "c.png", metrics, "t", 5
    )
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[1] > image.shape[0] > 200
    colours = {tuple(pixel) for pixel in image.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours  # matplotlib's C0 and C1
    assert len(read_csv(flat / "progress.csv")) == 40
    with pytest.raises(ValueError, match="not columns"):
        plot_run_comparison({"flat": flat}, tmp_path / "x.png", ("losses/total",))
    with pytest.raises(ValueError, match="at least one run"):
        plot_run_comparison({}, tmp_path / "x.png", metrics)
    assert plot_learning_curve(flat / "progress.csv", tmp_path / "single.png", metrics).exists()
