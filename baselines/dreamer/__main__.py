"""``python -m baselines.dreamer``: train DreamerV3 (see :mod:`baselines.dreamer`)."""

from baselines.dreamer.training import main

if __name__ == "__main__":
    main()
