"""AssistanceZero training throughput and where the time goes: prints tables, writes JSON.

It runs the training loop of :func:`baselines.assistance_zero.train.train` on the real code paths
(the batched vector env of :func:`~baselines.assistance_zero.train.make_envs` with the compiled
scripted human, :func:`~baselines.assistance_zero.train.build_network` or a trained checkpoint's
network, :class:`~baselines.assistance_zero.mcts.BatchedMCTS` with
:func:`~baselines.assistance_zero.mcts.network_evaluator`, the replay and
:func:`~baselines.assistance_zero.losses.az_loss` updates): each iteration plays
``steps_per_iteration`` steps in ``num_envs`` worlds, every move an MCTS search, then runs
``updates_per_iteration`` minibatch updates of ``batch_size``, as training does in its steady
state. Time is attributed by

* *network forward*: a timing closure around the search's evaluator (one batched forward pass
  per simulation, plus one at the root);
* *tree*: the whole ``search`` call minus the network (the compiled kernels ``prepare_roots``,
  ``select_leaves`` (which also simulates the human inside the tree) and ``expand_and_backup``,
  the root's Dirichlet noise, NumPy glue; the kernels and the noise are also timed one by one);
* *env*: ``envs.step`` (the rules, the compiled scripted human, autoreset);
* *updates*: replay sampling, forward, backward, gradient clip and optimiser step;
* *other*: the rest of the loop (sampling moves from the visit counts, belief accuracy,
  episode bookkeeping, replay inserts). Not run here: training's per-iteration CSV/TensorBoard
  row and its checkpoint every ``checkpoint_every`` iterations.

With ``--overlap-updates`` the updates run on a helper thread during the next self-play phase, as
training then does (:class:`~baselines.assistance_zero.train.BackgroundUpdates`); the end-to-end
figure is then env steps per second of wall time, and the shares are of the two threads' busy time
(they add up to more than the wall time).

Reported: env steps/s end to end (self-play + updates, the figure of issue 17's target of 100),
env steps/s of self-play alone, simulations/s (``decisions × num_simulations / search seconds``, as
training logs it), network rows/s, and each part's share of the timed busy time (the wall time when
the phases alternate).

**Warm-up, excluded from every figure.** ``--warmup-iterations`` (default 1) untimed self-play
iterations load or compile the numba kernels and warm torch up. The replay is then filled to
``min_replay`` rows from the warm-up's decisions (the unfinished episodes are stored with their
returns so far and, when there are fewer decisions than ``min_replay``, stored again: the cost
of an update does not depend on the rows' contents), and one untimed round of updates runs. Every
timed iteration then updates, as training does once the replay holds ``min_replay`` rows.

The machine is shared and noisy: compare settings measured in one run, on one machine. Example::

    python scripts/benchmark_assistance_zero.py --preset cpu-small --torch-threads 1 \\
        --iterations 5 --json results/benchmark_assistance_zero.json
    # a trained network instead of a fresh one (its stored configuration; options override)
    python scripts/benchmark_assistance_zero.py --checkpoint runs/az-Assist-Small-v0-s1/checkpoints/final.pt

The command line is :func:`main`; ``scripts/benchmark_assistance_zero.py`` is a thin wrapper over it
(``python -m baselines.assistance_zero.benchmark`` runs the same). :func:`benchmark` runs the
measurement on a configuration and :func:`format_report` prints its result.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.assistance_zero.config import PRESETS, AZConfig, preset
from baselines.assistance_zero.mcts import BatchedMCTS, network_evaluator, tree_kernels
from baselines.assistance_zero.network import AssistanceZeroNetwork
from baselines.assistance_zero.policy import model_from_payload
from baselines.assistance_zero.replay import ReplayBuffer
from baselines.assistance_zero.train import (
    BackgroundUpdates,
    SelfPlay,
    UpdatePhase,
    _store_episode,
    build_network,
    make_envs,
    sample_batch,
    update_step,
)
from baselines.common.checkpoint import load_checkpoint, to_plain
from baselines.common.cli import add_config_options
from baselines.common.networks import ObservationSpec
from baselines.common.seeding import seed_everything, select_device, set_torch_threads
from mbag_env.evaluation.atomic import atomic_write_text

TARGET_ENV_STEPS_PER_S = 100.0
"""Issue 17's target: env steps/s end to end on 2 cores with the shipped network."""

