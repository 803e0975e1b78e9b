"""Evaluate option policies (and flat ones) on held-out houses, with option diagnostics and maps.

Each policy is ``label=checkpoint.pt`` (any baseline checkpoint, through
:func:`baselines.common.policy.load_policy`) or ``idle`` / ``random``. Labels of the form
``method@seed`` are grouped by method: the table shows the mean over seeds with a 95% confidence
interval from the seeds' means (Student t), next to the per-episode standard error. For policies
that run options (option-critic, PPO over options) it also records which option produced every
action and writes, per method, option usage, durations and a PNG per option of where it acts::

    python -m baselines.options.evaluate_options --env mbag/Build-Small-v0 --episodes 100 \\
        ppo@1=runs/ref/ppo_build_small_s1/checkpoints/final.pt \\
        oc@1=runs/options/oc_build_small_s1/checkpoints/final.pt --json results/options_build.json \\
        --maps docs --maps-prefix options_build
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.common.evaluation import evaluate_policy, idle_policy, random_valid_policy
from baselines.common.policy import load_policy
from baselines.options.diagnostics import OptionUsage, plot_option_maps
from mbag_env.evaluation.atomic import atomic_write_text
from mbag_env.evaluation.metrics import t_critical_95

METRICS = ("goal_percentage", "episode_return", "completed", "length", "human_place_break", "human_actions")


class RecordingPolicy:
    """Wraps an option policy's ``act_batch`` and records which option produced each action.

    Args:
        policy: an ``OptionCriticPolicy`` or ``OptionsPolicy``.
        names: the option names.
        world_size: ``(W, H, D)``.
    """

    def __init__(self, policy: Any, names: Sequence[str], world_size: tuple[int, int, int]) -> None:
        self.policy = policy
        self.usage = OptionUsage(names, world_size)
        self.current: np.ndarray | None = None
        self.duration: np.ndarray | None = None

    def _options(self) -> np.ndarray:
        if hasattr(self.policy, "current_option"):
            return self.policy.current_option.cpu().numpy().copy()
        return np.asarray(self.policy.chosen, dtype=np.int64).copy()

    def __call__(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Act and record."""
        actions = self.policy.act_batch(observations)
        options = self._options()
        timestep = np.asarray(observations["timestep"]).reshape(len(actions))  # (N, 1) -> (N,)
        if self.current is None:
            self.current = np.full(len(actions), -1)
            self.duration = np.zeros(len(actions), dtype=np.int64)
        assert self.duration is not None
        for world, (option, action) in enumerate(zip(options, actions, strict=True)):
            new_episode = timestep[world] == 0
            switched = new_episode or self._restarted(world)
            if switched:
                if self.current[world] >= 0:
                    self.usage.record_end(
                        int(self.current[world]), int(self.duration[world]), not new_episode
                    )
                self.usage.record_choice(int(option))
                self.current[world], self.duration[world] = option, 0
            feet = np.argwhere(np.asarray(observations["world"])[world, 1] == 1)
            self.usage.record_step(
                int(option), int(action), feet[np.argmin(feet[:, 1])] if len(feet) else None
            )
            self.duration[world] += 1
        return actions

    def _restarted(self, world: int) -> bool:
        """Whether the world's option was (re)chosen for this action (possibly the same index)."""
        if hasattr(self.policy, "last_terminated"):
            return bool(self.policy.last_terminated[world])
        return self.policy.runners[world].duration == 1


def build_policy(spec: str, seed: int) -> tuple[str, Callable[[Mapping[str, np.ndarray]], np.ndarray], Any]:
    """``(label, act_batch, loaded policy or None)`` from ``label=path.pt``, ``idle`` or ``random``."""
    label, _, target = spec.partition("=")
    if not target:
        label, target = spec, spec
    if target == "idle":
        return label, idle_policy(), None
    if target == "random":
        return label, random_valid_policy(seed), None
    policy = load_policy(target, seed=seed)
    return label, policy.act_batch, policy


def option_names_of(policy: Any) -> list[str] | None:
    """The option names of an option policy, or ``None`` for a flat one."""
    if hasattr(policy, "runners"):
        from baselines.options.hand_designed import ROLE_OPTIONS

        return [option.name for option in ROLE_OPTIONS[policy.role]()]
    if hasattr(policy, "current_option"):
        return [str(k) for k in range(policy.model.num_options)]
    return None


def confidence_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t confidence interval (NaN half-width for one value)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return float(array.mean()) if array.size else math.nan, math.nan
    half = t_critical_95(array.size - 1) * array.std(ddof=1) / math.sqrt(array.size)
    return float(array.mean()), float(half)


