"""A short demo episode: the scripted human builds a house beside an idle assistant.

Run ``python -m mbag_env.apps.demo`` (or ``mbag-demo``). Prints progress and the final goal
percentage; ``--image PATH`` also saves a picture of the final world.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import mbag_env  # noqa: F401  (registers the ids)
from mbag_env.evaluation.episode_tasks import warm_up


def main(argv: list[str] | None = None) -> None:
    """Run the demo from the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="mbag/Assist-v0", help="a registered mbag id (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the episode (default: %(default)s)")
    parser.add_argument("--image", help="save an isometric image of the final world to this PNG path")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    warm_up()  # compile the kernels (announced on a first run); counted in the time in all
    env = gym.make(args.env, render_mode="rgb_array" if args.image else None)
    _, info = env.reset(seed=args.seed)
    print(f"{args.env}: edit distance to the goal at reset {info['edit_distance']}")
    terminated = truncated = False
    steps = 0
    total_reward = 0.0
    horizon = env.unwrapped.config.horizon  # type: ignore[attr-defined]
    with tqdm(total=horizon, desc="steps", unit="step", mininterval=0.5, miniters=100) as bar:
        while not (terminated or truncated):
            _, reward, terminated, truncated, info = env.step(0)
            steps += 1
            total_reward += float(reward)
            bar.update(1)
            bar.set_postfix(goal=f"{info['goal_percentage']:.0%}", refresh=False)
    elapsed = time.perf_counter() - start
    outcome = "house complete" if terminated else "horizon reached"
    print(
        f"{outcome} after {steps} steps: goal percentage {info['goal_percentage']:.1%}, "
        f"return {total_reward:.0f}, {elapsed:.1f} s in all"
    )
    if args.image:
        import matplotlib.pyplot as plt

        image = env.render()
        assert isinstance(image, np.ndarray)
        plt.imsave(args.image, image)
        print(f"saved {args.image}")


if __name__ == "__main__":
    main()
