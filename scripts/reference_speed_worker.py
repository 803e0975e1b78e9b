"""The reference MBAG env's side of ``scripts/compare_reference_speed.py`` (run in its own venv).

Runs under the Python interpreter of a virtual environment where the reference implementation
(PyPI ``mbag-gensyn==0.0.7``, import name ``mbag``) is installed; it imports only numpy and
``mbag``, never ``mbag_env`` (and the timing loop of ``step_timing.py``, which imports neither,
from its own folder). It reads one JSON request per line on stdin,
``{"workload": "builder_random_valid" | "human_idle", "seconds": S}``, times that workload for
about ``S`` seconds and answers one JSON line on stdout: ``{"steps", "wall_s", "cpu_s"}``. An
empty line or end of input ends it.

The workloads, through the reference's public API as a user's loop pays for them:

* ``builder_random_valid``: one player (the builder) on an 11×10×10 world, horizon 1500; each
  step computes the valid-action mask from the observation
  (``MbagActionDistribution.get_mask_flat``), draws ``rng.choice(np.flatnonzero(mask))`` and
  steps with that action's tuple (``get_action_mapping``); episodes are reset when they end.
* ``human_idle``: two players; the reference's scripted ``LayerBuilderAgent`` plays the human
  (goal visible) from its observation, the assistant always gives the NOOP tuple.

Both use ``teleportation=False``, ``inf_blocks=True`` (mbag_env's defaults) and the reference's
``random`` goal generator.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
from mbag.agents.action_distributions import MbagActionDistribution  # type: ignore[import-not-found]
from mbag.agents.heuristic_agents import LayerBuilderAgent  # type: ignore[import-not-found]
from mbag.environment.actions import MbagAction  # type: ignore[import-not-found]
from mbag.environment.mbag_env import MbagEnv  # type: ignore[import-not-found]
from step_timing import timed

WORLD_SIZE = (11, 10, 10)
HORIZON = 1500


def reference_config(num_players: int) -> dict[str, Any]:
    """The reference env's config dict for the compared workloads."""
    players: list[dict[str, Any]] = [{"goal_visible": True}]
    if num_players == 2:
        players.append({"goal_visible": False})
    return {
        "num_players": num_players,
        "horizon": HORIZON,
        "world_size": WORLD_SIZE,
        "goal_generator": "random",
        "goal_generator_config": {},
        "players": players,
        "abilities": {"teleportation": False, "flying": True, "inf_blocks": True},
    }


def builder_loop(seconds: float) -> dict[str, float]:
    """Random valid actions of one builder for about ``seconds``."""
    env = MbagEnv(reference_config(1))
    config = env.config
    mapping = MbagActionDistribution.get_action_mapping(config)
    rng = np.random.default_rng(0)
    observations, _ = env.reset()

    def step() -> bool:
        nonlocal observations
        world, inventory, timestep = observations[0]
        batch = (world[None], inventory[None], np.asarray(timestep)[None])
        mask = MbagActionDistribution.get_mask_flat(config, batch)[0]
        flat = int(rng.choice(np.flatnonzero(mask)))
        action = tuple(int(value) for value in mapping[flat])
        observations, _, dones, _ = env.step([action])
        if dones[0]:
            observations, _ = env.reset()
        return True

    return timed(step, seconds)


def human_idle_loop(seconds: float) -> dict[str, float]:
    """The reference's scripted layer builder with an idle (NOOP) assistant for about ``seconds``."""
    config = reference_config(2)
    env = MbagEnv(config)
    human = LayerBuilderAgent({}, config)
    human.reset(seed=0)
    noop = (MbagAction.NOOP, 0, 0)
    observations, _ = env.reset()

    def step() -> bool:
        nonlocal observations
        observations, _, dones, _ = env.step([human.get_action(observations[0]), noop])
        if dones[0]:
            observations, _ = env.reset()
            human.reset()
        return True

    return timed(step, seconds)


WORKLOADS = {"builder_random_valid": builder_loop, "human_idle": human_idle_loop}


def main() -> None:
    """Answer timing requests from stdin until an empty line or end of input."""
    from importlib.metadata import version

    import mbag  # type: ignore[import-not-found]

    ready = {
        "ready": True,
        "mbag_gensyn": version("mbag-gensyn"),
        "mbag_file": mbag.__file__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        request = json.loads(line)
        result = WORKLOADS[request["workload"]](float(request["seconds"]))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
