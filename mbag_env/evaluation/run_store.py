"""A leaderboard run's output folder: ``run.json`` and ``episodes.jsonl`` (read, checked against the run
being resumed, rewritten with the kept episodes, or emptied for a fresh run) and the lock that keeps
two runs out of one folder."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mbag_env.evaluation.assistant_specs import AssistantSpec
from mbag_env.evaluation.atomic import atomic_open, atomic_write_text
from mbag_env.evaluation.episode_tasks import EpisodeTask
from mbag_env.evaluation.suites import Suite

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
    """``value`` as JSON, cut to ``limit`` characters (with ``…``) for an error message."""
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
def locked(out_dir: Path) -> Iterator[None]:
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
