"""Self-play training of AssistanceZero (the assistant) and AlphaZero (the goal-visible builder).

Each iteration plays ``steps_per_iteration`` steps in ``num_envs`` worlds of the batched vector
env (the compiled scripted human acts inside the Assist envs), choosing every move by a batched
MCTS (:mod:`baselines.assistance_zero.mcts`) and sampling it from the root visit counts raised to
the power ``temperature`` (``N^T``, normalised), the distribution that is also stored as the
policy target. Finished episodes go into the replay buffer with their discounted returns;
then ``updates_per_iteration`` minibatches minimise loss (1) (:mod:`baselines.assistance_zero.losses`).

**Overlapped updates** (``overlap_updates``). The phases alternate by default. With the option, an
iteration's updates run on a helper thread (:class:`BackgroundUpdates`) while its self-play searches
with a copy of the network (the *actor*) taken when the previous iteration's updates ended: the
updates of iteration ``k`` learn from the replay as it stood after iteration ``k - 1`` (the episodes
that end during self-play are held back and stored once the updates are done), and self-play of
iteration ``k + 1`` uses their result. Self-play thus lags the learner by one iteration, as in
asynchronous AlphaZero. The two threads touch disjoint data and draw from their own random
generators, so a run is as reproducible as with alternating phases. With one torch thread each,
the two phases share two cores instead of taking turns on one.

**Belief pretraining** (``pretrain_belief_updates``). Off by default. A fresh run can first fit the
goal term of loss (1) alone on observations of an assistant doing NOOP beside the training humans
(:mod:`baselines.assistance_zero.pretrain`), inside its time budget, so that self-play starts with
a belief that already reads the humans' blocks.

**Autoreset.** The vector env uses next-step autoreset: the step after an episode ends only
resets that world. Such a step is no decision: its world is not searched and not stored.

Run folder: ``progress.csv``, TensorBoard events, ``learning_curve.png``, ``config.json`` and
``checkpoints/{last,final}.pt`` (``algorithm`` ``"assistance_zero"`` or ``"alpha_zero"``, loadable
with :func:`baselines.common.policy.load_policy`). ``--resume checkpoints/last.pt`` continues a run
(network, optimiser, counters and RNG states; the replay buffer starts empty again).
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.assistance_zero.config import AZConfig
from baselines.assistance_zero.losses import LossWeights, az_loss
from baselines.assistance_zero.mcts import (
    BatchedMCTS,
    Evaluator,
    network_evaluator,
    top_k_policy,
    visit_policy,
)
from baselines.assistance_zero.network import AssistanceZeroNetwork
from baselines.assistance_zero.pretrain import collect_idle_assistant_states, pretrain_belief
from baselines.assistance_zero.replay import ReplayBuffer
from baselines.common import training_log
from baselines.common.checkpoint import load_checkpoint
from baselines.common.mixed_humans import make_assist_vector_env, world_goals
from baselines.common.networks import ObservationSpec, batch_timesteps
from baselines.common.seeding import (
    seed_everything,
    select_device,
    set_rng_state,
    set_torch_threads,
)
from mbag_env.core.actions import FIRST_PLACE, NOOP


def make_envs(config: AZConfig) -> gym.vector.VectorEnv:
    """The batched vector env of ``config`` (beside ``config.human``, one or several models, in
    Assist envs; see :func:`~baselines.common.mixed_humans.make_assist_vector_env`)."""
    if config.goal_visible or "human_policy" in config.env_kwargs:
        return gym.make_vec(
            config.env_id,
            num_envs=config.num_envs,
            vectorization_mode="vector_entry_point",
            **config.env_kwargs,
        )
    return make_assist_vector_env(config.env_id, config.num_envs, dict(config.env_kwargs), config.human)


def build_network(config: AZConfig, spec: ObservationSpec) -> AssistanceZeroNetwork:
    """A fresh network for ``config`` and the env's ``spec``."""
    return AssistanceZeroNetwork(spec, config.network_config())


