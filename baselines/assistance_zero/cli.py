"""Command line of ``python -m baselines.assistance_zero``: a preset plus per-field overrides.

Examples::

    # the CPU-sized assistant on mbag/Assist-Small-v0 (the results in docs/)
    python -m baselines.assistance_zero --preset cpu-small --total-env-steps 40000
    # the AlphaZero builder (θ visible, no human in the tree)
    python -m baselines.assistance_zero --algorithm alpha_zero --env mbag/Build-Small-v0
    # the paper's configuration (a GPU-sized run)
    python -m baselines.assistance_zero --preset paper --device cuda
    # continue an interrupted run
    python -m baselines.assistance_zero --resume runs/az-Assist-Small-v0-s1/checkpoints/last.pt
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baselines.assistance_zero.config import PRESETS, AZConfig, config_from_checkpoint, preset
from baselines.assistance_zero.train import train
from baselines.common.cli import add_config_options


def build_parser() -> argparse.ArgumentParser:
    """The parser; every :class:`AZConfig` field is an option that defaults to 'not given'."""
    parser = argparse.ArgumentParser(
        prog="python -m baselines.assistance_zero",
        description="Train AssistanceZero (assistant) or AlphaZero (builder) on an mbag_env id.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples::")[1] if __doc__ else None,
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu-small")
    parser.add_argument(
        "--resume", default=None, help="checkpoint to continue (its config; options override)"
    )
    add_config_options(parser, AZConfig, defaults=False)
    return parser


def parse_config(argv: Sequence[str] | None = None) -> tuple[AZConfig, Path | None]:
    """``(config, resume checkpoint or None)`` from the command line."""
    args = vars(build_parser().parse_args(argv))
    name = args.pop("preset")
    resume = args.pop("resume")
    overrides: dict[str, Any] = args
    if resume is not None:
        return config_from_checkpoint(resume, overrides), Path(resume)
    return preset(name, **overrides), None


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point (``python -m baselines.assistance_zero``): train, print and return
    the run's summary."""
    config, resume = parse_config(argv)
    summary = train(config, resume=resume)
    print(json.dumps(summary, indent=2))
    return summary
