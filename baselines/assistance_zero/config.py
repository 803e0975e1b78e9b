"""The run configuration of AssistanceZero / AlphaZero, with the ``cpu-small`` and ``paper`` presets.

One dataclass holds everything a run needs (env, network, search, loss weights, schedule); it is
stored in every checkpoint. :data:`PRESETS` names the two shipped configurations:

* ``cpu-small``: ``mbag/Assist-Small-v0`` (6×6×6, horizon 200), a 32-channel network with three
  3×3×3 residual convolutions dilated 1, 2, 4 (each cell's features see the whole world), 16
  simulations in training and evaluation, 32 worlds searched together, and the reference's loss
  weights and gradient clip (the previous-goal KL ramped over the default 100k-step run). The
  ~40-minute one-thread CPU runs in ``docs/`` predate the dilated trunk and these weights (one
  undilated convolution, value weight 0.5, previous-goal KL ramped to 1, clip 1).
* ``cpu-2h``: ``cpu-small`` set up for the issue's 2-CPU-hour run: the leaderboard's task
  (episodes that end at step 30, the quick suite's score step, so that every block the
  assistant adds is return the human alone would not have had; see ``docs/results.md``), the
  belief-tied PLACE/BREAK logits (``belief_tied_actions``), unvisited edges valued at the
  visited mean plus their expected reward (``expected_reward_bonus``), 8 updates per
  iteration, the previous-goal KL ramped over 2,000 iterations, and a 120-minute budget.
* ``cpu-2h-completed-q``: ``cpu-2h`` with Gumbel MuZero's completed-Q policy as the policy
  target (``completed_q_scale`` 0.1, ``c_visit`` 50, Danihelka et al., 2022) instead of the
  16-simulation visit counts, which mostly repeat the prior.
* ``cpu-2h-careful``: ``cpu-2h-completed-q`` with the env's incorrect-action shaping for the
  assistant (``reward_shaping``: −1 more whenever its place or break raises the edit distance;
  the human's reward unchanged). The leaderboard counts the human's actions, and each wrong block
  costs the human a break; the search scores the term in expectation under the goal belief, so a
  PLACE pays only above p̂ = 2/3 instead of 1/2.
* ``cpu-2h-careful-owner``: ``cpu-2h-careful`` with ``owner_goal_prior``: the goal head learns
  how far to trust a block by who last placed or broke it (an assistant that rated a block the
  human had just placed at p̂ = 0.35 broke it again and again in a leaderboard episode).
* ``paper``: the released configuration of Laidlaw et al. (2025) as far as this code base has
  its parts: ``mbag/Assist-v0`` (11×10×10, horizon 1500), γ = 0.95, 8 convolution layers of
  5×5×5 filters with 64 channels (undilated, they reach 16 cells: the whole world), 100
  simulations in training and 20 at evaluation, PUCT coefficient 1, two-level Dirichlet noise ε = 0.25,
  visit-count exponent 1.5, bilevel action selection, learning rate 1e-3, gradient-norm clip 10, loss
  weights value 0.01, goal 3, previous-goal KL ramped 0 → 30 over the run, human action 1,
  16 × 16 worlds, replay of 262,144 steps, 2,000 iterations. Not reproduced: the LSTM interleaved
  every 4 layers and training on 64-step sequences (this network is feed-forward on the current
  observation, whose ``last_interacted`` channel carries most of the history).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from baselines.assistance_zero.losses import LossWeights
from baselines.assistance_zero.mcts import SearchConfig
from baselines.assistance_zero.network import AZNetworkConfig
from baselines.common.checkpoint import from_plain, load_checkpoint
from baselines.common.mixed_humans import parse_humans, split_worlds
from baselines.common.run_config import RunConfig

COMPLETED_Q_TARGET_ACTIONS = 64
"""Actions kept (the likeliest, renormalised) of a completed-Q policy target in the replay."""

ALGORITHMS = ("assistance_zero", "alpha_zero")
"""``assistance_zero``: the assistant, θ hidden, goal and human-action heads used in the tree.
``alpha_zero``: the builder, θ visible in its observation, no human in the tree."""


@dataclass
class AZConfig(RunConfig):
    """Everything that defines an AssistanceZero or AlphaZero run (stored in every checkpoint).

    Attributes:
        algorithm: one of :data:`ALGORITHMS`.
        env_id: a registered ``mbag/`` id (an ``Assist`` id for ``assistance_zero``, a ``Build``
            id for ``alpha_zero``).
        env_kwargs: extra env keyword arguments (e.g. ``{"goal": "houses:train"}``).
        human: the compiled scripted human(s) in the env: a ``HumanModel.parse`` label, several
            separated by ``;``, or ``suite`` for the leaderboard's four; the worlds are shared
            among them (:mod:`baselines.common.mixed_humans`).
        num_envs: worlds played (and searched) together; the network sees one batch per
            simulation.
        num_simulations: MCTS simulations per move in training.
        eval_simulations: simulations per move when the checkpoint acts as a policy.
        eval_horizon: the episode horizon the search plans to when the checkpoint acts as a
            policy; 0 (default, every result before session 16): the training env's horizon. A
            run trained on shorter episodes than it is evaluated on (the ``cpu-2h`` presets train
            30-step episodes; the leaderboard plays to completion within 200) should set the
            evaluated horizon, or its search takes the training horizon for the end of the
            episode and, past it, looks one step ahead only.
        c_puct: PUCT exploration coefficient.
        bilevel: bilevel action selection (type, then action within the type).
        dirichlet_epsilon, dirichlet_alpha, dirichlet_within_type: the root's two-level
            Dirichlet noise (weight ε; ``Dir(α)`` over the valid action types, then
            ``Dir(dirichlet_within_type / n)`` over a type's ``n`` valid actions; see
            :func:`~baselines.assistance_zero.mcts.two_level_dirichlet_noise`).
        temperature: an *exponent* ``T`` (the reference's name): training moves are sampled from
            the root visit counts as ``N^T`` normalised, and the same distribution is the policy
            target; ``T > 1`` is sharper than the visit frequencies.
        eval_temperature: the same exponent when a checkpoint acts as a policy without
            ``deterministic=True`` (0: the most visited action, AlphaZero's evaluation play; the
            search itself stays stochastic through the sampled human actions).
        first_play_reward: the search ablation that values unvisited edges at ``V + E[r(a)]``
            instead of the reference's visited means (off: the reference).
        expected_reward_bonus: the search option that values unvisited edges at the reference's
            visited mean plus ``E[r(a)]`` (see :mod:`~baselines.assistance_zero.tree_kernels`).
        completed_q_scale, completed_q_visit_offset: when the scale is positive, the policy
            target is Gumbel MuZero's completed-Q policy instead of the visit counts (moves still
            follow the visits, in training and evaluation; see
            :func:`~baselines.assistance_zero.mcts.completed_q_policy`; needs
            ``expected_reward_bonus``). 0: the reference's visit counts.
        eval_completed_q: when a checkpoint acts as a policy, play the argmax of the completed-Q
            policy instead of the most visited action (needs ``completed_q_scale`` > 0); off: the
            reference's evaluation play.
        gamma: discount of the tree backups and of the value targets ``G``.
        hidden_channels, conv_layers, kernel_size, global_hidden: network sizes.
        dilation_base: convolution ``i`` is dilated by ``dilation_base**i`` (1: undilated, the
            default because checkpoints older than this field have no key for it).
        belief_tied_actions: the network adds the goal belief's log-probabilities to its PLACE and
            BREAK logits (policy and human-action heads; see
            :mod:`~baselines.assistance_zero.network`). Off by default for the same reason.
        owner_goal_prior: the goal head's current-block prior gets one learnt scale per (last
            owner of the cell, air or not) (:class:`~baselines.assistance_zero.network.AZNetworkConfig`).
            Off by default for the same reason.
        learning_rate, weight_decay, max_grad_norm: the optimiser (``max_grad_norm``: the global
            gradient-norm clip, 10 as in the reference).
        lambda_policy, lambda_value, lambda_reward, lambda_prev, lambda_action: the weights of
            loss (1), by default the reference's (value 0.01, goal 3, previous-goal KL 30, human
            action 1); ``lambda_prev`` is reached after ``prev_ramp_iterations`` (linear from 0;
            like the reference, the presets ramp over their whole run: 390 iterations is the
            default 100k steps).
        total_env_steps: environment steps to train for (summed over worlds).
        steps_per_iteration: vector-env steps between network updates.
        updates_per_iteration: minibatch updates per iteration.
        batch_size: minibatch size.
        replay_size: replay capacity in steps.
        min_replay: steps in the replay before updates start.
        time_budget_minutes: stop after the iteration that passes this much wall-clock time
            (0: no limit) and save ``final.pt`` as usual; the run's budget, stated in its log.
        overlap_updates: run each iteration's updates on a helper thread while the next self-play
            phase searches with a copy of the network taken after the previous iteration's updates
            (self-play lags the learner by one iteration, as in asynchronous AlphaZero; on 2 cores
            with one torch thread each side it nearly doubles the env steps per second; see
            :func:`~baselines.assistance_zero.train.train`). Off: the phases alternate, the
            reference's schedule. Use ``torch_threads`` 1 with it: each side runs its own torch
            threads.
        pretrain_belief_updates: before self-play, this many minibatch updates of the goal term
            alone on the observations of an assistant doing NOOP beside the training humans
            (:mod:`~baselines.assistance_zero.pretrain`); inside the time budget, fresh runs only
            (0: off, the reference's schedule).
        pretrain_belief_states: how many such observations are collected for it (once, before
            the updates; the minibatches are drawn from them).
        seed, torch_threads, device: reproducibility and placement.
        run_dir: output folder (default ``runs/az-<env>-s<seed>``).
        checkpoint_every: iterations between ``checkpoints/last.pt`` saves.
        tensorboard, progress: logging switches.
    """

    algorithm: str = "assistance_zero"
    env_id: str = "mbag/Assist-Small-v0"
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"goal": "houses:train"})
    human: str = "goal_seeking"
    num_envs: int = 32
    num_simulations: int = 16
    eval_simulations: int = 16
    eval_horizon: int = 0
    c_puct: float = 1.0
    bilevel: bool = True
    dirichlet_epsilon: float = 0.25
    dirichlet_alpha: float = 0.25
    dirichlet_within_type: float = 10.0
    temperature: float = 1.5
    eval_temperature: float = 0.0
    first_play_reward: bool = False
    expected_reward_bonus: bool = False
    completed_q_scale: float = 0.0
    completed_q_visit_offset: float = 50.0
    eval_completed_q: bool = False
    gamma: float = 0.95
    hidden_channels: int = 32
    conv_layers: int = 1
    kernel_size: int = 3
    global_hidden: int = 128
    dilation_base: int = 1
    belief_tied_actions: bool = False
    owner_goal_prior: bool = False
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    max_grad_norm: float = 10.0
    lambda_policy: float = 1.0
    lambda_value: float = 0.01
    lambda_reward: float = 3.0
    lambda_prev: float = 30.0
    prev_ramp_iterations: int = 390
    lambda_action: float = 1.0
    total_env_steps: int = 100_000
    steps_per_iteration: int = 8
    updates_per_iteration: int = 4
    batch_size: int = 128
    replay_size: int = 16_384
    min_replay: int = 1024
    time_budget_minutes: float = 0.0
    overlap_updates: bool = False
    pretrain_belief_updates: int = 0
    pretrain_belief_states: int = 65_536

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"AZConfig.algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        for name in (
            "num_envs",
            "num_simulations",
            "eval_simulations",
            "hidden_channels",
            "kernel_size",
            "global_hidden",
            "dilation_base",
            "total_env_steps",
            "steps_per_iteration",
            "batch_size",
            "replay_size",
            "checkpoint_every",
            "prev_ramp_iterations",
            "pretrain_belief_states",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AZConfig.{name} must be a positive integer, got {value!r}")
        for name in (
            "conv_layers",
            "updates_per_iteration",
            "min_replay",
            "pretrain_belief_updates",
            "eval_horizon",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"AZConfig.{name} must be a non-negative integer, got {value!r}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"AZConfig.kernel_size must be odd (same padding), got {self.kernel_size}")
        for name, low, high in (("gamma", 0.0, 1.0), ("dirichlet_epsilon", 0.0, 1.0)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"AZConfig.{name}={value} is outside [{low}, {high}]")
        if self.eval_temperature < 0:
            raise ValueError(f"AZConfig.eval_temperature must be >= 0, got {self.eval_temperature}")
        for name in ("c_puct", "dirichlet_alpha", "dirichlet_within_type", "temperature", "learning_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"AZConfig.{name} must be positive, got {getattr(self, name)}")
        for name in ("lambda_policy", "lambda_value", "lambda_reward", "lambda_prev", "lambda_action"):
            if getattr(self, name) < 0:
                raise ValueError(f"AZConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not self.goal_visible:
            split_worlds(self.num_envs, len(parse_humans(self.human)))
        if self.pretrain_belief_updates and self.goal_visible:
            raise ValueError("AZConfig.pretrain_belief_updates needs the assistant (it trains the goal head)")
        if self.eval_completed_q and self.completed_q_scale <= 0:
            raise ValueError("AZConfig.eval_completed_q needs completed_q_scale > 0")
        # SearchConfig checks the completed-Q fields; build it once to fail at configuration time.
        self.search_config()
        if self.time_budget_minutes < 0:
            raise ValueError(f"AZConfig.time_budget_minutes must be >= 0, got {self.time_budget_minutes}")
        if self.min_replay > self.replay_size:
            raise ValueError(f"AZConfig.min_replay={self.min_replay} exceeds replay_size={self.replay_size}")
        self.fill_run_dir("az" if self.algorithm == "assistance_zero" else "alphazero")

    @property
    def goal_visible(self) -> bool:
        """Whether the acting player sees θ (the AlphaZero builder)."""
        return self.algorithm == "alpha_zero"

    @property
    def batch_steps(self) -> int:
        """Environment steps per iteration (``num_envs * steps_per_iteration``)."""
        return self.num_envs * self.steps_per_iteration

    @property
    def num_iterations(self) -> int:
        """Iterations to run (at least 1)."""
        return max(1, self.total_env_steps // self.batch_steps)

    def network_config(self) -> AZNetworkConfig:
        """The network sizes and heads."""
        return AZNetworkConfig(
            hidden_channels=self.hidden_channels,
            conv_layers=self.conv_layers,
            kernel_size=self.kernel_size,
            global_hidden=self.global_hidden,
            dilation_base=self.dilation_base,
            belief_tied_actions=self.belief_tied_actions and not self.goal_visible,
            owner_goal_prior=self.owner_goal_prior and not self.goal_visible,
            goal_head=not self.goal_visible,
            human_head=not self.goal_visible,
        )

    def search_config(self, evaluation: bool = False) -> SearchConfig:
        """The MCTS settings for training (with root noise) or evaluation (without)."""
        return SearchConfig(
            num_simulations=self.eval_simulations if evaluation else self.num_simulations,
            c_puct=self.c_puct,
            bilevel=self.bilevel,
            dirichlet_epsilon=0.0 if evaluation else self.dirichlet_epsilon,
            dirichlet_alpha=self.dirichlet_alpha,
            gamma=self.gamma,
            dirichlet_within_type=self.dirichlet_within_type,
            first_play_reward=self.first_play_reward,
            expected_reward_bonus=self.expected_reward_bonus,
            completed_q_scale=self.completed_q_scale,
            completed_q_visit_offset=self.completed_q_visit_offset,
        )

    @property
    def policy_target_size(self) -> int:
        """Most actions a stored policy target puts mass on: the visited ones (one per
        simulation plus the root's), or the :data:`COMPLETED_Q_TARGET_ACTIONS` likeliest of the
        completed-Q policy."""
        if self.completed_q_scale > 0:
            return COMPLETED_Q_TARGET_ACTIONS
        return self.num_simulations + 1

    def lambda_prev_at(self, iteration: int) -> float:
        """The previous-goal KL weight at ``iteration`` (linear ramp from 0)."""
        return self.lambda_prev * min(1.0, max(0.0, iteration / self.prev_ramp_iterations))

    def loss_weights(self, iteration: int) -> LossWeights:
        """The λ's of loss (1) at ``iteration`` (the previous-goal KL's on its ramp)."""
        return LossWeights(
            policy=self.lambda_policy,
            value=self.lambda_value,
            reward=self.lambda_reward,
            prev=self.lambda_prev_at(iteration),
            action=self.lambda_action,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AZConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error).

        Raises:
            ValueError: naming unknown keys.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown AZConfig fields {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> AZConfig:
        """A copy with some fields changed (validated again; ``run_dir`` kept unless given)."""
        return replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    "cpu-small": {"conv_layers": 3, "dilation_base": 2},
    "cpu-2h": {
        "conv_layers": 3,
        "dilation_base": 2,
        "env_kwargs": {"goal": "houses:train", "horizon": 30},
        "belief_tied_actions": True,
        "expected_reward_bonus": True,
        "updates_per_iteration": 8,
        "prev_ramp_iterations": 2000,
        "total_env_steps": 2_000_000,
        "time_budget_minutes": 120.0,
    },
    "paper": {
        "env_id": "mbag/Assist-v0",
        "num_envs": 256,
        "num_simulations": 100,
        "eval_simulations": 20,
        "c_puct": 1.0,
        "bilevel": True,
        "dirichlet_epsilon": 0.25,
        "dirichlet_alpha": 0.25,
        "dirichlet_within_type": 10.0,
        "temperature": 1.5,
        "gamma": 0.95,
        "hidden_channels": 64,
        "conv_layers": 8,
        "kernel_size": 5,
        "global_hidden": 256,
        "learning_rate": 1e-3,
        "max_grad_norm": 10.0,
        "lambda_value": 0.01,
        "lambda_reward": 3.0,
        "lambda_prev": 30.0,
        "prev_ramp_iterations": 2000,
        "replay_size": 262_144,
        "min_replay": 4096,
        "steps_per_iteration": 64,
        "total_env_steps": 2000 * 256 * 64,
        "updates_per_iteration": 64,
        "batch_size": 512,
    },
}
"""Named configurations (overrides of the :class:`AZConfig` defaults); see the module docstring."""
PRESETS["cpu-2h-completed-q"] = {**PRESETS["cpu-2h"], "completed_q_scale": 0.1}
PRESETS["cpu-2h-careful"] = {
    **PRESETS["cpu-2h-completed-q"],
    "env_kwargs": {
        **PRESETS["cpu-2h"]["env_kwargs"],
        "reward_shaping": [{}, {"incorrect_action": -1.0}],
    },
}
PRESETS["cpu-2h-careful-owner"] = {**PRESETS["cpu-2h-careful"], "owner_goal_prior": True}


def preset(name: str, **overrides: Any) -> AZConfig:
    """The named preset with ``overrides`` applied.

    Raises:
        ValueError: for an unknown preset name.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return AZConfig(**{**PRESETS[name], **overrides})


def config_from_checkpoint(path: str | Path, overrides: dict[str, Any] | None = None) -> AZConfig:
    """The :class:`AZConfig` stored in a checkpoint, with some fields replaced.

    Raises:
        ValueError: if the checkpoint is not an AssistanceZero/AlphaZero one or an override names no field.
    """
    payload = load_checkpoint(path)
    if payload["algorithm"] not in ALGORITHMS:
        raise ValueError(
            f"{path} is a {payload['algorithm']!r} checkpoint, not an AssistanceZero/AlphaZero one"
        )
    stored = from_plain(payload["config"])
    return AZConfig.from_dict({**stored, **dict(overrides or {})})
