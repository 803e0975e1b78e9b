"""SB3-contrib's MaskablePPO on ``mbag/Build-Small-v0``, on the raw env.

The env's ``Dict`` observation goes straight to SB3's ``"MultiInputPolicy"`` (which flattens each
entry and concatenates them), and MaskablePPO reads the valid actions from the env's
``action_masks()`` method, so no wrapper is needed. The policy is SB3's generic MLP over the
flattened entries; the repository's own PPO (``python -m baselines.ppo``) uses a 3-D convolutional
network with a spatial action head instead.

Install the extra first: ``pip install -e .[examples]``. Then::

    python examples/sb3_maskable_ppo.py --total-steps 20000     # or: python -m examples.sb3_maskable_ppo
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

import mbag_env  # noqa: F401  (registers the mbag/ ids)


def make_env(env_id: str = "mbag/Build-Small-v0", **env_kwargs: object) -> gym.Env:
    """The raw mbag env (``Dict`` observations, ``action_masks()``), as MaskablePPO takes it."""
    return gym.make(env_id, **env_kwargs)


def evaluate(model: object, env: gym.Env, episodes: int, seed: int) -> tuple[float, float]:
    """Mean goal percentage and return of ``model`` (masked, stochastic) over ``episodes`` episodes."""
    goal_percentages, returns = [], []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, done, info = 0.0, False, {}
        while not done:
            mask = observation["action_mask"]  # the same as env.unwrapped.action_masks()
            action, _ = model.predict(observation, action_masks=mask)  # type: ignore[attr-defined]
            observation, reward, terminated, truncated, info = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        goal_percentages.append(float(info["goal_percentage"]))
        returns.append(total)
    return float(np.mean(goal_percentages)), float(np.mean(returns))


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Train MaskablePPO, then report the mean goal percentage and return of a few episodes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="mbag/Build-Small-v0")
    parser.add_argument("--total-steps", type=int, default=20_000)
    parser.add_argument("--n-steps", type=int, default=512, help="rollout length per update")
    parser.add_argument("--horizon", type=int, default=None, help="override the env's horizon")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from sb3_contrib import MaskablePPO

    env_kwargs = {} if args.horizon is None else {"horizon": args.horizon}
    model = MaskablePPO(
        "MultiInputPolicy",
        make_env(args.env, **env_kwargs),
        n_steps=args.n_steps,
        batch_size=min(64, args.n_steps),
        seed=args.seed,
        verbose=0,
    )
    model.learn(total_timesteps=args.total_steps)
    goal_percentage, mean_return = evaluate(
        model, make_env(args.env, **env_kwargs), args.eval_episodes, args.seed
    )
    print(
        f"MaskablePPO after {args.total_steps} steps: "
        f"goal percentage {goal_percentage:.3f}, return {mean_return:.2f}"
    )
    return {"goal_percentage": goal_percentage, "return": mean_return}


if __name__ == "__main__":
    main()
