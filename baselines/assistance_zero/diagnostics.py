"""Evaluate an AssistanceZero assistant against the idle and PPO assistants on the test houses.

Every assistant plays the same episodes (``mbag/Assist-Small-v0`` vector env, world ``i`` seeded
``seed + i`` replays the same goals for every assistant) beside the goal-seeking scripted human.
Per episode it records the human's goal percentage at a fixed step (``--score-step``, before the
human finishes alone), whether and when the house was completed, the human's actions, and the
assistant's correct and incorrect places/breaks; for AssistanceZero also the accuracy of its goal
belief p̂(θ|h) at every step. Example::

    python scripts/evaluate_assistance_zero.py runs/az_cpu_small_s1/checkpoints/final.pt \\
        --ppo runs/ref/ppo_assist_small_s1/checkpoints/final.pt --episodes 100 \\
        --json results/assistance_zero_eval.json --plot docs/assistance_zero_belief.png

It prints Markdown tables (means with 95% Student-t intervals, and paired differences against the
idle assistant) and writes JSON and PNG plots.

Two additions compare the learned belief with the exact posterior, the Bayesian assistant's
:class:`~mbag_env.assistants.belief.GoalBelief` over the fair default prior
(:func:`~mbag_env.assistants.priors.default_prior`, training houses only) with the human model
``HumanModelLikelihood(0.1)``, fed the assistant's own observations
(:class:`~mbag_env.assistants.belief.ObservedGoalBelief`, the human's changes read from consecutive
observations, the assistant's own changes left out):

* ``--compare-belief``: on AssistanceZero's own episodes (the AZ assistant acting), score at every
  step both the network's p̂(θ|h) and the exact marginal p(θ_c = b | history) given the same
  observations with :class:`~mbag_env.evaluation.belief_metrics.BeliefAccuracy` (argmax accuracy
  and mean probability of θ_c on the cells still to build, per step, and calibration); the JSON
  gets both under ``belief_comparison`` and ``--belief-plot`` draws the two curves and the two
  reliability diagrams;
* ``--exact-belief``: an ablation, the row "AssistanceZero + exact belief": the same network and
  search, but the search plans with the exact posterior instead of the goal head
  (``belief_source`` of :class:`~baselines.assistance_zero.policy.AssistanceZeroPolicy`); the
  policy prior, value and human model still come from the network.

For instance::

    python scripts/evaluate_assistance_zero.py runs/az_cpu_small_s1/checkpoints/final.pt \\
        --episodes 100 --compare-belief --exact-belief \\
        --belief-plot docs/assistance_zero_vs_exact_belief.png --json results/az_exact_belief.json

The command line is :func:`main`; ``scripts/evaluate_assistance_zero.py`` is a thin wrapper over it
(``python -m baselines.assistance_zero.diagnostics`` runs the same). The pieces are public for other
diagnostics: :func:`run_episodes` (paired episodes with per-episode fields and goal-% curves),
:class:`BeliefComparison` and :func:`exact_belief` (learned belief against the exact posterior),
:func:`markdown`, :func:`plot`, :func:`plot_training` and :func:`belief_summary_lines` (reports).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.assistance_zero.policy import AssistanceZeroPolicy
from baselines.common.evaluation import idle_policy
from baselines.common.policy import load_policy
from mbag_env.assistants.belief import GoalBelief, HumanModelLikelihood, ObservedGoalBelief
from mbag_env.assistants.priors import default_prior
from mbag_env.core.actions import FIRST_PLACE, NOOP
from mbag_env.core.state import (
    PLAYER_CORRECT_BREAKS,
    PLAYER_CORRECT_PLACES,
    PLAYER_INCORRECT_BREAKS,
    PLAYER_INCORRECT_PLACES,
)
from mbag_env.evaluation.atomic import atomic_write_text
from mbag_env.evaluation.belief_metrics import BeliefAccuracy, plot_belief_accuracy
from mbag_env.evaluation.metrics import mean_confidence_interval

ENV_ID = "mbag/Assist-Small-v0"
"""The env every assistant plays (with ``--goal`` as its goal source)."""

BatchPolicy = Callable[[Mapping[str, np.ndarray]], np.ndarray]

StepHook = Callable[[Mapping[str, np.ndarray], np.ndarray, np.ndarray], None]
"""``(observations, goals, recording)``, called by :func:`run_episodes` every step after the policy
acted on ``observations``: ``goals`` ``(N, W, H, D)`` the worlds' θ, ``recording`` ``(N,)`` bool
the worlds whose current step belongs to a kept episode (not a reset step, not past the quota)."""

EXACT_EPSILON = 0.1
"""The human model of the exact posterior (``HumanModelLikelihood(EXACT_EPSILON)``), the Bayesian
assistant's default."""