SKIPPED_FIELDS = (
    "run_dir",
    "tensorboard",
    "progress",
    "checkpoint_every",
    "total_env_steps",
    "time_budget_minutes",
    "eval_simulations",
    "eval_temperature",
)
""":class:`AZConfig` fields without an option here (nothing is written or evaluated)."""

NETWORK_FIELDS = (
    "algorithm",
    "env_id",
    "env_kwargs",
    "hidden_channels",
    "conv_layers",
    "kernel_size",
    "global_hidden",
    "dilation_base",
)
"""Fields a checkpoint fixes (its network and the spaces it was trained on)."""

KERNELS = ("prepare_roots", "select_leaves", "expand_and_backup")
"""The compiled tree kernels :class:`BatchedMCTS` calls (timed one by one)."""

SHARES = ("network_forward", "tree", "env_step", "updates", "other")
"""The parts the timed busy time is split into (their shares sum to 1)."""

F = TypeVar("F", bound=Callable[..., Any])


class Stopwatch:
    """Seconds and calls accumulated per key."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        """Forget everything timed so far (the end of the warm-up)."""
        self.seconds.clear()
        self.calls.clear()

    @contextmanager
    def time(self, key: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``key``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[key] += time.perf_counter() - start
            self.calls[key] += 1

    def add(self, key: str, seconds: float) -> None:
        """Add ``seconds`` measured elsewhere to ``key`` (one call)."""
        self.seconds[key] += seconds
        self.calls[key] += 1

    def wrap(self, key: str, function: F) -> F:
        """``function`` with every call timed under ``key``."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.time(key):
                return function(*args, **kwargs)

        return timed  # type: ignore[return-value]


@contextmanager
def timed_tree_kernels(watch: Stopwatch) -> Iterator[None]:
    """Time the tree kernels that :class:`BatchedMCTS` calls (``kernel/<name>``) while inside.

    The module attributes are swapped for timing wrappers and restored on exit; only Python calls
    them (no compiled function refers to them), so the search runs the same compiled code.
    """
    originals = {name: getattr(tree_kernels, name) for name in KERNELS}
    try:
        for name, function in originals.items():
            setattr(tree_kernels, name, watch.wrap(f"kernel/{name}", function))
        yield
    finally:
        for name, function in originals.items():
            setattr(tree_kernels, name, function)


