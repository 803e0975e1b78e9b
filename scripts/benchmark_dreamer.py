"""Dreamer's training speed per preset, thread count and device: prints a table, writes JSON.

A thin wrapper: the benchmark (one training update timed per setting, and the acting step) lives in
:mod:`baselines.dreamer.benchmark`, whose docstring describes what is measured and the flags.
Example::

    python scripts/benchmark_dreamer.py --env mbag/Build-Small-v0 --preset cpu-small paper \\
        --threads 1 2 --updates 10 --json results/benchmark_dreamer.json
"""

from __future__ import annotations

from baselines.dreamer.benchmark import main

if __name__ == "__main__":
    main()
