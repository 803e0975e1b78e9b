"""The assistant leaderboard: evaluate assistants on a fixed suite and write JSON, Markdown and a PNG.

Run ``mbag-leaderboard --quick`` (or ``python scripts/leaderboard.py``). An *assistant spec* is

- a scripted assistant's name: ``idle``, ``random`` or ``oracle`` (:mod:`.assistants`);
- a checkpoint path ending in ``.pt`` (or another suffix with a registered loader), loaded by the
  loader registered for its suffix under the ``mbag_env.policy_loaders`` entry points
  (:mod:`.assistant_specs`): this repository's baselines register one that picks the policy class
  from the checkpoint's algorithm (PPO, AssistanceZero, Dreamer, options; needs PyTorch);
- a Python import path ``module:factory``: ``factory()`` returns a policy (an object with
  ``act(observation) -> action``, or a callable); it is passed ``env=`` (the
  :class:`~mbag_env.envs.single.MbagEnv` of the episode) and ``seed=`` if it takes them;
- any of these as ``label=spec`` to choose the name shown in the tables.

A *suite* (:data:`SUITES`, versioned by :data:`~.suites.SUITE_VERSION`) fixes the world size, the shipped
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
finished (:func:`~.leaderboard_summary.paired_differences`). The reference is ``idle`` when it is evaluated;
``--reference LABEL`` picks another evaluated assistant.

Episodes run in worker processes (``--workers``) or on a Ray cluster (``--ray ADDRESS``; when no
cluster answers there, one line says so and the exit status is 2, before any file is written). Each
finished episode is appended to ``episodes.jsonl`` at once; ``leaderboard.json``,
``leaderboard.md`` and ``leaderboard.png`` are written at the end (also after Ctrl-C, from what
finished), each atomically (:mod:`.atomic`: a crash leaves the previous file, never a partial one).
A malformed spec, a missing checkpoint, or an assistant that raises or returns an invalid action
is reported by name; its episodes are recorded as failed and the run goes on. After the run, each
assistant with failed episodes gets one line on stderr: how many failed and the first error (every
error is in the JSON files). An assistant that
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

The first run of a version compiles the kernels (about a minute, announced on stderr by
:func:`~.episode_tasks.warm_up`); the reported wall time includes that warm-up.

This module is the command line only; the parts live in :mod:`.suites` (the suites),
:mod:`.assistant_specs` (parsing specs), :mod:`.episode_tasks` (playing one episode),
:mod:`.runner` (where episodes run: :func:`~.runner.execute` in this process, in worker processes
of :mod:`.worker_pool` or on Ray), :mod:`.run_store` (``run.json``,
``episodes.jsonl`` and resuming), :mod:`.leaderboard_summary` (ranking and paired differences) and
:mod:`.leaderboard_report` (the Markdown, PNG and JSON files).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mbag_env.evaluation.assistant_specs import (
    SPEC_HELP,
    AssistantSpec,
    AssistantSpecError,
    names_a_module,
    parse_assistant_spec,
)
from mbag_env.evaluation.assistants import DEFAULT_ASSISTANTS
from mbag_env.evaluation.episode_tasks import EpisodeTask, episode_seeds, run_task, warm_up
from mbag_env.evaluation.leaderboard_report import markdown_table, write_outputs
from mbag_env.evaluation.leaderboard_summary import summarise
from mbag_env.evaluation.run_store import EPISODES_FILE, locked, resume, run_header, start_fresh
from mbag_env.evaluation.runner import RayConnectionError, connect_ray, execute
from mbag_env.evaluation.suites import SPLITS, SUITES, Suite, shipped_goals
from mbag_env.humans.scripted import HumanModel

__all__ = [
    "SUITES",
    "AssistantSpecError",
    "RayConnectionError",
    "Suite",
    "connect_ray",
    "episode_seeds",
    "execute",
    "main",
    "make_parser",
    "parse_assistant_spec",
    "run_task",
]


def build_suite(args: argparse.Namespace) -> Suite:
    """The suite chosen on the command line (``--quick``/``--suite``, narrowed by ``--houses``,
    ``--first-house``, ``--humans``, ``--seeds``; ``--split train`` moves it to training houses)."""
    suite = SUITES["quick" if args.quick else args.suite]
    changes: dict[str, Any] = {}
    if args.houses is not None or args.first_house or args.split != suite.split:
        total = len(shipped_goals(args.split, suite.world_size))
        count = len(suite.houses) if args.houses is None else args.houses
        if count < 1 or not 0 <= args.first_house <= total - count:
            raise SystemExit(
                f"--first-house {args.first_house} with {count} houses must fit the {total} shipped "
                f"{args.split} houses of the {suite.name} suite's world: first house in [0, {total - count}]"
            )
        changes["houses"] = tuple(range(args.first_house, args.first_house + count))
        changes["split"] = args.split
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
        changes["name"] = suite.name + ("-custom" if changes.get("split", "test") == "test" else "-train")
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
    parser.add_argument("--houses", type=int, help="use only N houses of the suite's house set (the first N)")
    parser.add_argument(
        "--first-house",
        type=int,
        default=0,
        help="with --houses or --split: start at this house index instead of 0 (default: %(default)s)",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="which shipped houses: the held-out test houses every result is reported on (default), or "
        "the training houses, to choose an assistant's settings without looking at the test set",
    )
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the leaderboard from the command line; returns the exit status (1 if anything failed)."""
    args = make_parser().parse_args(argv)
    if any(names_a_module(text) for text in args.assistants) and os.getcwd() not in sys.path:
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
    ray = None
    if args.ray is not None:
        # before anything is written: a run that cannot start leaves the output folder as it was
        try:
            ray = connect_ray(args.ray)
        except RayConnectionError as error:
            print(f"mbag-leaderboard: error: {error}", file=sys.stderr)
            return 2
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with locked(out_dir):
            return _run(args, suite, out_dir, specs, invalid, tasks, reference, ray)
    finally:
        if ray is not None:
            ray.shutdown()  # stops a local instance; only disconnects from a cluster


