"""Dreamer's networks: the voxel encoder, the RSSM, the world model (decoder, mask, reward and
continue heads), the actor with its masked spatial head, the critic, and one training step."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from baselines.common.networks import (
    NUM_GLOBAL_ACTIONS,
    ObservationSpec,
    batch_timesteps,
    flatten_action_logits,
)
from baselines.dreamer.core import (
    DreamerConfig,
    ReturnScale,
    TwoHot,
    kl_losses,
    lambda_returns,
    masked_entropy,
    masked_unimix_log_probs,
    sample_categorical,
    straight_through_sample,
    symexp,
    symlog,
    unimix_probs,
)
from baselines.dreamer.decoded_mask import decoded_masks
from mbag_env.blocks import NUM_BLOCK_TYPES
from mbag_env.core.actions import FIRST_PLACE, NOOP
from mbag_env.core.state import NUM_PARAMS


# -------------------------------------------------------------------------------------- networks
def mlp(in_dim: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` × (Linear, LayerNorm, SiLU)."""
    modules: list[nn.Module] = []
    for index in range(layers):
        modules += [
            nn.Linear(in_dim if index == 0 else hidden, hidden, bias=False),
            nn.LayerNorm(hidden),
            nn.SiLU(),
        ]
    return nn.Sequential(*modules)


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of a ``(B, C, W, H, D)`` tensor."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised ``x``."""
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