AZ_BELIEF = "AssistanceZero p̂(θ|h)"
EXACT_BELIEF = "exact posterior p(θ|h)"
EXACT_ROW = "AssistanceZero + exact belief"

EPISODE_FIELDS = (
    "score_goal_percentage",
    "goal_percentage",
    "completed",
    "length",
    "human_actions",
    "human_place_break",
    "assistant_correct",
    "assistant_incorrect",
)


def run_episodes(
    policy: BatchPolicy,
    episodes: int,
    num_envs: int,
    seed: int,
    score_step: int,
    env_kwargs: Mapping[str, Any],
    belief_source: AssistanceZeroPolicy | None = None,
    on_step: StepHook | None = None,
) -> tuple[dict[str, list[float]], np.ndarray, dict[str, list[list[float]]]]:
    """Play ``episodes`` episodes; return per-episode fields, goal-% curves ``(episodes, H + 1)`` and,
    with ``belief_source``, per-step belief statistics (lists indexed by episode step).
    ``on_step`` (a :data:`StepHook`) sees every step's observations, e.g. a
    :class:`BeliefComparison`."""
    envs = gym.make_vec(
        ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **dict(env_kwargs)
    )
    vector = envs.unwrapped
    horizon = vector.config.horizon
    per_world = -(-episodes // num_envs)
    kept: list[list[dict[str, Any]]] = [[] for _ in range(num_envs)]
    belief_steps: dict[str, list[list[float]]] = {
        "accuracy_to_change": [[] for _ in range(horizon)],
        "probability_to_change": [[] for _ in range(horizon)],
        "log_likelihood": [[] for _ in range(horizon)],
        "predicted_change_precision": [[] for _ in range(horizon)],
        "predicted_changes": [[] for _ in range(horizon)],
    }
    observations, infos = envs.reset(seed=seed)
    curve = [[0.0] for _ in range(num_envs)]
    counts = {key: np.zeros(num_envs) for key in ("human_actions", "human_place_break")}
    resetting = np.zeros(num_envs, dtype=bool)
    try:
        while min(len(done) for done in kept) < per_world:
            recording = np.array([len(kept[w]) < per_world for w in range(num_envs)]) & ~resetting
            goals = vector.batch.state.goal.copy()
            actions = policy(observations)
            if belief_source is not None and belief_source.last_belief is not None:
                _record_beliefs(belief_source.last_belief, goals, observations, recording, belief_steps)
            if on_step is not None:
                on_step(observations, goals, recording)
            observations, _, terminated, truncated, infos = envs.step(actions)
            human = np.asarray(infos["human_action"])
            counts["human_actions"] += ~resetting & (human != NOOP)
            counts["human_place_break"] += ~resetting & (human >= FIRST_PLACE)
            for world in np.flatnonzero(~resetting):
                curve[world].append(float(infos["goal_percentage"][world]))
            ended = (terminated | truncated) & ~resetting
            for world in np.flatnonzero(ended):
                if len(kept[world]) < per_world:
                    row = vector.batch.state.player_ints[world, vector.agent]
                    values = np.array(curve[world])
                    kept[world].append(
                        {
                            "score_goal_percentage": float(values[min(score_step, len(values) - 1)]),
                            "goal_percentage": float(values[-1]),
                            "completed": float(terminated[world]),
                            "length": float(len(values) - 1),
                            "human_actions": float(counts["human_actions"][world]),
                            "human_place_break": float(counts["human_place_break"][world]),
                            "assistant_correct": float(
                                row[PLAYER_CORRECT_PLACES] + row[PLAYER_CORRECT_BREAKS]
                            ),
                            "assistant_incorrect": float(
                                row[PLAYER_INCORRECT_PLACES] + row[PLAYER_INCORRECT_BREAKS]
                            ),
                            "curve": np.concatenate([values, np.full(horizon + 1 - len(values), values[-1])]),
                        }
                    )
                curve[world] = [0.0]
                for counter in counts.values():
                    counter[world] = 0
            resetting = ended
    finally:
        envs.close()
    ordered = [episode for world in kept for episode in world][:episodes]
    fields = {key: [episode[key] for episode in ordered] for key in EPISODE_FIELDS}
    return fields, np.stack([episode["curve"] for episode in ordered]), belief_steps


def _record_beliefs(
    belief: np.ndarray,
    goals: np.ndarray,
    observations: Mapping[str, np.ndarray],
    recording: np.ndarray,
    steps: dict[str, list[list[float]]],
) -> None:
    """Per world: accuracy of the argmax belief and mean p̂(θ_c) on the cells still to build, mean
    log-likelihood of θ per cell, and the precision of the cells where the argmax differs from the
    current block."""
    blocks = observations["world"][:, 0]
    guess = belief.argmax(axis=1)
    timesteps = np.asarray(observations["timestep"]).reshape(-1)  # (N, 1) -> (N,)
    for world in np.flatnonzero(recording):
        t = int(timesteps[world])
        to_change = goals[world] != blocks[world]
        correct = guess[world] == goals[world]
        likelihood = np.take_along_axis(belief[world], goals[world][None].astype(np.int64), axis=0)[0]
        if to_change.any():
            steps["accuracy_to_change"][t].append(float(correct[to_change].mean()))
            steps["probability_to_change"][t].append(float(likelihood[to_change].mean()))
        steps["log_likelihood"][t].append(float(np.log(np.maximum(likelihood, 1e-12)).mean()))
        predicted = guess[world] != blocks[world]
        steps["predicted_changes"][t].append(float(predicted.sum()))
        if predicted.any():
            steps["predicted_change_precision"][t].append(float(correct[predicted].mean()))


def env_settings(env_kwargs: Mapping[str, Any]) -> tuple[int, tuple[int, int, int]]:
    """The horizon and world size of the evaluation env (:data:`ENV_ID` with ``env_kwargs``)."""
    envs = gym.make_vec(ENV_ID, num_envs=1, vectorization_mode="vector_entry_point", **dict(env_kwargs))
    try:
        config = envs.unwrapped.config  # type: ignore[attr-defined]
        width, height, depth = config.world_size
        return int(config.horizon), (int(width), int(height), int(depth))
    finally:
        envs.close()


def exact_belief(world_size: tuple[int, int, int], num_worlds: int) -> ObservedGoalBelief:
    """The Bayesian assistant's exact posterior for ``num_worlds`` observation streams: the fair
    default prior of ``world_size`` and ``HumanModelLikelihood(EXACT_EPSILON)``."""
    prior = default_prior(world_size)
    return ObservedGoalBelief(GoalBelief(prior, num_worlds, HumanModelLikelihood(EXACT_EPSILON)))


class BeliefComparison:
    """A :data:`StepHook` that scores, on the episodes an AssistanceZero policy plays, its network's
    goal belief and the exact posterior given the same observations.

    Every step it feeds the observations of every world to ``exact`` (so each world's posterior
    follows its whole episode) and, for the worlds being recorded, adds the network's root belief
    (``policy.last_belief``, from the :meth:`AssistanceZeroPolicy.act_batch` call on these
    observations) and the exact marginals to one :class:`BeliefAccuracy` each.

    Args:
        policy: the AssistanceZero policy that acts (its ``last_belief`` is read).
        exact: the exact posterior's observer (:func:`exact_belief`), one world per env.
        horizon: the episodes' horizon.
        bins: calibration bins.
    """

    def __init__(
        self, policy: AssistanceZeroPolicy, exact: ObservedGoalBelief, horizon: int, bins: int = 10
    ) -> None:
        self.policy = policy
        self.exact = exact
        self.accuracy = {
            AZ_BELIEF: BeliefAccuracy(horizon, bins),
            EXACT_BELIEF: BeliefAccuracy(horizon, bins),
        }

    def __call__(
        self, observations: Mapping[str, np.ndarray], goals: np.ndarray, recording: np.ndarray
    ) -> None:
        """Update the exact posterior on ``observations`` and score both beliefs (:data:`StepHook`).

        Raises:
            RuntimeError: if the policy has not acted on these observations yet.
        """
        exact = self.exact(observations)
        network = self.policy.last_belief
        if network is None or len(network) != len(exact):
            raise RuntimeError(
                "the AssistanceZero policy must act on the observations before they are scored"
            )
        blocks = np.asarray(observations["world"])[:, 0]
        timestep = np.asarray(observations["timestep"]).reshape(-1)
        for world in np.flatnonzero(recording):
            step = int(timestep[world])
            if step >= self.accuracy[AZ_BELIEF].horizon:
                continue
            self.accuracy[AZ_BELIEF].add(step, network[world], blocks[world], goals[world])
            self.accuracy[EXACT_BELIEF].add(step, exact[world], blocks[world], goals[world])

    def to_dict(self, min_worlds: int = 10) -> dict[str, Any]:
        """Both :meth:`BeliefAccuracy.to_dict` (curves over steps with at least ``min_worlds``
        scored worlds) and how the exact posterior was set up."""
        prior = self.exact.belief.prior
        return {
            "beliefs": {name: accuracy.to_dict(min_worlds) for name, accuracy in self.accuracy.items()},
            "episodes": "AssistanceZero's own (the AZ assistant acting); the same observations for both",
            "exact_prior": (
                f"default_prior{tuple(prior.world_size)}: {prior.size} candidates (training houses)"
            ),
            "exact_epsilon": self.exact.belief.likelihood.epsilon,
            "min_worlds": min_worlds,
        }


def belief_summary_lines(comparison: Mapping[str, Any], score_step: int) -> list[str]:
    """One line per belief: argmax accuracy and mean p(θ_c) on the cells still to build at a few
    steps, and the expected calibration error."""
    lines = []
    for name, result in comparison["beliefs"].items():
        parts = []
        for key, label in (("accuracy", "accuracy"), ("truth_probability", "p(θ_c)")):
            curve = result[key]
            marks = [t for t in (0, 10, score_step, 2 * score_step) if float(t) in curve["step"]]
            values = ", ".join(f"step {t}: {curve['mean'][curve['step'].index(float(t))]:.3f}" for t in marks)
            parts.append(f"{label} {values or '(no step with enough worlds)'}")
        ece = result["expected_calibration_error"]
        lines.append(f"{name} on cells still to build: {'; '.join(parts)}; ECE {ece:.3f}")
    return lines


def estimate(values: Sequence[float]) -> dict[str, float]:
    """Mean and 95% interval as a dict."""
    result = mean_confidence_interval(np.asarray(values, dtype=np.float64))
    return {"mean": result.mean, "low": result.low, "high": result.high, "n": result.n}


def markdown(results: dict[str, dict[str, Any]], reference: str) -> str:
    """The comparison tables (means, then paired differences against ``reference``)."""
    columns = (
        ("score_goal_percentage", "goal % at step {score}", 3),
        ("completed", "completed", 2),
        ("length", "steps (to completion or horizon)", 1),
        ("human_actions", "human actions", 1),
        ("human_place_break", "human place/break", 1),
        ("assistant_correct", "assistant correct", 1),
        ("assistant_incorrect", "assistant incorrect", 1),
    )
    score = next(iter(results.values()))["score_step"]
    header = "| assistant | " + " | ".join(title.format(score=score) for _, title, _ in columns) + " |"
    lines = [header, "|---|" + "---|" * len(columns)]
    for name, result in results.items():
        cells = []
        for key, _, digits in columns:
            e = result["summary"][key]
            cells.append(f"{e['mean']:.{digits}f} [{e['low']:.{digits}f}, {e['high']:.{digits}f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Paired differences (assistant − {reference}, same episodes), mean [95% CI]:", ""]
    lines += [header, "|---|" + "---|" * len(columns)]
    for name, result in results.items():
        if name == reference:
            continue
        cells = []
        for key, _, digits in columns:
            e = result["paired_difference"][key]
            cells.append(f"{e['mean']:+.{digits}f} [{e['low']:+.{digits}f}, {e['high']:+.{digits}f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict[str, dict[str, Any]], belief_steps: dict[str, list[list[float]]], path: Path) -> None:
    """Two panels: the goal-belief statistics against the episode step, and goal % against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axis = axes[0]
    for key, label, colour in (
        ("accuracy_to_change", "argmax accuracy on cells still to build", "tab:blue"),
        ("probability_to_change", "mean p̂(θ_c) on cells still to build", "tab:orange"),
        ("predicted_change_precision", "precision of predicted changes", "tab:green"),
    ):
        steps = [t for t, values in enumerate(belief_steps[key]) if len(values) >= 10]
        means = [np.mean(belief_steps[key][t]) for t in steps]
        errors = [
            1.96 * np.std(belief_steps[key][t], ddof=1) / np.sqrt(len(belief_steps[key][t])) for t in steps
        ]
        axis.plot(steps, means, label=label, color=colour)
        axis.fill_between(steps, np.subtract(means, errors), np.add(means, errors), color=colour, alpha=0.2)
    axis.set_xlabel("episode step")
    axis.set_ylabel("p̂(θ|h) against the true θ")
    axis.set_ylim(0, 1)
    axis.set_title("AssistanceZero goal belief (test houses, ≥10 episodes per step)", fontsize=9)
    axis.legend(fontsize=8)
    axis = axes[1]
    for name, result in results.items():
        curves = np.asarray(result["curves"])
        mean = curves.mean(axis=0)
        half = 1.96 * curves.std(axis=0, ddof=1) / np.sqrt(len(curves))
        steps = np.arange(len(mean))[:101]
        axis.plot(steps, mean[:101], label=name)
        axis.fill_between(steps, (mean - half)[:101], (mean + half)[:101], alpha=0.2)
    axis.axvline(results[next(iter(results))]["score_step"], color="grey", linestyle=":", linewidth=1)
    axis.set_xlabel("episode step")
    axis.set_ylabel("goal % (1 = house complete)")
    axis.set_title("human's goal % with each assistant (mean, 95% CI)", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)


TRAINING_PANELS = (
    ("episode/length", "episode length (steps)"),
    ("episode/human_place_break", "human place/break per episode"),
    ("agent/correct_fraction", "assistant: correct place/break per step"),
    ("belief/accuracy_to_change", "belief argmax accuracy, cells to build"),
    ("losses/goal_nll", "goal NLL per cell"),
    ("losses/human_action_nll", "human-action NLL"),
)


def plot_training(csv_path: Path, path: Path, idle_length: float | None = None) -> None:
    """A 2×3 grid of the run's training curves (per iteration, and a moving average of 10)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(csv_path.open()))
    steps = np.array([float(row["global_step"]) for row in rows])
    figure, axes = plt.subplots(2, 3, figsize=(11, 5.5))
    for axis, (key, title) in zip(axes.ravel(), TRAINING_PANELS, strict=True):
        values = np.array([float(row[key]) if row[key] not in ("", "nan") else np.nan for row in rows])
        finite = np.isfinite(values)
        axis.plot(steps[finite], values[finite], color="tab:blue", alpha=0.25, linewidth=0.8)
        kernel = np.ones(10) / 10
        if finite.sum() >= 10:
            axis.plot(steps[finite][9:], np.convolve(values[finite], kernel, mode="valid"), color="tab:blue")
        if key == "episode/length" and idle_length is not None:
            axis.axhline(
                idle_length, color="tab:orange", linestyle="--", label="idle assistant (test houses)"
            )
            axis.legend(fontsize=7)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("environment steps", fontsize=8)
        axis.tick_params(labelsize=7)
    figure.suptitle(
        "AssistanceZero training (cpu-small, training houses, moves sampled at temperature 1.5)", fontsize=10
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=70)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="an AssistanceZero checkpoint")
    parser.add_argument("--ppo", default=None, help="a PPO assistant checkpoint to compare with")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--num-envs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--score-step", type=int, default=30)
    parser.add_argument("--goal", default="houses:test")
    parser.add_argument("--simulations", type=int, default=None, help="MCTS simulations per move")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sample AZ moves at this temperature (default: argmax)",
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None, help="belief and goal-%% plot (PNG)")
    parser.add_argument("--curve", default=None, help="training curves of the checkpoint's run (PNG)")
    parser.add_argument(
        "--compare-belief",
        action="store_true",
        help="score AZ's belief and the exact posterior on AZ's episodes (JSON key belief_comparison)",
    )
    parser.add_argument(
        "--belief-plot", default=None, help="with --compare-belief: accuracy and calibration plot (PNG)"
    )
    parser.add_argument(
        "--belief-min-worlds",
        type=int,
        default=10,
        help="belief curves keep the steps with at least this many scored episodes",
    )
    parser.add_argument(
        "--exact-belief",
        action="store_true",
        help=f"also evaluate '{EXACT_ROW}': AZ's search planning with the exact posterior",
    )
    args = parser.parse_args(argv)
    if args.belief_plot and not args.compare_belief:
        parser.error("--belief-plot needs --compare-belief")
    torch.set_num_threads(1)
    env_kwargs = {"goal": args.goal}
    horizon, world_size = env_settings(env_kwargs)
    az = load_policy(args.checkpoint, deterministic=args.temperature is None, seed=args.seed)
    if not isinstance(az, AssistanceZeroPolicy):
        raise ValueError(f"{args.checkpoint} is not an AssistanceZero checkpoint")
    if args.simulations is not None or args.temperature is not None:
        config = az.config.replace(eval_temperature=args.temperature or 0.0)
        az = AssistanceZeroPolicy(
            az.model,
            config,
            deterministic=args.temperature is None,
            seed=args.seed,
            num_simulations=args.simulations,
        )
    policies: dict[str, tuple[BatchPolicy, AssistanceZeroPolicy | None]] = {
        "idle (NOOP)": (idle_policy(), None),
        "AssistanceZero": (az.act_batch, az),
    }
    if args.exact_belief:
        exact_az = AssistanceZeroPolicy(
            az.model,
            az.config.replace(eval_temperature=args.temperature or 0.0)
            if args.temperature is not None
            else az.config,
            deterministic=args.temperature is None,
            seed=args.seed,
            num_simulations=args.simulations,
            belief_source=exact_belief(world_size, args.num_envs),
        )
        policies[EXACT_ROW] = (exact_az.act_batch, None)
    if args.ppo:
        policies["PPO"] = (load_policy(args.ppo, deterministic=False, seed=args.seed).act_batch, None)
    comparison = (
        BeliefComparison(az, exact_belief(world_size, args.num_envs), horizon)
        if args.compare_belief
        else None
    )
    results: dict[str, dict[str, Any]] = {}
    belief_steps: dict[str, list[list[float]]] = {}
    for name, (policy, belief_source) in policies.items():
        start = time.perf_counter()
        fields, curves, steps = run_episodes(
            policy,
            args.episodes,
            args.num_envs,
            args.seed,
            args.score_step,
            env_kwargs,
            belief_source,
            on_step=comparison if belief_source is az else None,
        )
        if belief_source is not None:
            belief_steps = steps
        results[name] = {
            "score_step": args.score_step,
            "episodes": fields,
            "summary": {key: estimate(values) for key, values in fields.items()},
            "curves": curves.tolist(),
            "seconds": time.perf_counter() - start,
        }
        print(f"{name}: {len(curves)} episodes in {results[name]['seconds']:.0f} s", flush=True)
    reference = "idle (NOOP)"
    for result in results.values():
        result["paired_difference"] = {
            key: estimate(np.subtract(result["episodes"][key], results[reference]["episodes"][key]))
            for key in EPISODE_FIELDS
        }
    table = markdown(results, reference)
    print(table)
    belief_summary = {
        key: {str(t): estimate(values) for t, values in enumerate(per_step) if values}
        for key, per_step in belief_steps.items()
    }
    output = {
        "checkpoint": args.checkpoint,
        "ppo": args.ppo,
        "env_kwargs": env_kwargs,
        "args": vars(args),
        "results": results,
        "belief_by_step": belief_summary,
        "table": table,
    }
    if comparison is not None:
        output["belief_comparison"] = comparison.to_dict(args.belief_min_worlds)
        print("\n".join(["", *belief_summary_lines(output["belief_comparison"], args.score_step)]))
        if args.belief_plot:
            plot_belief_accuracy(
                output["belief_comparison"]["beliefs"],
                Path(args.belief_plot),
                args.score_step,
                args.belief_min_worlds,
                "AssistanceZero's goal belief against the exact posterior on AssistanceZero's episodes "
                "(mean, 95% CI)",
            )
    if args.json:
        atomic_write_text(args.json, json.dumps(output, indent=1))
    if args.plot and belief_steps:
        plot(results, belief_steps, Path(args.plot))
    if args.curve:
        idle = results[reference]["summary"]["length"]["mean"]
        plot_training(Path(args.checkpoint).resolve().parent.parent / "progress.csv", Path(args.curve), idle)
    return output


if __name__ == "__main__":
    main()
