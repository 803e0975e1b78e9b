"""A CleanRL-style training loop on the batched vector env, in one short file.

It shows the three things every loop on ``gymnasium.make_vec(..., vectorization_mode=
"vector_entry_point")`` must get right:

1. observations are a dict of batched arrays, with a boolean ``action_mask`` to sample from;
2. *next-step autoreset*: after a world ends, its next step ignores the action and returns the new
   episode's first observation with reward 0, so that step is not a decision and is left out;
3. episode ends cut the bootstrapped return (and truncation bootstraps from the final observation).

The learner is plain advantage actor-critic (A2C) with n-step returns and the spatial network
of :mod:`baselines.common`; see ``baselines/ppo.py`` for the full PPO. Run from the repository
root (``baselines`` is a folder there, not an installed package)::

    python -m examples.vector_actor_critic --total-steps 20000
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)

try:
    import baselines  # noqa: F401
except ImportError as error:
    raise ImportError(
        "this example uses the repository's baselines/ package: run it from the repository root "
        "as `python -m examples.vector_actor_critic`"
    ) from error
from baselines.common import ActorCritic, NetworkConfig, ObservationSpec, observation_to_tensors
from baselines.common.masking import masked_entropy, masked_log_probs, sample_masked


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Train A2C and return the mean return and goal percentage of the last finished episodes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="mbag/Build-Small-v0")
    parser.add_argument("--total-steps", type=int, default=20_000)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--num-steps", type=int, default=8, help="n of the n-step returns")
    parser.add_argument("--horizon", type=int, default=None, help="override the env's horizon")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    env_kwargs = {} if args.horizon is None else {"horizon": args.horizon}
    envs = gym.make_vec(
        args.env, num_envs=args.num_envs, vectorization_mode="vector_entry_point", **env_kwargs
    )
    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    agent = ActorCritic(spec, NetworkConfig(hidden_channels=16, conv_layers=0, global_hidden=64))
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate)

    observations, _ = envs.reset(seed=args.seed)
    resetting = np.zeros(args.num_envs, dtype=bool)  # True: this world's next step only resets it
    episode_return = np.zeros(args.num_envs)
    finished_returns: list[float] = []
    finished_goal_percentages: list[float] = []
    for _update in range(max(1, args.total_steps // (args.num_envs * args.num_steps))):
        log_probs, entropies, values, rewards, ends, bootstrap, decisions = [], [], [], [], [], [], []
        for _step in range(args.num_steps):
            tensors = observation_to_tensors(observations, "cpu")
            logits, value = agent(tensors)
            action = sample_masked(logits.detach(), tensors["action_mask"])
            step_log_probs = masked_log_probs(logits, tensors["action_mask"])
            log_probs.append(step_log_probs.gather(1, action[:, None]).squeeze(1))
            entropies.append(masked_entropy(step_log_probs, tensors["action_mask"]))
            values.append(value)
            decisions.append(torch.as_tensor(~resetting))
            observations, reward, terminated, truncated, infos = envs.step(action.numpy())
            ended = (terminated | truncated) & ~resetting
            rewards.append(torch.as_tensor(reward, dtype=torch.float32))
            ends.append(torch.as_tensor(ended))
            # On truncation the next stored observation is the episode's final one: bootstrap from it.
            bootstrap.append(torch.as_tensor(truncated & ~resetting))
            episode_return += np.where(resetting, 0.0, reward)
            for world in np.flatnonzero(ended):
                finished_returns.append(float(episode_return[world]))
                finished_goal_percentages.append(float(infos["goal_percentage"][world]))
            episode_return[ended] = 0.0
            resetting = ended

        with torch.no_grad():
            following = agent.value(observation_to_tensors(observations, "cpu"))
        returns = []
        for t in reversed(range(args.num_steps)):
            next_value = following if t == args.num_steps - 1 else values[t + 1].detach()
            # Continue the n-step return only inside an episode; at its end, bootstrap iff truncated.
            continued = torch.where(ends[t], torch.zeros_like(following), following)
            truncated_value = torch.where(bootstrap[t], next_value, torch.zeros_like(next_value))
            following = rewards[t] + args.gamma * torch.where(ends[t], truncated_value, continued)
            returns.append(following)
        returns.reverse()

        weight = torch.stack(decisions).float()  # the resetting steps are not decisions
        advantage = torch.stack(returns) - torch.stack(values)
        policy_loss = -(torch.stack(log_probs) * advantage.detach() * weight).sum() / weight.sum()
        value_loss = 0.5 * (advantage.pow(2) * weight).sum() / weight.sum()
        entropy = (torch.stack(entropies) * weight).sum() / weight.sum()
        optimizer.zero_grad()
        (policy_loss + 0.5 * value_loss - 0.01 * entropy).backward()
        torch.nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
        optimizer.step()
    envs.close()

    recent = slice(-max(1, args.num_envs), None)
    result = {
        "episodes": float(len(finished_returns)),
        "return": float(np.mean(finished_returns[recent])) if finished_returns else float("nan"),
        "goal_percentage": float(np.mean(finished_goal_percentages[recent]))
        if finished_returns
        else float("nan"),
    }
    print(
        f"A2C: {int(result['episodes'])} episodes; last {args.num_envs}: return {result['return']:.2f}, "
        f"goal percentage {result['goal_percentage']:.3f}"
    )
    return result


if __name__ == "__main__":
    main()