def belief_accuracy(belief: np.ndarray, goal: np.ndarray, blocks: np.ndarray) -> tuple[float, float, float]:
    """``(accuracy over all cells, accuracy over cells still to change, mean log-likelihood per
    cell)`` of the beliefs ``(n, 10, W, H, D)`` against the goals and current blocks ``(n, W, H, D)``."""
    guess = belief.argmax(axis=1)
    correct = guess == goal
    to_change = goal != blocks
    changed_accuracy = float(correct[to_change].mean()) if to_change.any() else float("nan")
    likelihood = np.take_along_axis(belief, goal[:, None].astype(np.int64), axis=1)[:, 0]
    return float(correct.mean()), changed_accuracy, float(np.log(np.maximum(likelihood, 1e-12)).mean())


def train(config: AZConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train; return a summary (final step, run folder, checkpoint, throughput).

    Raises:
        ValueError: if a resumed checkpoint does not match the env or is another algorithm.
        FileExistsError: if a fresh run would write into a run folder that already has a log.
    """
    set_torch_threads(config.torch_threads)
    device = select_device(config.device)
    seed_everything(config.seed)
    envs = make_envs(config)
    vector = envs.unwrapped
    agent = int(getattr(vector, "agent", 0))
    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    model = build_network(config, spec).to(device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    run_dir = Path(config.run_dir)
    checkpoint_dir = run_dir / "checkpoints"
    global_step, start_iteration = 0, 1
    if resume is None and (run_dir / "progress.csv").exists():
        raise FileExistsError(
            f"{run_dir} already holds a run (progress.csv); pass another --run-dir, or --resume "
            f"{checkpoint_dir / 'last.pt'} to continue it"
        )
    if resume is not None:
        payload = load_checkpoint(resume, map_location=device)
        if payload["algorithm"] != config.algorithm:
            raise ValueError(f"{resume} is a {payload['algorithm']!r} checkpoint, not {config.algorithm!r}")
        if ObservationSpec.from_dict(payload["observation_spec"]) != spec:
            raise ValueError(f"checkpoint {resume} was trained on other spaces than {config.env_id} has now")
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        global_step = int(payload["global_step"])
        start_iteration = int(payload["iteration"]) + 1
        set_rng_state(payload["rng"])
    log = training_log.open_training_log(run_dir, config, global_step if resume else None)
    rng = np.random.default_rng([config.seed, start_iteration])

    def save(name: str, iteration: int) -> Path:
        return training_log.save_model_checkpoint(
            checkpoint_dir / name,
            config.algorithm,
            config,
            spec,
            model,
            optimizer,
            global_step,
            iteration=iteration,
        )

    N = config.num_envs
    search = BatchedMCTS(vector.config, agent, N, config.search_config(), config.goal_visible)
    overlap = config.overlap_updates
    # With overlapped updates self-play searches with its own copy, refreshed after each update phase.
    actor = copy.deepcopy(model).eval() if overlap else model
    evaluate = network_evaluator(actor, device, config.goal_visible)
    replay = ReplayBuffer(config.replay_size, spec.world_shape, spec.n_actions, config.policy_target_size)
    has_human = not config.goal_visible
    self_play = SelfPlay(config, envs, search, evaluate, replay, seed=config.seed + (start_iteration - 1) * N)
    # The updates' minibatches: from self-play's generator when the phases alternate (as before the
    # option existed), from their own when they overlap (each thread then draws in a fixed order).
    update_rng = np.random.default_rng([config.seed, start_iteration, 1]) if overlap else rng
    learner = BackgroundUpdates() if overlap else None
    bar = training_log.progress_bar(
        config.num_iterations * config.batch_steps, global_step, config.env_id, not config.progress
    )
    last_iteration = start_iteration - 1
    updating = False
    title = f"{'AssistanceZero' if has_human else 'AlphaZero'} on {config.env_id}"

    def save_if_whole() -> None:
        if learner is not None:
            learner.wait()  # let a running update phase finish: its network and optimizer are whole then
        elif updating:  # mid-update the network and optimizer are half-way: keep the older file
            return
        save("last.pt", last_iteration)

    def run_updates(iteration: int) -> UpdatePhase:
        return update_phase(model, optimizer, replay, config, iteration, update_rng, device)

    resources = (bar, log, envs) if learner is None else (learner, bar, log, envs)
    started = time.perf_counter()
    with training_log.interruptible(save_if_whole, checkpoint_dir / "last.pt", *resources):
        if resume is None and config.pretrain_belief_updates:
            run_belief_pretraining(config, model, optimizer, device, run_dir)
            if actor is not model:
                actor.load_state_dict(model.state_dict())
        for iteration in range(start_iteration, config.num_iterations + 1):
            iteration_start = time.perf_counter()
            if learner is not None and len(replay) >= config.min_replay:
                learner.start(run_updates, iteration)
                self_play.hold_episodes()
            # ---- self-play
            actor.eval()
            collect_start = time.perf_counter()
            search_seconds = 0.0
            finished: dict[str, list[float]] = {key: [] for key in training_log.EPISODE_KEYS}
            accuracy: list[tuple[float, float, float]] = []
            place_break, correct = 0, 0
            decisions = 0
            for _ in range(config.steps_per_iteration):
                outcome = self_play.step(rng)
                search_seconds += outcome.search_seconds
                if outcome.accuracy is not None:
                    accuracy.append(outcome.accuracy)
                place_break += outcome.place_break
                correct += outcome.correct
                decisions += outcome.decisions
                for episode in outcome.finished:
                    for key, value in episode.items():
                        finished[key].append(value)
            collect_seconds = time.perf_counter() - collect_start
            global_step += config.batch_steps

            # ---- learning
            update_start = time.perf_counter()
            phase = UpdatePhase({}, 0.0)
            if learner is not None:
                phase = learner.wait() or phase
                actor.load_state_dict(model.state_dict())
                self_play.release_episodes()
            elif len(replay) >= config.min_replay:
                updating = True
                phase = run_updates(iteration)
                updating = False
            terms = phase.terms
            # The learner's own seconds; with overlapped updates, what the iteration waited is less.
            update_seconds = phase.seconds
            wait_seconds = time.perf_counter() - update_start
            iteration_seconds = time.perf_counter() - iteration_start

            # ---- logging
            accuracy_array = np.array(accuracy).reshape(-1, 3)
            loss_keys = ("policy_kl", "value", "goal_nll", "prev_goal_kl", "human_action_nll", "total")
            row = {
                "iteration": iteration,
                **training_log.episode_metrics(finished, has_human),
                **{f"losses/{key}": terms.get(f"losses/{key}", float("nan")) for key in loss_keys},
                "losses/lambda_prev": config.lambda_prev_at(iteration),
                "agent/place_break_fraction": place_break / max(decisions, 1),
                "agent/correct_fraction": correct / max(decisions, 1),
                "replay/size": len(replay),
                "throughput/sps_total": config.batch_steps / iteration_seconds,
                "throughput/sps_collect": config.batch_steps / collect_seconds,
                "throughput/simulations_per_second": decisions
                * config.num_simulations
                / max(search_seconds, 1e-9),
                "throughput/collect_seconds": collect_seconds,
                "throughput/search_seconds": search_seconds,
                "throughput/update_seconds": update_seconds,
                "throughput/update_wait_seconds": wait_seconds,
            }
            if has_human:
                for column, key in enumerate(("accuracy", "accuracy_to_change", "log_likelihood")):
                    row[f"belief/{key}"] = _finite_mean(accuracy_array[:, column])
            log.log(global_step, row)
            training_log.show_progress(
                bar,
                config.batch_steps,
                finished,
                length=f"{row['episode/length']:.1f}",
                sps=f"{row['throughput/sps_total']:.0f}",
            )
            last_iteration = iteration
            out_of_time = (
                config.time_budget_minutes > 0
                and time.perf_counter() - started > 60 * config.time_budget_minutes
            )
            if out_of_time:
                print(
                    f"\nstopping after iteration {iteration}: time budget of "
                    f"{config.time_budget_minutes:g} minutes used",
                    file=sys.stderr,
                )
                break
            if iteration % config.checkpoint_every == 0:
                save("last.pt", iteration)
                training_log.plot_run_curve(log, title, _curve_metrics(has_human))
    final = training_log.finish_run(save, last_iteration, log, title, _curve_metrics(has_human))
    return {
        "global_step": global_step,
        "iteration": last_iteration,
        "run_dir": str(run_dir),
        "checkpoint": str(final),
        "wall_seconds": time.perf_counter() - started,
    }


def run_belief_pretraining(
    config: AZConfig,
    model: AssistanceZeroNetwork,
    optimizer: torch.optim.Optimizer,
    device: torch.device | str,
    run_dir: Path,
) -> dict[str, float]:
    """``config.pretrain_belief_updates`` updates of the goal term (:mod:`.pretrain`) on
    ``config.pretrain_belief_states`` observations of an idle assistant in a fresh copy of the
    training envs (seeded apart from self-play's); the summary goes to ``pretrain_belief.json`` in
    ``run_dir`` and to stderr."""
    envs = make_envs(config)
    try:
        states = collect_idle_assistant_states(
            envs, config.pretrain_belief_states, seed=config.seed + 1_000_003
        )
    finally:
        envs.close()
    summary = pretrain_belief(
        model,
        optimizer,
        states,
        config.pretrain_belief_updates,
        config.batch_size,
        config.max_grad_norm,
        np.random.default_rng([config.seed, 0, 2]),
        device,
    )
    summary["states"] = float(len(states["world"]))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "pretrain_belief.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"belief pretraining: {summary['updates']:.0f} updates on {summary['states']:.0f} idle-assistant "
        f"observations in {summary['seconds']:.0f} s, goal NLL per cell {summary['goal_nll_first']:.4f} "
        f"-> {summary['goal_nll_last']:.4f}",
        file=sys.stderr,
    )
    return summary


class UpdatePhase(NamedTuple):
    """One iteration's updates: the mean of each loss term over its minibatches (empty when none
    ran) and the seconds they took."""

    terms: dict[str, float]
    seconds: float


def update_phase(
    model: AssistanceZeroNetwork,
    optimizer: torch.optim.Optimizer,
    replay: ReplayBuffer,
    config: AZConfig,
    iteration: int,
    rng: np.random.Generator,
    device: torch.device | str,
) -> UpdatePhase:
    """``config.updates_per_iteration`` minibatch updates of loss (1) at ``iteration``'s loss weights,
    the minibatches drawn from ``replay`` with ``rng``."""
    start = time.perf_counter()
    model.train()
    weights = config.loss_weights(iteration)
    sums: dict[str, float] = {}
    for _ in range(config.updates_per_iteration):
        batch = sample_batch(replay, config.batch_size, rng, device)
        for key, value in update_step(model, optimizer, batch, weights, config.max_grad_norm).items():
            sums[key] = sums.get(key, 0.0) + value
    updates = max(config.updates_per_iteration, 1)
    return UpdatePhase({key: value / updates for key, value in sums.items()}, time.perf_counter() - start)


class BackgroundUpdates:
    """Runs an update phase on one helper thread while the caller goes on (``overlap_updates``).

    :meth:`start` hands it a phase, :meth:`wait` returns the phase's result (re-raising its error),
    :meth:`close` waits and stops the thread. Torch releases the GIL inside its operators, so the
    phase and the caller's self-play run on two cores.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="az-updates")
        self._running: Future[UpdatePhase] | None = None

    def start(self, phase: Callable[[int], UpdatePhase], iteration: int) -> None:
        """Start ``phase(iteration)`` on the helper thread.

        Raises:
            RuntimeError: if the previous phase has not been waited for.
        """
        if self._running is not None:
            raise RuntimeError("an update phase is still running: wait() for it first")
        self._running = self._executor.submit(phase, iteration)

    def wait(self) -> UpdatePhase | None:
        """The running phase's result once it is done (``None`` when none was started)."""
        running, self._running = self._running, None
        return None if running is None else running.result()

    def close(self) -> None:
        """Wait for a running phase (its error is dropped: the caller is already stopping) and
        stop the thread."""
        running, self._running = self._running, None
        if running is not None:
            running.exception()
        self._executor.shutdown(wait=True)


class SelfPlayStep(NamedTuple):
    """What one :meth:`SelfPlay.step` did, for the training log.

    Attributes:
        finished: one dict per episode that ended (the
            :data:`~baselines.common.training_log.EPISODE_KEYS` statistics).
        accuracy: :func:`belief_accuracy` of the searched beliefs of the acting worlds (``None``
            without a human or without acting worlds).
        decisions: acting worlds; place_break, correct: their PLACE/BREAK and correct actions.
        search_seconds, env_seconds: time in the search and in the vector env's step.
    """

    finished: list[dict[str, float]]
    accuracy: tuple[float, float, float] | None
    decisions: int
    place_break: int
    correct: int
    search_seconds: float
    env_seconds: float


class SelfPlay:
    """The self-play half of training: ``num_envs`` worlds searched and stepped together, their
    moves sampled from the root visits (``visit_policy`` at ``config.temperature``, also the
    policy target unless ``config.completed_q_scale`` makes it the completed-Q policy), each episode
    collected and stored in ``replay`` with its discounted returns when it ends.

    Args:
        config: the run configuration.
        envs: the vector env of :func:`make_envs`.
        search, evaluate: the batched search and the network evaluator it calls.
        replay: where finished episodes go.
        seed: the seed of the env's reset.
    """

    def __init__(
        self,
        config: AZConfig,
        envs: gym.vector.VectorEnv,
        search: BatchedMCTS,
        evaluate: Evaluator,
        replay: ReplayBuffer,
        seed: int,
    ) -> None:
        self.config, self.envs, self.search, self.replay = config, envs, search, replay
        self.evaluate = evaluate
        self.vector: Any = envs.unwrapped
        self.has_human = not config.goal_visible
        N = config.num_envs
        self.episodes: list[list[dict[str, Any]]] = [[] for _ in range(N)]
        self.counters = {key: np.zeros(N) for key in training_log.EPISODE_KEYS}
        self.observations, _ = envs.reset(seed=seed)
        self.resetting = np.zeros(N, dtype=bool)
        self.held: list[list[dict[str, Any]]] | None = None
        """Finished episodes not yet stored, while :meth:`hold_episodes` is in force."""

    def hold_episodes(self) -> None:
        """Keep the episodes that end from now on out of the replay until :meth:`release_episodes`
        (while an update phase samples from it on another thread)."""
        if self.held is None:
            self.held = []

    def release_episodes(self) -> None:
        """Store the held episodes, in the order they ended, and stop holding."""
        held, self.held = self.held, None
        for steps in held or []:
            _store_episode(self.replay, steps, self.config.gamma)

    def step(self, rng: np.random.Generator) -> SelfPlayStep:
        """Search, act and step every world once (worlds resetting after an episode only reset)."""
        config, observations = self.config, self.observations
        active = ~self.resetting
        timesteps = batch_timesteps(observations["timestep"], config.num_envs).copy()  # (N, 1) -> (N,)
        search_start = time.perf_counter()
        result = self.search.search(observations["world"], timesteps, self.evaluate, rng, active)
        search_seconds = time.perf_counter() - search_start
        policy = visit_policy(np.maximum(result.visits, 0), config.temperature)
        actions = np.full(config.num_envs, NOOP, dtype=np.int64)
        for world in np.flatnonzero(active):
            actions[world] = rng.choice(policy.shape[1], p=policy[world])
        if result.improved is not None:  # the policy target only; moves still follow the visits
            policy = top_k_policy(result.improved, config.policy_target_size)
        goals = world_goals(self.envs)
        accuracy = None
        if self.has_human and active.any():
            blocks = observations["world"][:, 0]
            accuracy = belief_accuracy(result.belief[active], goals[active], blocks[active])
        world_obs = observations["world"].copy()
        env_start = time.perf_counter()
        self.observations, rewards, terminated, truncated, infos = self.envs.step(actions)
        env_seconds = time.perf_counter() - env_start
        human_actions = np.asarray(infos["human_action"])
        counters = self.counters
        place_break = correct = decisions = 0
        for world in np.flatnonzero(active):
            self.episodes[world].append(
                {
                    "world": world_obs[world],
                    "timestep": timesteps[world],
                    "mask": result.mask[world],
                    "policy": policy[world],
                    "goal": goals[world],
                    "belief": result.belief[world].astype(np.float16),
                    "reward": float(rewards[world]),
                    "human_action": int(human_actions[world]),
                    "human_mask": result.human_mask[world],
                }
            )
            counters["return"][world] += rewards[world]
            counters["length"][world] += 1
            counters["human_actions"][world] += human_actions[world] != NOOP
            counters["human_place_break"][world] += human_actions[world] >= FIRST_PLACE
            place_break += int(actions[world] >= FIRST_PLACE)
            correct += bool(infos["action_correct"][world])
            decisions += 1
        ended = (terminated | truncated) & active
        finished = []
        for world in np.flatnonzero(ended):
            if self.held is None:
                _store_episode(self.replay, self.episodes[world], config.gamma)
            else:
                self.held.append(self.episodes[world])
            self.episodes[world] = []
            episode = {
                "goal_percentage": float(infos["goal_percentage"][world]),
                "completed": float(terminated[world]),
            }
            for key in ("return", "length", "human_actions", "human_place_break"):
                episode[key] = float(counters[key][world])
                counters[key][world] = 0
            finished.append(episode)
        self.resetting = ended
        return SelfPlayStep(finished, accuracy, decisions, place_break, correct, search_seconds, env_seconds)


def sample_batch(
    replay: ReplayBuffer, batch_size: int, rng: np.random.Generator, device: torch.device | str
) -> dict[str, torch.Tensor]:
    """A minibatch of ``batch_size`` replay rows as tensors on ``device``."""
    rows = replay.sample(batch_size, rng)
    return {key: torch.as_tensor(value, device=device) for key, value in rows.items()}


def update_step(
    model: AssistanceZeroNetwork,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, torch.Tensor],
    weights: LossWeights,
    max_grad_norm: float,
) -> dict[str, float]:
    """One gradient step of loss (1) with the global gradient-norm clip; the loss terms."""
    loss, terms = az_loss(model, batch, weights)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return terms


