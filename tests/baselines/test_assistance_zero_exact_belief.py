"""AssistanceZero planning with the exact posterior instead of its goal head (the ``belief_source``
hook of :class:`~baselines.assistance_zero.policy.AssistanceZeroPolicy`): the search gets the
Bayesian marginals as its belief and the network's prior, value and human-action distribution."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest
import torch

import mbag_env  # noqa: F401
from baselines.assistance_zero.config import AZConfig
from baselines.assistance_zero.network import AssistanceZeroNetwork
from baselines.assistance_zero.policy import AssistanceZeroPolicy, fixed_belief_evaluator
from baselines.common.networks import ObservationSpec
from mbag_env.assistants.belief import GoalBelief, HumanModelLikelihood, ObservedGoalBelief
from mbag_env.assistants.priors import default_prior
from mbag_env.blocks import NUM_BLOCK_TYPES

SMALL = (6, 6, 6)


def tiny_policy(config_fields: dict[str, object] | None = None, **kwargs: object) -> AssistanceZeroPolicy:
    """An untrained small network on ``mbag/Assist-Small-v0`` (three simulations per move), with
    ``config_fields`` replacing :class:`AZConfig` fields and ``kwargs`` passed to the policy."""
    torch.manual_seed(0)
    config = AZConfig(
        hidden_channels=8,
        global_hidden=16,
        eval_simulations=3,
        tensorboard=False,
        progress=False,
        run_dir="unused",
        **config_fields or {},  # type: ignore[arg-type]
    )
    env = gym.make(config.env_id)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    model = AssistanceZeroNetwork(spec, config.network_config())
    return AssistanceZeroPolicy(model, config, deterministic=True, seed=0, **kwargs)  # type: ignore[arg-type]


def test_fixed_belief_evaluator_returns_the_given_belief_and_the_networks_other_outputs() -> None:
    policy = tiny_policy()
    envs = gym.make_vec("mbag/Assist-Small-v0", num_envs=2, vectorization_mode="vector_entry_point")
    observations, _ = envs.reset(seed=1)
    envs.close()
    world, timestep = observations["world"], observations["timestep"].reshape(-1)  # evaluators take (B,)
    mask = observations["action_mask"]
    human_mask = np.ones_like(mask)
    exact = np.random.default_rng(0).dirichlet(np.ones(NUM_BLOCK_TYPES), size=(2, *SMALL))
    exact = np.moveaxis(exact, -1, 1)
    wrapped = fixed_belief_evaluator(policy.network_evaluate, lambda: exact)
    prior, value, belief, human = wrapped(world, timestep, mask, human_mask)
    net_prior, net_value, net_belief, net_human = policy.network_evaluate(world, timestep, mask, human_mask)
    np.testing.assert_array_equal(prior, net_prior)
    np.testing.assert_array_equal(value, net_value)
    np.testing.assert_array_equal(human, net_human)
    assert belief.dtype == np.float32 and belief.shape == net_belief.shape == (2, NUM_BLOCK_TYPES, *SMALL)
    np.testing.assert_allclose(belief, exact, rtol=1e-6)
    assert not np.allclose(belief, net_belief)
    with pytest.raises(ValueError, match="fixed goal belief must have shape"):
        fixed_belief_evaluator(policy.network_evaluate, lambda: exact[:1])(world, timestep, mask, human_mask)


def test_policy_plans_with_the_exact_posterior_at_every_node() -> None:
    """Over a few steps of a vector env, every evaluator call of the search returns the exact
    marginals of the episode so far as belief (root and deeper nodes alike) and the network's
    outputs otherwise; ``last_belief`` is that posterior."""
    observed = ObservedGoalBelief(GoalBelief(default_prior(SMALL), 2, HumanModelLikelihood(0.1)))
    policy = tiny_policy(belief_source=observed)
    calls: list[tuple[np.ndarray, ...]] = []
    inner: Callable[..., tuple[np.ndarray, ...]] = policy.evaluate

    def spy(world: np.ndarray, timestep: np.ndarray, mask: np.ndarray, human_mask: np.ndarray):  # type: ignore[no-untyped-def]
        outputs = inner(world, timestep, mask, human_mask)
        calls.append((*outputs, *policy.network_evaluate(world, timestep, mask, human_mask)))
        return outputs

    policy.evaluate = spy
    envs = gym.make_vec("mbag/Assist-Small-v0", num_envs=2, vectorization_mode="vector_entry_point")
    observations, _ = envs.reset(seed=2)
    reference = ObservedGoalBelief(GoalBelief(default_prior(SMALL), 2, HumanModelLikelihood(0.1)))
    changed = 0
    try:
        for _ in range(12):
            calls.clear()
            actions = policy.act_batch(observations)
            changed += sum(len(c) for c in reference.update(observations))
            exact = reference.marginals()
            assert len(calls) == 1 + policy.search_config.num_simulations
            for prior, value, belief, human, net_prior, net_value, _, net_human in calls:
                np.testing.assert_allclose(belief, exact, rtol=1e-6, atol=1e-7)
                np.testing.assert_array_equal(prior, net_prior)
                np.testing.assert_array_equal(value, net_value)
                np.testing.assert_array_equal(human, net_human)
            assert policy.last_belief is not None
            np.testing.assert_allclose(policy.last_belief, exact, rtol=1e-6, atol=1e-7)
            assert all(observations["action_mask"][np.arange(2), actions])
            observations, *_ = envs.step(actions)
    finally:
        envs.close()
    assert changed > 0, "the exact posterior was updated on some human change"


def test_belief_source_needs_a_goal_hidden_configuration() -> None:
    config = AZConfig(
        algorithm="alpha_zero", env_id="mbag/Build-Small-v0", tensorboard=False, run_dir="unused"
    )
    env = gym.make(config.env_id)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    model = AssistanceZeroNetwork(spec, config.network_config())
    with pytest.raises(ValueError, match="goal-hidden"):
        AssistanceZeroPolicy(model, config, belief_source=lambda observations: np.zeros(1))
