"""The AssistanceZero network: a 3-D convolutional trunk with policy, value, goal and human heads.

Input: the acting player's ``world`` observation ``(C, W, H, D)`` (blocks, players, last
interacted, and θ for the goal-visible builder), one-hot encoded per channel, plus x/y/z
coordinates and the episode's time fraction (clamped to 1 past the training horizon). The trunk
is a 1×1×1 stem and ``conv_layers`` residual ``kernel_size``³ convolutions, so every cell keeps a
feature vector; mean/max pooled features feed a global MLP. Convolution ``i`` is dilated by
``dilation_base**i``, so the trunk sees ``(kernel_size // 2) * sum(dilation_base**i)`` cells in
each direction: with 3³ filters and base 2, three convolutions (dilations 1, 2, 4) reach 7 cells,
every cell of a 6×6×6 world from every other, which inferring a house from its built part needs;
base 1 is the undilated stack.

Heads (all logits):

* ``policy``: π(a|h) over the flat action space, laid out as the env numbers actions (7 global
  logits from the pooled features, 9 per-cell logits for the 8 PLACE types and BREAK). With
  ``belief_tied_actions`` the per-cell PLACE logit of block ``b`` at cell ``c`` also gets
  ``s · log p̂(θ_c = b)`` and the BREAK logit ``s · log(1 − p̂(θ_c = current block))`` from the goal
  head (gradient stopped; ``s`` learnt, initialised to 1), so that from the first update the
  prior *within* PLACE ranks blocks and cells by the belief: the search's bilevel selection then
  tries the likeliest placement when it tries PLACE, instead of a random one (see
  :class:`AZNetworkConfig`);
* ``value``: V(h);
* ``goal``: p̂(θ|h) as an independent 10-way categorical over block types per cell. Its logits
  start with the current block's one-hot added (scaled by a learnt factor initialised to 4), so
  an untrained belief says "the goal is the world as it is" and the tree's expected rewards
  start near 0 instead of rewarding random breaks;
* ``human``: p̂(aᴴ|h), the human's next action, laid out like the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from baselines.common.networks import (
    NUM_GLOBAL_ACTIONS,
    ObservationSpec,
    flatten_action_logits,
    register_cell_encoding,
    time_fraction,
)
from mbag_env.blocks import AIR, FIRST_PLACEABLE, NUM_BLOCK_TYPES, NUM_PLACEABLE

GOAL_PRIOR_SCALE = 4.0
"""Initial weight of the current block's one-hot in the goal logits (see the module docstring)."""

LAST_INTERACTED_CHANNEL = 2
"""The world observation's channel of who last placed or broke each cell (0 none, 1 self, 2.. others)."""


