"""The Bayesian assistant's time per step against the number of candidate goals: table + JSON.

For each world size and prior the assistant plays ``--episodes`` episodes of ``mbag/Assist``
with the goal-seeking human on shipped test houses, and every :meth:`BayesAssistant.act` call is
timed (belief update on the human's changes, marginals, gains and the action choice together).
Priors, from small to large:

* ``structures of N train houses``: :meth:`GoalPrior.from_examples` on the first ``N`` shipped
  training houses with their symmetric copies (the default prior is the same with all of them);
* ``default``: :func:`default_prior`, what ``bayes`` uses on the leaderboard;
* ``test set (exact)``: the finite goal set ``dataset:test`` (privileged: it holds the answer).

Reported per prior: the number of candidates, the first step (the whole prior is active), the
median, 95th percentile and mean over all steps, and the steps timed. The first act of a
process also compiles the numba kernels: one untimed warm-up episode runs first. Machines are
shared and noisy: compare rows measured in one run. Example::

    python scripts/benchmark_bayes.py --train-houses 100 300 1000 --episodes 4 \\
        --json results/benchmark_bayes.json
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from mbag_env.assistants import BayesAssistant, GoalPrior, default_prior
from mbag_env.config import MbagConfig
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.atomic import atomic_write_text
from mbag_env.evaluation.recording import run_episode
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel

SIZES = {"small": ((6, 6, 6), 200), "paper": ((11, 10, 10), 1500)}
"""``--size`` names: world size and horizon (the quick and full leaderboard suites)."""


class TimedAssistant:
    """A :class:`BayesAssistant` whose :meth:`act` calls are timed (seconds, in call order)."""

    def __init__(self, assistant: BayesAssistant) -> None:
        self.assistant = assistant
        self.seconds: list[float] = []

    def __call__(self, observation: dict[str, np.ndarray]) -> int:
        """Act and record the time taken."""
        start = time.perf_counter()
        action = self.assistant.act(observation)
        self.seconds.append(time.perf_counter() - start)
        return action


def time_prior(
    prior: GoalPrior, label: str, size: tuple[int, int, int], horizon: int, episodes: int, seed: int
) -> dict[str, Any]:
    """Play ``episodes`` episodes with ``prior`` (after one warm-up) and summarise the act times."""
    goals = load_shipped_goals("test", size)
    human = HumanModel("goal_seeking")
    first: list[float] = []
    every: list[float] = []
    for episode in range(episodes + 1):
        config = MbagConfig(world_size=size, num_players=2, horizon=horizon, goal=goals[episode])
        timed = TimedAssistant(BayesAssistant(config, prior))
        run_episode(MbagEnv(config, agent=1, human_policy=human), timed, seed=seed + episode)
        if episode > 0:
            first.append(timed.seconds[0])
            every.extend(timed.seconds)
    milliseconds = 1000.0 * np.asarray(every)
    return {
        "world_size": list(size),
        "prior": label,
        "candidates": int(prior.size),
        "first_step_ms": float(1000.0 * np.mean(first)),
        "median_ms": float(np.median(milliseconds)),
        "p95_ms": float(np.percentile(milliseconds, 95)),
        "mean_ms": float(milliseconds.mean()),
        "steps": int(len(milliseconds)),
    }


def main() -> None:
    """Time the requested priors and print the table (and write JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", nargs="+", default=["small"], choices=sorted(SIZES))
    parser.add_argument(
        "--train-houses", type=int, nargs="*", default=[100, 300, 1000], help="sizes of the smaller priors"
    )
    parser.add_argument("--episodes", type=int, default=4, help="timed episodes per prior")
    parser.add_argument("--no-exact", action="store_true", help="skip the finite test-set prior")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    for size_name in args.size:
        size, horizon = SIZES[size_name]
        priors: list[tuple[str, GoalPrior]] = []
        train = load_shipped_goals("train", size)
        for count in args.train_houses:
            if count < len(train):
                priors.append((f"structures of {count} train houses", GoalPrior.from_examples(train[:count])))
        priors.append(("default", default_prior(size)))
        if not args.no_exact:
            priors.append(("test set (exact)", GoalPrior.from_goals(load_shipped_goals("test", size))))
        for label, prior in priors:
            rows.append(time_prior(prior, label, size, horizon, args.episodes, args.seed))
            row = rows[-1]
            print(
                f"{'x'.join(map(str, size)):>8}  {label:<34} {row['candidates']:>7} candidates  "
                f"first {row['first_step_ms']:7.1f} ms  median {row['median_ms']:6.2f} ms  "
                f"p95 {row['p95_ms']:6.2f} ms  mean {row['mean_ms']:6.2f} ms  ({row['steps']} steps)",
                flush=True,
            )
    if args.json:
        atomic_write_text(args.json, json.dumps({"results": rows}, indent=2))


if __name__ == "__main__":
    main()
