"""Dreamer's replay: per-world ring buffers and uniform sequence sampling with ``is_first``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from baselines.common.networks import ObservationSpec, batch_timesteps


# ----------------------------------------------------------------------------------------- replay
class ReplayBuffer:
    """Per-world ring buffers of steps; uniform sampling of ``length``-step sequences.

    Row ``t`` of a world: its observation, the reward and terminal flag that came with it,
    ``is_first`` (episode start) and the action taken from it; optionally the episode's goal θ
    (for the privileged goal head). Masks are stored bit-packed.
    """

    KEYS = ("world", "inventory", "timestep", "mask", "reward", "terminal", "is_first", "action")

    def __init__(
        self, spec: ObservationSpec, num_worlds: int, capacity: int, seed: int = 0, goal: bool = False
    ) -> None:
        self.spec, self.num_worlds = spec, num_worlds
        self.keys = self.KEYS + (("goal",) if goal else ())
        self.capacity = max(1, capacity // num_worlds)
        size = (num_worlds, self.capacity)
        self.data = {
            "world": np.zeros((*size, *spec.world_shape), np.uint8),
            "inventory": np.zeros((*size, spec.inventory_size), np.float32),
            "timestep": np.zeros(size, np.int64),
            "mask": np.zeros((*size, (spec.n_actions + 7) // 8), np.uint8),
            "reward": np.zeros(size, np.float32),
            "terminal": np.zeros(size, bool),
            "is_first": np.zeros(size, bool),
            "action": np.zeros(size, np.int64),
        }
        if goal:
            self.data["goal"] = np.zeros((*size, *spec.world_shape[1:]), np.uint8)
        self.position, self.count = 0, 0
        self.rng = np.random.default_rng(seed)

    def add(
        self,
        observation: Mapping[str, np.ndarray],
        reward: np.ndarray,
        terminal: np.ndarray,
        action: np.ndarray,
        goal: np.ndarray | None = None,
    ) -> None:
        """Append one row to every world (the observation and the action taken from it; with a
        goal buffer, also each world's goal θ ``(N, W, H, D)``).

        Raises:
            ValueError: if the buffer stores goals and none is given.
        """
        if "goal" in self.data:
            if goal is None:
                raise ValueError("this replay stores goals: pass goal=")
            self.data["goal"][:, self.position] = goal
        row = self.position
        self.data["world"][:, row] = observation["world"]
        self.data["inventory"][:, row] = observation["inventory"]
        timestep = batch_timesteps(observation["timestep"], self.num_worlds)  # (N, 1) -> (N,)
        self.data["timestep"][:, row] = timestep
        self.data["mask"][:, row] = np.packbits(np.asarray(observation["action_mask"], bool), axis=-1)
        self.data["reward"][:, row] = reward
        self.data["terminal"][:, row] = terminal
        self.data["is_first"][:, row] = timestep == 0
        self.data["action"][:, row] = action
        self.position = (self.position + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)

    def __len__(self) -> int:
        return self.count * self.num_worlds

    def sample(self, batch: int, length: int, device: torch.device) -> dict[str, torch.Tensor]:
        """``batch`` uniformly drawn sequences of ``length`` consecutive rows, as ``(B, T, ...)`` tensors."""
        if self.count < length:
            raise ValueError(
                f"the replay holds {self.count} steps per world, fewer than a sequence ({length})"
            )
        worlds = self.rng.integers(0, self.num_worlds, batch)
        oldest = self.position if self.count == self.capacity else 0
        starts = oldest + self.rng.integers(0, self.count - length + 1, batch)
        rows = (starts[:, None] + np.arange(length)) % self.capacity
        out = {key: self.data[key][worlds[:, None], rows] for key in self.keys}
        out["mask"] = np.unpackbits(out["mask"], axis=-1, count=self.spec.n_actions).astype(bool)
        return {key: torch.as_tensor(value, device=device) for key, value in out.items()}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez`` (the data and the ring position)."""
        return {**self.data, "position_count": np.array([self.position, self.count])}

    def load(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore :meth:`state` (shapes must match)."""
        for key in self.keys:
            if key not in arrays:
                raise ValueError(f"saved replay has no {key!r} array")
            if arrays[key].shape != self.data[key].shape:
                raise ValueError(
                    f"saved replay {key} has shape {arrays[key].shape}, expected {self.data[key].shape}"
                )
            self.data[key][...] = arrays[key]
        self.position, self.count = (int(v) for v in arrays["position_count"])
