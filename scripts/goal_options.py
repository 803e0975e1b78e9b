"""The command-line options of the goal scripts (``goal_stats.py``, ``show_goals.py``), imported from
the scripts' own folder: a goal source and a world size, as :func:`mbag_env.goals.make_goal_sampler`
takes them."""

from __future__ import annotations

import argparse


def goal_source_parser(description: str | None) -> argparse.ArgumentParser:
    """A parser with the script's ``description`` (its module docstring, kept as written) and the
    options ``--source`` (default ``houses``) and ``--world-size W H D`` (default 11 10 10)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", default="houses", help="goal source for make_goal_sampler (default: houses)"
    )
    parser.add_argument("--world-size", type=int, nargs=3, default=(11, 10, 10), metavar=("W", "H", "D"))
    return parser