def paired_differences(
    per_policy: Mapping[str, Mapping[str, Any]], reference: str, metrics: Sequence[str] = METRICS
) -> dict[str, dict[str, Any]]:
    """Per method, the mean difference to ``reference`` over paired episodes (the same goals: episode
    ``i`` of every policy), with a 95% Student-t interval. Seeds of a method are pooled, each paired
    with the reference's episodes."""
    base = per_policy[reference]["episodes"]
    groups: dict[str, list[str]] = {}
    for label in per_policy:
        if label != reference:
            groups.setdefault(label.split("@")[0], []).append(label)
    result: dict[str, dict[str, Any]] = {}
    for method, labels in groups.items():
        row: dict[str, Any] = {}
        for metric in metrics:
            differences = np.concatenate(
                [
                    np.asarray(per_policy[label]["episodes"][metric]) - np.asarray(base[metric])
                    for label in labels
                ]
            )
            mean, half = confidence_interval(differences.tolist())
            row[metric] = {"mean_difference": mean, "ci95": half, "pairs": int(differences.size)}
        result[method] = row
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m baselines.options.evaluate_options", description=__doc__)
    parser.add_argument("policies", nargs="*", help="label=checkpoint.pt, idle or random")
    parser.add_argument("--env", dest="env_id", required=True)
    parser.add_argument("--goal", default="houses:test")
    parser.add_argument("--env-kwargs", type=json.loads, default={})
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", default=None)
    parser.add_argument("--maps", default=None, help="folder for the per-option PNG maps")
    parser.add_argument("--maps-prefix", default="options")
    parser.add_argument(
        "--paired-reference", default=None, help="label to pair every method with (e.g. idle)"
    )
    parser.add_argument(
        "--from-json", default=None, help="recompute the tables from an earlier --json file (no evaluation)"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        earlier = json.loads(Path(args.from_json).read_text())
        paired = paired_differences(earlier["per_policy"], args.paired_reference or "idle")
        print(json.dumps(paired, indent=1))
        return {"paired": paired}
    torch.set_num_threads(1)
    env_kwargs = {"goal": args.goal, **args.env_kwargs}

    per_policy: dict[str, dict[str, Any]] = {}
    usages: dict[str, OptionUsage] = {}
    for spec in args.policies:
        label, act, policy = build_policy(spec, args.seed)
        names = option_names_of(policy)
        recorder = None
        if names is not None:
            world_size = tuple(policy.spec.world_shape[1:])
            recorder = RecordingPolicy(policy, names, world_size)  # type: ignore[arg-type]
            act = recorder
        result = evaluate_policy(act, args.env_id, args.episodes, args.num_envs, args.seed, env_kwargs)
        entry: dict[str, Any] = {"summary": result.summary()}
        entry["episodes"] = {name: list(map(float, getattr(result, name))) for name in METRICS}
        if recorder is not None:
            entry["options"] = recorder.usage.metrics()
            method = label.split("@")[0]
            if method in usages:
                usages[method].cell_maps += recorder.usage.cell_maps
                usages[method].position_maps += recorder.usage.position_maps
            else:
                usages[method] = recorder.usage
        per_policy[label] = entry
        print(label, json.dumps({k: round(v, 3) for k, v in entry["summary"].items()}), flush=True)
        if recorder is not None:
            print(
                "   options:", json.dumps({k: round(v, 3) for k, v in entry["options"].items()}), flush=True
            )

    groups: dict[str, list[str]] = {}
    for label in per_policy:
        groups.setdefault(label.split("@")[0], []).append(label)
    table = {}
    for method, labels in groups.items():
        row: dict[str, Any] = {"seeds": len(labels), "episodes_per_seed": args.episodes}
        for metric in METRICS:
            seed_means = [per_policy[label]["summary"][metric] for label in labels]
            mean, half = confidence_interval(seed_means)
            pooled = np.concatenate([per_policy[label]["episodes"][metric] for label in labels])
            row[metric] = {
                "mean": mean,
                "ci95_over_seeds": half,
                "seed_means": seed_means,
                "episode_stderr": float(pooled.std(ddof=1) / math.sqrt(pooled.size))
                if pooled.size > 1
                else math.nan,
            }
        table[method] = row
    lines = [
        "| method | seeds | goal % | return | completed | human place/break | human actions |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, row in table.items():
        cells = []
        for metric in (
            "goal_percentage",
            "episode_return",
            "completed",
            "human_place_break",
            "human_actions",
        ):
            value = row[metric]
            ci = "" if math.isnan(value["ci95_over_seeds"]) else f" ± {value['ci95_over_seeds']:.3f} (CI)"
            cells.append(f"{value['mean']:.3f}{ci} [se {value['episode_stderr']:.3f}]")
        lines.append(f"| {method} | {row['seeds']} | " + " | ".join(cells) + " |")
    markdown = "\n".join(lines)
    print(markdown)
    if args.maps:
        for method, usage in usages.items():
            plot_option_maps(
                usage.cell_maps, usage.position_maps, usage.names, args.maps,
                prefix=f"{args.maps_prefix}_{method}", title=f"{method} on {args.env_id} ({args.goal})",
            )  # fmt: skip
    if args.paired_reference:
        print(json.dumps(paired_differences(per_policy, args.paired_reference), indent=1))
    output = {"env_id": args.env_id, "env_kwargs": env_kwargs, "per_policy": per_policy, "table": table,
              "markdown": markdown}  # fmt: skip
    if args.json:
        atomic_write_text(args.json, json.dumps(output, indent=1))
    return output


if __name__ == "__main__":
    main()