def _finite_mean(values: np.ndarray) -> float:
    """Mean of the finite entries (NaN when there are none)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _curve_metrics(has_human: bool) -> tuple[str, ...]:
    if has_human:
        return ("episode/length", "episode/human_place_break", "belief/accuracy_to_change", "losses/goal_nll")
    return ("episode/goal_percentage", "episode/return", "losses/policy_kl")


def _store_episode(replay: ReplayBuffer, steps: list[dict[str, Any]], gamma: float) -> None:
    """Compute the discounted returns of one finished episode and append its decisions."""
    if not steps:
        return
    returns = np.zeros(len(steps), dtype=np.float32)
    following = 0.0
    for index in range(len(steps) - 1, -1, -1):
        following = steps[index]["reward"] + gamma * following
        returns[index] = following
    replay.add(
        world=np.stack([s["world"] for s in steps]),
        timestep=np.array([s["timestep"] for s in steps]),
        mask=np.stack([s["mask"] for s in steps]),
        visits=np.stack([s["policy"] for s in steps]),
        returns=returns,
        goal=np.stack([s["goal"] for s in steps]),
        belief=np.stack([s["belief"] for s in steps]),
        human_action=np.array([s["human_action"] for s in steps]),
        human_mask=np.stack([s["human_mask"] for s in steps]),
    )
