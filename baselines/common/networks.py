"""The actor-critic network for MBAG: a 3-D convolutional world encoder and a spatial action head.

The observation's ``world`` is a ``(C, W, H, D)`` uint8 array whose channels hold small integer
ids (blocks 0..9, players 0..P, last interacted 0..P, goal 0..9). The encoder one-hot encodes each
channel, adds three coordinate channels and the episode's time fraction, and runs a stack of
same-padding 3-D convolutions, so every cell keeps its own feature vector.

The action head mirrors the env's flat action layout (:mod:`mbag_env.core.actions`):

* 7 *global* logits (NOOP and the six moves) come from pooled features;
* ``K`` *per-cell* logits (8 PLACE types, BREAK, and 8 GIVE types with finite blocks) come from a
  1×1×1 convolution over the cell features;

and :func:`flatten_action_logits` lays them out exactly as the env numbers its actions:
``[global 7 | kind 0 cells | kind 1 cells | ...]`` with cells in C order over (x, y, z).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from mbag_env.core.actions import FIRST_PLACE

NUM_GLOBAL_ACTIONS = FIRST_PLACE
"""NOOP plus the six moves: the actions that do not name a cell (env indices 0..6; the cell
actions start at :data:`mbag_env.core.actions.FIRST_PLACE`)."""

INVENTORY_SCALE = float(np.log1p(1_000_000))
"""``log1p`` of the infinite-blocks inventory count, so inventory features lie in [0, 1]."""


@dataclass(frozen=True)
class ObservationSpec:
    """What the network needs to know about an env's observations and actions.

    Attributes:
        world_shape: ``(C, W, H, D)`` of the ``world`` observation.
        channel_classes: number of one-hot classes of each world channel (max id + 1).
        inventory_size: length of the ``inventory`` vector.
        horizon: the episode horizon (to scale ``timestep`` into [0, 1]).
        n_actions: size of the flat discrete action space.
    """

    world_shape: tuple[int, int, int, int]
    channel_classes: tuple[int, ...]
    inventory_size: int
    horizon: int
    n_actions: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "world_shape", tuple(int(s) for s in self.world_shape))
        object.__setattr__(self, "channel_classes", tuple(int(c) for c in self.channel_classes))
        if len(self.world_shape) != 4:
            raise ValueError(f"world_shape must be (C, W, H, D), got {self.world_shape}")
        if len(self.channel_classes) != self.world_shape[0]:
            raise ValueError(
                f"channel_classes has {len(self.channel_classes)} entries but the world has "
                f"{self.world_shape[0]} channels"
            )
        extra = self.n_actions - NUM_GLOBAL_ACTIONS
        if extra <= 0 or extra % self.num_cells != 0:
            raise ValueError(
                f"n_actions={self.n_actions} is not {NUM_GLOBAL_ACTIONS} + K * V for "
                f"V={self.num_cells} cells; is this an mbag_env action space?"
            )

    @property
    def num_cells(self) -> int:
        """``V = W * H * D``."""
        _, width, height, depth = self.world_shape
        return width * height * depth

    @property
    def cell_action_kinds(self) -> int:
        """``K``: per-cell action kinds (9 = 8 PLACE types + BREAK, 17 with GIVE)."""
        return (self.n_actions - NUM_GLOBAL_ACTIONS) // self.num_cells

    @classmethod
    def from_spaces(cls, observation_space: spaces.Dict, action_space: spaces.Discrete) -> ObservationSpec:
        """Read the spec from one env's (unbatched) observation and action spaces.

        Raises:
            ValueError: if the spaces are not shaped like an mbag_env player's spaces.
        """
        if not isinstance(observation_space, spaces.Dict) or "world" not in observation_space.spaces:
            raise ValueError(
                f"expected a Dict observation space with a 'world' entry, got {observation_space}"
            )
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"expected a Discrete action space, got {action_space}")
        world = observation_space["world"]
        high = np.asarray(world.high).reshape(world.shape[0], -1).max(axis=1)
        timestep_high = int(np.asarray(observation_space["timestep"].high).max())
        return cls(
            world_shape=tuple(world.shape),  # type: ignore[arg-type]
            channel_classes=tuple(int(h) + 1 for h in high),
            inventory_size=int(observation_space["inventory"].shape[0]),
            horizon=max(timestep_high, 1),
            n_actions=int(action_space.n),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form for checkpoints."""
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObservationSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the actor-critic network.

    Attributes:
        hidden_channels: feature channels of the per-cell features.
        conv_layers: number of residual 3×3×3 convolutions after the 1×1×1 stem (the receptive
            field is ``2 * conv_layers + 1`` cells; 3×3×3 convolutions dominate the CPU cost).
        global_hidden: width of the MLP over pooled features (global logits and value).
    """

    hidden_channels: int = 32
    conv_layers: int = 2
    global_hidden: int = 128

    def __post_init__(self) -> None:
        for name in ("hidden_channels", "conv_layers", "global_hidden"):
            value = getattr(self, name)
            low = 0 if name == "conv_layers" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"NetworkConfig.{name} must be an integer >= {low}, got {value!r}")


NetworkT = TypeVar("NetworkT", bound=nn.Module)


def network_from_payload(
    payload: Mapping[str, Any],
    network_type: Callable[..., NetworkT],
    *sizes: int,
    config_type: Callable[..., Any] = NetworkConfig,
) -> NetworkT:
    """The network a loaded checkpoint stores: ``network_type(spec, *sizes, config)`` with the
    checkpoint's observation spec and ``config_type`` sizes, its weights loaded."""
    spec = ObservationSpec.from_dict(dict(payload["observation_spec"]))
    network = network_type(spec, *sizes, config_type(**dict(payload["network_config"])))
    network.load_state_dict(payload["model"])
    return network


