"""Checkpoints round-trip; ``load_policy`` plays one env; ``--resume`` continues a run."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines.common.checkpoint import (
    CheckpointError,
    from_plain,
    load_checkpoint,
    save_checkpoint,
    to_plain,
)
from baselines.common.networks import ActorCritic, NetworkConfig, ObservationSpec, observation_to_tensors
from baselines.common.policy import load_policy, model_from_checkpoint
from baselines.common.seeding import rng_state, set_rng_state
from baselines.ppo import PPOConfig, config_from_checkpoint, main, train
from tests.baselines.conftest import TINY_PPO_RUN


def tiny_config(run_dir: Path, goal: np.ndarray, total_steps: int = 64) -> PPOConfig:
    return PPOConfig(
        env_kwargs={"goal": goal, "horizon": 6}, total_steps=total_steps, run_dir=str(run_dir), **TINY_PPO_RUN
    )


def test_checkpoint_round_trip(tmp_path: Path, trivial_goal: np.ndarray) -> None:
    env = gym.make("mbag/Build-Small-v0")
    observation, _ = env.reset(seed=0)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    model = ActorCritic(spec, NetworkConfig(hidden_channels=8, conv_layers=1, global_hidden=16))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tensors = observation_to_tensors(
        {key: np.asarray(value)[None] for key, value in observation.items()}, "cpu"
    )
    logits, value = model(tensors)
    (logits.logsumexp(1).sum() + value.sum()).backward()
    optimizer.step()
    config = {"env_kwargs": {"goal": trivial_goal, "world_size": (6, 6, 6)}, "lr": 1e-3, "name": "x"}
    path = save_checkpoint(
        tmp_path / "ckpt.pt",
        {
            "algorithm": "test",
            "config": to_plain(config),
            "observation_spec": spec.to_dict(),
            "network_config": {"hidden_channels": 8, "conv_layers": 1, "global_hidden": 16},
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "global_step": 123,
        },
    )
    payload = load_checkpoint(path)
    assert payload["global_step"] == 123
    restored_config = from_plain(payload["config"])
    np.testing.assert_array_equal(restored_config["env_kwargs"]["goal"], trivial_goal)
    assert restored_config["env_kwargs"]["goal"].dtype == np.uint8
    assert restored_config["env_kwargs"]["world_size"] == [6, 6, 6] and restored_config["lr"] == 1e-3
    restored = model_from_checkpoint(payload)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, restored.state_dict()[key]), key
    with torch.no_grad():
        assert torch.equal(model(tensors)[0], restored(tensors)[0])
    new_optimizer = torch.optim.Adam(restored.parameters(), lr=1e-3)
    new_optimizer.load_state_dict(payload["optimizer"])
    assert new_optimizer.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_load_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an mbag baselines checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_damaged_checkpoints_give_one_clean_error(tmp_path: Path) -> None:
    """Empty, garbage, truncated and byte-flipped files: a CheckpointError naming the file (a flip
    that torch still reads must give a valid payload or the format error), never a raw traceback."""
    good = tmp_path / "good.pt"
    payload = {
        "algorithm": "ppo",
        "config": {},
        "observation_spec": {},
        "network_config": {},
        "global_step": 0,
    }
    save_checkpoint(good, {**payload, "model": {"w": torch.ones(64)}})
    data = good.read_bytes()
    damaged = {
        "empty": b"",
        "garbage": bytes(range(256)) * 4,
        **{f"truncated_{n}": data[:n] for n in (1, 10, len(data) // 2, len(data) - 1)},
    }
    rng = random.Random(0)
    for k in range(60):
        flipped = bytearray(data)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        damaged[f"flip_{k}"] = bytes(flipped)
    for name, content in damaged.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        try:
            payload = load_checkpoint(path)
        except CheckpointError as error:
            assert str(path) in str(error) and "\n" not in str(error)
        else:
            assert name.startswith("flip_") and set(payload) >= {"algorithm", "config", "model"}


def test_rng_state_round_trip() -> None:
    state = rng_state()
    draws = (random.random(), np.random.random(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.random(), torch.rand(1).item()) == draws


def test_trained_checkpoint_plays_through_load_policy(tmp_path: Path, trivial_goal: np.ndarray) -> None:
    summary = train(tiny_config(tmp_path / "run", trivial_goal, total_steps=32))
    assert Path(summary["checkpoint"]).is_file()
    assert (tmp_path / "run" / "learning_curve.png").is_file()
    policy = load_policy(summary["checkpoint"], seed=0)
    env = gym.make("mbag/Build-Small-v0", goal=trivial_goal, horizon=6)
    observation, _ = env.reset(seed=1)
    for _ in range(6):
        action = policy.act(observation)
        assert isinstance(action, int) and observation["action_mask"][action]
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    greedy = load_policy(summary["checkpoint"], deterministic=True)
    assert greedy.act(observation) == greedy.act(observation)
    with pytest.raises(ValueError, match="shape"):
        policy.act({**observation, "world": observation["world"][:3]})


def test_resume_continues_step_counter_and_optimizer(tmp_path: Path, trivial_goal: np.ndarray) -> None:
    run_dir = tmp_path / "run"
    config = tiny_config(run_dir, trivial_goal, total_steps=64)  # 2 iterations of 32 steps
    train(config)
    first = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert (first["global_step"], first["iteration"]) == (64, 2)
    updates_per_iteration = config.update_epochs * config.num_minibatches
    assert first["optimizer"]["state"][0]["step"] == 2 * updates_per_iteration

    with pytest.raises(FileExistsError, match="--resume"):
        train(config)  # a fresh run may not overwrite the log of another

    # As if the run had logged one more iteration after its last checkpoint and then crashed:
    # resuming must drop that row, since the iteration runs again.
    with (run_dir / "progress.csv").open() as handle:
        last_row = handle.read().strip().splitlines()[-1]
    with (run_dir / "progress.csv").open("a") as handle:
        handle.write(last_row.replace("64,2,", "96,3,", 1) + "\n")

    summary = main(["--resume", str(run_dir / "checkpoints" / "last.pt"), "--total-steps", "96"])
    assert summary["global_step"] == 96
    second = load_checkpoint(run_dir / "checkpoints" / "final.pt")
    assert (second["global_step"], second["iteration"]) == (96, 3)
    # Adam's step count and moments carried over: one more iteration of updates, not a fresh start.
    assert second["optimizer"]["state"][0]["step"] == 3 * updates_per_iteration
    assert not torch.equal(
        second["optimizer"]["state"][0]["exp_avg"], first["optimizer"]["state"][0]["exp_avg"]
    )
    resumed = config_from_checkpoint(run_dir / "checkpoints" / "final.pt")
    assert resumed.total_steps == 96 and resumed.num_envs == config.num_envs
    np.testing.assert_array_equal(resumed.env_kwargs["goal"], trivial_goal)
    with (run_dir / "progress.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["global_step"]) for row in rows] == [32, 64, 96]
    assert [int(float(row["iteration"])) for row in rows] == [1, 2, 3]
    # The learning rate kept annealing on the resumed schedule (iteration 3 of 3).
    assert float(rows[2]["charts/learning_rate"]) == pytest.approx(config.learning_rate / 3)
