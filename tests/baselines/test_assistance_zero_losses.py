"""AssistanceZero's loss weights, KL direction and gradient clip (as in the MBAG reference), and the
trunk's receptive field (the cpu-small and paper networks see the whole world; old configs still
build the old network)."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

import mbag_env  # noqa: F401
from baselines.assistance_zero import train as train_module
from baselines.assistance_zero.config import AZConfig, preset
from baselines.assistance_zero.losses import LossWeights, az_loss, loss_terms
from baselines.assistance_zero.network import AssistanceZeroNetwork, AZNetworkConfig, NetworkOutput
from baselines.common.networks import ObservationSpec
from mbag_env.blocks import NUM_BLOCK_TYPES
from tests.baselines.conftest import TINY_AZ_RUN

NUM_ACTIONS = 7 + 9 * 2  # 7 global actions, 9 per-cell kinds over a 1×1×2 world


# ------------------------------------------------------------------------------- closed forms
def _hand_built() -> tuple[NetworkOutput, dict[str, torch.Tensor], dict[str, float]]:
    """Two samples over a 1×1×2 world whose loss terms have closed forms (returned third)."""
    policy_logits = torch.zeros(2, NUM_ACTIONS)
    mask = torch.zeros(2, NUM_ACTIONS, dtype=torch.bool)
    mask[:, :4] = True  # four valid actions, uniform π: log π = −log 4
    goal_logits = torch.zeros(2, NUM_BLOCK_TYPES, 1, 1, 2)  # p̂(θ|h) uniform (0.1) ...
    goal_logits[0, 3, 0, 0, 1] = math.log(9.0)  # ... but 9 / 18 = 0.5 on block 3 in one cell
    belief = torch.full((2, NUM_BLOCK_TYPES, 1, 1, 2), 1.0 / NUM_BLOCK_TYPES)
    belief[0, :, 0, 0, 0] = 0.0
    belief[0, :2, 0, 0, 0] = 0.5  # p̂_t = (0.5, 0.5, 0, ...) where p̂ is uniform
    human_mask = torch.zeros(2, NUM_ACTIONS, dtype=torch.bool)
    human_mask[0, :4] = True
    human_mask[1, :2] = True
    output = NetworkOutput(
        policy_logits=policy_logits,
        value=torch.tensor([1.0, -1.0]),
        goal_logits=goal_logits,
        human_logits=torch.zeros(2, NUM_ACTIONS),
    )
    batch = {
        "mask": mask,
        "policy_actions": torch.tensor([[0, 1], [2, 0]]),
        "policy_probs": torch.tensor([[0.5, 0.5], [1.0, 0.0]]),
        "returns": torch.tensor([0.0, 1.0]),
        "goal": torch.tensor([[[[3, 3]]], [[[0, 0]]]]),
        "belief": belief.half(),  # the replay stores float16
        "human_action": torch.tensor([1, 0]),
        "human_mask": human_mask,
    }
    expected = {
        # KL(π_MCTS ‖ uniform over 4): log 2 for (0.5, 0.5), log 4 for the one-hot.
        "policy_kl": (math.log(2.0) + math.log(4.0)) / 2,
        "value": ((1.0 - 0.0) ** 2 + (-1.0 - 1.0) ** 2) / 2,
        # Mean over the 4 cells of −log p̂(θ_cell): three uniform cells and one with p = 0.5.
        "goal_nll": (3 * math.log(10.0) + math.log(2.0)) / 4,
        # KL(p̂_t ‖ p̂) per cell: log(0.5 / 0.1) = log 5 where p̂_t = (0.5, 0.5, 0, ...), and where
        # p̂_t is uniform but p̂ = (0.5 on block 3, 0.5 / 9 elsewhere): 0.1·log 0.2 + 0.9·log 1.8.
        "prev_goal_kl": (math.log(5.0) + 0.1 * math.log(0.2) + 0.9 * math.log(1.8)) / 4,
        "human_action_nll": (math.log(4.0) + math.log(2.0)) / 2,
    }
    return output, batch, expected


def test_each_term_matches_its_closed_form() -> None:
    output, batch, expected = _hand_built()
    terms = loss_terms(output, batch)
    for name, value in expected.items():
        # The belief floor (1e-6 before renormalising) moves the KL by ~1e-5.
        assert terms[name].item() == pytest.approx(value, rel=1e-4, abs=1e-6), name


def test_previous_goal_kl_runs_from_the_stored_belief_to_the_current_one() -> None:
    """KL(p̂_t ‖ p̂) as in the reference: finite where p̂_t has zeros (the reverse direction would be
    ≈ 0.8·log(0.1/1e-6) ≈ 9 in that cell), with the gradient (p̂ − p̂_t) / (B·V) on the logits."""
    output, batch, _ = _hand_built()
    assert output.goal_logits is not None
    logits = output.goal_logits.clone().requires_grad_(True)
    kl = loss_terms(output._replace(goal_logits=logits), batch)["prev_goal_kl"]
    assert kl.item() < 1.0
    (gradient,) = torch.autograd.grad(kl, logits)
    anchor = batch["belief"].float().clamp(min=1e-6)
    anchor = anchor / anchor.sum(dim=1, keepdim=True)
    torch.testing.assert_close(gradient, (torch.softmax(logits, dim=1) - anchor).detach() / (2 * 2))


class _Fixed(nn.Module):
    """A stand-in network that returns one fixed output."""

    def __init__(self, output: NetworkOutput) -> None:
        super().__init__()
        self.output = output

    def forward(self, world: torch.Tensor, timestep: torch.Tensor) -> NetworkOutput:
        return self.output


def test_total_uses_the_reference_weights() -> None:
    output, batch, expected = _hand_built()
    batch = {**batch, "world": torch.zeros(2, 1), "timestep": torch.zeros(2)}
    weights = LossWeights()
    assert (weights.policy, weights.value, weights.reward, weights.prev, weights.action) == (
        1.0,
        0.01,
        3.0,
        30.0,
        1.0,
    )
    total, values = az_loss(_Fixed(output), batch, weights)  # type: ignore[arg-type]
    closed = (
        expected["policy_kl"]
        + 0.01 * expected["value"]
        + 3.0 * expected["goal_nll"]
        + 30.0 * expected["prev_goal_kl"]
        + expected["human_action_nll"]
    )
    assert total.item() == pytest.approx(closed, rel=1e-4)
    assert values["losses/total"] == pytest.approx(closed, rel=1e-4)


@pytest.mark.parametrize("name", ["cpu-small", "paper"])
def test_presets_carry_the_reference_weights_and_ramp(name: str) -> None:
    config = preset(name)
    assert (config.lambda_policy, config.lambda_value, config.lambda_reward) == (1.0, 0.01, 3.0)
    assert (config.lambda_prev, config.lambda_action, config.max_grad_norm) == (30.0, 1.0, 10.0)
    assert config.lambda_prev_at(0) == 0.0
    assert config.lambda_prev_at(config.prev_ramp_iterations // 2) == pytest.approx(15.0, rel=0.01)
    assert config.lambda_prev_at(config.prev_ramp_iterations) == 30.0
    # Like the reference (2,000 iterations), the ramp spans the preset's whole run.
    assert config.prev_ramp_iterations == config.num_iterations == {"cpu-small": 390, "paper": 2000}[name]


def test_training_clips_gradients_at_max_grad_norm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    norms: list[float] = []
    clip = nn.utils.clip_grad_norm_

    def recording_clip(parameters: object, max_norm: float, *args: object, **kwargs: object) -> torch.Tensor:
        norms.append(max_norm)
        return clip(parameters, max_norm, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(nn.utils, "clip_grad_norm_", recording_clip)
    config = AZConfig(
        env_kwargs={"world_size": [4, 5, 4], "horizon": 8},
        run_dir=str(tmp_path / "run"),
        num_envs=2,
        updates_per_iteration=2,
        total_env_steps=16,
        min_replay=4,
        **TINY_AZ_RUN,  # type: ignore[arg-type]
    )
    train_module.train(config)
    # Updates start once the first episodes (8 steps) are in the replay: 2 in the second iteration.
    assert norms == [10.0, 10.0]


# ------------------------------------------------------------------------------ receptive field
def _spec(env_id: str) -> ObservationSpec:
    env = gym.make(env_id)
    return ObservationSpec.from_spaces(env.observation_space, env.action_space)


def _changed_cells(model: AssistanceZeroNetwork, corner: tuple[int, int, int]) -> np.ndarray:
    """Which cells' trunk features change when the inputs of the cell at ``corner`` change."""
    generator = torch.Generator().manual_seed(0)
    _, width, height, depth = model.spec.world_shape
    inputs = torch.rand(1, model.in_channels, width, height, depth, generator=generator)
    perturbed = inputs.clone()
    perturbed[(0, slice(None), *corner)] += 1.0
    with torch.no_grad():
        difference = (model.trunk(perturbed) - model.trunk(inputs)).abs().amax(dim=1)[0]
    return (difference > 0).numpy()