def batch_timesteps(timestep: Any, batch_size: int) -> np.ndarray:
    """The ``(B,)`` timesteps of a batch of ``batch_size`` observations, as the networks take them.

    The env observes a world's timestep as a ``(1,)`` array, so a vector env's batch is ``(B, 1)``.
    A batch of the older 0-d observations, ``(B,)``, is accepted as it is, so recordings and
    callers from before the change act exactly as before (and the shipped checkpoints, which were
    trained on ``(B,)`` inputs, see the same numbers).

    Raises:
        ValueError: if ``timestep`` does not hold exactly one value per observation.
    """
    timesteps = np.asarray(timestep)
    if timesteps.size != batch_size or timesteps.ndim > 2:
        raise ValueError(
            f"timestep must hold one value per observation, (B, 1) or (B,) with B={batch_size}, "
            f"got shape {timesteps.shape}"
        )
    return timesteps.reshape(batch_size)


def time_fraction(timestep: torch.Tensor, horizon: int) -> torch.Tensor:
    """``timestep / horizon`` as float, clamped to 1: a policy trained on shorter episodes than it
    is run in (AssistanceZero's ``cpu-2h`` preset ends training episodes at step 30; the
    leaderboard's run to 200) keeps acting as at its last training step, never on a time input it
    never saw."""
    return torch.clamp(timestep.float() / float(horizon), max=1.0)


def observation_to_tensors(
    observation: dict[str, np.ndarray], device: torch.device | str
) -> dict[str, torch.Tensor]:
    """Batched numpy observations (leading env axis) as torch tensors on ``device``.

    ``world`` stays uint8 (the network one-hot encodes it); ``action_mask`` stays bool; the rest
    become float32, with ``timestep`` ``(B,)`` (:func:`batch_timesteps`).
    """
    world = np.asarray(observation["world"])
    tensors = {
        "world": torch.as_tensor(world, device=device),
        "inventory": torch.as_tensor(
            np.asarray(observation["inventory"]), device=device, dtype=torch.float32
        ),
        "timestep": torch.as_tensor(
            batch_timesteps(observation["timestep"], len(world)), device=device, dtype=torch.float32
        ),
    }
    if "action_mask" in observation:
        tensors["action_mask"] = torch.as_tensor(np.asarray(observation["action_mask"]), device=device)
    return tensors


def flatten_action_logits(global_logits: torch.Tensor, cell_logits: torch.Tensor) -> torch.Tensor:
    """Lay out action logits in the env's action index order.

    Args:
        global_logits: ``(B, 7)`` logits of NOOP and MOVE +x, -x, +y, -y, +z, -z.
        cell_logits: ``(B, K, W, H, D)`` logits of per-cell action kind ``k`` (PLACE type 0..7,
            BREAK, then GIVE types) at cell ``(x, y, z)``.

    Returns:
        ``(B, 7 + K * W * H * D)`` logits where index ``7 + k * V + cell`` (cell in C order over
        x, y, z) is ``cell_logits[:, k, x, y, z]``: the env's numbering of PLACE/BREAK/GIVE.
    """
    if global_logits.shape[-1] != NUM_GLOBAL_ACTIONS:
        raise ValueError(f"global_logits must have {NUM_GLOBAL_ACTIONS} entries, got {global_logits.shape}")
    if cell_logits.dim() != 5 or cell_logits.shape[0] != global_logits.shape[0]:
        raise ValueError(
            f"cell_logits must be (B, K, W, H, D) with B={global_logits.shape[0]}, "
            f"got {tuple(cell_logits.shape)}"
        )
    # A contiguous (B, K, W, H, D) tensor flattens to k-major, then x, y, z in C order.
    return torch.cat([global_logits, cell_logits.reshape(cell_logits.shape[0], -1)], dim=1)


