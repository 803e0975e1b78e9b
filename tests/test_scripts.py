"""The scripts whose logic lives in a package are thin wrappers: run as files, they reach the
package's ``main`` (``--help`` prints its usage and exits 0)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

WRAPPERS = {
    "bayes_belief_accuracy.py": "mbag_env.evaluation.bayes_belief",
    "benchmark_assistance_zero.py": "baselines.assistance_zero.benchmark",
    "benchmark_dreamer.py": "baselines.dreamer.benchmark",
    "dreamer_world_model_eval.py": "baselines.dreamer.world_model_eval",
    "evaluate_assistance_zero.py": "baselines.assistance_zero.diagnostics",
}
"""Script file name -> the module that holds its logic and ``main``."""


@pytest.mark.parametrize("script", sorted(WRAPPERS))
def test_wrapper_script_runs_the_package_main(
    script: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run the script file as ``__main__`` with ``--help``: argparse of the package's ``main`` answers,
    and the script itself imports ``main`` from the named module."""
    path = REPO_ROOT / "scripts" / script
    assert f"from {WRAPPERS[script]} import main" in path.read_text()
    monkeypatch.setattr(sys, "argv", [str(path), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(path), run_name="__main__")
    assert exit_info.value.code == 0
    assert f"usage: {script}" in capsys.readouterr().out
