"""The spatial action head numbers actions exactly as the env does (SPEC §3 action layout)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines.common.networks import (
    NUM_GLOBAL_ACTIONS,
    ActorCritic,
    NetworkConfig,
    ObservationSpec,
    flatten_action_logits,
    observation_to_tensors,
)
from mbag_env.blocks import FIRST_PLACEABLE, NUM_PLACEABLE, PLANKS
from mbag_env.core.actions import ActionSpace

WORLD = (4, 5, 3)  # unequal sides, so a transposed axis order could not pass


def peaked_cell_logits(kinds: int, kind: int, cell: tuple[int, int, int]) -> torch.Tensor:
    logits = torch.zeros(1, kinds, *WORLD)
    logits[0, kind, cell[0], cell[1], cell[2]] = 10.0
    return logits


@pytest.mark.parametrize("infinite_blocks", [True, False])
def test_every_cell_action_decodes_to_its_kind_cell_and_block(infinite_blocks: bool) -> None:
    space = ActionSpace(WORLD, infinite_blocks=infinite_blocks)
    kinds = (space.n - NUM_GLOBAL_ACTIONS) // space.num_cells
    assert kinds == (9 if infinite_blocks else 17)
    rng = np.random.default_rng(0)
    for kind in range(kinds):
        for _ in range(5):
            cell = tuple(int(rng.integers(size)) for size in WORLD)
            flat = flatten_action_logits(
                torch.zeros(1, NUM_GLOBAL_ACTIONS), peaked_cell_logits(kinds, kind, cell)
            )
            assert flat.shape == (1, space.n)
            decoded = space.decode(int(flat.argmax()))
            assert decoded.cell == cell
            if kind < NUM_PLACEABLE:
                assert (decoded.kind, decoded.block) == ("place", FIRST_PLACEABLE + kind)
            elif kind == NUM_PLACEABLE:
                assert decoded.kind == "break"
            else:
                assert (decoded.kind, decoded.block) == ("give", FIRST_PLACEABLE + kind - NUM_PLACEABLE - 1)


def test_global_logits_are_noop_then_the_six_moves() -> None:
    space = ActionSpace(WORLD)
    for index in range(NUM_GLOBAL_ACTIONS):
        global_logits = torch.zeros(1, NUM_GLOBAL_ACTIONS)
        global_logits[0, index] = 10.0
        flat = flatten_action_logits(global_logits, torch.zeros(1, 9, *WORLD))
        decoded = space.decode(int(flat.argmax()))
        if index == 0:
            assert decoded.kind == "noop"
        else:
            assert (decoded.kind, decoded.direction) == ("move", index - 1)


def test_network_action_places_the_block_at_the_chosen_cell() -> None:
    """Force the network's cell head to favour PLACE planks at one cell; the env must do exactly that."""
    env = gym.make("mbag/Build-Small-v0")
    observation, _ = env.reset(seed=0)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    model = ActorCritic(spec, NetworkConfig(hidden_channels=8, conv_layers=1, global_hidden=16))
    cell, kind = (2, 2, 1), PLANKS - FIRST_PLACEABLE
    forced = torch.full((1, spec.cell_action_kinds, 6, 6, 6), -5.0)
    forced[0, kind, cell[0], cell[1], cell[2]] = 20.0
    model.cell_policy.register_forward_hook(lambda module, inputs, output: forced)
    tensors = observation_to_tensors(
        {key: np.asarray(value)[None] for key, value in observation.items()}, "cpu"
    )
    with torch.no_grad():
        logits, _ = model(tensors)
    action = int(logits.argmax())
    assert env.unwrapped.batch.actions.describe(action) == f"PLACE planks at {cell}"
    assert observation["action_mask"][action], "the test cell must be placeable from the start position"
    observation, _, _, _, info = env.step(action)
    assert info["action_valid"]
    assert observation["world"][0][cell] == PLANKS
    assert observation["world"][2][cell] == 1  # last interacted by self


def test_flatten_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="global_logits"):
        flatten_action_logits(torch.zeros(1, 6), torch.zeros(1, 9, *WORLD))
    with pytest.raises(ValueError, match="cell_logits"):
        flatten_action_logits(torch.zeros(2, 7), torch.zeros(1, 9, *WORLD))
