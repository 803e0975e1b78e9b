"""``python -m baselines.assistance_zero``: train AssistanceZero or AlphaZero (see :mod:`.cli`)."""

from baselines.assistance_zero.cli import main

if __name__ == "__main__":
    main()
