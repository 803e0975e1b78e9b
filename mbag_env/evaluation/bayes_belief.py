"""The Bayesian assistant's posterior against the true house over the episode: plot + JSON.

Plays the leaderboard suite's episodes (``--suite quick``: 20 test houses × the four scripted
humans, seeds as the leaderboard draws them) with ``bayes`` assistants and, at every step, scores
the posterior marginals the assistant acted on against θ with
:class:`~mbag_env.evaluation.belief_metrics.BeliefAccuracy`: argmax accuracy and mean p(θ_c) on
the cells still to build, and calibration. Each ``--assistant`` spec is a ``bayes`` spec (e.g.
``bayes`` for the fair default prior, ``bayes:prior=dataset:test`` for the exact posterior over
the test set). Example::

    python scripts/bayes_belief_accuracy.py bayes bayes:prior=dataset:test \\
        --json results/bayes_belief.json --plot docs/bayes_belief.png

The command line is :func:`main`; ``scripts/bayes_belief_accuracy.py`` is a thin wrapper over it
(``python -m mbag_env.evaluation.bayes_belief`` runs the same). :func:`evaluate` scores one spec
on a suite; :class:`ScoredAssistant` scores the posterior behind each action of one episode.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mbag_env.assistants.bayes import BayesAssistant, make_bayes_assistant
from mbag_env.config import MbagConfig
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.atomic import atomic_write_text
from mbag_env.evaluation.belief_metrics import BeliefAccuracy, plot_belief_accuracy
from mbag_env.evaluation.episode_tasks import episode_seeds
from mbag_env.evaluation.recording import run_episode
from mbag_env.evaluation.suites import SUITES, Suite, suite_goals


class ScoredAssistant:
    """Acts with a :class:`BayesAssistant` and scores the marginals behind each action."""

    def __init__(self, assistant: BayesAssistant, goal: np.ndarray, accuracy: BeliefAccuracy) -> None:
        self.assistant = assistant
        self.goal = goal
        self.accuracy = accuracy

    def __call__(self, observation: dict[str, np.ndarray]) -> int:
        """Act, then score the posterior given the history up to this observation."""
        action = self.assistant.act(observation)
        marginals = self.assistant.previous_marginals
        assert marginals is not None
        timestep = int(np.asarray(observation["timestep"]).item())
        self.accuracy.add(timestep, marginals, observation["world"][0], self.goal)
        return action


def evaluate(spec: str, suite: Suite, base_seed: int) -> BeliefAccuracy:
    """Play every episode of ``suite`` with the ``bayes`` assistant ``spec``; return its scores."""
    goals = suite_goals(suite)
    accuracy = BeliefAccuracy(suite.horizon)
    for human_index, human in enumerate(suite.humans):
        for house in suite.houses:
            for seed in suite.seeds:
                config = MbagConfig(
                    world_size=suite.world_size, num_players=2, horizon=suite.horizon, goal=goals[house]
                )
                env = MbagEnv(config, agent=1, human_policy=human)
                env_seed, _ = episode_seeds(base_seed, house, human_index, seed)
                assistant = ScoredAssistant(make_bayes_assistant(spec, config), goals[house], accuracy)
                run_episode(env, assistant, env_seed)
        print(f"{spec}: {human.label} done", flush=True)
    return accuracy


def main(argv: Sequence[str] | None = None) -> None:
    """Score the requested assistants, print a summary, write JSON and the plot (``argv`` defaults to
    ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assistant", nargs="+", help="bayes specs, e.g. bayes bayes:prior=dataset:test")
    parser.add_argument("--suite", default="quick", choices=sorted(SUITES))
    parser.add_argument("--seed", type=int, default=0, help="the leaderboard's --seed")
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None)
    args = parser.parse_args(argv)
    suite = SUITES[args.suite]
    results = {}
    for spec in args.assistant:
        result = evaluate(spec, suite, args.seed).to_dict()
        results[spec] = result
        accuracy = result["accuracy"]
        marks = [step for step in (0, 10, suite.score_step, 2 * suite.score_step) if step in accuracy["step"]]
        summary = ", ".join(
            f"step {step}: {accuracy['mean'][accuracy['step'].index(step)]:.3f}" for step in marks
        )
        print(
            f"{spec}: accuracy on cells still to build {summary}; "
            f"ECE {result['expected_calibration_error']:.3f}"
        )
    if args.json:
        atomic_write_text(args.json, json.dumps({"suite": suite.describe(), "results": results}, indent=2))
    if args.plot:
        plot_belief_accuracy(
            results,
            Path(args.plot),
            suite.score_step,
            10,
            "bayes posterior against θ on the quick suite's episodes (mean, 95% CI)",
        )


if __name__ == "__main__":
    main()
