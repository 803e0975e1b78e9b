"""The semi-MDP options layer: hand-designed options, the OptionsEnv wrapper, PPO over options."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines.common.checkpoint import load_checkpoint
from baselines.common.evaluation import evaluate_policy
from baselines.common.policy import load_policy
from baselines.options.hand_designed import (
    HumanActivity,
    OptionRunner,
    WorldView,
    assistant_options,
    builder_options,
)
from baselines.options.ppo_options import (
    OptionsPolicy,
    PPOOptionsConfig,
    compute_smdp_gae,
    main,
    train,
)
from baselines.options.smdp import OptionsEnv
from mbag_env.core.actions import FIRST_PLACE

from .conftest import one_block_goal

GAMMA = 0.9


def run_every_option(env_id: str, options_factory, goal_visible: bool, episodes: int, seed: int) -> dict:
    """Play episodes choosing available options uniformly; check every action and duration."""
    env = gym.make(env_id, goal="houses:test", horizon=60)
    options = options_factory()
    runner = OptionRunner(options, goal_visible=goal_visible)
    rng = np.random.default_rng(seed)
    durations: dict[str, list[int]] = {option.name: [] for option in options}
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        runner.reset(observation)
        done = False
        while not done:
            choice = int(rng.choice(np.flatnonzero(runner.available())))
            runner.begin(choice)
            duration = 0
            while True:
                action = runner.act()  # raises if the option picked an invalid action
                assert observation["action_mask"][action], (options[choice].name, action)
                observation, _, terminated, truncated, info = env.step(action)
                duration += 1
                if env_id.startswith("mbag/Build") and action >= FIRST_PLACE:
                    assert info["action_valid"], (options[choice].name, action)  # alone, masked = valid
                done = terminated or truncated
                if not runner.observe(observation) or done:
                    break
            assert 1 <= duration <= options[choice].max_duration
            if not done:
                durations[options[choice].name].append(duration)
            runner.current = None
    return durations


def test_builder_options_terminate_and_emit_only_valid_actions() -> None:
    durations = run_every_option("mbag/Build-Small-v0", builder_options, True, episodes=3, seed=0)
    # The options were tried and ended by their own termination conditions.
    assert all(len(durations[name]) > 0 for name in ("build_lowest_layer", "clear_wrong_block", "wait_4"))
    assert max(durations["build_lowest_layer"]) > 1  # a multi-step skill, not a primitive action
    # A goal block out of reach (the start eye is ~7 cells from it): approach it, then place it.
    env = OptionsEnv(
        gym.make("mbag/Build-Small-v0", goal=one_block_goal((5, 2, 5)), horizon=40), builder_options()
    )
    observation, _ = env.reset(seed=0)
    approach, build = (
        env.option_names.index("approach_unfinished"),
        env.option_names.index("build_lowest_layer"),
    )
    assert observation["option_mask"][approach]
    observation, reward, terminated, _, info = env.step(approach)
    assert 1 < info["option_duration"] <= 10 and set(info["option_actions"]) <= set(range(1, 7))
    assert not observation["option_mask"][approach]  # arrived: the block can be placed from here
    observation, reward, terminated, _, info = env.step(build)
    assert terminated and reward == 1.0 and info["option_duration"] == 1


def test_assistant_options_terminate_and_emit_only_valid_actions() -> None:
    durations = run_every_option("mbag/Assist-Small-v0", assistant_options, False, episodes=3, seed=0)
    used = [name for name, values in durations.items() if values]
    assert {"extend_human_build", "go_near_human", "wait_4"} <= set(used), durations


def test_assistant_options_read_no_goal_channel() -> None:
    options = assistant_options()
    assert not any(option.uses_goal for option in options)
    with pytest.raises(ValueError, match="read the goal"):
        OptionRunner(builder_options(), goal_visible=False)
    env = gym.make("mbag/Assist-Small-v0", goal="houses:test", horizon=40)
    observation, _ = env.reset(seed=3)
    view = WorldView.from_observation(observation, goal_visible=False, activity=HumanActivity())
    with pytest.raises(PermissionError):
        _ = view.goal
    # The same play with two different (fake) goal channels appended gives the same actions: the
    # assistant's options never look at it.
    rng = np.random.default_rng(0)
    fake_goals = [rng.integers(0, 10, size=observation["world"].shape[1:], dtype=np.uint8) for _ in range(2)]
    runners = [OptionRunner(assistant_options(), goal_visible=False) for _ in fake_goals]

    def with_goal(obs: dict, goal: np.ndarray) -> dict:
        return {**obs, "world": np.concatenate([obs["world"], goal[None]], axis=0)}

    for runner, goal in zip(runners, fake_goals, strict=True):
        runner.reset(with_goal(observation, goal))
    for step in range(40):
        masks = [runner.available() for runner in runners]
        np.testing.assert_array_equal(masks[0], masks[1])
        actions = []
        for runner in runners:
            if runner.current is None:
                runner.begin(int(np.flatnonzero(masks[0])[step % int(masks[0].sum())]))
            actions.append(runner.act())
        assert actions[0] == actions[1]
        observation, _, terminated, truncated, _ = env.step(actions[0])
        if terminated or truncated:
            break
        for runner, goal in zip(runners, fake_goals, strict=True):
            runner.observe(with_goal(observation, goal))


def test_option_persists_until_its_termination_and_returns_discount_by_gamma_k() -> None:
    goal = one_block_goal()
    wrapped = OptionsEnv(
        gym.make("mbag/Build-Small-v0", goal=goal, horizon=30), builder_options(), gamma=GAMMA
    )
    replay = gym.make("mbag/Build-Small-v0", goal=goal, horizon=30)
    observation, _ = wrapped.reset(seed=5)
    replay.reset(seed=5)
    wait = wrapped.option_names.index("wait_4")
    assert observation["option_mask"][wait]
    observation, reward, terminated, truncated, info = wrapped.step(wait)
    assert info["option_duration"] == 4 and info["option_actions"] == [0, 0, 0, 0]
    assert info["option_discount"] == pytest.approx(GAMMA**4) and reward == 0.0
    for action in info["option_actions"]:
        replay.step(action)
    build = wrapped.option_names.index("build_lowest_layer")
    observation, reward, terminated, truncated, info = wrapped.step(build)
    rewards = [replay.step(action)[1] for action in info["option_actions"]]
    k = info["option_duration"]
    assert terminated and info["goal_percentage"] == 1.0  # one block: the layer and the house are done
    assert reward == pytest.approx(sum(GAMMA**i * r for i, r in enumerate(rewards)))
    assert info["option_discount"] == pytest.approx(GAMMA**k)
    with pytest.raises(RuntimeError, match="reset"):
        wrapped.step(build)  # the episode has ended
    observation, _ = wrapped.reset(seed=6)
    with pytest.raises(ValueError, match="outside"):
        wrapped.step(99)
    with pytest.raises(ValueError, match="not available"):
        wrapped.step(wrapped.option_names.index("clear_wrong_block"))  # no wrong block yet


def test_smdp_gae_discounts_by_option_duration() -> None:
    # Two decisions in one world: option 1 lasts 3 steps (γ^3), option 2 ends the episode.
    gamma, lam = 0.9, 0.5
    rewards = np.array([[1.0], [2.0]], dtype=np.float32)
    discounts = np.array([[gamma**3], [gamma**2]], dtype=np.float32)
    values = np.array([[0.5], [0.25]], dtype=np.float32)
    next_values = np.array([[0.25], [7.0]], dtype=np.float32)
    terminated = np.array([[False], [True]])
    truncated = np.zeros_like(terminated)
    advantages, returns = compute_smdp_gae(
        rewards, discounts, values, next_values, terminated, truncated, lam
    )
    delta1 = 2.0 - 0.25  # terminated: no bootstrap
    delta0 = 1.0 + gamma**3 * 0.25 - 0.5
    assert advantages[1, 0] == pytest.approx(delta1)
    assert advantages[0, 0] == pytest.approx(delta0 + gamma**3 * lam * delta1)
    np.testing.assert_allclose(returns, advantages + values)
    # Truncation bootstraps with γ^k V(final observation).
    advantages, _ = compute_smdp_gae(rewards, discounts, values, next_values, truncated, terminated, lam)
    assert advantages[1, 0] == pytest.approx(2.0 + gamma**2 * 7.0 - 0.25)


def tiny_config(run_dir: Path, **overrides) -> PPOOptionsConfig:
    values = dict(
        env_id="mbag/Build-Small-v0", env_kwargs={"goal": one_block_goal(), "horizon": 4}, total_steps=48,
        num_envs=4, num_steps=4, num_minibatches=2, update_epochs=2, hidden_channels=8, global_hidden=16,
        run_dir=str(run_dir), tensorboard=False, progress=False,
    )  # fmt: skip
    values.update(overrides)
    return PPOOptionsConfig(**values)


def test_ppo_over_options_learns_to_build_rather_than_wait(tmp_path: Path) -> None:
    """One block, horizon 4: building places it (return 1); waiting 4 steps ends the episode with 0.
    A uniform choice between the two available options builds half the time."""
    env_kwargs = {"goal": one_block_goal(), "horizon": 4}
    config = tiny_config(
        tmp_path / "run", env_kwargs=env_kwargs, total_steps=600, num_envs=8, num_steps=8,
        num_minibatches=4, update_epochs=4, learning_rate=5e-3, seed=0,
    )  # fmt: skip
    untrained = load_policy_from_fresh(config)
    before = evaluate_policy(
        untrained.act_batch, "mbag/Build-Small-v0", 64, num_envs=8, env_kwargs=env_kwargs
    )
    summary = train(config)
    trained = load_policy(summary["checkpoint"], seed=0)
    assert isinstance(trained, OptionsPolicy)
    after = evaluate_policy(trained.act_batch, "mbag/Build-Small-v0", 64, num_envs=8, env_kwargs=env_kwargs)
    assert 0.25 < np.mean(before.completed) < 0.75, np.mean(before.completed)
    assert np.mean(after.completed) >= 0.9, (np.mean(after.completed), np.mean(before.completed))


def load_policy_from_fresh(config: PPOOptionsConfig) -> OptionsPolicy:
    """The policy of an untrained network (uniform over the available options, up to init noise)."""
    from baselines.common.networks import ObservationSpec
    from baselines.options.ppo_options import OptionPolicyNetwork

    env = gym.make(config.env_id, **config.env_kwargs)
    spec = ObservationSpec.from_spaces(env.observation_space, env.action_space)
    torch.manual_seed(0)
    network = OptionPolicyNetwork(spec, len(builder_options()), config.network_config())
    return OptionsPolicy(network, "builder", seed=0)


def test_ppo_options_checkpoint_round_trip_and_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    summary = train(tiny_config(run_dir, total_steps=24))
    first = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert first["algorithm"] == "ppo_options" and first["global_step"] == summary["global_step"] >= 24
    policy = load_policy(summary["checkpoint"], seed=0)
    for key, tensor in policy.model.state_dict().items():
        assert torch.equal(tensor, first["model"][key]), key
    env = gym.make("mbag/Build-Small-v0", goal=one_block_goal(), horizon=4)
    observation, _ = env.reset(seed=0)
    assert observation["action_mask"][policy.act(observation)]
    resumed = main(["--resume", str(run_dir / "checkpoints" / "last.pt"), "--total-steps", "60"])
    second = load_checkpoint(run_dir / "checkpoints" / "final.pt")
    assert second["global_step"] == resumed["global_step"] >= 60
    assert second["iteration"] > first["iteration"]
    assert second["optimizer"]["state"][0]["step"] > first["optimizer"]["state"][0]["step"]


def test_assistant_run_from_the_command_line_plays_in_the_leaderboard(tmp_path: Path) -> None:
    from mbag_env.envs.single import MbagEnv
    from mbag_env.evaluation.leaderboard import parse_assistant_spec
    from mbag_env.evaluation.recording import run_episode

    run_dir = tmp_path / "assist"
    summary = main(
        ["--env", "mbag/Assist-Small-v0", "--env-kwargs", '{"horizon": 8}', "--total-steps", "32",
         "--num-envs", "2", "--num-steps", "2", "--num-minibatches", "2", "--hidden-channels", "8",
         "--global-hidden", "16", "--run-dir", str(run_dir), "--no-tensorboard", "--no-progress"]
    )  # fmt: skip
    payload = load_checkpoint(summary["checkpoint"])
    assert payload["role"] == "assistant" and "extend_human_build" in payload["option_names"]
    spec = parse_assistant_spec(f"options={summary['checkpoint']}")
    env = MbagEnv(world_size=(6, 6, 6), num_players=2, horizon=8, goal="houses:test", agent=1)
    recording = run_episode(env, spec.build(env, seed=0), seed=0, assistant_name=spec.label)
    assert len(recording.actions) == 8


def test_paired_differences_and_option_usage_metrics() -> None:
    from baselines.options.diagnostics import OptionUsage
    from baselines.options.evaluate_options import METRICS, paired_differences

    def episodes(values: list[float]) -> dict:
        return {"episodes": {metric: values for metric in METRICS}}

    per_policy = {
        "idle": episodes([1.0, 2.0, 3.0]),
        "a@1": episodes([2.0, 3.0, 4.0]),
        "a@2": episodes([1.0, 3.0, 5.0]),
    }
    paired = paired_differences(per_policy, "idle")["a"]["goal_percentage"]
    assert paired["pairs"] == 6 and paired["mean_difference"] == pytest.approx(1.0)
    usage = OptionUsage(["x", "y"], (6, 6, 6))
    usage.record_choice(0)
    for action in (0, FIRST_PLACE + 5, FIRST_PLACE + 8 * 216 + 5):  # NOOP, PLACE and BREAK at cell 5
        usage.record_step(0, action, (0, 2, 0))
    usage.record_end(0, 3, terminated=True)
    usage.record_choice(1)
    usage.record_step(1, 0)
    usage.record_end(1, 1, terminated=False)
    metrics = usage.metrics()
    assert metrics["options/steps_frac_x"] == 0.75 and metrics["options/duration_x"] == 3.0
    assert metrics["options/termination_rate"] == 0.25 and metrics["options/active_options"] == 2.0
    assert usage.cell_maps[0, 0, 0, 5] == 2 and usage.position_maps[0, 0, 2, 0] == 3
