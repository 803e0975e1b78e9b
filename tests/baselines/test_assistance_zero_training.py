"""AssistanceZero's learning side: loss (1) term by term, a short run that learns a fixed goal's belief,
checkpoints through ``load_policy`` (and the evaluation helpers), the AlphaZero builder, and the presets."""

from __future__ import annotations

import csv
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import mbag_env  # noqa: F401
from baselines.assistance_zero.cli import main
from baselines.assistance_zero.config import (
    COMPLETED_Q_TARGET_ACTIONS,
    PRESETS,
    AZConfig,
    config_from_checkpoint,
    preset,
)
from baselines.assistance_zero.losses import LossWeights, az_loss, dense_policy, loss_terms
from baselines.assistance_zero.network import AssistanceZeroNetwork, AZNetworkConfig, NetworkOutput
from baselines.assistance_zero.policy import AssistanceZeroPolicy, env_config_of, policy_from_checkpoint
from baselines.assistance_zero.train import train
from baselines.common.checkpoint import load_checkpoint
from baselines.common.evaluation import evaluate_policy
from baselines.common.networks import ObservationSpec
from baselines.common.policy import load_policy
from mbag_env.blocks import BEDROCK, DIRT, GLASS, NUM_BLOCK_TYPES, PLANKS
from mbag_env.config import RewardShaping

TINY_WORLD = (4, 5, 4)
TINY = dict(
    num_envs=4,
    num_simulations=4,
    eval_simulations=4,
    steps_per_iteration=4,
    updates_per_iteration=8,
    batch_size=32,
    min_replay=16,
    replay_size=512,
    hidden_channels=8,
    conv_layers=1,
    global_hidden=16,
    tensorboard=False,
    progress=False,
    checkpoint_every=1000,
)