def layer_init(layer: nn.Module, std: float = float(np.sqrt(2)), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights and constant bias, as in CleanRL."""
    nn.init.orthogonal_(layer.weight, std)  # type: ignore[arg-type]
    nn.init.constant_(layer.bias, bias)  # type: ignore[arg-type]
    return layer


def register_cell_encoding(module: nn.Module, spec: ObservationSpec) -> int:
    """Register on ``module`` the constant buffers (not saved in checkpoints) of the per-cell input
    encoding: ``classes`` and ``channel_of_class`` (each one-hot input's class id and observed
    channel) and ``coordinates`` (x/y/z in [-1, 1], ``(1, 3, W, H, D)``).

    Returns:
        The number of per-cell input channels: the one-hot classes, the three coordinates and the
        time fraction.
    """
    _, width, height, depth = spec.world_shape
    classes = torch.cat([torch.arange(k) for k in spec.channel_classes])
    channel_of_class = torch.cat(
        [torch.full((k,), c, dtype=torch.long) for c, k in enumerate(spec.channel_classes)]
    )
    module.register_buffer("classes", classes.view(1, -1, 1, 1, 1).to(torch.uint8), persistent=False)
    module.register_buffer("channel_of_class", channel_of_class, persistent=False)
    axes = [torch.linspace(-1.0, 1.0, n) if n > 1 else torch.zeros(1) for n in (width, height, depth)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))
    module.register_buffer("coordinates", grid.unsqueeze(0), persistent=False)
    return int(classes.numel()) + 3 + 1


class WorldEncoder(nn.Module):
    """One-hot world channels + coordinates + time fraction -> per-cell features ``(B, F, W, H, D)``.

    Args:
        spec: the env's observation spec.
        config: network sizes.
    """

    def __init__(self, spec: ObservationSpec, config: NetworkConfig) -> None:
        super().__init__()
        self.spec = spec
        in_channels = register_cell_encoding(self, spec)
        self.in_channels = in_channels
        hidden = config.hidden_channels
        # A 1x1x1 stem sees one cell at a time (block vs goal, who is there); the 3x3x3 residual
        # convolutions then spread context to the neighbours.
        self.stem = nn.Sequential(layer_init(nn.Conv3d(in_channels, hidden, 1)), nn.ReLU())
        self.convolutions = nn.ModuleList(
            layer_init(nn.Conv3d(hidden, hidden, 3, padding=1)) for _ in range(config.conv_layers)
        )

    def inputs(self, world: torch.Tensor, time_fraction: torch.Tensor) -> torch.Tensor:
        """The per-cell inputs ``(B, in_channels, W, H, D)``: one-hot channels, x/y/z in [-1, 1] and
        the time fraction, from ``world`` ``(B, C, W, H, D)`` uint8 and ``time_fraction`` ``(B,)``.
        """
        if tuple(world.shape[1:]) != self.spec.world_shape:
            raise ValueError(f"world must have shape (B, {self.spec.world_shape}), got {tuple(world.shape)}")
        batch = world.shape[0]
        one_hot = (world[:, self.channel_of_class] == self.classes).float()  # type: ignore[index]
        coordinates = self.coordinates.expand(batch, -1, -1, -1, -1)  # type: ignore[operator]
        time = time_fraction.view(batch, 1, 1, 1, 1).expand(-1, 1, *world.shape[2:])
        return torch.cat([one_hot, coordinates, time], dim=1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Cell features ``(B, hidden_channels, W, H, D)`` from :meth:`inputs`."""
        features = self.stem(inputs)
        for convolution in self.convolutions:
            features = features + torch.relu(convolution(features))
        return features


def global_mlp(spec: ObservationSpec, config: NetworkConfig) -> nn.Sequential:
    """The trunk's global layer: pooled cell features (mean and max), log inventory and time fraction
    -> ``(B, global_hidden)`` (see :func:`trunk_features`)."""
    return nn.Sequential(
        layer_init(nn.Linear(2 * config.hidden_channels + spec.inventory_size + 1, config.global_hidden)),
        nn.ReLU(),
    )


class TrunkFeatures(NamedTuple):
    """What the shared trunk (a :class:`WorldEncoder` and a :func:`global_mlp`) makes of a batch."""

    inputs: torch.Tensor
    """``(B, in_channels, W, H, D)`` per-cell inputs (:meth:`WorldEncoder.inputs`)."""
    cells: torch.Tensor
    """``(B, hidden_channels, W, H, D)`` cell features."""
    hidden: torch.Tensor
    """``(B, global_hidden)`` global features."""

    def cell_logits(self, context: nn.Module, cell_policy: nn.Module) -> torch.Tensor:
        """The spatial head: ``cell_policy`` (a 1×1×1 convolution) over the cell features shifted by
        ``context(hidden)`` and the raw inputs (so "the goal has block b here" can raise PLACE b
        linearly from the first update on)."""
        shift = context(self.hidden)[:, :, None, None, None]
        return cell_policy(torch.cat([torch.relu(self.cells + shift), self.inputs], dim=1))


def trunk_features(
    encoder: WorldEncoder, global_layer: nn.Module, observation: Mapping[str, torch.Tensor]
) -> TrunkFeatures:
    """Run the shared trunk on a batch of observation tensors (:func:`observation_to_tensors`)."""
    fraction = time_fraction(observation["timestep"], encoder.spec.horizon)
    inputs = encoder.inputs(observation["world"], fraction)
    cells = encoder(inputs)
    pooled = torch.cat([cells.mean(dim=(2, 3, 4)), cells.amax(dim=(2, 3, 4))], dim=1)
    inventory = torch.log1p(observation["inventory"].float().clamp(min=0)) / INVENTORY_SCALE
    hidden = global_layer(torch.cat([pooled, inventory, fraction.unsqueeze(1)], dim=1))
    return TrunkFeatures(inputs, cells, hidden)


class TrunkNetwork(nn.Module):
    """Base of the networks on the shared trunk (the flat :class:`ActorCritic` and the option
    networks): builds the :class:`WorldEncoder` and the :func:`global_mlp`; a subclass adds its heads
    after this ``__init__`` and runs the trunk with :meth:`trunk`.

    Args:
        spec: the env's observation spec (:meth:`ObservationSpec.from_spaces`).
        config: network sizes (``None``: :class:`NetworkConfig`'s defaults).
    """

    def __init__(self, spec: ObservationSpec, config: NetworkConfig | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.config = config or NetworkConfig()
        self.encoder = WorldEncoder(spec, self.config)
        self.global_mlp = global_mlp(spec, self.config)

    def trunk(self, observation: Mapping[str, torch.Tensor]) -> TrunkFeatures:
        """:func:`trunk_features` of a batch of observation tensors (:func:`observation_to_tensors`)."""
        return trunk_features(self.encoder, self.global_mlp, observation)


class ActorCritic(TrunkNetwork):
    """Shared-trunk actor-critic with a spatial action head (see the module docstring).

    Args:
        spec: the env's observation spec (:meth:`ObservationSpec.from_spaces`).
        config: network sizes.
    """

    def __init__(self, spec: ObservationSpec, config: NetworkConfig | None = None) -> None:
        super().__init__(spec, config)
        hidden, global_hidden = self.config.hidden_channels, self.config.global_hidden
        self.global_policy = layer_init(nn.Linear(global_hidden, NUM_GLOBAL_ACTIONS), std=0.01)
        self.value_head = layer_init(nn.Linear(global_hidden, 1), std=1.0)
        self.context = layer_init(nn.Linear(global_hidden, hidden))
        # The cell head also sees the raw one-hot inputs (see TrunkFeatures.cell_logits).
        self.cell_policy = layer_init(
            nn.Conv3d(hidden + self.encoder.in_channels, spec.cell_action_kinds, 1), std=0.01
        )

    def forward(self, observation: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Unmasked action logits ``(B, n_actions)`` in env order and values ``(B,)``."""
        features = self.trunk(observation)
        cell_logits = features.cell_logits(self.context, self.cell_policy)
        logits = flatten_action_logits(self.global_policy(features.hidden), cell_logits)
        return logits, self.value_head(features.hidden).squeeze(1)

    def value(self, observation: dict[str, torch.Tensor]) -> torch.Tensor:
        """State values ``(B,)``."""
        return self.forward(observation)[1]
