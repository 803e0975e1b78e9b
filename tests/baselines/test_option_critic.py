"""Option-critic (PPOC): the termination gradient, β at s', option persistence, learning, checkpoints."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines.common.checkpoint import load_checkpoint
from baselines.common.evaluation import evaluate_policy, random_valid_policy
from baselines.common.policy import load_policy
from baselines.options.diagnostics import OptionUsage
from baselines.options.option_critic import (
    OptionCriticConfig,
    OptionCriticNetwork,
    OptionCriticPolicy,
    RolloutCollector,
    main,
    make_envs,
    minibatch_losses,
    option_names,
    option_values,
    termination_loss,
    train,
)
from baselines.ppo import compute_gae
from mbag_env.blocks import PLANKS
from mbag_env.envs.single import MbagEnv
from mbag_env.evaluation.leaderboard import parse_assistant_spec
from mbag_env.evaluation.recording import run_episode

from .conftest import one_block_goal

TINY = dict(num_envs=2, num_steps=8, num_minibatches=2, update_epochs=1, hidden_channels=8, global_hidden=16,
            tensorboard=False, progress=False)  # fmt: skip


def test_termination_gradient_sign() -> None:
    """Loss β(Q − V + ξ): its gradient in β is the bracket, so a step of gradient descent lowers β
    for an option better than average and raises it for one worse by more than ξ."""
    logits = torch.zeros(2, 3, requires_grad=True)
    q = torch.tensor([[2.0, 0.0, 0.0], [0.0, -1.0, 0.0]], requires_grad=True)
    v = torch.tensor([1.0, 0.0], requires_grad=True)
    loss = termination_loss(
        torch.sigmoid(logits), q, v, torch.tensor([0, 1]), torch.tensor([False, False]), margin=0.01
    )
    loss.backward()
    assert logits.grad[0, 0] > 0  # A = +1: descending lowers β (keep a good option)
    assert logits.grad[1, 1] < 0  # A = -1: descending raises β (leave a bad option)
    # −∇β · (A + ξ) exactly: dL/dβ = (A + ξ) / rows, and dβ/dlogit = 1/4 at logit 0.
    assert logits.grad[0, 0] == pytest.approx((1.0 + 0.01) / 2 * 0.25)
    assert logits.grad[1, 1] == pytest.approx((-1.0 + 0.01) / 2 * 0.25)
    assert logits.grad[0, 1:].abs().sum() == 0 and logits.grad[1, [0, 2]].abs().sum() == 0
    assert q.grad is None and v.grad is None  # the bracket is held fixed


def test_no_termination_loss_at_episode_start() -> None:
    logits = torch.zeros(3, 2, requires_grad=True)
    q, v = torch.tensor([[1.0, 0.0]] * 3), torch.zeros(3)
    start = torch.tensor([True, False, True])
    loss = termination_loss(torch.sigmoid(logits), q, v, torch.tensor([0, 0, -1]), start, margin=0.0)
    loss.backward()
    assert logits.grad[0].abs().sum() == 0 and logits.grad[2].abs().sum() == 0
    assert loss.item() == pytest.approx(0.5 * 1.0)  # only the middle row, averaged over valid rows
    all_start = termination_loss(
        torch.sigmoid(logits), q, v, torch.tensor([0, 0, 0]), torch.ones(3, dtype=torch.bool), 0.0
    )
    assert all_start.item() == 0.0


def collect(config: OptionCriticConfig, network: OptionCriticNetwork | None = None):
    torch.manual_seed(0)
    envs = make_envs(config)
    from baselines.common.networks import ObservationSpec

    spec = ObservationSpec.from_spaces(envs.single_observation_space, envs.single_action_space)
    network = network or OptionCriticNetwork(spec, config.num_options, config.network_config())
    collector = RolloutCollector(envs, config, torch.device("cpu"), seed=0)
    usage = OptionUsage(option_names(config.num_options), spec.world_shape[1:])
    finished: dict[str, list[float]] = {"return": [], "length": [], "goal_percentage": [], "completed": []}
    rollout, _ = collector.collect(network, usage, finished)
    envs.close()
    return network, rollout, usage


def test_termination_uses_beta_at_the_next_state(tmp_path: Path) -> None:
    config = OptionCriticConfig(
        env_kwargs={"goal": one_block_goal(), "horizon": 5}, run_dir=str(tmp_path), **TINY
    )
    network, rollout, _ = collect(config)
    T, N = rollout.options.shape
    rows = [(t, n) for t in range(1, T) for n in range(N)
            if not rollout.episode_start[t, n] and not rollout.resetting[t, n]]  # fmt: skip
    assert rows and rollout.episode_start.any()  # the rollout crossed an episode boundary
    for t, n in rows:  # s_t was reached while option[t-1] ran: that option's β is taken at s_t
        assert rollout.previous_options[t, n] == rollout.options[t - 1, n]
    index = torch.tensor([t * N + n for t, n in rows])
    with torch.no_grad():
        at_next = network(rollout.observation(index))
        at_previous = network(rollout.observation(index - N))
        previous = rollout.previous_options.flatten()[index]
        # The rollout sampled each termination with β_{ω_{t-1}}(s_t).
        np.testing.assert_allclose(
            rollout.betas.reshape(-1)[index.numpy()],
            at_next.termination.gather(1, previous[:, None]).squeeze(1).numpy(),
            rtol=1e-5,
        )
        advantages, returns = compute_gae(
            rollout.rewards, rollout.values, rollout.terminated, rollout.truncated, rollout.resetting,
            rollout.next_value, config.gamma, config.gae_lambda,
        )  # fmt: skip
        losses = minibatch_losses(
            network,
            rollout,
            index,
            torch.as_tensor(advantages.reshape(-1)),
            torch.as_tensor(returns.reshape(-1)),
            config,
        )
        starts = torch.zeros(len(index), dtype=torch.bool)
        expected = termination_loss(
            at_next.termination,
            at_next.option_q,
            option_values(at_next),
            previous,
            starts,
            config.termination_reg,
        )
        wrong = termination_loss(
            at_previous.termination, at_previous.option_q, option_values(at_previous), previous, starts,
            config.termination_reg,
        )  # fmt: skip
    assert losses["termination"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert abs(losses["termination"].item() - wrong.item()) > 1e-7


def test_option_persists_until_its_termination_fires(tmp_path: Path) -> None:
    config = OptionCriticConfig(
        env_kwargs={"goal": one_block_goal(), "horizon": 6}, run_dir=str(tmp_path), **TINY
    )
    network, _, _ = collect(config)
    with torch.no_grad():
        network.termination_head.weight.zero_()
        network.termination_head.bias.fill_(-30.0)  # β ≈ 0: options never end by themselves
    _, rollout, usage = collect(config, network)
    decisions = ~torch.as_tensor(rollout.resetting)
    assert torch.equal(rollout.chose[decisions], rollout.episode_start[decisions])
    T, N = rollout.options.shape
    for n in range(N):
        for t in range(1, T):
            if decisions[t, n] and not rollout.episode_start[t, n]:
                assert rollout.options[t, n] == rollout.options[t - 1, n]
    assert usage.metrics()["options/termination_rate"] == 0.0
    with torch.no_grad():
        network.termination_head.bias.fill_(30.0)  # β ≈ 1: a new choice at every step
    _, rollout, usage = collect(config, network)
    assert bool(rollout.chose[decisions].all())
    assert usage.metrics()["options/mean_duration"] == 1.0
    # The policy object keeps its option between calls until β fires.
    with torch.no_grad():
        network.termination_head.bias.fill_(-30.0)
    policy = OptionCriticPolicy(network, seed=0)
    env = gym.make("mbag/Build-Small-v0", goal=one_block_goal(), horizon=6)
    observation, _ = env.reset(seed=0)
    action = policy.act(observation)
    first = int(policy.current_option[0])
    for _ in range(4):
        observation, *_ = env.step(action)
        action = policy.act(observation)
        assert int(policy.current_option[0]) == first


def planks_floor_goal() -> np.ndarray:
    goal = one_block_goal()
    goal[:, 2, :] = PLANKS
    return goal


def test_option_critic_learns_to_place_the_goal_blocks(tmp_path: Path) -> None:
    """As the PPO learning test (a one-layer planks floor, horizon 8: a single block is an exploration
    problem for any flat-action learner, see test_learning.py): random play loses return, the
    trained option-critic places planks on most steps."""
    env_kwargs = {"goal": planks_floor_goal(), "horizon": 8}
    config = OptionCriticConfig(
        env_kwargs=env_kwargs, total_steps=3072, num_envs=8, num_steps=32, num_minibatches=8, update_epochs=4,
        learning_rate=2.5e-3, hidden_channels=16, global_hidden=32, seed=0, run_dir=str(tmp_path / "run"),
        tensorboard=False, progress=False,
    )  # fmt: skip
    random_return = evaluate_policy(
        random_valid_policy(0), "mbag/Build-Small-v0", 32, 8, env_kwargs=env_kwargs
    )
    summary = train(config)
    policy = load_policy(summary["checkpoint"], seed=0)
    assert isinstance(policy, OptionCriticPolicy)
    trained = evaluate_policy(policy.act_batch, "mbag/Build-Small-v0", 32, num_envs=8, env_kwargs=env_kwargs)
    assert random_return.summary()["episode_return"] < 0.0
    assert trained.summary()["episode_return"] >= 4.0, trained.summary()


def test_checkpoint_round_trip_resume_and_leaderboard(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env_kwargs = {"goal": one_block_goal(), "horizon": 6}
    config = OptionCriticConfig(
        env_id="mbag/Assist-Small-v0", env_kwargs=env_kwargs, total_steps=32, run_dir=str(run_dir), **TINY
    )
    train(config)
    first = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert (first["algorithm"], first["global_step"], first["iteration"]) == ("option_critic", 32, 2)
    policy = load_policy(run_dir / "checkpoints" / "final.pt", seed=0)
    for key, tensor in policy.model.state_dict().items():
        assert torch.equal(tensor, first["model"][key]), key
    summary = main(["--resume", str(run_dir / "checkpoints" / "last.pt"), "--total-steps", "48"])
    second = load_checkpoint(run_dir / "checkpoints" / "final.pt")
    assert summary["global_step"] == 48 and second["iteration"] == 3
    assert second["optimizer"]["state"][0]["step"] > first["optimizer"]["state"][0]["step"]
    # The leaderboard accepts the checkpoint as an assistant and plays an episode with it.
    spec = parse_assistant_spec(f"oc={run_dir / 'checkpoints' / 'final.pt'}")
    env = MbagEnv(world_size=(6, 6, 6), num_players=2, horizon=6, goal=one_block_goal(), agent=1)
    recording = run_episode(env, spec.build(env, seed=0), seed=0, assistant_name=spec.label)
    assert len(recording.actions) == 6 and recording.action_valid.shape == (6, 2)