@dataclass(frozen=True)
class AZNetworkConfig:
    """Sizes and heads of :class:`AssistanceZeroNetwork`.

    Attributes:
        hidden_channels: per-cell feature channels.
        conv_layers: residual convolutions after the stem.
        kernel_size: their (odd) filter size.
        dilation_base: convolution ``i`` is dilated by ``dilation_base**i`` (1: no dilation, the
            network of checkpoints that predate this field; up to ``kernel_size``, the dilated
            stack leaves no cell within its reach unseen).
        global_hidden: width of the MLP over pooled features.
        goal_head: build the goal-belief head (the assistant; not the goal-visible builder).
        human_head: build the human-action head.
        belief_tied_actions: add the goal belief's log-probabilities to the PLACE/BREAK logits of
            the policy and human-action heads (module docstring; needs ``goal_head``). Off in
            checkpoints that predate it.
        owner_goal_prior: the goal logits' current-block one-hot gets one learnt scale per
            (who last placed or broke the cell, whether it is air) instead of one scale for all
            cells, so the belief can learn at once how far to trust a block the human placed (a
            goal-seeking human places goal blocks) apart from one the assistant placed or one no
            one touched; every scale starts at :data:`GOAL_PRIOR_SCALE`. Off in checkpoints that
            predate it.
    """

    hidden_channels: int = 32
    conv_layers: int = 2
    kernel_size: int = 3
    global_hidden: int = 128
    goal_head: bool = True
    human_head: bool = True
    dilation_base: int = 1
    belief_tied_actions: bool = False
    owner_goal_prior: bool = False

    def __post_init__(self) -> None:
        for name in ("hidden_channels", "kernel_size", "global_hidden", "dilation_base"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AZNetworkConfig.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.conv_layers, int) or self.conv_layers < 0:
            raise ValueError(f"AZNetworkConfig.conv_layers must be >= 0, got {self.conv_layers!r}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"AZNetworkConfig.kernel_size must be odd, got {self.kernel_size}")
        if self.belief_tied_actions and not self.goal_head:
            raise ValueError("AZNetworkConfig.belief_tied_actions needs the goal head (goal_head=True)")

    @property
    def dilations(self) -> tuple[int, ...]:
        """The dilation of each residual convolution."""
        return tuple(self.dilation_base**layer for layer in range(self.conv_layers))


def belief_logit_bonus(goal_logits: torch.Tensor, current: torch.Tensor, kinds: int) -> torch.Tensor:
    """The per-cell policy-logit bonus of ``belief_tied_actions``: ``(B, kinds, W, H, D)``.

    Kind ``k < NUM_PLACEABLE`` (PLACE block ``FIRST_PLACEABLE + k``) gets ``log p̂(θ_c = b)``, BREAK
    gets ``log(1 − p̂(θ_c = current block))`` (both floored at ``log 1e-6``), further kinds (GIVE)
    get 0. ``goal_logits`` ``(B, 10, W, H, D)``; ``current`` the one-hot of the current blocks.
    """
    log_belief = torch.log_softmax(goal_logits, dim=1)
    place = log_belief[:, FIRST_PLACEABLE : FIRST_PLACEABLE + NUM_PLACEABLE]
    keep_current = (log_belief.exp() * current).sum(dim=1, keepdim=True)
    break_ = torch.log(torch.clamp(1.0 - keep_current, min=1e-6))
    bonus = torch.cat([place.clamp(min=float(np.log(1e-6))), break_], dim=1)
    if kinds > bonus.shape[1]:
        bonus = torch.cat(
            [bonus, bonus.new_zeros(bonus.shape[0], kinds - bonus.shape[1], *bonus.shape[2:])], 1
        )
    return bonus


class NetworkOutput(NamedTuple):
    """Raw outputs of :class:`AssistanceZeroNetwork` (``None`` for heads it does not have)."""

    policy_logits: torch.Tensor
    """``(B, n_actions)`` unmasked, in env action order."""
    value: torch.Tensor
    """``(B,)``."""
    goal_logits: torch.Tensor | None
    """``(B, NUM_BLOCK_TYPES, W, H, D)``."""
    human_logits: torch.Tensor | None
    """``(B, n_actions)`` unmasked, in env action order."""


def _init(layer: nn.Module, std: float = float(np.sqrt(2))) -> nn.Module:
    nn.init.orthogonal_(layer.weight, std)  # type: ignore[arg-type]
    nn.init.zeros_(layer.bias)  # type: ignore[arg-type]
    return layer


class _SpatialHead(nn.Module):
    """Global logits from the pooled MLP state plus ``kinds`` per-cell logits (a 1×1×1 convolution
    over the cell features with the global context added, and the raw inputs)."""

    def __init__(self, hidden: int, global_hidden: int, in_channels: int, kinds: int, globals_: int) -> None:
        super().__init__()
        self.context = _init(nn.Linear(global_hidden, hidden))
        self.cells = _init(nn.Conv3d(hidden + in_channels, kinds, 1), std=0.01)
        self.globals = _init(nn.Linear(global_hidden, globals_), std=0.01) if globals_ else None

    def forward(
        self, cells: torch.Tensor, inputs: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        context = self.context(state)[:, :, None, None, None]
        cell_logits = self.cells(torch.cat([torch.relu(cells + context), inputs], dim=1))
        return (self.globals(state) if self.globals is not None else None), cell_logits


class AssistanceZeroNetwork(nn.Module):
    """Policy, value, goal-belief and human-action heads on one trunk (module docstring).

    Args:
        spec: the acting player's observation spec (:meth:`ObservationSpec.from_spaces`).
        config: sizes and heads.
    """

    def __init__(self, spec: ObservationSpec, config: AZNetworkConfig | None = None) -> None:
        super().__init__()
        config = config or AZNetworkConfig()
        self.spec = spec
        self.config = config
        in_channels = register_cell_encoding(self, spec)
        self.in_channels = in_channels
        hidden = config.hidden_channels
        self.stem = nn.Sequential(_init(nn.Conv3d(in_channels, hidden, 1)), nn.ReLU())
        radius = config.kernel_size // 2
        self.convolutions = nn.ModuleList(
            _init(nn.Conv3d(hidden, hidden, config.kernel_size, padding=radius * dilation, dilation=dilation))
            for dilation in config.dilations
        )
        self.global_mlp = nn.Sequential(_init(nn.Linear(2 * hidden + 1, config.global_hidden)), nn.ReLU())
        self.value_head = _init(nn.Linear(config.global_hidden, 1), std=1.0)
        kinds = spec.cell_action_kinds
        self.policy_head = _SpatialHead(hidden, config.global_hidden, in_channels, kinds, NUM_GLOBAL_ACTIONS)
        self.goal_head = (
            _SpatialHead(hidden, config.global_hidden, in_channels, NUM_BLOCK_TYPES, 0)
            if config.goal_head
            else None
        )
        self.goal_prior_scale = nn.Parameter(torch.tensor(GOAL_PRIOR_SCALE)) if config.goal_head else None
        owners = spec.channel_classes[LAST_INTERACTED_CHANNEL]
        self.owner_prior_scales = (
            nn.Parameter(torch.full((2, owners), GOAL_PRIOR_SCALE))
            if config.goal_head and config.owner_goal_prior
            else None
        )
        self.owner_offset = sum(spec.channel_classes[:LAST_INTERACTED_CHANNEL])
        """Where the last-interacted channel's one-hot starts among the encoded inputs."""
        tied = config.belief_tied_actions
        self.belief_policy_scale = nn.Parameter(torch.tensor(1.0)) if tied else None
        self.belief_human_scale = nn.Parameter(torch.tensor(1.0)) if tied and config.human_head else None
        self.human_head = (
            _SpatialHead(hidden, config.global_hidden, in_channels, kinds, NUM_GLOBAL_ACTIONS)
            if config.human_head
            else None
        )
        # Channels-last 3-D layout: on a CPU oneDNN's 3-D convolutions run ~1.6x faster in it (the
        # whole forward pass at batch 32: 32 -> 21 ms; a training step 1.15x), and the outputs are
        # the same up to float rounding. Loading a state dict keeps the layout (it copies into it).
        self.to(memory_format=torch.channels_last_3d)

    def _goal_prior_weight(self, one_hot: torch.Tensor) -> torch.Tensor:
        """The weight of the current block's one-hot in the goal logits: the single learnt scale, or
        with ``owner_goal_prior`` ``(B, 1, W, H, D)``, the scale of each cell's (air?, last owner)."""
        assert self.goal_prior_scale is not None
        if self.owner_prior_scales is None:
            return self.goal_prior_scale
        owners = one_hot[:, self.owner_offset : self.owner_offset + self.owner_prior_scales.shape[1]]
        is_air = one_hot[:, AIR : AIR + 1]
        scales = self.owner_prior_scales
        by_owner = torch.einsum("bowhd,o->bwhd", owners, scales[0]).unsqueeze(1)
        by_owner_air = torch.einsum("bowhd,o->bwhd", owners, scales[1]).unsqueeze(1)
        return by_owner + is_air * (by_owner_air - by_owner)

    def trunk(self, inputs: torch.Tensor) -> torch.Tensor:
        """Per-cell features ``(B, hidden_channels, W, H, D)`` of the encoded inputs
        ``(B, in_channels, W, H, D)`` (one-hot channels, coordinates, time fraction)."""
        cells = self.stem(inputs.contiguous(memory_format=torch.channels_last_3d))
        for convolution in self.convolutions:
            cells = cells + torch.relu(convolution(cells))
        return cells

    def forward(self, world: torch.Tensor, timestep: torch.Tensor) -> NetworkOutput:
        """All heads for ``world`` ``(B, C, W, H, D)`` uint8 and ``timestep`` ``(B,)``.

        Raises:
            ValueError: if ``world`` does not have the spec's shape.
        """
        if tuple(world.shape[1:]) != self.spec.world_shape:
            raise ValueError(f"world must have shape (B, {self.spec.world_shape}), got {tuple(world.shape)}")
        batch = world.shape[0]
        fraction = time_fraction(timestep, self.spec.horizon)
        one_hot = torch.eq(world[:, self.channel_of_class], self.classes).float()  # type: ignore[index, arg-type]
        time = fraction.view(batch, 1, 1, 1, 1).expand(-1, 1, *world.shape[2:])
        inputs = torch.cat([one_hot, self.coordinates.expand(batch, -1, -1, -1, -1), time], dim=1)  # type: ignore[operator]
        cells = self.trunk(inputs)
        pooled = torch.cat([cells.mean(dim=(2, 3, 4)), cells.amax(dim=(2, 3, 4)), fraction[:, None]], dim=1)
        state = self.global_mlp(pooled)
        global_logits, cell_logits = self.policy_head(cells, inputs, state)
        assert global_logits is not None
        goal_logits = None
        bonus = None  # the belief-tied logit bonus, shared by the policy and human-action heads
        if self.goal_head is not None and self.goal_prior_scale is not None:
            _, goal_cells = self.goal_head(cells, inputs, state)
            current = one_hot[:, :NUM_BLOCK_TYPES]  # channel 0 (blocks) comes first
            goal_logits = goal_cells + self._goal_prior_weight(one_hot) * current
            if self.belief_policy_scale is not None:
                bonus = belief_logit_bonus(goal_logits.detach(), current, cell_logits.shape[1])
                cell_logits = cell_logits + self.belief_policy_scale * bonus
        policy_logits = flatten_action_logits(global_logits, cell_logits)
        human_logits = None
        if self.human_head is not None:
            human_global, human_cells = self.human_head(cells, inputs, state)
            assert human_global is not None
            if self.belief_human_scale is not None and bonus is not None:
                human_cells = human_cells + self.belief_human_scale * bonus
            human_logits = flatten_action_logits(human_global, human_cells)
        return NetworkOutput(policy_logits, self.value_head(state).squeeze(1), goal_logits, human_logits)
