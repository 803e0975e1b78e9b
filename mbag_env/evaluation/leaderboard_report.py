"""The leaderboard's output files: the Markdown tables, the PNG bar chart, and :func:`write_outputs`, which
writes ``leaderboard.json``, ``leaderboard.md`` and ``leaderboard.png`` atomically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mbag_env.evaluation.atomic import atomic_path, atomic_write_text
from mbag_env.evaluation.leaderboard_summary import HEADLINE, SECOND


def _format_estimate(estimate: dict[str, Any], percent: bool = False, digits: int = 1) -> str:
    """A mean with its 95% half-width, e.g. ``72.5% ± 3.1``; ``—`` when there is no mean."""
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


def _per_human_table_head(title: str, humans: Sequence[str]) -> list[str]:
    """The lines that open a table of one column per scripted human: a blank line, ``title``, a blank
    line, the header row and the alignment row."""
    return [
        "",
        title,
        "",
        "| assistant | " + " | ".join(f"`{h}`" for h in humans) + " |",
        "|---|" + "---:|" * len(humans),
    ]


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
    lines += _per_human_table_head(f"Δ human actions vs `{reference}` per scripted human:", humans)
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
        f"World {'×'.join(map(str, suite['world_size']))}, {len(suite['houses'])} shipped "
        f"{suite['dataset'].removeprefix('dataset:')} houses × "
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
    lines += _per_human_table_head(f"Goal % at step {step} per scripted human:", humans)
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