class TrainingLoop:
    """The self-play and update phases of :func:`~baselines.assistance_zero.train.train`, timed.

    Args:
        config: the run configuration.
        watch: where the times go.
        model: a trained network (a checkpoint's) instead of a fresh one.

    Raises:
        ValueError: if ``model`` was built for other spaces than the env's.
    """

    def __init__(
        self, config: AZConfig, watch: Stopwatch, model: AssistanceZeroNetwork | None = None
    ) -> None:
        self.config = config
        self.watch = watch
        self.device = select_device(config.device)
        self.envs = make_envs(config)
        self.vector: Any = cast(Any, self.envs.unwrapped)  # the mbag vector env (config, batch)
        agent = int(getattr(self.vector, "agent", 0))
        self.spec = ObservationSpec.from_spaces(
            self.envs.single_observation_space,  # type: ignore[arg-type]
            self.envs.single_action_space,  # type: ignore[arg-type]
        )
        if model is not None and model.spec != self.spec:
            self.envs.close()
            raise ValueError(f"the network was trained on other spaces than {config.env_id} has now")
        self.model = (build_network(config, self.spec) if model is None else model).to(self.device)
        # Overlapped updates: self-play searches with a copy, refreshed by sync_actor() (as in training).
        self.actor = copy.deepcopy(self.model).eval() if config.overlap_updates else self.model
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        N = config.num_envs
        self.search = BatchedMCTS(self.vector.config, agent, N, config.search_config(), config.goal_visible)
        # Instance attribute: ``search`` calls ``self._add_root_noise``, now through the timer.
        self.search._add_root_noise = watch.wrap("root_noise", self.search._add_root_noise)  # type: ignore[method-assign]
        self.evaluate = watch.wrap("network", network_evaluator(self.actor, self.device, config.goal_visible))
        self.replay = ReplayBuffer(
            config.replay_size, self.spec.world_shape, self.spec.n_actions, config.policy_target_size
        )
        self.rng = np.random.default_rng([config.seed, 1])
        self.update_rng = np.random.default_rng([config.seed, 1, 1]) if config.overlap_updates else self.rng
        self.self_play = SelfPlay(
            config, self.envs, self.search, self.evaluate, self.replay, seed=config.seed
        )
        self.decisions = 0
        self.finished_episodes = 0

    def close(self) -> None:
        """Close the envs."""
        self.envs.close()

    def play(self, steps: int) -> None:
        """``steps`` vector-env steps of self-play, with training's :class:`SelfPlay`."""
        self.actor.eval()
        for _ in range(steps):
            outcome = self.self_play.step(self.rng)
            self.watch.add("search", outcome.search_seconds)
            self.watch.add("env", outcome.env_seconds)
            self.decisions += outcome.decisions
            self.finished_episodes += len(outcome.finished)

    def fill_replay(self, rows: int) -> dict[str, int]:
        """Store the unfinished episodes (returns so far), again and again until ``rows`` rows.

        Returns the rows stored from finished episodes, from unfinished ones and repeated.
        """
        finished = len(self.replay)
        partial = [steps for steps in self.self_play.episodes if steps]
        self.self_play.episodes = [[] for _ in range(self.config.num_envs)]
        for steps in partial:
            _store_episode(self.replay, steps, self.config.gamma)
        unfinished = len(self.replay) - finished
        index = 0
        while partial and len(self.replay) < rows:
            _store_episode(self.replay, partial[index % len(partial)], self.config.gamma)
            index += 1
        return {
            "from_finished_episodes": finished,
            "from_unfinished_episodes": unfinished,
            "repeated": len(self.replay) - finished - unfinished,
        }

    def sync_actor(self) -> None:
        """Copy the learner's weights into the network self-play searches with (overlapped updates)."""
        if self.actor is not self.model:
            self.actor.load_state_dict(self.model.state_dict())

    def update(self, updates: int, iteration: int) -> UpdatePhase:
        """``updates`` minibatch updates of loss (1), as in ``train`` (the returned phase has no
        loss terms: they are not read here)."""
        config = self.config
        start = time.perf_counter()
        if updates == 0:
            return UpdatePhase({}, 0.0)
        if len(self.replay) == 0:
            raise RuntimeError("the replay is empty: nothing to update on")
        self.model.train()
        weights = config.loss_weights(iteration)
        for _ in range(updates):
            with self.watch.time("update/sample"):
                batch = sample_batch(self.replay, config.batch_size, self.update_rng, self.device)
            with self.watch.time("update/step"):
                update_step(self.model, self.optimizer, batch, weights, config.max_grad_norm)
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
        return UpdatePhase({}, time.perf_counter() - start)


