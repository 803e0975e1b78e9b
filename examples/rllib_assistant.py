"""RLlib's PPO trains the assistant beside a scripted human, on the PettingZoo parallel env.

The env is ``mbag_env.parallel_env(scripted_human=...)``: player 0 is the compiled scripted human
(as in ``mbag/Assist-Small-v0``), played inside the env's step, so the only PettingZoo agent is
``"assistant"``. RLlib's ``ParallelPettingZooEnv`` wraps it as a multi-agent env and one RLlib
policy (an ``RLModule``) is trained for that agent. The module is the baselines' actor-critic
(``baselines.common.networks.ActorCritic``: a 3-D convolutional world encoder with a spatial action
head) with the env's action mask applied to its logits, so the assistant never samples an invalid
action. Episode returns and the goal percentage at the end of each episode are reported per
iteration.

Use RLlib when training should run beyond one machine: on a Ray cluster (``--address auto``, with
this package installed on every node) ``--num-env-runners N`` samples on N workers across the
cluster. On one machine the repository's own baselines (``python -m baselines.ppo``, AssistanceZero)
are simpler and faster.

Install the extras first: ``pip install -e ".[baselines,rllib]"`` (or ``.[examples]``, which
includes them). Then::

    python examples/rllib_assistant.py --iterations 5                    # local Ray, 1 CPU
    python examples/rllib_assistant.py --address auto --num-env-runners 8 --iterations 200
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.tune.registry import register_env

import mbag_env
from baselines.common.masking import masked_logits
from baselines.common.networks import ActorCritic, NetworkConfig, ObservationSpec
from mbag_env.config import SMALL_WORLD_SIZE
from mbag_env.humans import HumanModel

ENV_NAME = "mbag_assist_parallel"
ASSISTANT = "assistant"
"""The PettingZoo agent (player 1) that RLlib trains; player 0 is the scripted human."""


def make_env(env_config: dict[str, Any]) -> ParallelPettingZooEnv:
    """The PettingZoo parallel env, scripted human inside, as an RLlib multi-agent env.

    ``env_config`` holds :class:`mbag_env.MbagConfig` fields plus ``scripted_human`` (a compiled
    human's name or label such as ``"layer_builder:epsilon=0.1"``).
    """
    fields = dict(env_config)
    human = HumanModel.parse(str(fields.pop("scripted_human", "goal_seeking")))
    if "world_size" in fields:
        fields["world_size"] = tuple(fields["world_size"])
    return ParallelPettingZooEnv(mbag_env.parallel_env(scripted_human=human, **fields))


class MaskedActorCriticModule(TorchRLModule, ValueFunctionAPI):
    """The baselines' :class:`ActorCritic` as an RLlib module; invalid actions get zero probability.

    ``model_config`` takes :class:`NetworkConfig` fields (``hidden_channels``, ``conv_layers``,
    ``global_hidden``); RLlib's own default entries in it are ignored.
    """

    def setup(self) -> None:
        spec = ObservationSpec.from_spaces(self.observation_space, self.action_space)
        names = {field.name for field in dataclasses.fields(NetworkConfig)}
        sizes = {key: value for key, value in dict(self.model_config or {}).items() if key in names}
        self.network = ActorCritic(spec, NetworkConfig(**sizes))

    def _logits_and_values(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        observation = batch[Columns.OBS]
        world = observation["world"]
        inputs = {
            "world": world,
            "inventory": observation["inventory"],
            # one step count per row, whether the space's timestep is a scalar or shape (1,)
            "timestep": observation["timestep"].reshape(world.shape[0]),
        }
        logits, values = self.network(inputs)
        return masked_logits(logits, observation["action_mask"]), values

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        logits, _ = self._logits_and_values(batch)
        return {Columns.ACTION_DIST_INPUTS: logits}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        logits, values = self._logits_and_values(batch)
        # The values ride along as "embeddings", so compute_values need not run the network again.
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: values}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """State values ``(B,)`` (from :meth:`_forward_train`'s output when given)."""
        if embeddings is not None:
            return embeddings
        return self._logits_and_values(batch)[1]


class GoalPercentage(RLlibCallback):
    """Logs the goal percentage at the end of every episode (``env_runners/goal_percentage``)."""

    def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
        infos = episode.get_infos(-1)
        info = infos.get(ASSISTANT, {}) if isinstance(infos, dict) else {}
        if metrics_logger is not None and "goal_percentage" in info:
            metrics_logger.log_value("goal_percentage", float(info["goal_percentage"]))


def build_config(args: argparse.Namespace) -> PPOConfig:
    """The PPO configuration: one trained policy for the assistant, small batches for a CPU."""
    env_config = {
        "world_size": list(SMALL_WORLD_SIZE),
        "horizon": args.horizon,
        "scripted_human": args.human,
    }
    module = RLModuleSpec(
        module_class=MaskedActorCriticModule,
        model_config={"hidden_channels": args.hidden_channels, "conv_layers": 1, "global_hidden": 64},
    )
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config)
        .framework("torch")
        .env_runners(
            num_env_runners=args.num_env_runners,
            num_envs_per_env_runner=1,
            rollout_fragment_length="auto",
            num_cpus_per_env_runner=1,
        )
        .learners(num_learners=0)
        .training(
            train_batch_size_per_learner=args.train_batch_size,
            minibatch_size=args.minibatch_size,
            num_epochs=args.num_epochs,
            lr=args.lr,
            gamma=0.95,
            entropy_coeff=0.01,
        )
        .multi_agent(
            policies={ASSISTANT},
            policy_mapping_fn=lambda agent_id, episode, **kwargs: ASSISTANT,
            policies_to_train=[ASSISTANT],
        )
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={ASSISTANT: module}))
        .callbacks(GoalPercentage)
        .debugging(seed=args.seed)
    )


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=5, help="PPO training iterations (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of RLlib, the envs and the network")
    parser.add_argument(
        "--human", default="goal_seeking", help="the scripted human, e.g. 'layer_builder:epsilon=0.1'"
    )
    parser.add_argument("--horizon", type=int, default=mbag_env.SMALL_HORIZON, help="episode horizon")
    parser.add_argument("--train-batch-size", type=int, default=1000, help="env steps per iteration")
    parser.add_argument("--minibatch-size", type=int, default=250, help="SGD minibatch size")
    parser.add_argument("--num-epochs", type=int, default=4, help="SGD epochs per iteration")
    parser.add_argument("--lr", type=float, default=3e-4, help="learning rate")
    parser.add_argument("--hidden-channels", type=int, default=16, help="channels of the world encoder")
    parser.add_argument(
        "--num-env-runners", type=int, default=0, help="sampling workers (0: sample in this process)"
    )
    parser.add_argument(
        "--address", default=None, help="Ray cluster address ('auto' for the running one; default: local)"
    )
    parser.add_argument("--num-cpus", type=int, default=1, help="CPUs of the local Ray runtime")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch threads of this process (default 1: the small network is slower with more on a busy CPU)",
    )
    parser.add_argument("--checkpoint", type=Path, default=None, help="save the trained algorithm here")
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error(f"--iterations must be at least 1, got {args.iterations}")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train for ``--iterations`` iterations; returns the last iteration's numbers."""
    args = parse_arguments(argv)
    torch.set_num_threads(args.torch_threads)
    started = ray.is_initialized()
    if not started:
        if args.address is None:
            ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=args.address)
    register_env(ENV_NAME, make_env)
    algorithm = build_config(args).build_algo()
    summary: dict[str, Any] = {}
    try:
        for iteration in range(1, args.iterations + 1):
            began = time.perf_counter()
            result = algorithm.train()
            runners = result.get("env_runners", {})
            summary = {
                "iteration": iteration,
                "env_steps": int(result.get("num_env_steps_sampled_lifetime", 0)),
                "episodes": int(runners.get("num_episodes_lifetime", 0)),
                "return": float(runners.get("episode_return_mean", math.nan)),
                "goal_percentage": float(runners.get("goal_percentage", math.nan)),
                "seconds": round(time.perf_counter() - began, 2),
            }
            print(json.dumps(summary), flush=True)
        if args.checkpoint is not None:
            algorithm.save(str(args.checkpoint.resolve()))
            print(f"saved the trained algorithm to {args.checkpoint}")
    finally:
        algorithm.stop()
        if not started:
            ray.shutdown()
    return summary


if __name__ == "__main__":
    main()
