"""World-model quality of a trained Dreamer checkpoint on held-out episodes (test houses).

A thin wrapper: the evaluation (one-step prediction, reward, imagination mask, goal head, open-loop
rollouts) lives in :mod:`baselines.dreamer.world_model_eval`, whose docstring describes the metrics
and flags. Example::

    python scripts/dreamer_world_model_eval.py runs/dreamer_build_s1/checkpoints/final.pt \\
        --env mbag/Build-Small-v0 --json results/dreamer_wm_build.json --strip docs/dreamer_open_loop.png
"""

from __future__ import annotations

from baselines.dreamer.world_model_eval import main

if __name__ == "__main__":
    main()
