"""AssistanceZero training throughput and where the time goes: prints tables, writes JSON.

A thin wrapper: the benchmark (the training loop on the real code paths, timed part by part) lives
in :mod:`baselines.assistance_zero.benchmark`, whose docstring describes what is timed and the
flags. Example::

    python scripts/benchmark_assistance_zero.py --preset cpu-small --torch-threads 1 \\
        --iterations 5 --json results/benchmark_assistance_zero.json
"""

from __future__ import annotations

from baselines.assistance_zero.benchmark import main

if __name__ == "__main__":
    main()
