"""World-model quality of a trained Dreamer checkpoint on held-out episodes (test houses).

Plays ``--episodes`` episodes with the checkpoint's own policy on ``goal=houses:test``, filters
them with the world model and measures:

* **one-step prediction** of the world from the prior (``h_t`` and ``ẑ_t ~ p(z | h_t)``, i.e. before
  seeing ``x_t``): per-cell accuracy of the most likely id, on all cells and on the cells that
  changed since ``t − 1``, against the copy-the-last-frame baseline (which is right on every
  unchanged cell and wrong on every changed one);
* **reward prediction**: Pearson correlation of the predicted and real rewards (posterior and
  one-step prior features);
* **imagination mask** (the checkpoint's ``imagination_mask``: decoded world or mask head), on
  one-step prior states: precision and recall of its valid actions against the env's mask, the
  share of states where it is exact, and the probability the actor puts on truly invalid actions
  when no mask is applied (what imagination without a mask would let it sample);
* **goal head** (checkpoints trained with ``--goal-head`` only): per-cell accuracy of the most
  likely θ id from the posterior state, on all cells and on the cells still to build (θ differs
  from the current block), by quarter of the episode, against guessing θ = the current world
  (right on every cell already correct, wrong on every cell still to build);
* **open-loop rollouts**: from the posterior state at a start step, 15 steps of the prior with
  the real actions; accuracy on the cells changed since the start, per step, against copying the
  start frame; and an image strip of real versus imagined blocks.

Example::

    python scripts/dreamer_world_model_eval.py runs/dreamer_build_s1/checkpoints/final.pt \\
        --env mbag/Build-Small-v0 --json results/dreamer_wm_build.json --strip docs/dreamer_open_loop.png

The command line is :func:`main`; ``scripts/dreamer_world_model_eval.py`` is a thin wrapper over it
(``python -m baselines.dreamer.world_model_eval`` runs the same). :func:`evaluate` computes the
metrics, :func:`goal_head_metrics` the goal head's part and :func:`save_strip` draws the rollout.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from baselines.common.checkpoint import load_checkpoint
from baselines.common.training_log import save_figure
from baselines.dreamer import DreamerPolicy, agent_from_checkpoint
from baselines.dreamer.core import sample_categorical
from baselines.dreamer.networks import vector_input
from mbag_env.render.iso import render_isometric


def collect(
    policy: DreamerPolicy, env_id: str, num_envs: int, steps: int, seed: int, goal: str
) -> dict[str, np.ndarray]:
    """``steps`` consecutive rows per world (observation, θ, reward, action taken from it)."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", goal=goal)
    observation, _ = envs.reset(seed=seed)
    rows: dict[str, list[np.ndarray]] = {
        k: [] for k in ("world", "inventory", "timestep", "mask", "goal", "reward", "action")
    }
    reward = np.zeros(num_envs, np.float32)
    for _ in range(steps):
        action = policy.act_batch(observation)
        for key, value in (
            ("world", observation["world"]),
            ("inventory", observation["inventory"]),
            ("timestep", np.asarray(observation["timestep"]).reshape(num_envs)),  # (N, 1) -> (N,)
            ("mask", observation["action_mask"]),
            ("goal", envs.unwrapped.batch.state.goal),  # type: ignore[attr-defined]
            ("reward", reward),
            ("action", action),
        ):
            rows[key].append(np.array(value))
        observation, reward, _, _, _ = envs.step(action)
    envs.close()
    return {key: np.stack(value, 1) for key, value in rows.items()}  # (N, T, ...)