def tiny_goal() -> np.ndarray:
    """The initial tiny world plus three blocks the scripted human builds in a few steps."""
    goal = np.zeros(TINY_WORLD, dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    goal[2, 2, 2] = PLANKS
    goal[3, 2, 3] = PLANKS
    goal[1, 2, 3] = GLASS
    return goal


def tiny_config(run_dir: Path, **changes: object) -> AZConfig:
    env_kwargs = {"goal": tiny_goal(), "world_size": list(TINY_WORLD), "horizon": 12}
    return AZConfig(env_kwargs=env_kwargs, run_dir=str(run_dir), **{**TINY, **changes})  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ loss (1)
def _toy_output_and_batch(
    seed: int = 0,
) -> tuple[NetworkOutput, dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    batch_size, actions, shape = 3, 7 + 9 * 8, (2, 2, 2)
    output = NetworkOutput(
        policy_logits=torch.randn(batch_size, actions, generator=generator, requires_grad=True),
        value=torch.randn(batch_size, generator=generator, requires_grad=True),
        goal_logits=torch.randn(batch_size, NUM_BLOCK_TYPES, *shape, generator=generator, requires_grad=True),
        human_logits=torch.randn(batch_size, actions, generator=generator, requires_grad=True),
    )
    mask = torch.rand(batch_size, actions, generator=generator) < 0.5
    mask[:, :3] = True
    belief = torch.softmax(torch.randn(batch_size, NUM_BLOCK_TYPES, *shape, generator=generator), dim=1)
    batch = {
        "mask": mask,
        "policy_actions": torch.tensor([[0, 1, 2], [2, 0, 0], [1, 2, 0]]),
        "policy_probs": torch.tensor([[0.5, 0.25, 0.25], [1.0, 0.0, 0.0], [0.75, 0.25, 0.0]]),
        "returns": torch.tensor([1.0, -2.0, 0.5]),
        "goal": torch.randint(0, NUM_BLOCK_TYPES, (batch_size, *shape), generator=generator),
        "belief": belief,
        "human_action": torch.tensor([0, 1, 2]),
        "human_mask": mask.clone(),
    }
    return output, batch


def _gradient(term: str, output: NetworkOutput, batch: dict[str, torch.Tensor], field: str) -> torch.Tensor:
    value = loss_terms(output, batch)[term]
    (gradient,) = torch.autograd.grad(value, getattr(output, field))
    return gradient


def test_policy_kl_is_a_kl_with_the_softmax_gradient() -> None:
    output, batch = _toy_output_and_batch()
    terms = {name: term.detach() for name, term in loss_terms(output, batch).items()}
    target = dense_policy(batch["policy_actions"], batch["policy_probs"], output.policy_logits.shape[1])
    log_pi = torch.log_softmax(output.policy_logits.masked_fill(~batch["mask"], -1e9), dim=1)
    expected = (
        sum((t[t > 0] * (t[t > 0].log() - lp[t > 0])).sum() for t, lp in zip(target, log_pi, strict=True)) / 3
    )
    assert (
        terms["policy_kl"].detach().item() == pytest.approx(float(expected.detach()), rel=1e-5)
        and terms["policy_kl"] > 0
    )
    gradient = _gradient("policy_kl", output, batch, "policy_logits")
    torch.testing.assert_close(gradient, (log_pi.exp() - target) / 3, atol=1e-6, rtol=1e-4)
    # KL is zero when the network's policy is the target.
    same = output._replace(policy_logits=torch.where(target > 0, target.clamp(min=1e-30).log(), -1e9 * 1.0))
    assert loss_terms(same, batch)["policy_kl"].detach().item() == pytest.approx(0.0, abs=1e-5)


def test_value_term_is_squared_error_pulling_towards_the_return() -> None:
    output, batch = _toy_output_and_batch()
    assert loss_terms(output, batch)["value"].detach().item() == pytest.approx(
        float(((output.value - batch["returns"]) ** 2).mean().detach())
    )
    gradient = _gradient("value", output, batch, "value")
    torch.testing.assert_close(gradient, 2 * (output.value - batch["returns"]).detach() / 3)
    # Descending the gradient moves V towards G.
    assert ((gradient > 0) == (output.value > batch["returns"])).all()


def test_goal_nll_is_minus_log_likelihood_per_cell() -> None:
    output, batch = _toy_output_and_batch()
    assert output.goal_logits is not None
    log_belief = torch.log_softmax(output.goal_logits, dim=1)
    expected = -log_belief.gather(1, batch["goal"][:, None]).mean()
    assert loss_terms(output, batch)["goal_nll"].detach().item() == pytest.approx(float(expected.detach()))
    gradient = _gradient("goal_nll", output, batch, "goal_logits")
    one_hot = torch.nn.functional.one_hot(batch["goal"], NUM_BLOCK_TYPES).permute(0, 4, 1, 2, 3).float()
    torch.testing.assert_close(gradient, (log_belief.exp() - one_hot).detach() / (3 * 8))
    # The gradient raises the true block's logit (descent direction is negative there).
    assert (gradient.detach() * one_hot).sum() < 0


def test_previous_goal_kl_anchors_the_belief() -> None:
    output, batch = _toy_output_and_batch()
    assert output.goal_logits is not None
    terms = {name: term.detach() for name, term in loss_terms(output, batch).items()}
    assert terms["prev_goal_kl"].detach().item() > 0
    anchored = dict(batch, belief=torch.softmax(output.goal_logits.detach(), dim=1))
    assert loss_terms(output, anchored)["prev_goal_kl"].detach().item() == pytest.approx(0.0, abs=1e-5)
    gradient = _gradient("prev_goal_kl", output, anchored, "goal_logits")
    assert gradient.abs().max() < 1e-5  # KL(p||q) is minimal at p = q
    # Away from the anchor, a small gradient step lowers the KL.
    gradient = _gradient("prev_goal_kl", output, batch, "goal_logits")
    stepped = output._replace(goal_logits=(output.goal_logits - 10.0 * gradient).detach())
    assert loss_terms(stepped, batch)["prev_goal_kl"] < terms["prev_goal_kl"]


def test_human_action_nll_is_masked_cross_entropy() -> None:
    output, batch = _toy_output_and_batch()
    assert output.human_logits is not None
    log_p = torch.log_softmax(output.human_logits.masked_fill(~batch["human_mask"], -1e9), dim=1)
    expected = -log_p[torch.arange(3), batch["human_action"]].mean()
    assert loss_terms(output, batch)["human_action_nll"].detach().item() == pytest.approx(
        float(expected.detach()), rel=1e-5
    )
    gradient = _gradient("human_action_nll", output, batch, "human_logits")
    target = torch.nn.functional.one_hot(batch["human_action"], log_p.shape[1]).float()
    torch.testing.assert_close(gradient, (log_p.exp() - target).detach() / 3, atol=1e-6, rtol=1e-4)


def test_weighted_total_and_missing_heads() -> None:
    env = gym.make("mbag/Build-Small-v0")
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    model = AssistanceZeroNetwork(spec, AZNetworkConfig(8, 0, 3, 16, goal_head=False, human_head=False))
    observation, _ = env.reset(seed=0)
    batch = {
        "world": torch.as_tensor(observation["world"][None]),
        "timestep": torch.zeros(1),
        "mask": torch.as_tensor(observation["action_mask"][None]),
        "policy_actions": torch.tensor([[0]]),
        "policy_probs": torch.tensor([[1.0]]),
        "returns": torch.tensor([2.0]),
    }
    total, values = az_loss(
        model, batch, LossWeights(policy=1.0, value=0.5, reward=3.0, prev=1.0, action=1.0)
    )
    assert values["losses/goal_nll"] == 0.0 and values["losses/human_action_nll"] == 0.0
    assert total.detach().item() == pytest.approx(
        values["losses/policy_kl"] + 0.5 * values["losses/value"], rel=1e-5
    )


# ------------------------------------------------------------------------------------ learning
def test_short_run_learns_the_goal_belief_and_checkpoints_round_trip(tmp_path: Path) -> None:
    """On a fixed three-block goal the goal head learns θ (the cells still to build) within a few hundred
    steps; the checkpoint loads through load_policy and plays the evaluation loop."""
    # λ_prev = 0: the previous-belief KL holds the belief near the acting network's, and here the
    # replay keeps every step from the untrained start (the KL is tested in test_assistance_zero_losses);
    # with 10x the default learning rate, a tighter gradient clip than the default 10.
    config = tiny_config(
        tmp_path / "run", total_env_steps=4 * 4 * 24, learning_rate=1e-2, lambda_prev=0.0, max_grad_norm=1.0
    )
    summary = train(config)
    rows = list(csv.DictReader((tmp_path / "run" / "progress.csv").open()))
    assert len(rows) == 24 and float(rows[-1]["replay/size"]) > 100
    accuracy = [float(row["belief/accuracy_to_change"]) for row in rows]
    # The untrained belief says "the goal is the world as it is": wrong on every cell still to build.
    assert accuracy[0] == 0.0 and np.mean(accuracy[-4:]) > 0.85, accuracy
    assert float(rows[-1]["losses/goal_nll"]) < float(rows[4]["losses/goal_nll"])

    payload = load_checkpoint(summary["checkpoint"])
    assert payload["algorithm"] == "assistance_zero" and payload["global_step"] == 4 * 4 * 24
    policy = load_policy(summary["checkpoint"], deterministic=True, seed=0)
    assert isinstance(policy, AssistanceZeroPolicy)
    model = policy.model
    restored = config_from_checkpoint(summary["checkpoint"])
    np.testing.assert_array_equal(restored.env_kwargs["goal"], tiny_goal())
    assert restored.replace(env_kwargs={}) == config.replace(env_kwargs={})
    for name, tensor in payload["model"].items():
        torch.testing.assert_close(model.state_dict()[name], tensor)

    env = gym.make("mbag/Assist-v0", **config.env_kwargs)
    observation, _ = env.reset(seed=0)
    action = policy.act(observation)
    assert observation["action_mask"][action]
    belief = policy.last_belief
    assert belief is not None
    to_build = tiny_goal() != observation["world"][0]
    np.testing.assert_array_equal(belief[0].argmax(axis=0)[to_build], tiny_goal()[to_build])
    # Same seed, same actions.
    again = load_policy(summary["checkpoint"], deterministic=True, seed=0)
    assert again.act(observation) == action
    stats = evaluate_policy(
        policy.act_batch, "mbag/Assist-v0", 4, num_envs=2, seed=3, env_kwargs=config.env_kwargs
    )
    assert len(stats.goal_percentage) == 4 and all(length <= 12 for length in stats.length)


def test_completed_q_training_runs_and_its_checkpoint_searches_for_the_improved_policy(
    tmp_path: Path,
) -> None:
    """With ``completed_q_scale`` the run trains on the completed-Q policy (stored targets keep
    ``COMPLETED_Q_TARGET_ACTIONS`` actions) and the checkpoint's search returns it to act on;
    without ``expected_reward_bonus`` the configuration is refused."""
    config = tiny_config(
        tmp_path / "run",
        total_env_steps=4 * 4 * 6,
        expected_reward_bonus=True,
        completed_q_scale=0.1,
        belief_tied_actions=True,
    )
    assert config.policy_target_size == COMPLETED_Q_TARGET_ACTIONS
    summary = train(config)
    rows = list(csv.DictReader((tmp_path / "run" / "progress.csv").open()))
    assert len(rows) == 6 and np.isfinite(float(rows[-1]["losses/policy_kl"]))
    policy = load_policy(summary["checkpoint"], deterministic=True, seed=0)
    env = gym.make("mbag/Assist-v0", **config.env_kwargs)
    observation, _ = env.reset(seed=0)
    batched = {key: np.asarray(value)[None] for key, value in observation.items()}
    search = policy._search_for(1)
    result = search.search(batched["world"], np.array([0]), policy.evaluate, np.random.default_rng(0))
    assert result.improved is not None and observation["action_mask"][policy.act(observation)]
    # eval_completed_q: the policy plays the argmax of the completed-Q policy of its search.
    acting = AssistanceZeroPolicy(policy.model, policy.config.replace(eval_completed_q=True), seed=5)
    twin = AssistanceZeroPolicy(policy.model, policy.config, seed=5)
    twin_result = twin._search_for(1).search(batched["world"], np.array([0]), twin.evaluate, twin.rng)
    assert twin_result.improved is not None
    assert acting.act(observation) == twin_result.improved[0].argmax()
    with pytest.raises(ValueError, match="needs expected_reward_bonus"):
        tiny_config(tmp_path / "other", completed_q_scale=0.1)
    with pytest.raises(ValueError, match="eval_completed_q needs completed_q_scale"):
        tiny_config(tmp_path / "other", eval_completed_q=True)


def test_overlapped_updates_are_reproducible_and_lag_self_play_by_one_iteration(tmp_path: Path) -> None:
    """``overlap_updates``: the updates of iteration k run beside its self-play and learn from the
    replay as it stood after iteration k - 1, so they start one iteration later than with alternating
    phases; two runs with one seed give the same network; the log has the iteration's wait."""
    steps = 4 * 4 * 8
    first = train(tiny_config(tmp_path / "a", total_env_steps=steps, overlap_updates=True, lambda_prev=0.0))
    second = train(tiny_config(tmp_path / "b", total_env_steps=steps, overlap_updates=True, lambda_prev=0.0))
    alternating = train(tiny_config(tmp_path / "c", total_env_steps=steps, lambda_prev=0.0))
    weights = [load_checkpoint(summary["checkpoint"])["model"] for summary in (first, second, alternating)]
    for name, tensor in weights[0].items():
        torch.testing.assert_close(weights[1][name], tensor, rtol=0, atol=0)
    assert any(not torch.equal(weights[2][name], tensor) for name, tensor in weights[0].items())

    def losses(run: str) -> list[float]:
        rows = list(csv.DictReader((tmp_path / run / "progress.csv").open()))
        assert all(float(row["throughput/update_wait_seconds"]) >= 0 for row in rows)
        return [float(row["losses/total"]) for row in rows]

    overlapped, alternated = losses("a"), losses("c")
    # min_replay (16 steps) is reached in iteration 1: alternating phases update from iteration 1 on,
    # overlapped ones from iteration 2 on (the replay at the start of iteration 2).
    first_update = [int(np.argmax(np.isfinite(values))) for values in (overlapped, alternated)]
    assert first_update == [first_update[1] + 1, first_update[1]] and np.isfinite(overlapped[-1])


def test_background_updates_hand_back_results_and_errors() -> None:
    from baselines.assistance_zero.train import BackgroundUpdates, UpdatePhase

    learner = BackgroundUpdates()
    assert learner.wait() is None
    learner.start(lambda iteration: UpdatePhase({"losses/total": float(iteration)}, 0.5), 7)
    with pytest.raises(RuntimeError, match="still running"):
        learner.start(lambda iteration: UpdatePhase({}, 0.0), 8)
    assert learner.wait() == UpdatePhase({"losses/total": 7.0}, 0.5)

    def failing(iteration: int) -> UpdatePhase:
        raise FloatingPointError(f"loss diverged in iteration {iteration}")

    learner.start(failing, 9)
    with pytest.raises(FloatingPointError, match="iteration 9"):
        learner.wait()
    learner.start(failing, 10)
    learner.close()  # a stopping run drops the error and ends the thread


def test_resume_continues_the_step_counter(tmp_path: Path) -> None:
    run = tmp_path / "run"
    main(
        [
            "--run-dir",
            str(run),
            "--env-kwargs",
            '{"world_size": [4, 5, 4], "horizon": 8}',
            "--total-env-steps",
            "32",
            "--num-envs",
            "2",
            "--num-simulations",
            "2",
            "--steps-per-iteration",
            "4",
            "--min-replay",
            "4",
            "--batch-size",
            "8",
            "--hidden-channels",
            "8",
            "--conv-layers",
            "0",
            "--global-hidden",
            "8",
            "--no-tensorboard",
            "--no-progress",
            "--checkpoint-every",
            "2",
        ]
    )
    summary = main(["--resume", str(run / "checkpoints" / "last.pt"), "--total-env-steps", "48"])
    assert summary["global_step"] == 48 and summary["iteration"] == 6
    steps = [int(row["global_step"]) for row in csv.DictReader((run / "progress.csv").open())]
    assert steps == [8, 16, 24, 32, 40, 48]
    with pytest.raises(FileExistsError):
        main(["--run-dir", str(run), "--total-env-steps", "8", "--no-progress", "--no-tensorboard"])


def test_alpha_zero_builder_plans_with_the_visible_goal(tmp_path: Path) -> None:
    """The builder variant: θ in the observation, no human in the tree; its search completes a
    one-block goal from the first move, and its checkpoint loads as a policy.

    With an untrained prior and four simulations the reference rule (unvisited edges valued at the
    node's mean) rarely tries the one right PLACE among ~100 valid actions, so this test uses the
    documented ``first_play_reward`` ablation, under which an unvisited edge is worth its
    immediate reward and the search finds the block at once; the checkpoint carries the setting."""
    goal = np.zeros(TINY_WORLD, dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    goal[2, 2, 2] = PLANKS
    env_kwargs = {"goal": goal, "world_size": list(TINY_WORLD), "horizon": 6}
    config = AZConfig(
        algorithm="alpha_zero",
        env_id="mbag/Build-Small-v0",
        env_kwargs=env_kwargs,
        run_dir=str(tmp_path / "az"),
        first_play_reward=True,
        **{**TINY, "total_env_steps": 32},
    )
    summary = train(config)
    payload = load_checkpoint(summary["checkpoint"])
    assert payload["algorithm"] == "alpha_zero"
    assert payload["network_config"]["goal_head"] is False
    policy = policy_from_checkpoint(payload, deterministic=True, seed=0)
    env = gym.make("mbag/Build-Small-v0", **env_kwargs)
    observation, _ = env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(policy.act(observation))
    assert reward == 1.0 and terminated


def test_checkpoint_plays_in_the_leaderboard(tmp_path: Path) -> None:
    """The leaderboard accepts the checkpoint (loaded through ``load_policy``) and plays a quick-suite
    episode beside the goal-seeking human."""
    from mbag_env.evaluation.leaderboard import main as leaderboard

    config = AZConfig(
        run_dir=str(tmp_path / "az"),
        **{
            **TINY,
            "num_envs": 2,
            "steps_per_iteration": 2,
            "total_env_steps": 4,
            "eval_simulations": 2,
            "min_replay": 512,
        },
    )
    summary = train(config)
    out = tmp_path / "leaderboard"
    status = leaderboard(
        [
            "--quick",
            "--houses",
            "1",
            "--humans",
            "goal_seeking",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(out),
            f"az={summary['checkpoint']}",
        ]
    )
    assert status == 0
    table = (out / "leaderboard.md").read_text()
    assert "| az |" in table and "1 (0)" in table


def test_presets_build_and_the_paper_network_runs() -> None:
    assert set(PRESETS) == {
        "cpu-small",
        "cpu-2h",
        "cpu-2h-completed-q",
        "cpu-2h-careful",
        "cpu-2h-careful-owner",
        "paper",
    }
    small = preset("cpu-small")
    assert small.env_id == "mbag/Assist-Small-v0" and small.bilevel
    two_hours = preset("cpu-2h")
    assert two_hours.env_kwargs == {"goal": "houses:train", "horizon": 30}
    assert two_hours.belief_tied_actions and two_hours.expected_reward_bonus
    assert two_hours.network_config().belief_tied_actions and two_hours.search_config().expected_reward_bonus
    assert two_hours.time_budget_minutes == 120.0 and two_hours.completed_q_scale == 0.0
    assert preset("cpu-2h-completed-q") == two_hours.replace(completed_q_scale=0.1)
    assert preset("cpu-2h-completed-q").search_config().completed_q_scale == 0.1
    careful = preset("cpu-2h-careful")
    assert careful.replace(env_kwargs=two_hours.env_kwargs) == preset("cpu-2h-completed-q")
    shaping = env_config_of(careful)[0].reward_shaping
    assert shaping == (RewardShaping(), RewardShaping(incorrect_action=-1.0))
    assert preset("cpu-2h-careful-owner") == careful.replace(owner_goal_prior=True)
    assert preset("cpu-2h-careful-owner").network_config().owner_goal_prior
    paper = preset("paper")
    assert (paper.num_simulations, paper.eval_simulations, paper.conv_layers, paper.kernel_size) == (
        100,
        20,
        8,
        5,
    )
    assert (paper.hidden_channels, paper.temperature, paper.gamma, paper.lambda_prev) == (64, 1.5, 0.95, 30.0)
    assert paper.replay_size == 262_144 and paper.num_envs == 256 and paper.num_iterations == 2000
    env = gym.make(paper.env_id)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    model = AssistanceZeroNetwork(spec, paper.network_config())
    observation, _ = env.reset(seed=0)
    with torch.no_grad():
        output = model(torch.as_tensor(observation["world"][None]), torch.zeros(1))
    assert output.policy_logits.shape == (1, spec.n_actions)
    assert output.goal_logits is not None and output.goal_logits.shape == (1, NUM_BLOCK_TYPES, 11, 10, 10)
    with pytest.raises(ValueError, match="kernel_size"):
        AZConfig(kernel_size=4)
    with pytest.raises(ValueError, match="algorithm"):
        AZConfig(algorithm="muzero")


@pytest.mark.slow
def test_assistant_speeds_up_the_human_on_a_fixed_goal(tmp_path: Path) -> None:
    """Once the belief knows the (fixed) goal, the searched assistant (32 simulations, most visited move)
    builds part of it: the human finishes in fewer steps than beside the idle assistant."""
    from baselines.common.evaluation import idle_policy

    config = tiny_config(tmp_path / "run", total_env_steps=4 * 4 * 40, learning_rate=1e-2)
    summary = train(config)
    loaded = load_policy(summary["checkpoint"], deterministic=True, seed=0)
    policy = AssistanceZeroPolicy(loaded.model, loaded.config, deterministic=True, seed=0, num_simulations=32)
    kwargs = config.env_kwargs
    helped = evaluate_policy(policy.act_batch, "mbag/Assist-v0", 20, num_envs=10, seed=7, env_kwargs=kwargs)
    alone = evaluate_policy(idle_policy(), "mbag/Assist-v0", 20, num_envs=10, seed=7, env_kwargs=kwargs)
    assert all(helped.completed) and all(alone.completed)
    assert np.mean(helped.length) < np.mean(alone.length) - 1.0, (
        np.mean(helped.length),
        np.mean(alone.length),
    )
