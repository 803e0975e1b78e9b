"""The AssistanceZero network's belief-tied action heads (``belief_tied_actions``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import mbag_env  # noqa: F401
from baselines.assistance_zero.network import AssistanceZeroNetwork, AZNetworkConfig, belief_logit_bonus
from baselines.common.networks import NUM_GLOBAL_ACTIONS, ObservationSpec
from mbag_env.blocks import AIR, DIRT, FIRST_PLACEABLE, NUM_BLOCK_TYPES, NUM_PLACEABLE, PLANKS


def test_bonus_is_the_log_belief_of_each_placement_and_of_breaking() -> None:
    probabilities = torch.full((1, NUM_BLOCK_TYPES, 2, 1, 1), 0.05)
    probabilities[0, PLANKS, 0] = 0.6  # cell 0: planks likely
    probabilities[0, AIR, 0] = 0.0
    probabilities[0, DIRT, 1] = 0.8  # cell 1 holds dirt now, and dirt is likely to stay
    probabilities[0, AIR, 1] = 0.0
    probabilities = probabilities / probabilities.sum(dim=1, keepdim=True)
    current = torch.zeros_like(probabilities)
    current[0, AIR, 0] = 1.0
    current[0, DIRT, 1] = 1.0
    bonus = belief_logit_bonus(probabilities.log(), current, NUM_PLACEABLE + 1)
    assert bonus.shape == (1, NUM_PLACEABLE + 1, 2, 1, 1)
    for kind in range(NUM_PLACEABLE):
        expected = probabilities[0, FIRST_PLACEABLE + kind, :, 0, 0].log()
        assert torch.allclose(bonus[0, kind, :, 0, 0], expected, atol=1e-5)
    keep = probabilities[0, DIRT, 1, 0, 0]
    assert torch.isclose(bonus[0, NUM_PLACEABLE, 1, 0, 0], torch.log(1 - keep), atol=1e-5)
    assert torch.isclose(bonus[0, NUM_PLACEABLE, 0, 0, 0], torch.log(1 - probabilities[0, AIR, 0, 0, 0]))
    # GIVE kinds (inventory mode) get no bonus.
    wider = belief_logit_bonus(probabilities.log(), current, 2 * NUM_PLACEABLE + 1)
    assert torch.equal(wider[:, NUM_PLACEABLE + 1 :], torch.zeros_like(wider[:, NUM_PLACEABLE + 1 :]))


@pytest.fixture(scope="module")
def spec() -> ObservationSpec:
    env = gym.make("mbag/Assist-Small-v0")
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)  # type: ignore[arg-type]
    env.close()
    return spec


def test_tied_network_adds_the_bonus_to_policy_and_human_logits_only_where_it_should(
    spec: ObservationSpec,
) -> None:
    torch.manual_seed(0)
    config = AZNetworkConfig(hidden_channels=8, conv_layers=1, global_hidden=16)
    plain = AssistanceZeroNetwork(spec, config)
    tied = AssistanceZeroNetwork(spec, AZNetworkConfig(**{**config.__dict__, "belief_tied_actions": True}))
    missing, unexpected = tied.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == ["belief_human_scale", "belief_policy_scale"] and not unexpected
    env = gym.make("mbag/Assist-Small-v0")
    observation, _ = env.reset(seed=3)
    world = torch.as_tensor(np.asarray(observation["world"]))[None]
    timestep = torch.as_tensor(np.asarray(observation["timestep"]), dtype=torch.float32).reshape(1)
    env.close()
    with torch.no_grad():
        base, joined = plain(world, timestep), tied(world, timestep)
        assert base.goal_logits is not None and base.human_logits is not None
        assert joined.human_logits is not None
        current = torch.nn.functional.one_hot(world[:, 0].long(), NUM_BLOCK_TYPES).permute(0, 4, 1, 2, 3)
        bonus = belief_logit_bonus(base.goal_logits, current.float(), spec.cell_action_kinds).reshape(1, -1)
    assert torch.equal(joined.goal_logits, base.goal_logits)
    assert torch.equal(joined.value, base.value)
    globals_ = slice(0, NUM_GLOBAL_ACTIONS)
    assert torch.equal(joined.policy_logits[:, globals_], base.policy_logits[:, globals_])
    cells = slice(NUM_GLOBAL_ACTIONS, None)
    assert torch.allclose(joined.policy_logits[:, cells], base.policy_logits[:, cells] + bonus, atol=1e-5)
    assert torch.allclose(joined.human_logits[:, cells], base.human_logits[:, cells] + bonus, atol=1e-5)


def test_tied_heads_need_the_goal_head() -> None:
    with pytest.raises(ValueError, match="goal head"):
        AZNetworkConfig(goal_head=False, belief_tied_actions=True)


def test_time_past_the_training_horizon_reads_as_the_last_step(spec: ObservationSpec) -> None:
    """A network trained on short episodes (the ``cpu-2h`` preset's 30 steps) keeps acting in the
    leaderboard's longer ones as at its horizon, never on a time fraction above 1."""
    torch.manual_seed(0)
    model = AssistanceZeroNetwork(spec, AZNetworkConfig(hidden_channels=8, conv_layers=1, global_hidden=16))
    world = torch.zeros((1, *spec.world_shape), dtype=torch.uint8)
    with torch.no_grad():
        at_horizon = model(world, torch.tensor([float(spec.horizon)]))
        past = model(world, torch.tensor([3.0 * spec.horizon]))
        before = model(world, torch.tensor([spec.horizon / 2]))
    assert torch.equal(past.value, at_horizon.value)
    assert torch.equal(past.policy_logits, at_horizon.policy_logits)
    assert not torch.equal(before.value, at_horizon.value)


def test_owner_goal_prior_scales_the_current_block_by_who_last_touched_the_cell(
    spec: ObservationSpec,
) -> None:
    """With ``owner_goal_prior`` the goal logits are the plain network's goal-cell logits plus, per
    cell, the scale of (air or not, last owner) times the current block's one-hot; with every scale
    at the single scale's value the two networks agree exactly."""
    torch.manual_seed(0)
    config = AZNetworkConfig(hidden_channels=8, conv_layers=1, global_hidden=16)
    plain = AssistanceZeroNetwork(spec, config)
    owner = AssistanceZeroNetwork(spec, AZNetworkConfig(**{**config.__dict__, "owner_goal_prior": True}))
    missing, unexpected = owner.load_state_dict(plain.state_dict(), strict=False)
    assert missing == ["owner_prior_scales"] and not unexpected
    world = torch.zeros((1, *spec.world_shape), dtype=torch.uint8)
    world[0, 0, :, 0] = DIRT  # a floor: blocks no one touched
    world[0, 0, 1, 1, 1], world[0, 2, 1, 1, 1] = PLANKS, 2  # placed by the human
    world[0, 0, 2, 1, 1], world[0, 2, 2, 1, 1] = DIRT, 1  # placed by the assistant
    world[0, 2, 3, 1, 1] = 2  # broken by the human (air)
    timestep = torch.tensor([3.0])
    with torch.no_grad():
        assert torch.equal(owner(world, timestep).goal_logits, plain(world, timestep).goal_logits)
        owner.owner_prior_scales.copy_(torch.tensor([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]]))
        shaped = owner(world, timestep).goal_logits
        base = plain(world, timestep).goal_logits
    assert shaped is not None and base is not None
    current = torch.nn.functional.one_hot(world[:, 0].long(), NUM_BLOCK_TYPES).permute(0, 4, 1, 2, 3).float()
    expected = base - plain.goal_prior_scale.detach() * current
    for (x, y, z), scale in (
        ((0, 0, 0), 1.0),
        ((1, 1, 1), 3.0),
        ((2, 1, 1), 2.0),
        ((3, 1, 1), 7.0),
        ((4, 4, 4), 5.0),
    ):
        cell = expected[0, :, x, y, z] + scale * current[0, :, x, y, z]
        assert torch.allclose(shaped[0, :, x, y, z], cell, atol=1e-5), (x, y, z)


