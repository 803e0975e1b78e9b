"""The semi-MDP options layer: a Gymnasium wrapper whose actions are options.

``OptionsEnv(env, options)`` turns an MBAG env (or any env with the same observations) into one
whose action is the index of an option. ``step(option)`` runs the option's policy on the underlying
env until its termination condition fires or the episode ends, and returns

* the **discounted option reward** ``R = Σ_{i<k} γ^i r_i`` over the option's ``k`` steps;
* the observation where the option ended, and the episode's ``terminated`` / ``truncated``;
* in ``info``: ``option_duration`` (``k``), ``option_discount`` (``γ^k``, the factor a learner
  applies to the next state's value), ``option_reward_sum`` (undiscounted), ``option_actions``
  (the primitive actions taken), ``option_human_actions`` (the
  other player's actions meanwhile, from the env's ``human_action``) and the underlying env's last ``info``.

The observation gains ``option_mask``, the options whose initiation set holds (a learner masks
the others, like invalid primitive actions). Any learner can use it; PPO over options
(:mod:`baselines.options.ppo_options`) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from baselines.options.hand_designed import Option, OptionRunner


class OptionsEnv(gym.Wrapper):
    """A semi-MDP over ``options`` on top of ``env`` (see the module docstring).

    Args:
        env: a single MBAG env (``gymnasium.make("mbag/Build-Small-v0")`` etc.).
        options: the options (e.g. :func:`~baselines.options.hand_designed.builder_options`).
        gamma: discount used for the option reward and ``option_discount``.
        goal_visible: whether the options may read the goal; default: whether the observation
            has a goal channel (4 channels).

    Raises:
        ValueError: if the env has no action masks, or goal-free options were asked for but one
            of them reads the goal.
    """

    def __init__(
        self, env: gym.Env, options: Sequence[Option], gamma: float = 0.95, goal_visible: bool | None = None
    ) -> None:
        super().__init__(env)
        observation_space = env.observation_space
        if not isinstance(observation_space, spaces.Dict) or "action_mask" not in observation_space.spaces:
            raise ValueError("OptionsEnv needs a Dict observation with an action_mask")
        if goal_visible is None:
            goal_visible = observation_space["world"].shape[0] >= 4
        self.runner = OptionRunner(options, goal_visible)
        self.gamma = float(gamma)
        self.action_space = spaces.Discrete(len(options))
        self.observation_space = spaces.Dict(
            {**observation_space.spaces, "option_mask": spaces.MultiBinary(len(options))}
        )
        self._observation: dict[str, np.ndarray] | None = None

    @property
    def option_names(self) -> list[str]:
        """The options' names, in action order."""
        return self.runner.names

    def _with_options(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**observation, "option_mask": self.runner.available().astype(np.int8)}

    def reset(self, **kwargs: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset the env and the options' memory."""
        observation, info = self.env.reset(**kwargs)
        self.runner.reset(observation)
        self._observation = observation
        return self._with_options(observation), info

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Run option ``action`` to its termination (or the episode's end).

        Raises:
            ValueError: if the option is out of range or not available (``option_mask`` False).
            RuntimeError: if called before :meth:`reset`.
        """
        if self._observation is None:
            raise RuntimeError("call reset() before step()")
        self.runner.begin(int(action))
        total, undiscounted, discount = 0.0, 0.0, 1.0
        actions: list[int] = []
        human_actions: list[int] = []
        terminated = truncated = False
        info: dict[str, Any] = {}
        observation = self._observation
        while True:
            primitive = self.runner.act()
            actions.append(primitive)
            observation, reward, terminated, truncated, info = self.env.step(primitive)
            if "human_action" in info:
                human_actions.append(int(info["human_action"]))
            total += discount * float(reward)
            undiscounted += float(reward)
            discount *= self.gamma
            active = self.runner.observe(observation)
            if terminated or truncated or not active:
                break
        self.runner.current = None
        self._observation = None if (terminated or truncated) else observation
        info = {
            **info,
            "option": int(action),
            "option_duration": len(actions),
            "option_discount": discount,
            "option_reward_sum": undiscounted,
            "option_actions": actions,
            "option_human_actions": human_actions,
        }
        return self._with_options(observation), total, bool(terminated), bool(truncated), info
