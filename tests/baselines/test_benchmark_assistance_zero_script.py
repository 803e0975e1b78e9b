"""``baselines.assistance_zero.benchmark`` (run by ``scripts/benchmark_assistance_zero.py``): a tiny run
writes the figures and shares that sum to 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import mbag_env  # noqa: F401
from baselines.assistance_zero.benchmark import KERNELS, SHARES, main
from baselines.assistance_zero.mcts import tree_kernels  # imported inside the kernel cache
from tests.baselines.conftest import save_untrained_checkpoint, untrained_assistance_zero

TINY = [
    "--num-envs",
    "2",
    "--num-simulations",
    "2",
    "--steps-per-iteration",
    "2",
    "--updates-per-iteration",
    "1",
    "--batch-size",
    "8",
    "--min-replay",
    "16",
    "--iterations",
    "1",
]
TINY_NETWORK = ["--hidden-channels", "4", "--conv-layers", "1", "--global-hidden", "8"]


def test_tiny_run_writes_throughput_and_shares_summing_to_one(tmp_path: Path) -> None:
    originals = {name: getattr(tree_kernels, name) for name in KERNELS}
    result = main([*TINY, *TINY_NETWORK, "--json", str(tmp_path / "bench.json")])
    written = json.loads((tmp_path / "bench.json").read_text())
    assert written == json.loads(json.dumps(result))
    for key in (
        "env_steps_per_s",
        "self_play_env_steps_per_s",
        "simulations_per_s",
        "network_rows_per_s",
        "updates_per_s",
        "wall_seconds",
        "warmup_seconds",
        "detail_seconds",
        "meets_target",
    ):
        assert key in written
    assert set(written["shares"]) == set(SHARES) == set(written["seconds"])
    assert sum(written["shares"].values()) == pytest.approx(1.0)
    assert all(share >= 0 for share in written["shares"].values())
    assert written["env_steps"] == 1 * 2 * 2 and written["updates"] == 1
    assert written["self_play_env_steps_per_s"] >= written["env_steps_per_s"] > 0
    # one network call at the root and one per simulation, for each of the iteration's 2 searches
    assert written["network_calls"] == 2 * (2 + 1)
    assert sum(written["replay_fill"].values()) >= 16
    assert written["config"]["hidden_channels"] == 4 and written["config"]["num_envs"] == 2
    # the kernel timers are gone again
    assert all(getattr(tree_kernels, name) is function for name, function in originals.items())


def test_overlapped_updates_are_benchmarked_on_a_helper_thread() -> None:
    """With ``--overlap-updates`` the updates run beside self-play: the shares are of the busy time of
    both threads, and the wall time and the wait for the updates are reported beside it."""
    result = main([*TINY, *TINY_NETWORK, "--overlap-updates"])
    assert result["overlap_updates"] is True and result["config"]["overlap_updates"] is True
    assert sum(result["shares"].values()) == pytest.approx(1.0)
    assert result["busy_seconds"] == pytest.approx(result["self_play_seconds"] + result["seconds"]["updates"])
    assert result["seconds"]["updates"] > 0 and result["update_wait_seconds"] >= 0
    assert result["wall_seconds"] >= result["self_play_seconds"] > 0
    assert result["env_steps_per_s"] == pytest.approx(result["env_steps"] / result["wall_seconds"])


def test_checkpoint_network_is_benchmarked(tmp_path: Path) -> None:
    config, model = untrained_assistance_zero()
    checkpoint = save_untrained_checkpoint(tmp_path / "tiny.pt", config, model)
    result = main([*TINY, "--checkpoint", str(checkpoint)])
    assert result["network"] == f"checkpoint {checkpoint}"
    assert result["parameters"] == sum(p.numel() for p in model.parameters())
    assert sum(result["shares"].values()) == pytest.approx(1.0)
    with pytest.raises(SystemExit):
        main([*TINY, "--checkpoint", str(checkpoint), "--hidden-channels", "8"])
    assert torch.get_num_threads() == 1


def test_completed_q_preset_keeps_its_policy_targets(tmp_path: Path) -> None:
    # A completed-Q target keeps more actions than the search visits (COMPLETED_Q_TARGET_ACTIONS):
    # the benchmark's replay must be as wide as the trainer's (it once kept num_simulations + 1).
    result = main(["--preset", "cpu-2h-completed-q", *TINY, *TINY_NETWORK])
    assert result["config"]["completed_q_scale"] > 0
    assert result["updates"] == 1 and sum(result["replay_fill"].values()) >= 16
