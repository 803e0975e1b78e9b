"""The replay buffer: one row per decision, with everything loss (1) needs.

A row holds the acting player's observation (world, timestep), its valid-action mask, the
search's visit distribution π_MCTS (stored sparsely: the visited actions and their
probabilities), the discounted return ``G``, the true goal θ (a training target only; the
assistant never sees it), the goal belief ``p̂_t(θ)`` the acting network had when it chose (the
anchor of the previous-goal KL, stored as float16), and the human's action with the human's
valid-action mask.
"""

from __future__ import annotations

import numpy as np

from mbag_env.blocks import NUM_BLOCK_TYPES


class ReplayBuffer:
    """A ring buffer of ``capacity`` decisions.

    Args:
        capacity: rows kept (the oldest are overwritten).
        world_shape: ``(C, W, H, D)`` of the acting player's world observation.
        num_actions: size of the flat action space.
        max_visited: most actions π_MCTS can put mass on (the number of simulations).
    """

    def __init__(
        self, capacity: int, world_shape: tuple[int, ...], num_actions: int, max_visited: int
    ) -> None:
        _, width, height, depth = world_shape
        self.capacity = capacity
        self.size = 0
        self.next = 0
        self.world = np.zeros((capacity, *world_shape), dtype=np.uint8)
        self.timestep = np.zeros(capacity, dtype=np.int64)
        self.mask = np.zeros((capacity, num_actions), dtype=np.bool_)
        self.policy_actions = np.zeros((capacity, max_visited), dtype=np.int64)
        self.policy_probs = np.zeros((capacity, max_visited), dtype=np.float32)
        self.returns = np.zeros(capacity, dtype=np.float32)
        self.goal = np.zeros((capacity, width, height, depth), dtype=np.uint8)
        self.belief = np.zeros((capacity, NUM_BLOCK_TYPES, width, height, depth), dtype=np.float16)
        self.human_action = np.zeros(capacity, dtype=np.int64)
        self.human_mask = np.zeros((capacity, num_actions), dtype=np.bool_)

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        world: np.ndarray,
        timestep: np.ndarray,
        mask: np.ndarray,
        visits: np.ndarray,
        returns: np.ndarray,
        goal: np.ndarray,
        belief: np.ndarray,
        human_action: np.ndarray,
        human_mask: np.ndarray,
    ) -> None:
        """Append ``n`` rows (leading axis ``n`` on every argument; ``visits`` is ``(n, A)``).

        Raises:
            ValueError: if a row's visits put mass on more actions than the buffer keeps.
        """
        for i in range(len(world)):
            row = self.next
            visited = np.flatnonzero(visits[i])
            if len(visited) > self.policy_actions.shape[1]:
                raise ValueError(
                    f"a search visited {len(visited)} actions; the buffer keeps "
                    f"{self.policy_actions.shape[1]}"
                )
            counts = visits[i, visited].astype(np.float64)
            self.policy_actions[row] = 0
            self.policy_probs[row] = 0.0
            self.policy_actions[row, : len(visited)] = visited
            self.policy_probs[row, : len(visited)] = counts / max(counts.sum(), 1.0)
            self.world[row] = world[i]
            self.timestep[row] = timestep[i]
            self.mask[row] = mask[i]
            self.returns[row] = returns[i]
            self.goal[row] = goal[i]
            self.belief[row] = belief[i]
            self.human_action[row] = human_action[i]
            self.human_mask[row] = human_mask[i]
            self.next = (row + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A uniform minibatch (with replacement) as a dict of arrays.

        Raises:
            ValueError: if the buffer is empty.
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = rng.integers(0, self.size, size=batch_size)
        return {
            "world": self.world[index],
            "timestep": self.timestep[index],
            "mask": self.mask[index],
            "policy_actions": self.policy_actions[index],
            "policy_probs": self.policy_probs[index],
            "returns": self.returns[index],
            "goal": self.goal[index],
            "belief": self.belief[index].astype(np.float32),
            "human_action": self.human_action[index],
            "human_mask": self.human_mask[index],
        }
