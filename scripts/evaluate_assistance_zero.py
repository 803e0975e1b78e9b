"""Evaluate an AssistanceZero assistant against the idle and PPO assistants on the test houses.

A thin wrapper: the logic (paired evaluation against idle/PPO, belief against the exact posterior,
Markdown tables, JSON, plots) lives in :mod:`baselines.assistance_zero.diagnostics`, whose
docstring describes the flags and outputs. Example::

    python scripts/evaluate_assistance_zero.py runs/az_cpu_small_s1/checkpoints/final.pt \\
        --ppo runs/ref/ppo_assist_small_s1/checkpoints/final.pt --episodes 100 \\
        --json results/assistance_zero_eval.json --plot docs/assistance_zero_belief.png
"""

from __future__ import annotations

from baselines.assistance_zero.diagnostics import main

if __name__ == "__main__":
    main()