def test_cpu_small_trunk_sees_the_whole_world_and_the_old_one_did_not() -> None:
    spec = _spec("mbag/Assist-Small-v0")
    torch.manual_seed(0)
    config = preset("cpu-small").network_config()
    assert config.dilations == (1, 2, 4)
    changed = _changed_cells(AssistanceZeroNetwork(spec, config), (0, 0, 0))
    assert changed.shape == (6, 6, 6) and changed.all()
    old = AssistanceZeroNetwork(spec, replace(config, conv_layers=1, dilation_base=1))
    changed = _changed_cells(old, (0, 0, 0))
    assert changed[:2, :2, :2].all() and changed.sum() == 8 and not changed[5, 5, 5]


def test_paper_trunk_sees_the_whole_world() -> None:
    """8 undilated 5³ convolutions reach 16 cells: the opposite corner of 11×10×10 (channels cut
    to keep the test cheap; the reach does not depend on them)."""
    spec = _spec("mbag/Assist-v0")
    torch.manual_seed(0)
    config = replace(preset("paper").network_config(), hidden_channels=8, global_hidden=8)
    assert config.dilations == (1,) * 8
    changed = _changed_cells(AssistanceZeroNetwork(spec, config), (0, 0, 0))
    assert changed.shape == (11, 10, 10) and changed[10, 9, 9] and changed.all()