def sample_actions(agent: Any, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The actor's sampled actions under ``mask`` (masked, then unimix)."""
    return sample_categorical(agent.policy_logits(features, mask).exp())


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (NaN if either is constant)."""
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@torch.no_grad()
def evaluate(
    checkpoint: str, env_id: str, num_envs: int, steps: int, seed: int, goal: str, starts: int, horizon: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The metrics (see the module docstring) and arrays for the image strip."""
    torch.manual_seed(seed)
    agent = agent_from_checkpoint(load_checkpoint(checkpoint)).eval()
    policy = DreamerPolicy(agent, seed=seed)
    data = collect(policy, env_id, num_envs, steps, seed, goal)
    model = agent.world_model
    tensors = {key: torch.as_tensor(value) for key, value in data.items()}
    batch, length = tensors["action"].shape
    world = tensors["world"]
    is_first = tensors["timestep"] == 0
    embed = model.encoder(
        world.flatten(0, 1), vector_input(tensors["inventory"], tensors["timestep"]).flatten(0, 1)
    )
    states = model.rssm.observe(embed.view(batch, length, -1), tensors["action"], is_first)
    prior_z = model.rssm.sample(states["prior"].flatten(0, 1))
    posterior_features = torch.cat([states["h"], states["z"]], -1).flatten(0, 1)
    prior_features = torch.cat([states["h"].flatten(0, 1), prior_z], -1)

    def predicted_world(features: torch.Tensor) -> torch.Tensor:
        logits = model.decode(features)[0]
        return torch.stack([channel.argmax(1) for channel in logits], 1)

    real = world.flatten(0, 1).long()
    predicted = torch.cat([predicted_world(chunk) for chunk in prior_features.split(512)])
    reconstructed = torch.cat([predicted_world(chunk) for chunk in posterior_features.split(512)])
    previous = torch.cat([world[:, :1], world[:, :-1]], 1).flatten(0, 1).long()
    valid = (~is_first).flatten()  # one-step prediction needs a previous step of the same episode
    valid[::length] = False
    changed = (real != previous) & valid[:, None, None, None, None]
    blocks_changed = changed[:, 0]
    metrics: dict[str, float] = {
        "steps": float(valid.sum()),
        "changed_block_cells": float(blocks_changed.sum()),
        "one_step_accuracy_all_cells": float((predicted == real)[valid].float().mean()),
        "copy_last_frame_accuracy_all_cells": float((previous == real)[valid].float().mean()),
        "one_step_accuracy_changed_block_cells": float(
            (predicted[:, 0] == real[:, 0])[blocks_changed].float().mean()
        ),
        "one_step_accuracy_changed_cells_any_channel": float((predicted == real)[changed].float().mean()),
        "copy_last_frame_accuracy_changed_cells": 0.0,
        "posterior_reconstruction_accuracy_all_cells": float((reconstructed == real).float().mean()),
        "posterior_reconstruction_accuracy_changed_block_cells": float(
            (reconstructed[:, 0] == real[:, 0])[blocks_changed].float().mean()
        ),
    }
    rewards = tensors["reward"].flatten().numpy()
    reward_posterior = model.two_hot.mean(model.reward(posterior_features)).numpy()
    reward_prior = model.two_hot.mean(model.reward(prior_features)).numpy()
    keep = valid.numpy()
    metrics.update(
        {
            "reward_correlation_posterior": pearson(reward_posterior[keep], rewards[keep]),
            "reward_correlation_one_step_prior": pearson(reward_prior[keep], rewards[keep]),
            "nonzero_reward_fraction": float((rewards[keep] != 0).mean()),
        }
    )
    real_mask = tensors["mask"].flatten(0, 1)
    predicted_mask = torch.cat([agent.imagined_mask(chunk) for chunk in prior_features.split(512)])
    true_positive = (predicted_mask & real_mask).sum().item()
    unmasked = torch.cat([torch.softmax(agent.actor(chunk), -1) for chunk in posterior_features.split(512)])
    expected_if_sampled = float("nan")
    if model.mask_head is not None:
        mask_probabilities = torch.cat(
            [torch.sigmoid(model.mask_logits(chunk)) for chunk in prior_features.split(512)]
        )
        expected_if_sampled = float(mask_probabilities[:, 7:].sum(-1).mean())
    real_choice = torch.cat(
        [
            sample_actions(agent, chunk, m)
            for chunk, m in zip(posterior_features.split(512), real_mask.split(512), strict=True)
        ]
    )
    imagined_choice = torch.cat(
        [
            sample_actions(agent, chunk, m)
            for chunk, m in zip(prior_features.split(512), predicted_mask.split(512), strict=True)
        ]
    )
    metrics.update(
        {
            "mask_predicted_valid_per_state": float(predicted_mask.sum(-1).float().mean()),
            "mask_predicted_valid_place_break_per_state": float(predicted_mask[:, 7:].sum(-1).float().mean()),
            "mask_real_valid_place_break_per_state": float(real_mask[:, 7:].sum(-1).float().mean()),
            "mask_expected_valid_place_break_if_sampled": expected_if_sampled,
            "mask_exact_states": float((predicted_mask == real_mask).all(-1).float().mean()),
            "actor_place_break_fraction_real_mask": float((real_choice >= 7).float().mean()),
            "actor_place_break_fraction_predicted_mask": float((imagined_choice >= 7).float().mean()),
            "mask_precision": true_positive / max(1, predicted_mask.sum().item()),
            "mask_recall": true_positive / max(1, real_mask.sum().item()),
            "mask_valid_actions_per_state": float(real_mask.sum(-1).float().mean()),
            "actor_probability_on_invalid_actions_unmasked": float((unmasked * (~real_mask)).sum(-1).mean()),
        }
    )

    if model.goal_head is not None:
        metrics.update(goal_head_metrics(model, posterior_features, tensors))

    # ---- open-loop rollouts with the real actions
    rng = np.random.default_rng(seed)
    per_step_model, strip = np.zeros(horizon), {}
    all_model, all_copy = np.zeros(horizon), np.zeros(horizon)
    counts = np.zeros(horizon)
    candidates = [
        (b, t)
        for b in range(batch)
        for t in range(1, length - horizon)
        if not bool(is_first[b, t + 1 : t + horizon + 1].any())
    ]
    chosen = [candidates[i] for i in rng.choice(len(candidates), min(starts, len(candidates)), replace=False)]
    for index, (b, t) in enumerate(chosen):
        h, z = states["h"][b : b + 1, t], states["z"][b : b + 1, t]
        imagined = []
        for k in range(horizon):
            h, prior = model.rssm.img_step(h, z, tensors["action"][b : b + 1, t + k])
            z = model.rssm.sample(prior)
            imagined.append(predicted_world(torch.cat([h, z], -1))[0, 0])
        start_blocks = world[b, t, 0].long()
        for k in range(horizon):
            target = world[b, t + k + 1, 0].long()
            moved = target != start_blocks
            all_model[k] += float((imagined[k] == target).float().mean()) / len(chosen)
            all_copy[k] += float((start_blocks == target).float().mean()) / len(chosen)
            if moved.any():
                per_step_model[k] += float((imagined[k] == target)[moved].float().mean())
                counts[k] += 1
        if index == 0:
            strip = {
                "real": world[b, t : t + horizon + 1, 0].numpy(),
                "imagined": np.stack(
                    [reconstructed.view(batch, length, *world.shape[2:])[b, t, 0].numpy()]
                    + [x.numpy() for x in imagined]
                ),
            }
    with np.errstate(invalid="ignore"):
        curve = per_step_model / counts
    metrics["open_loop_starts"] = float(len(chosen))
    metrics["open_loop_accuracy_changed_block_cells_mean"] = float(np.nanmean(curve))
    for k in range(horizon):
        metrics[f"open_loop_accuracy_changed_block_cells_step{k + 1}"] = float(curve[k])
    metrics["open_loop_copy_start_frame_accuracy_changed_block_cells"] = 0.0
    metrics["open_loop_block_accuracy_all_cells_step15"] = float(all_model[-1])
    metrics["open_loop_copy_start_frame_block_accuracy_all_cells_step15"] = float(all_copy[-1])
    metrics["open_loop_block_accuracy_all_cells_mean"] = float(all_model.mean())
    metrics["open_loop_copy_start_frame_block_accuracy_all_cells_mean"] = float(all_copy.mean())
    return metrics, strip


def goal_head_metrics(
    model: Any, features: torch.Tensor, tensors: dict[str, torch.Tensor]
) -> dict[str, float]:
    """Accuracy of the goal head's most likely θ per cell (see the module docstring)."""
    predicted = torch.cat([model.goal_head(chunk)[0].argmax(1) for chunk in features.split(512)])
    goal = tensors["goal"].flatten(0, 1).long()
    blocks = tensors["world"][:, :, 0].flatten(0, 1).long()
    right, to_build = predicted == goal, goal != blocks
    timestep = tensors["timestep"].flatten()
    metrics = {
        "goal_head_accuracy_all_cells": float(right.float().mean()),
        "goal_current_world_accuracy_all_cells": float((~to_build).float().mean()),
        "goal_head_accuracy_cells_to_build": float(right[to_build].float().mean()),
        "goal_cells_to_build_per_state": float(to_build.flatten(1).sum(1).float().mean()),
    }
    quarter = int(timestep.max()) // 4 + 1
    for q in range(4):
        rows = (timestep >= q * quarter) & (timestep < (q + 1) * quarter)
        cells = to_build & rows[:, None, None, None]
        metrics[f"goal_head_accuracy_cells_to_build_q{q + 1}"] = float(right[cells].float().mean())
    return metrics


def save_strip(strip: dict[str, np.ndarray], path: Path, title: str) -> None:
    """Real (top) versus imagined (bottom) blocks at every third open-loop step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = list(range(0, strip["real"].shape[0], 3))
    figure, axes = plt.subplots(2, len(steps), figsize=(2.0 * len(steps), 4.4))
    for column, step in enumerate(steps):
        for row, key in enumerate(("real", "imagined")):
            axes[row, column].imshow(render_isometric(strip[key][step].astype(np.uint8), cell_pixels=8))
            axes[row, column].set_axis_off()
            axes[row, column].set_title(f"{key} t+{step}", fontsize=8)
    figure.suptitle(title, fontsize=9)
    save_figure(figure, path, dpi=90)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring); ``argv`` defaults to ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--env", dest="env_id", required=True)
    parser.add_argument("--goal", default="houses:test")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200, help="steps per world")
    parser.add_argument("--starts", type=int, default=64, help="open-loop rollouts")
    parser.add_argument("--horizon", type=int, default=15)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", default=None)
    parser.add_argument("--strip", default=None, help="PNG of a real vs imagined open-loop rollout")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    metrics, strip = evaluate(
        args.checkpoint,
        args.env_id,
        args.num_envs,
        args.steps,
        args.seed,
        args.goal,
        args.starts,
        args.horizon,
    )
    print(json.dumps(metrics, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps({"checkpoint": args.checkpoint, "env_id": args.env_id, **metrics}, indent=2)
        )
    if args.strip and strip:
        save_strip(strip, Path(args.strip), f"{args.env_id}: real (top) vs imagined open loop (bottom)")


if __name__ == "__main__":
    main()
