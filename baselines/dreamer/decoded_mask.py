"""The imagination mask derived from the decoded world: the env's own rules applied to what the
world model's decoder believes the world is.

An imagined latent state has no real action mask. :func:`decoded_masks` decodes it, reads off a
concrete world — every cell's most likely block id, each player's feet at the most likely pair of
cells ``(x, y, z), (x, y + 1, z)`` for its label in the ``players`` channel, and (with finite
blocks) the viewer's rounded inventory — and runs the core's
:func:`~mbag_env.core.masks.write_action_mask` on it, so the rules of reach and sight exist only in
``mbag_env/core``. With a perfect decoder this is exactly the env's mask (tested).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from mbag_env.blocks import NUM_BLOCK_TYPES
from mbag_env.core.masks import write_action_mask
from mbag_env.core.observe import label_owner
from mbag_env.core.rules import count_solid_neighbours
from mbag_env.core.state import (
    NUM_PLAYER_FIELDS,
    PARAM_NUM_PLAYERS,
    PLAYER_INVENTORY,
    PLAYER_X,
    PLAYER_Y,
    PLAYER_Z,
)

BLOCKS_CHANNEL, PLAYERS_CHANNEL = 0, 1
"""The observation's ``world`` channels that the mask depends on (SPEC §5)."""


@numba.njit(cache=True)
def write_decoded_masks(
    blocks: np.ndarray,
    feet: np.ndarray,
    inventory: np.ndarray,
    params: np.ndarray,
    viewer: int,
    out: np.ndarray,
) -> None:
    """Fill ``out`` ``(N, n_actions)`` with the viewer's valid actions in each decoded world.

    Args:
        blocks: ``uint8 (N, W, H, D)`` block ids.
        feet: ``int64 (N, P, 3)`` feet cells by observation label: row 0 is label 1 (the viewer),
            row ``k`` is label ``k + 1`` (the other players in index order, skipping the viewer).
        inventory: ``int64 (N, NUM_BLOCK_TYPES)`` the viewer's block counts (unused with
            infinite blocks).
        params: the env's static ``params`` vector.
        viewer: the viewer's player index.
    """
    num_players = params[PARAM_NUM_PLAYERS]
    players = np.zeros((num_players, NUM_PLAYER_FIELDS), dtype=np.int64)
    solid = np.zeros(blocks.shape[1:], dtype=np.uint8)
    for n in range(blocks.shape[0]):
        players[:, :] = 0
        for label in range(num_players):
            player = label_owner(label + 1, viewer)
            players[player, PLAYER_X] = feet[n, label, 0]
            players[player, PLAYER_Y] = feet[n, label, 1]
            players[player, PLAYER_Z] = feet[n, label, 2]
        for block in range(NUM_BLOCK_TYPES):
            players[viewer, PLAYER_INVENTORY + block] = inventory[n, block]
        count_solid_neighbours(blocks[n], solid)
        write_action_mask(out[n], blocks[n], solid, players, params, viewer)


def most_likely_feet(player_logits: torch.Tensor, num_players: int) -> torch.Tensor:
    """Feet cells ``(N, num_players, 3)`` from the ``players`` channel's logits ``(N, K, W, H, D)``:
    for label ``k`` the cell ``(x, y, z)`` maximising ``log p_k(x, y, z) + log p_k(x, y + 1, z)``."""
    log_probs = torch.log_softmax(player_logits, 1)
    _, _, width, height, depth = log_probs.shape
    labels = torch.arange(1, num_players + 1, device=log_probs.device)
    pair = log_probs[:, labels, :, :-1] + log_probs[:, labels, :, 1:]  # (N, P, W, H - 1, D)
    index = pair.flatten(2).argmax(-1)
    z = index % depth
    y = (index // depth) % (height - 1)
    x = index // (depth * (height - 1))
    return torch.stack([x, y, z], -1)


def decoded_masks(
    world_logits: list[torch.Tensor],
    inventory: torch.Tensor,
    params: np.ndarray,
    viewer: int,
    n_actions: int,
) -> torch.Tensor:
    """The viewer's action masks ``(N, n_actions)`` (bool) in the decoded worlds.

    Args:
        world_logits: the decoder's per-channel cell logits ``[(N, classes_c, W, H, D)]``.
        inventory: the decoded inventory ``(N, NUM_BLOCK_TYPES)`` (block counts, not symlogged).
        params: the env's static ``params`` vector (rules, number of players).
        viewer: the viewer's player index.
        n_actions: the size of the action space.

    Raises:
        ValueError: if ``viewer`` is not one of the ``params``' players.
    """
    num_players = int(params[PARAM_NUM_PLAYERS])
    if not 0 <= viewer < num_players:
        raise ValueError(
            f"viewer {viewer} is not a player of params with {num_players} players "
            "(a DreamerAgent needs set_rules(env params, player index) before imagining)"
        )
    blocks = world_logits[BLOCKS_CHANNEL].detach().argmax(1).to(torch.uint8)
    feet = most_likely_feet(world_logits[PLAYERS_CHANNEL].detach(), num_players)
    out = np.zeros((blocks.shape[0], n_actions), dtype=np.bool_)
    write_decoded_masks(
        blocks.cpu().numpy(),
        feet.cpu().numpy().astype(np.int64),
        inventory.detach().round().clamp_min(0).cpu().numpy().astype(np.int64),
        params,
        viewer,
        out,
    )
    return torch.from_numpy(out).to(blocks.device)