def _run(
    args: argparse.Namespace,
    suite: Suite,
    out_dir: Path,
    specs: Sequence[AssistantSpec],
    invalid: dict[str, str],
    tasks: Sequence[EpisodeTask],
    reference: str,
    ray: Any = None,
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
    start = time.perf_counter()  # the reported time includes the warm-up (compiling, on a first run)
    warm_up_seconds = 0.0
    if todo and args.ray is None:
        warm_up_seconds = warm_up(suite).seconds
    partial_path = out_dir / EPISODES_FILE
    results: list[dict[str, Any]] = []
    failures: dict[str, list[str]] = {}  # assistant -> error messages of its failed episodes, in order
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
            if result["status"] != "ok":  # summed up per assistant after the run (one line each)
                failures.setdefault(result["assistant"], []).append(str(result.get("error")))
                progress.set_postfix(failed=sum(map(len, failures.values())), refresh=False)
            progress.update(1)

        try:
            execute(todo, on_result, workers=args.workers, ray_address=args.ray, ray=ray)
        except KeyboardInterrupt:
            interrupted = True
            progress.write(f"interrupted: writing the {len(kept) + len(results)} finished episodes")
    progress.close()
    elapsed = time.perf_counter() - start
    ran = Counter(result["assistant"] for result in results)
    for assistant, errors in failures.items():
        print(
            f"failed: {assistant}: {len(errors)} of {ran[assistant]} episodes; first error: {errors[0]} "
            f"(every error is in {out_dir / 'leaderboard.json'})",
            file=sys.stderr,
        )
    board = summarise(suite, specs, invalid, [*kept, *results], args.seed, reference=reference)
    board["run"] = {
        "wall_seconds": round(elapsed, 2),
        "warm_up_seconds": round(warm_up_seconds, 2),
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
        + (f" (warm-up included: {warm_up_seconds:.1f} s)" if warm_up_seconds >= 1 else "")
        + (f" ({len(kept)} resumed from {partial_path})" if kept else "")
        + f"; wrote {', '.join(str(p) for p in paths.values())}"
    )
    failed = any(row["status"] != "ok" for row in board["assistants"])
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
