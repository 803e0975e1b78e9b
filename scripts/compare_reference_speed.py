"""Side by side, in one run: the reference MBAG env (PyPI ``mbag-gensyn==0.0.7``) against mbag_env.

Each workload is timed through the public API a user's loop pays for, on an 11×10×10 world:

* **builder, random valid actions**: one player; every step draws
  ``rng.choice(np.flatnonzero(mask))`` from the valid-action mask and steps with it. Ours:
  ``gym.make("mbag/Build-v0")`` (the mask comes in the observation). Reference: ``MbagEnv`` with
  ``MbagActionDistribution.get_mask_flat`` and ``get_action_mapping``.
* **scripted human + idle assistant**: ours: ``gym.make("mbag/Assist-v0")`` (the compiled
  goal-seeking human acts inside the step) with NOOP as the action; reference: its scripted
  ``LayerBuilderAgent`` plays the human from its observation and the assistant gives NOOP.

The reference runs in its own virtual environment, as a user would compare them: this script
installs nothing; it starts ``scripts/reference_speed_worker.py`` under ``--reference-python``
and asks it for timings, interleaving rounds of ours and the reference so that both see the same
machine load. The median round of each is reported with the ratio; JSON goes to ``--output``
(default ``results/compare_reference_speed.json``). Rates are steps per wall-clock second, and
per CPU second of the measuring process (on a loaded machine these fall less than the wall-clock
rates, and are near what a quiet machine gives).

Create the reference's venv once (the reference pins ``numpy==1.26.4``, so keep it apart from
this one)::

    python -m venv /tmp/mbag_ref
    /tmp/mbag_ref/bin/pip install mbag-gensyn==0.0.7

Usage::

    python scripts/compare_reference_speed.py --reference-python /tmp/mbag_ref/bin/python
    python scripts/compare_reference_speed.py --reference-python /tmp/mbag_ref/bin/python --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from step_timing import machine_record, random_valid_stepper, timed

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from mbag_env.core.actions import NOOP

WORKER = Path(__file__).resolve().with_name("reference_speed_worker.py")
WORKLOADS = {
    "builder_random_valid": "builder, random valid actions (rng.choice(np.flatnonzero(mask)))",
    "human_idle": "scripted human + idle assistant",
}
VENV_HELP = (
    "create the reference's virtual environment first:\n"
    "    python -m venv /tmp/mbag_ref\n"
    "    /tmp/mbag_ref/bin/pip install mbag-gensyn==0.0.7\n"
    "then pass --reference-python /tmp/mbag_ref/bin/python"
)


class ReferenceWorker:
    """The reference side: ``reference_speed_worker.py`` running under another interpreter."""

    def __init__(self, python: Path) -> None:
        self.process = subprocess.Popen(
            [str(python), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tempfile.gettempdir(),  # outside the checkout: the venv's own packages only
        )
        self.versions = self._answer()

    def time(self, workload: str, seconds: float) -> dict[str, float]:
        """Steps, wall and CPU seconds of ``workload`` run for about ``seconds``."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"workload": workload, "seconds": seconds}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        """Ask the worker to exit and wait for it."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(timeout=30)
            raise RuntimeError(
                f"the reference worker exited (code {code}) without an answer; is mbag-gensyn 0.0.7 "
                f"installed for that interpreter? {VENV_HELP}"
            )
        return dict(json.loads(line))


def ours_builder_loop(seconds: float) -> dict[str, float]:
    """Random valid actions in ``gym.make("mbag/Build-v0")`` for about ``seconds``."""
    step, _ = random_valid_stepper(gym.make("mbag/Build-v0"), seed=0)
    return timed(step, seconds)


def ours_human_idle_loop(seconds: float) -> dict[str, float]:
    """The compiled goal-seeking human with a NOOP assistant in ``gym.make("mbag/Assist-v0")``."""
    env = gym.make("mbag/Assist-v0")
    env.reset(seed=0)

    def step() -> None:
        _, _, terminated, truncated, _ = env.step(NOOP)
        if terminated or truncated:
            env.reset()

    return timed(step, seconds)


OURS = {"builder_random_valid": ours_builder_loop, "human_idle": ours_human_idle_loop}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reference-python",
        type=Path,
        required=True,
        help="the python of a venv with mbag-gensyn==0.0.7 installed (e.g. /tmp/mbag_ref/bin/python)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per workload (median)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per timed round")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 s")
    parser.add_argument("--output", type=Path, default=Path("results/compare_reference_speed.json"))
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 3, 1.0
    if not args.reference_python.exists():
        parser.exit(2, f"{args.reference_python} does not exist: {VENV_HELP}\n")

    load_before = os.getloadavg()[0]
    print(f"load average before: {load_before:.2f}", flush=True)
    worker = ReferenceWorker(args.reference_python)
    rows: list[dict[str, Any]] = []
    try:
        for workload, description in WORKLOADS.items():
            ours_rounds: list[dict[str, float]] = []
            reference_rounds: list[dict[str, float]] = []
            for _ in range(args.rounds):
                reference_rounds.append(worker.time(workload, args.seconds))
                ours_rounds.append(OURS[workload](args.seconds))
            ours_rate = statistics.median(r["steps"] / r["wall_s"] for r in ours_rounds)
            reference_rate = statistics.median(r["steps"] / r["wall_s"] for r in reference_rounds)
            rows.append(
                {
                    "workload": workload,
                    "description": description,
                    "reference_steps_per_s": reference_rate,
                    "ours_steps_per_s": ours_rate,
                    "ratio": ours_rate / reference_rate,
                    "reference_steps_per_cpu_s": statistics.median(
                        r["steps"] / r["cpu_s"] for r in reference_rounds
                    ),
                    "ours_steps_per_cpu_s": statistics.median(r["steps"] / r["cpu_s"] for r in ours_rounds),
                    "reference_rounds": reference_rounds,
                    "ours_rounds": ours_rounds,
                }
            )
    finally:
        worker.close()
    load_after = os.getloadavg()[0]

    version = worker.versions["mbag_gensyn"]
    header = f"| workload (11×10×10) | reference (mbag-gensyn {version}) | ours | ratio | per CPU second |"
    print(f"\n{header}")
    print("|---|---|---|---|---|")
    for row in rows:
        reference_cpu, ours_cpu = row["reference_steps_per_cpu_s"], row["ours_steps_per_cpu_s"]
        print(
            f"| {row['description']} | {row['reference_steps_per_s']:,.0f}/s | "
            f"{row['ours_steps_per_s']:,.0f}/s | {row['ratio']:.1f}× | "
            f"{reference_cpu:,.0f} vs {ours_cpu:,.0f}: {ours_cpu / reference_cpu:.1f}× |"
        )
    print(
        f"\nmedian of {args.rounds} interleaved rounds of {args.seconds:g} s; "
        f"load average {load_before:.2f} before, {load_after:.2f} after; {os.cpu_count()} CPUs"
    )
    machine = machine_record(
        load_before, load_after, numpy=np.__version__, gymnasium=gym.__version__, reference=worker.versions
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {"machine": machine, "rounds": args.rounds, "seconds_per_round": args.seconds, "rows": rows},
            indent=2,
        )
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