def benchmark(
    config: AZConfig,
    iterations: int,
    warmup_iterations: int = 1,
    model: AssistanceZeroNetwork | None = None,
    network_source: str = "fresh",
) -> dict[str, Any]:
    """Warm up (untimed), then time ``iterations`` training iterations; the JSON-ready results."""
    set_torch_threads(config.torch_threads)
    seed_everything(config.seed)
    watch = Stopwatch()
    loop = TrainingLoop(config, watch, model)
    learner = BackgroundUpdates() if config.overlap_updates else None
    N, steps = config.num_envs, config.steps_per_iteration
    iteration_seconds: list[dict[str, float]] = []
    try:
        with timed_tree_kernels(watch):
            warmup_start = time.perf_counter()
            for _ in range(warmup_iterations):
                loop.play(steps)
            replay_fill = loop.fill_replay(min(max(config.min_replay, 1), config.replay_size))
            loop.update(config.updates_per_iteration, warmup_iterations)
            loop.sync_actor()
            warmup_seconds = time.perf_counter() - warmup_start
            watch.reset()
            decisions_before, finished_before = loop.decisions, loop.finished_episodes
            for index in range(iterations):
                iteration = warmup_iterations + 1 + index
                start = time.perf_counter()
                if learner is not None:
                    learner.start(lambda it: loop.update(config.updates_per_iteration, it), iteration)
                    loop.self_play.hold_episodes()
                loop.play(steps)
                middle = time.perf_counter()
                if learner is not None:
                    phase = learner.wait()
                    loop.sync_actor()
                    loop.self_play.release_episodes()
                else:
                    phase = loop.update(config.updates_per_iteration, iteration)
                end = time.perf_counter()
                busy = phase.seconds if phase is not None else 0.0
                iteration_seconds.append(
                    {
                        "self_play": middle - start,
                        "updates": busy,
                        "update_wait": end - middle,
                        "wall": end - start,
                    }
                )
    finally:
        if learner is not None:
            learner.close()
        loop.close()

    seconds = watch.seconds
    self_play = sum(row["self_play"] for row in iteration_seconds)
    update_total = sum(row["updates"] for row in iteration_seconds)
    wall = sum(row["wall"] for row in iteration_seconds)
    busy = self_play + update_total  # the wall time when the phases alternate
    network = seconds["network"]
    parts = {
        "network_forward": network,
        "tree": seconds["search"] - network,
        "env_step": seconds["env"],
        "updates": update_total,
        "other": self_play - seconds["search"] - seconds["env"],
    }
    env_steps = iterations * N * steps
    decisions = loop.decisions - decisions_before
    return {
        "config": to_plain(config.to_dict()),
        "network": network_source,
        "parameters": sum(p.numel() for p in loop.model.parameters()),
        "device": str(loop.device),
        "torch_threads": torch.get_num_threads(),
        "warmup_iterations": warmup_iterations,
        "warmup_seconds": warmup_seconds,
        "replay_fill": replay_fill,
        "iterations": iterations,
        "env_steps": env_steps,
        "decisions": decisions,
        "finished_episodes": loop.finished_episodes - finished_before,
        "updates": iterations * config.updates_per_iteration,
        "overlap_updates": config.overlap_updates,
        "wall_seconds": wall,
        "busy_seconds": busy,
        "update_wait_seconds": sum(row["update_wait"] for row in iteration_seconds),
        "self_play_seconds": self_play,
        "env_steps_per_s": env_steps / wall,
        "self_play_env_steps_per_s": env_steps / self_play,
        "simulations_per_s": decisions * config.num_simulations / max(seconds["search"], 1e-12),
        "network_rows_per_s": watch.calls["network"] * N / max(network, 1e-12),
        "updates_per_s": iterations * config.updates_per_iteration / max(update_total, 1e-12),
        "seconds": parts,
        "shares": {key: value / busy for key, value in parts.items()},
        "detail_seconds": {
            "search": seconds["search"],
            "root_noise": seconds["root_noise"],
            **{f"kernel_{name}": seconds[f"kernel/{name}"] for name in KERNELS},
            "update_replay_sample": seconds["update/sample"],
            "update_forward_backward_optimizer": seconds["update/step"],
        },
        "network_calls": watch.calls["network"],
        "iteration_seconds": iteration_seconds,
        "target_env_steps_per_s": TARGET_ENV_STEPS_PER_S,
        "meets_target": env_steps / wall >= TARGET_ENV_STEPS_PER_S,
    }