def test_channels_last_trunk_equals_the_plain_convolutions_and_survives_a_state_dict(
    spec: ObservationSpec,
) -> None:
    torch.manual_seed(1)
    config = AZNetworkConfig(hidden_channels=8, conv_layers=3, global_hidden=16, dilation_base=2)
    network = AssistanceZeroNetwork(spec, config)
    for convolution in network.convolutions:
        assert convolution.weight.is_contiguous(memory_format=torch.channels_last_3d)
    inputs = torch.randn(3, network.in_channels, *spec.world_shape[1:])
    # The same trunk with every tensor in the default layout, written out with F.conv3d.
    stem = network.stem[0]
    expected = torch.relu(
        torch.nn.functional.conv3d(inputs.contiguous(), stem.weight.contiguous(), stem.bias)
    )
    for convolution in network.convolutions:
        plain = torch.nn.functional.conv3d(
            expected,
            convolution.weight.contiguous(),
            convolution.bias,
            padding=convolution.padding,
            dilation=convolution.dilation,
        )
        expected = expected + torch.relu(plain)
    with torch.no_grad():
        cells = network.trunk(inputs)
        assert torch.allclose(cells, expected, atol=1e-5)
        copy = AssistanceZeroNetwork(spec, config)
        copy.load_state_dict(network.state_dict())
        assert copy.convolutions[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
        assert torch.equal(copy.trunk(inputs), cells)