def test_configs_without_dilation_base_build_and_load_the_old_network() -> None:
    """A checkpoint written before ``dilation_base`` existed has neither key: its network config
    and run config still build the undilated network its weights belong to."""
    spec = _spec("mbag/Assist-Small-v0")
    stored_network = asdict(AZNetworkConfig(hidden_channels=8, conv_layers=2, global_hidden=16))
    del stored_network["dilation_base"]
    old = AZNetworkConfig(**stored_network)
    assert old.dilations == (1, 1)
    stored_run = AZConfig(conv_layers=2, hidden_channels=8, global_hidden=16).to_dict()
    del stored_run["dilation_base"]
    assert AZConfig.from_dict(stored_run).network_config() == old
    torch.manual_seed(0)
    source = AssistanceZeroNetwork(spec, old)
    model = AssistanceZeroNetwork(spec, AZConfig.from_dict(stored_run).network_config())
    model.load_state_dict(source.state_dict())
    world = torch.as_tensor(gym.make("mbag/Assist-Small-v0").reset(seed=0)[0]["world"][None])
    with torch.no_grad():
        torch.testing.assert_close(
            model(world, torch.zeros(1)).goal_logits, source(world, torch.zeros(1)).goal_logits
        )
    assert all(convolution.dilation == (1, 1, 1) for convolution in model.convolutions)  # type: ignore[union-attr]