def downsampled_shapes(shape: Sequence[int], stages: int) -> list[tuple[int, ...]]:
    """The spatial shapes after 0..stages stride-2, padding-1, 3×3×3 convolutions."""
    shapes = [tuple(shape)]
    for _ in range(stages):
        shapes.append(tuple((n + 1) // 2 for n in shapes[-1]))
    return shapes


def vector_input(inventory: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
    """The symlogged inventory and timestep ``(..., inventory + 1)``."""
    return symlog(torch.cat([inventory.float(), timestep.float().unsqueeze(-1)], -1))


class VoxelEncoder(nn.Module):
    """World ids -> a learned embedding per id of each channel -> stride-2 3-D convolutions, plus an
    MLP of the symlogged inventory and timestep.

    The embeddings are one ``classes_c × channel_embedding`` table per channel, applied to the
    channels' one-hot codes as a block-diagonal linear map. Embedding and first convolution are
    both linear, so they are applied as one convolution of the one-hot codes whose kernel is the
    product of the two weights: the same function and parameters as embedding lookups followed by
    the convolution, but no gradient with respect to the embedded grid is ever formed (several
    times cheaper on a CPU than the embeddings' scatter or a separate 1×1×1 convolution).
    """

    def __init__(self, spec: ObservationSpec, config: DreamerConfig) -> None:
        super().__init__()
        classes = torch.cat([torch.arange(k) for k in spec.channel_classes])
        channel_of_class = torch.cat([torch.full((k,), c) for c, k in enumerate(spec.channel_classes)])
        self.register_buffer("classes", classes.view(1, -1, 1, 1, 1).to(torch.uint8), persistent=False)
        self.register_buffer("channel_of_class", channel_of_class, persistent=False)
        width = config.channel_embedding * len(spec.channel_classes)
        block = torch.zeros(width, len(classes), 1, 1, 1)
        for c in range(len(spec.channel_classes)):
            block[
                c * config.channel_embedding : (c + 1) * config.channel_embedding, channel_of_class == c
            ] = 1
        self.register_buffer("block_diagonal", block, persistent=False)
        self.embedding = nn.Parameter(torch.randn(width, len(classes), 1, 1, 1))
        shapes = downsampled_shapes(spec.world_shape[1:], config.cnn_stages)
        self.first = nn.Conv3d(width, config.cnn_depth, 3, stride=2, padding=1)
        layers: list[nn.Module] = [ChannelNorm(config.cnn_depth), nn.SiLU()]
        channels = config.cnn_depth
        for stage in range(1, config.cnn_stages):
            out = config.cnn_depth * 2**stage
            layers += [nn.Conv3d(channels, out, 3, stride=2, padding=1), ChannelNorm(out), nn.SiLU()]
            channels = out
        self.convolutions = nn.Sequential(*layers)
        self.vector = mlp(spec.inventory_size + 1, config.hidden, 1)
        self.out_dim = channels * int(np.prod(shapes[-1])) + config.hidden

    def forward(self, world: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        """Embeddings ``(N, out_dim)`` of ``world`` ``(N, C, W, H, D)`` and ``vector`` ``(N, inv + 1)``."""
        one_hot = (world[:, self.channel_of_class] == self.classes).float()  # type: ignore[index]
        embedding = (self.embedding * self.block_diagonal)[:, :, 0, 0, 0]  # type: ignore[operator]
        # conv(embed(x)) = conv with the kernel W[o, e, ...] · E[e, k] over the one-hot classes k.
        kernel = torch.einsum("oexyz,ek->okxyz", self.first.weight, embedding)
        grid = F.conv3d(one_hot, kernel, self.first.bias, stride=2, padding=1)
        return torch.cat([self.convolutions(grid).flatten(1), self.vector(vector)], -1)


class GridHead(nn.Module, ABC):
    """Base of the heads from latent features ``(N, in_dim)`` to per-cell outputs
    ``(N, cell_outputs, W, H, D)`` and global outputs ``(N, global_outputs)``: a subclass builds, in
    :meth:`build_grid`, the layers with which :meth:`grid` lays the features out as ``cnn_depth``
    channels over the world; this class adds a 1×1×1 convolution from them to ``cell_outputs``, and
    an MLP to ``global_outputs`` (none for 0: the global outputs are then ``(N, 0)``)."""

    def __init__(
        self,
        in_dim: int,
        spec: ObservationSpec,
        config: DreamerConfig,
        cell_outputs: int,
        global_outputs: int,
    ) -> None:
        super().__init__()
        self.build_grid(in_dim, spec, config)
        self.cell_out = nn.Conv3d(config.cnn_depth, cell_outputs, 1)
        self.global_out = (
            nn.Sequential(
                mlp(in_dim, config.hidden, config.mlp_layers), nn.Linear(config.hidden, global_outputs)
            )
            if global_outputs
            else None
        )

    @abstractmethod
    def build_grid(self, in_dim: int, spec: ObservationSpec, config: DreamerConfig) -> None:
        """Build the layers of :meth:`grid`."""

    @abstractmethod
    def grid(self, features: torch.Tensor) -> torch.Tensor:
        """The features as ``(N, cnn_depth, W, H, D)``."""

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cell outputs (N, cell_outputs, W, H, D), global outputs (N, global_outputs))``."""
        global_outputs = (
            features.new_zeros(len(features), 0) if self.global_out is None else self.global_out(features)
        )
        return self.cell_out(self.grid(features)), global_outputs


class SpatialHead(GridHead):
    """A :class:`GridHead` whose grid comes from transposed convolutions mirroring
    :class:`VoxelEncoder` (the decoder's)."""

    def build_grid(self, in_dim: int, spec: ObservationSpec, config: DreamerConfig) -> None:
        """A linear layer to the encoder's last grid and ``cnn_stages`` transposed convolutions."""
        shapes = downsampled_shapes(spec.world_shape[1:], config.cnn_stages)
        channels = [config.cnn_depth * 2 ** max(stage - 1, 0) for stage in range(config.cnn_stages + 1)]
        self.start = (channels[-1], *shapes[-1])
        self.project = nn.Linear(in_dim, int(np.prod(self.start)))
        layers: list[nn.Module] = []
        for stage in range(config.cnn_stages, 0, -1):
            padding = tuple(
                big - (2 * small - 1) for big, small in zip(shapes[stage - 1], shapes[stage], strict=True)
            )
            layers += [
                nn.ConvTranspose3d(
                    channels[stage], channels[stage - 1], 3, stride=2, padding=1, output_padding=padding
                ),
                ChannelNorm(channels[stage - 1]),
                nn.SiLU(),
            ]
        self.upsample = nn.Sequential(*layers)

    def grid(self, features: torch.Tensor) -> torch.Tensor:
        """The transposed convolutions of the projected features."""
        return self.upsample(self.project(features).view(-1, *self.start))


class RSSM(nn.Module):
    """Recurrent state-space model: ``h_t = GRU(h_{t−1}, z_{t−1}, a_{t−1})``, prior ``p(z_t | h_t)``,
    posterior ``q(z_t | h_t, x_t)``; ``stoch`` categoricals of ``classes`` classes."""

    def __init__(self, spec: ObservationSpec, embed_dim: int, config: DreamerConfig) -> None:
        super().__init__()
        self.config = config
        self.num_cells, self.kinds = spec.num_cells, spec.cell_action_kinds
        self.stoch_dim = config.stoch * config.classes
        self.action_kind = nn.Embedding(
            NUM_GLOBAL_ACTIONS + self.kinds + 1, config.hidden, padding_idx=NUM_GLOBAL_ACTIONS + self.kinds
        )
        self.action_cell = nn.Embedding(self.num_cells + 1, config.hidden, padding_idx=self.num_cells)
        self.latent_in = nn.Linear(self.stoch_dim, config.hidden, bias=False)
        self.input_norm = nn.LayerNorm(config.hidden)
        self.gru = nn.Linear(config.hidden + config.deter, 3 * config.deter, bias=False)
        self.gru_norm = nn.LayerNorm(3 * config.deter)
        self.prior = nn.Sequential(
            mlp(config.deter, config.hidden, 1), nn.Linear(config.hidden, self.stoch_dim)
        )
        self.posterior = nn.Sequential(
            mlp(config.deter + embed_dim, config.hidden, 1), nn.Linear(config.hidden, self.stoch_dim)
        )

    def action_embedding(self, action: torch.Tensor) -> torch.Tensor:
        """Kind embedding + cell embedding of flat env actions ``(N,)``; ``−1`` (no action) gives 0."""
        cell_action = action >= NUM_GLOBAL_ACTIONS
        offset = (action - NUM_GLOBAL_ACTIONS).clamp_min(0)
        kind = torch.where(cell_action, NUM_GLOBAL_ACTIONS + offset // self.num_cells, action)
        kind = torch.where(action < 0, NUM_GLOBAL_ACTIONS + self.kinds, kind)
        cell = torch.where(cell_action, offset % self.num_cells, self.num_cells)
        return self.action_kind(kind) + self.action_cell(cell)

    def initial(self, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero ``(h, z)``."""
        return torch.zeros(batch, self.config.deter, device=device), torch.zeros(
            batch, self.stoch_dim, device=device
        )

    def img_step(
        self, h: torch.Tensor, z: torch.Tensor, action: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the dynamics: the next ``h`` and the prior logits ``(N, stoch, classes)``."""
        x = F.silu(self.input_norm(self.latent_in(z) + self.action_embedding(action)))
        reset, candidate, update = self.gru_norm(self.gru(torch.cat([x, h], -1))).chunk(3, -1)
        reset, update = torch.sigmoid(reset), torch.sigmoid(update - 1)
        h = update * torch.tanh(reset * candidate) + (1 - update) * h
        return h, self.prior(h).view(-1, self.config.stoch, self.config.classes)

    def sample(self, logits: torch.Tensor) -> torch.Tensor:
        """A straight-through sample ``(N, stoch * classes)`` with unimix."""
        return straight_through_sample(unimix_probs(logits, self.config.unimix)).flatten(1)

    def observe(
        self, embed: torch.Tensor, actions: torch.Tensor, is_first: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Filter a batch of sequences ``(B, T, ...)``; ``actions[:, t]`` is the action taken *from*
        observation ``t`` (so the step into ``t`` uses ``actions[:, t − 1]``); ``is_first`` resets
        the state to zeros and drops the previous action.

        Returns ``h``, ``z`` (posterior samples), ``posterior`` and ``prior`` logits, all ``(B, T, ...)``.
        """
        batch, length = actions.shape
        h, z = self.initial(batch, embed.device)
        previous = previous_actions(actions, is_first)
        outputs: dict[str, list[torch.Tensor]] = {"h": [], "z": [], "posterior": [], "prior": []}
        for t in range(length):
            keep = (~is_first[:, t]).float().unsqueeze(-1)
            h, prior = self.img_step(h * keep, z * keep, previous[:, t])
            posterior = self.posterior(torch.cat([h, embed[:, t]], -1)).view_as(prior)
            z = self.sample(posterior)
            for key, value in (("h", h), ("z", z), ("posterior", posterior), ("prior", prior)):
                outputs[key].append(value)
        return {key: torch.stack(value, 1) for key, value in outputs.items()}


def previous_actions(actions: torch.Tensor, is_first: torch.Tensor) -> torch.Tensor:
    """``a_{t−1}`` for each step of ``(B, T)`` sequences: −1 at ``t = 0`` and wherever ``is_first``."""
    previous = torch.cat([torch.full_like(actions[:, :1], -1), actions[:, :-1]], 1)
    return torch.where(is_first, torch.full_like(previous, -1), previous)


class WorldModel(nn.Module):
    """Encoder, RSSM, decoder (world ids and vector), reward and continue heads; a mask head when
    the imagination mask is ``learned``/``sampled``, and the privileged goal head when asked for."""

    def __init__(self, spec: ObservationSpec, config: DreamerConfig) -> None:
        super().__init__()
        self.spec, self.config = spec, config
        self.encoder = VoxelEncoder(spec, config)
        self.rssm = RSSM(spec, self.encoder.out_dim, config)
        self.feature_dim = config.deter + config.stoch * config.classes
        self.classes = list(spec.channel_classes)
        self.decoder = SpatialHead(self.feature_dim, spec, config, sum(self.classes), spec.inventory_size + 1)
        self.mask_head = (
            CellHead(self.feature_dim, spec, config, spec.cell_action_kinds, NUM_GLOBAL_ACTIONS)
            if config.imagination_mask in ("learned", "sampled")
            else None
        )
        self.goal_head = (
            CellHead(self.feature_dim, spec, config, NUM_BLOCK_TYPES, 0) if config.goal_head else None
        )
        self.reward = nn.Sequential(
            mlp(self.feature_dim, config.hidden, config.mlp_layers), nn.Linear(config.hidden, 255)
        )
        self.cont = nn.Sequential(
            mlp(self.feature_dim, config.hidden, config.mlp_layers), nn.Linear(config.hidden, 1)
        )
        for layer in (self.reward[-1],):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.two_hot = TwoHot()

    def decode(self, features: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Per-channel cell logits ``[(N, classes_c, W, H, D)]`` and the symlogged vector prediction
        ``(N, inventory + 1)``."""
        cells, vector = self.decoder(features)
        return list(cells.split(self.classes, 1)), vector

    def mask_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_actions)`` of each action being valid (env order), from the mask head."""
        if self.mask_head is None:
            raise ValueError("this world model has no mask head (imagination_mask is not learned/sampled)")
        cells, global_logits = self.mask_head(features)
        return flatten_action_logits(global_logits, cells)

    def predicted_mask(self, features: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """The mask head's valid actions: ``p > 0.5``, or with ``sample`` each action valid with its
        predicted probability ``p`` (a Bernoulli draw); NOOP always valid."""
        logits = self.mask_logits(features)
        mask = torch.bernoulli(torch.sigmoid(logits)).bool() if sample else logits > 0
        mask[:, NOOP] = True
        return mask

    def loss(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, float]]:
        """The world-model loss on a replay batch ``(B, T, ...)``; also the posterior states."""
        config, (batch_size, length) = self.config, batch["action"].shape
        world = batch["world"].flatten(0, 1)
        vector = vector_input(batch["inventory"], batch["timestep"]).flatten(0, 1)
        embed = self.encoder(world, vector).view(batch_size, length, -1)
        states = self.rssm.observe(embed, batch["action"], batch["is_first"])
        features = torch.cat([states["h"], states["z"]], -1).flatten(0, 1)
        world_logits, vector_prediction = self.decode(features)
        decoder = sum(
            F.cross_entropy(logits, world[:, c].long(), reduction="none").sum((1, 2, 3))
            for c, logits in enumerate(world_logits)
        )
        vector_loss = ((vector_prediction - vector) ** 2).sum(-1)
        zero = torch.zeros_like(vector_loss)
        mask_loss, goal_loss = zero, zero
        if self.mask_head is not None:
            mask_loss = F.binary_cross_entropy_with_logits(
                self.mask_logits(features), batch["mask"].flatten(0, 1).float(), reduction="none"
            ).sum(-1)
        if self.goal_head is not None:
            goal_logits, _ = self.goal_head(features)
            goal_loss = F.cross_entropy(
                goal_logits, batch["goal"].flatten(0, 1).long(), reduction="none"
            ).sum((1, 2, 3))
        reward_loss = self.two_hot.loss(self.reward(features), batch["reward"].flatten())
        cont_loss = F.binary_cross_entropy_with_logits(
            self.cont(features).squeeze(-1), 1.0 - batch["terminal"].flatten().float(), reduction="none"
        )
        dyn, rep, kl = kl_losses(states["posterior"], states["prior"], config.unimix, config.free_nats)
        dyn_scale, rep_scale = config.kl_dyn_rep
        prediction = decoder + vector_loss + mask_loss + goal_loss + reward_loss + cont_loss  # type: ignore[operator]
        total = (
            (config.prediction_scale * prediction).mean() + dyn_scale * dyn.mean() + rep_scale * rep.mean()
        )
        stats = {
            "model/decoder": decoder.mean().item(),
            "model/mask": mask_loss.mean().item(),
            "model/goal": goal_loss.mean().item(),
            "model/reward": reward_loss.mean().item(),
            "model/continue": cont_loss.mean().item(),
            "model/vector": vector_loss.mean().item(),
            "model/kl": kl.mean().item(),
            "model/total": total.item(),
        }
        return total, {"h": states["h"].detach(), "z": states["z"].detach()}, stats


class CellHead(GridHead):
    """A light :class:`GridHead`: latent features -> a coarse ``(F, w, h, d)`` grid (one linear layer),
    nearest-neighbour upsampled to the world, plus a learned per-cell embedding, LayerNorm and SiLU.
    Used for the actor and the mask head, which run at every imagination step (transposed
    convolutions there cost several times more on a CPU)."""

    def build_grid(self, in_dim: int, spec: ObservationSpec, config: DreamerConfig) -> None:
        """The linear layer to the coarse grid, the per-cell embedding and the LayerNorm."""
        self.world = tuple(spec.world_shape[1:])
        self.start = (config.cnn_depth, *downsampled_shapes(self.world, 1)[-1])
        self.project = nn.Linear(in_dim, int(np.prod(self.start)))
        self.position = nn.Parameter(torch.zeros(1, config.cnn_depth, *self.world))
        self.norm = ChannelNorm(config.cnn_depth)

    def grid(self, features: torch.Tensor) -> torch.Tensor:
        """The upsampled coarse grid plus the per-cell embedding, normalised."""
        coarse = self.project(features).view(-1, *self.start)
        cells = F.interpolate(coarse, size=self.world, mode="nearest") + self.position
        return F.silu(self.norm(cells))


class Actor(nn.Module):
    """The masked spatial action head on latent features: 7 global + per-cell logits (env order)."""

    def __init__(self, feature_dim: int, spec: ObservationSpec, config: DreamerConfig) -> None:
        super().__init__()
        self.head = CellHead(feature_dim, spec, config, spec.cell_action_kinds, NUM_GLOBAL_ACTIONS)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Unmasked logits ``(N, n_actions)``."""
        cells, global_logits = self.head(features)
        return flatten_action_logits(global_logits, cells)


def critic_network(feature_dim: int, config: DreamerConfig) -> nn.Sequential:
    """An MLP to 255 two-hot bins with a zero-initialised output layer."""
    network = nn.Sequential(mlp(feature_dim, config.hidden, config.mlp_layers), nn.Linear(config.hidden, 255))
    nn.init.zeros_(network[-1].weight)
    nn.init.zeros_(network[-1].bias)
    return network


class DreamerAgent(nn.Module):
    """World model, actor, critic and slow critic, with their optimisers and one training step."""

    def __init__(self, spec: ObservationSpec, config: DreamerConfig) -> None:
        super().__init__()
        self.spec, self.config = spec, config
        self.world_model = WorldModel(spec, config)
        feature_dim = self.world_model.feature_dim
        self.actor = Actor(feature_dim, spec, config)
        self.critic = critic_network(feature_dim, config)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.model_optimizer = torch.optim.Adam(
            self.world_model.parameters(), config.model_lr, eps=config.model_eps
        )
        self.actor_optimizer = torch.optim.Adam(
            self.actor.parameters(), config.actor_critic_lr, eps=config.actor_critic_eps
        )
        self.critic_optimizer = torch.optim.Adam(
            self.critic.parameters(), config.actor_critic_lr, eps=config.actor_critic_eps
        )
        self.return_scale = ReturnScale(config.return_scale_decay)
        # The env's rules, for the decoded-world imagination mask (saved with the weights).
        self.register_buffer("rule_params", torch.zeros(NUM_PARAMS, dtype=torch.int64))
        self.register_buffer("viewer", torch.zeros((), dtype=torch.int64))

    def set_rules(self, params: np.ndarray, viewer: int) -> None:
        """Store the env's static ``params`` vector and the agent's player index (the decoded-world
        mask applies the env's rules with them)."""
        self.rule_params.copy_(torch.as_tensor(np.asarray(params, np.int64)))  # type: ignore[operator]
        self.viewer.fill_(int(viewer))  # type: ignore[operator]

    def imagined_mask(self, features: torch.Tensor) -> torch.Tensor:
        """The valid actions ``(N, n_actions)`` of imagined states under ``config.imagination_mask``."""
        mode, model = self.config.imagination_mask, self.world_model
        if mode == "none":
            return torch.ones(len(features), self.spec.n_actions, dtype=torch.bool, device=features.device)
        if mode in ("learned", "sampled"):
            return model.predicted_mask(features, mode == "sampled")
        world_logits, vector = model.decode(features)
        inventory = symexp(vector[:, : self.spec.inventory_size])
        params = self.rule_params.cpu().numpy()  # type: ignore[operator]
        return decoded_masks(world_logits, inventory, params, int(self.viewer), self.spec.n_actions)

    def optimizer_state(self) -> dict[str, Any]:
        """The three optimisers' states and the return scale."""
        return {
            "model": self.model_optimizer.state_dict(),
            "actor": self.actor_optimizer.state_dict(),
            "critic": self.critic_optimizer.state_dict(),
            "return_scale": self.return_scale.value,
        }

    def load_optimizer_state(self, state: Mapping[str, Any]) -> None:
        """Inverse of :meth:`optimizer_state`."""
        self.model_optimizer.load_state_dict(state["model"])
        self.actor_optimizer.load_state_dict(state["actor"])
        self.critic_optimizer.load_state_dict(state["critic"])
        self.return_scale.value = float(state["return_scale"])

    def policy_logits(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of the actor under ``mask`` (masked, then unimix over valid actions)."""
        return masked_unimix_log_probs(self.actor(features), mask, self.config.unimix)

    def train_step(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """One world-model update on ``batch`` and one actor-critic update in imagination."""
        config = self.config
        loss, states, stats = self.world_model.loss(batch)
        self.model_optimizer.zero_grad()
        loss.backward()
        stats["model/grad_norm"] = float(
            nn.utils.clip_grad_norm_(self.world_model.parameters(), config.model_clip)
        )
        self.model_optimizer.step()

        # ---- imagination from the posterior states (no gradient into the world model: REINFORCE)
        h, z = states["h"].flatten(0, 1), states["z"].flatten(0, 1)
        start_mask = batch["mask"].flatten(0, 1)
        start_continue = 1.0 - batch["terminal"].flatten().float()
        if config.imagination_starts and config.imagination_starts < len(h):
            pick = torch.randperm(len(h), device=h.device)[: config.imagination_starts]
            h, z, start_mask, start_continue = h[pick], z[pick], start_mask[pick], start_continue[pick]
        model = self.world_model
        features, masks, actions = [torch.cat([h, z], -1)], [start_mask], []
        with torch.no_grad():
            for step in range(config.imagination_horizon):
                log_probs = self.policy_logits(features[-1], masks[-1])
                action = sample_categorical(log_probs.exp())
                h, prior = model.rssm.img_step(h, z, action)
                z = model.rssm.sample(prior)
                features.append(torch.cat([h, z], -1))
                actions.append(action)
                if step + 1 < config.imagination_horizon:  # no action is taken from the last state
                    masks.append(self.imagined_mask(features[-1]))
            trajectory = torch.stack(features)  # (H + 1, N, F)
            rewards = model.two_hot.mean(model.reward(trajectory[1:]))
            continues = torch.cat(
                [start_continue[None], torch.sigmoid(model.cont(trajectory[1:]).squeeze(-1))]
            )
            values = model.two_hot.mean(self.critic(trajectory))
            returns = lambda_returns(rewards, continues[1:], values, config.gamma, config.lambda_)
            # Weight of state t: the probability that the imagined episode is still running there.
            weights = torch.cumprod(torch.cat([continues[:1], config.gamma * continues[1:-1]]), 0)
            scale = self.return_scale.update(returns)
            advantages = (returns - values[:-1]) / scale
            slow_values = model.two_hot.mean(self.slow_critic(trajectory[:-1]))

        states_t = trajectory[:-1].flatten(0, 1)
        mask_t = torch.stack(masks).flatten(0, 1)
        log_probs = self.policy_logits(states_t, mask_t)
        chosen = log_probs.gather(1, torch.stack(actions).flatten()[:, None]).squeeze(1)
        entropy = masked_entropy(log_probs, mask_t)
        flat_weights = weights.flatten()
        actor_loss = -(flat_weights * (chosen * advantages.flatten() + config.actor_entropy * entropy)).mean()
        critic_logits = self.critic(states_t)
        critic_loss = (
            flat_weights
            * (
                model.two_hot.loss(critic_logits, returns.flatten())
                + config.slow_critic_weight * model.two_hot.loss(critic_logits, slow_values.flatten())
            )
        ).mean()
        self.actor_optimizer.zero_grad()
        self.critic_optimizer.zero_grad()
        (actor_loss + critic_loss).backward()
        nn.utils.clip_grad_norm_(self.actor.parameters(), config.actor_critic_clip)
        nn.utils.clip_grad_norm_(self.critic.parameters(), config.actor_critic_clip)
        self.actor_optimizer.step()
        self.critic_optimizer.step()
        with torch.no_grad():
            for slow, fast in zip(self.slow_critic.parameters(), self.critic.parameters(), strict=True):
                slow.lerp_(fast, config.slow_critic_rate)
        imagined = torch.stack(actions)
        stats.update(
            {
                "actor/loss": actor_loss.item(),
                "actor/entropy": entropy.mean().item(),
                "actor/return_scale": scale,
                "actor/imagined_return": returns[0].mean().item(),
                "actor/imagined_reward": rewards.mean().item(),
                "critic/loss": critic_loss.item(),
                "critic/value": values.mean().item(),
                "actor/imagined_place_break": (imagined >= FIRST_PLACE).float().mean().item(),
                "actor/imagined_valid": torch.stack(masks[1:]).sum(-1).float().mean().item()
                if len(masks) > 1
                else float("nan"),
            }
        )
        return stats

    def initial_state(
        self, batch: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The acting state :meth:`act` starts from: zero ``h`` and ``z``, no previous action (−1)."""
        h, z = self.world_model.rssm.initial(batch, device)
        return h, z, torch.full((batch,), -1, device=device)

    @torch.no_grad()
    def act(
        self,
        observation: Mapping[str, torch.Tensor],
        state: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, tuple]:
        """Filter one batched observation and choose actions (never a masked one).

        ``state`` is ``(h, z, previous action)``; rows whose ``timestep`` is 0 start a new episode.
        """
        h, z, previous = state
        first = observation["timestep"] == 0
        keep = (~first).float().unsqueeze(-1)
        previous = torch.where(first, torch.full_like(previous, -1), previous)
        model = self.world_model
        embed = model.encoder(
            observation["world"], vector_input(observation["inventory"], observation["timestep"])
        )
        h, prior = model.rssm.img_step(h * keep, z * keep, previous)
        z = model.rssm.sample(model.rssm.posterior(torch.cat([h, embed], -1)).view_as(prior))
        log_probs = self.policy_logits(torch.cat([h, z], -1), observation["action_mask"].bool())
        if deterministic:
            action = log_probs.argmax(-1)
        else:
            action = sample_categorical(log_probs.exp(), generator)
        return action, (h, z, action)


def observation_tensors(
    observation: Mapping[str, np.ndarray], device: torch.device
) -> dict[str, torch.Tensor]:
    """A vector env's observation as tensors (world uint8, mask bool, inventory float, timestep
    ``(N,)`` long: :func:`~baselines.common.networks.batch_timesteps`)."""
    world = np.asarray(observation["world"])
    timestep = batch_timesteps(observation["timestep"], len(world))
    return {
        "world": torch.as_tensor(world, device=device),
        "inventory": torch.as_tensor(
            np.asarray(observation["inventory"]), device=device, dtype=torch.float32
        ),
        "timestep": torch.as_tensor(timestep, device=device, dtype=torch.long),
        "action_mask": torch.as_tensor(
            np.asarray(observation["action_mask"]), device=device, dtype=torch.bool
        ),
    }