def format_report(result: dict[str, Any]) -> str:
    """The printed tables."""
    config = result["config"]
    busy = result["busy_seconds"]
    threads = result["torch_threads"]
    lines = [
        f"AssistanceZero training throughput on {config['env_id']}: {result['network']} network "
        f"({result['parameters']:,} parameters), {result['device']}, {threads} torch "
        f"thread{'s' if threads != 1 else ''}"
        + (" on each of two threads (updates overlap self-play)" if result["overlap_updates"] else ""),
        f"{config['num_envs']} worlds × {config['steps_per_iteration']} steps per iteration, "
        f"{config['num_simulations']} simulations per move, {config['updates_per_iteration']} update(s) "
        f"of {config['batch_size']} per iteration; {result['iterations']} timed iteration(s) "
        f"({result['env_steps']} env steps, {result['decisions']} searched moves) after "
        f"{result['warmup_iterations']} warm-up iteration(s) and the replay fill to "
        f"{sum(result['replay_fill'].values())} rows ({result['warmup_seconds']:.1f} s, excluded)",
        "",
        "| throughput | value |",
        "|---|---|",
        f"| env steps/s end to end (self-play + updates) | {result['env_steps_per_s']:.1f} |",
        f"| env steps/s of self-play alone | {result['self_play_env_steps_per_s']:.1f} |",
        f"| simulations/s | {result['simulations_per_s']:.0f} |",
        f"| network rows/s in the search | {result['network_rows_per_s']:.0f} |",
        f"| updates/s | {result['updates_per_s']:.2f} |",
        "",
        "| part | seconds | share |",
        "|---|---|---|",
    ]
    labels = {
        "network_forward": "network forward (search)",
        "tree": "tree (search − network)",
        "env_step": "env step (incl. scripted human)",
        "updates": "updates (sample + forward + backward + optimiser)",
        "other": "other (move sampling, bookkeeping, replay inserts)",
    }
    detail = result["detail_seconds"]
    for key in SHARES:
        seconds = result["seconds"][key]
        lines.append(f"| {labels[key]} | {seconds:.3f} | {100 * result['shares'][key]:.1f}% |")
        if key == "tree":
            for name in KERNELS:
                value = detail[f"kernel_{name}"]
                lines.append(f"| ↳ kernel {name} | {value:.3f} | {100 * value / busy:.1f}% |")
            value = detail["root_noise"]
            lines.append(f"| ↳ root Dirichlet noise | {value:.3f} | {100 * value / busy:.1f}% |")
        if key == "updates":
            for name, label in (
                ("update_replay_sample", "replay sampling"),
                ("update_forward_backward_optimizer", "forward + backward + optimiser"),
            ):
                lines.append(f"| ↳ {label} | {detail[name]:.3f} | {100 * detail[name] / busy:.1f}% |")
    lines.append(f"| total busy | {busy:.3f} | 100.0% |")
    if result["overlap_updates"]:
        lines.append(
            f"| wall (updates on a helper thread during self-play; waited for them "
            f"{result['update_wait_seconds']:.3f} s) | {result['wall_seconds']:.3f} | |"
        )
    verdict = "met" if result["meets_target"] else "not met"
    lines += [
        "",
        f"issue 17 target: ≥ {result['target_env_steps_per_s']:.0f} env steps/s end to end: {verdict} "
        f"({result['env_steps_per_s']:.1f})",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The parser: the benchmark's own options plus one per :class:`AZConfig` field."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default=None, help="configuration (default cpu-small)"
    )
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="benchmark this trained network, with its stored configuration (not with --preset)",
    )
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations after the warm-up")
    parser.add_argument("--warmup-iterations", type=int, default=1, help="untimed self-play iterations first")
    parser.add_argument("--json", default=None, help="also write the results here")
    add_config_options(parser, AZConfig, defaults=False, skip=SKIPPED_FIELDS)
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point (see the module docstring); returns the results."""
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    name, checkpoint = args.pop("preset"), args.pop("checkpoint")
    iterations, warmup, json_path = args.pop("iterations"), args.pop("warmup_iterations"), args.pop("json")
    if iterations < 1 or warmup < 1:
        parser.error("--iterations and --warmup-iterations must be >= 1")
    overrides: dict[str, Any] = {"tensorboard": False, "progress": False, "run_dir": "unused", **args}
    model = None
    if checkpoint is not None:
        if name is not None:
            parser.error("--checkpoint brings its own configuration: drop --preset")
        fixed = sorted(set(args) & set(NETWORK_FIELDS))
        if fixed:
            parser.error(f"--checkpoint fixes {fixed}: drop those options")
        payload = load_checkpoint(checkpoint)
        if payload["algorithm"] not in ("assistance_zero", "alpha_zero"):
            parser.error(f"{checkpoint} is a {payload['algorithm']!r} checkpoint, not an AssistanceZero one")
        model, stored = model_from_payload(payload)
        config = stored.replace(**overrides)
        source = f"checkpoint {checkpoint}"
    else:
        config, source = preset(name or "cpu-small", **overrides), f"fresh {name or 'cpu-small'}"
    result = benchmark(config, iterations, warmup, model, source)
    print(format_report(result), flush=True)
    if json_path:
        atomic_write_text(json_path, json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
