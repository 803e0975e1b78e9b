"""Profile where a step's time goes: the single env and the batched Assist env.

**Single env** (``gym.make("mbag/Build-v0")``, masks on, 11×10×10): the whole wrapped step, the
unwrapped ``MbagEnv.step``, and the parts of it timed one by one over many calls on the same state
(CPU time of the process, the median of five blocks): action check, the one compiled call that
steps and writes the observation (``step_and_observe``; in a NOOP step it mirrors the world and
keeps the mask), the observation's copies, the ``info`` dict and the episode-end queries; numba's
dispatch cost (an empty compiled function given the same arguments) splits the call further. The
same call after a change (world and mask written afresh) and the compiled work alone (the world
write and the mask, looped inside one compiled call) are timed too, and the user's own sampling of
a random valid action.

**Batched Assist env** (``gym.make_vec("mbag/Assist-v0", N=1024, copy=False)``, idle assistant,
masks off and on): ``step`` is timed phase by phase (the step kernel, the observation kernel, the
rest: actions check, rewards, flags, infos). The step kernel's call includes the resets of the
worlds that ended, which the calling thread does while helper threads step the others; their
time on the caller is shown, and the rules alone are timed on the same worlds just before each
step, in a kernel step in which the human does NOOP too (its effect on the counters undone). The
steps run in five blocks and the fastest block is reported (wall-clock means over it).

Prints Markdown tables and writes JSON (``--output``, default ``results/profile_env_step.json``).
Single-env times are CPU microseconds per step, the batch's wall-clock microseconds per call and
nanoseconds per env-step; on a shared machine compare only figures from one run, as ratios.

Usage::

    python scripts/profile_env_step.py            # about 30 s
    python scripts/profile_env_step.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba
import numpy as np
from step_timing import machine_record, per_call_us, random_valid_stepper

import mbag_env  # noqa: F401  (registers the mbag/ ids)
from mbag_env.core.actions import NOOP
from mbag_env.core.masks import write_action_mask
from mbag_env.core.observe import write_world
from mbag_env.core.state import ENV_TERMINATED, ENV_TRUNCATED
from mbag_env.envs.batch import info_from_rows
from mbag_env.envs.step_kernels import step_and_observe


@numba.njit(cache=True)
def _world_writes(repeats, blocks, goal, last_interacted, player_ints, params, viewer, world_out):  # type: ignore[no-untyped-def]
    for _ in range(repeats):
        write_world(blocks, goal, last_interacted, player_ints, params, viewer, world_out)


@numba.njit(cache=True)
def _mask_writes(repeats, mask, blocks, solid_neighbours, player_ints, params, player):  # type: ignore[no-untyped-def]
    for _ in range(repeats):
        write_action_mask(mask, blocks, solid_neighbours, player_ints, params, player)


def compiled_loop_us(loop: Callable[..., None], *args: object, repeats: int = 20_000) -> float:
    """CPU microseconds per iteration of a compiled loop (no Python or dispatch cost in it)."""
    loop(1, *args)
    start = time.process_time()
    loop(repeats, *args)
    return (time.process_time() - start) / repeats * 1e6


def empty_kernel(num_args: int) -> Callable[..., None]:
    """A compiled function taking ``num_args`` arguments and doing nothing (numba's dispatch cost),
    compiled as the core's kernels are (no reference counting)."""
    names = ", ".join(f"a{index}" for index in range(num_args))
    namespace: dict[str, Any] = {}
    exec(f"def empty({names}):\n    pass\n", namespace)  # noqa: S102 - a fixed, generated signature
    return numba.njit(_nrt=False)(namespace["empty"])  # type: ignore[call-overload,no-any-return]


def play_into_episode(env: gym.Env[Any, Any], steps: int, seed: int = 0) -> None:
    """Take ``steps`` random valid actions so the profile sees a world under construction."""
    rng = np.random.default_rng(seed)
    observation, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = int(rng.choice(np.flatnonzero(observation["action_mask"])))
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()


def profile_single_env(seconds: float) -> list[dict[str, Any]]:
    """Rows (part, µs per step, share of the unwrapped NOOP step) for ``mbag/Build-v0``."""
    env = gym.make("mbag/Build-v0")
    play_into_episode(env, 40)
    single = env.unwrapped
    batch = single.batch  # type: ignore[attr-defined]
    agent = single.agent  # type: ignore[attr-defined]
    state = batch.state
    buffers = batch.observation_buffers(agent)
    timings: dict[str, float] = {}

    def wrapped() -> None:
        _, _, terminated, truncated, _ = env.step(NOOP)
        if terminated or truncated:
            env.reset()

    def unwrapped() -> None:
        _, _, terminated, truncated, _ = single.step(NOOP)
        if terminated or truncated:
            single.reset()

    rng = np.random.default_rng(1)
    mask = single.action_masks()  # type: ignore[attr-defined]

    def sample() -> None:
        rng.choice(np.flatnonzero(mask))

    random_valid_loop, _ = random_valid_stepper(env, seed=3)

    zero_copy = gym.make("mbag/Build-v0", copy_observations=False, disable_env_checker=True).unwrapped
    play_into_episode(zero_copy, 40)  # type: ignore[arg-type]

    def unwrapped_zero_copy() -> None:
        _, _, terminated, truncated, _ = zero_copy.step(NOOP)
        if terminated or truncated:
            zero_copy.reset()

    timings["wrapped"] = per_call_us(wrapped, seconds)
    timings["unwrapped"] = per_call_us(unwrapped, seconds)
    timings["unwrapped_zero_copy"] = per_call_us(unwrapped_zero_copy, seconds)
    timings["random_valid_loop"] = per_call_us(random_valid_loop, seconds)
    timings["sample"] = per_call_us(sample, seconds)
    play_into_episode(env, 40)
    timings["check"] = per_call_us(lambda: batch.actions.check(NOOP), seconds / 4)
    current = single._observation_current  # type: ignore[attr-defined]
    step_args = single._step_args  # type: ignore[attr-defined]
    single._actions[...] = NOOP  # type: ignore[attr-defined]
    # In a NOOP step the observation is kept up to date incrementally: world mirrored, mask kept.
    timings["fused_noop"] = per_call_us(lambda: step_and_observe(*step_args), seconds / 2)

    def fused_rewrite() -> None:
        current[0] = 0  # as after reset or set_state: the world and the mask are written afresh
        step_and_observe(*step_args)

    timings["fused_rewrite"] = per_call_us(fused_rewrite, seconds / 2)
    empty_step = empty_kernel(len(step_args))
    timings["fused_dispatch"] = per_call_us(lambda: empty_step(*step_args), seconds / 4)
    world, inventory, timestep = buffers["world"], buffers["inventory"], buffers["timestep"]
    mask_buffer = buffers["action_mask"]
    batch.observe(agent, world, inventory, timestep, mask_buffer)
    timings["world_compiled"] = compiled_loop_us(
        _world_writes, state.blocks[0], state.goal[0], state.last_interacted[0], state.player_ints[0],
        batch.params, agent, world[0],
    )  # fmt: skip
    timings["mask_compiled"] = compiled_loop_us(
        _mask_writes, mask_buffer[0], state.blocks[0], state.solid_neighbours[0], state.player_ints[0],
        batch.params, agent,
    )  # fmt: skip

    # What the step does after the compiled call: copy the buffers, read the flags and build info
    # from memoryviews of the state rows (MbagEnv._bind_hot_path).
    timings["copies"] = per_call_us(single._copied_observation, seconds / 4)  # type: ignore[attr-defined]
    rows = (single._agent_row, single._human_row, single._env_row)  # type: ignore[attr-defined]
    timings["info"] = per_call_us(lambda: info_from_rows(*rows), seconds / 4)
    env_row = rows[2]
    timings["flags"] = per_call_us(
        lambda: (env_row[ENV_TERMINATED] != 0, env_row[ENV_TRUNCATED] != 0), seconds / 4
    )

    unwrapped_us = timings["unwrapped"]
    parts = [
        ("whole loop: random valid action (user's sampling included)", timings["random_valid_loop"]),
        ("user's sampling alone: rng.choice(np.flatnonzero(mask))", timings["sample"]),
        ("the env's part of that loop (loop − sampling)", timings["random_valid_loop"] - timings["sample"]),
        ("wrapped step, NOOP (gym.make: OrderEnforcing, PassiveEnvChecker)", timings["wrapped"]),
        ("unwrapped MbagEnv.step, NOOP", unwrapped_us),
        ("  Gymnasium wrappers (wrapped − unwrapped)", timings["wrapped"] - unwrapped_us),
        ("  action check", timings["check"]),
        ("  fused step + observation call (step_and_observe), NOOP: world mirrored, mask kept",
         timings["fused_noop"]),
        (f"    of which numba dispatch (empty function, same {len(step_args)} arguments)",
         timings["fused_dispatch"]),
        ("  observation copies (4 arrays, the caller may keep them)", timings["copies"]),
        ("  info dict", timings["info"]),
        ("  terminated / truncated queries", timings["flags"]),
    ]  # fmt: skip
    counted = sum(timings[key] for key in ("check", "fused_noop", "copies", "info", "flags"))
    parts.append(("  rest (Python glue in step)", unwrapped_us - counted))
    parts += [
        (
            "unwrapped MbagEnv.step, NOOP, opt-in zero-copy mode (copy_observations=False)",
            timings["unwrapped_zero_copy"],
        ),
        ("fused call after a change (world and mask written afresh)", timings["fused_rewrite"]),
        ("  compiled work: world write (4×11×10×10)", timings["world_compiled"]),
        ("  compiled work: action mask (9,907 entries)", timings["mask_compiled"]),
    ]
    return [
        {"part": name, "us_per_step": value, "share_of_unwrapped": value / unwrapped_us}
        for name, value in parts
    ]


def profile_batched_assist(
    num_envs: int, masks: bool, seconds: float, blocks: int = 5
) -> list[dict[str, Any]]:
    """Rows (phase, µs per call, ns per env-step, share) for one ``mbag/Assist-v0`` vector env: the
    means over the block of steps (of ``blocks``) whose whole steps were fastest."""
    vector = gym.make_vec(
        "mbag/Assist-v0",
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        action_masks=masks,
        copy=False,
    )
    vector.reset(seed=0)
    inner = vector.unwrapped
    batch = inner.batch  # type: ignore[attr-defined]
    state = batch.state
    actions = np.zeros(num_envs, dtype=np.int64)
    noop_all = np.zeros((num_envs, batch.num_players), dtype=np.int64)
    for _ in range(20):
        vector.step(actions)
    names = ("step", "resets", "step_kernel", "observe", "kernel_no_human")
    totals = dict.fromkeys(names, 0.0)
    original_step = batch.step
    original_observe = batch.observe
    original_reset = batch.reset_env

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = function(*args, **kwargs)
            totals[name] += time.perf_counter() - start
            return result

        return wrapper

    batch.step = timed("step_kernel", original_step)
    batch.observe = timed("observe", original_observe)
    batch.reset_env = timed("resets", original_reset)
    # Blocks of steps; the block with the fastest steps is reported: on a shared machine other jobs
    # stall the threads of the parallel kernels now and then, which a mean over one block would keep.
    best: tuple[dict[str, float], int] | None = None
    try:
        for _ in range(blocks):
            totals.update(dict.fromkeys(names, 0.0))
            calls = 0
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / blocks:
                # The same worlds stepped with the human doing NOOP too: the rules without the search.
                env_ints = state.env_ints.copy()
                player_ints = state.player_ints.copy()
                rewards = batch.rewards.copy()
                begin = time.perf_counter()
                original_step(noop_all, ~inner._autoreset)  # type: ignore[attr-defined]
                totals["kernel_no_human"] += time.perf_counter() - begin
                state.env_ints[...] = env_ints
                state.player_ints[...] = player_ints
                batch.rewards[...] = rewards
                begin = time.perf_counter()
                vector.step(actions)
                totals["step"] += time.perf_counter() - begin
                calls += 1
            if best is None or totals["step"] / calls < best[0]["step"] / best[1]:
                best = (dict(totals), calls)
    finally:
        batch.step, batch.observe, batch.reset_env = original_step, original_observe, original_reset
    assert best is not None
    totals, calls = best
    step_us = totals["step"] / calls * 1e6
    parts = [
        ("vector step (whole)", totals["step"]),
        ("  step kernel (rules + scripted human; the ended worlds reset on the caller meanwhile)",
         totals["step_kernel"]),
        ("    the caller's resets of ended worlds (goal sampling included)", totals["resets"]),
        ("    rules alone (same worlds, human doing NOOP; no resets)", totals["kernel_no_human"]),
        ("  observation kernel (mirror kept by the step; inventory, timestep" + (", mask)" if masks else ")"),
         totals["observe"]),
        ("  rest (action check, rewards, flags, infos)",
         totals["step"] - totals["step_kernel"] - totals["observe"]),
    ]  # fmt: skip
    return [
        {
            "part": name,
            "us_per_call": total / calls * 1e6,
            "ns_per_env_step": total / calls / num_envs * 1e9,
            "share_of_step": total / calls * 1e6 / step_us,
            "env_steps_per_s": num_envs * calls / total if name == "vector step (whole)" else None,
        }
        for name, total in parts
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="time each part for a fraction of the time")
    parser.add_argument("--num-envs", type=int, default=1024, help="worlds in the batched Assist env")
    parser.add_argument("--output", type=Path, default=Path("results/profile_env_step.json"))
    args = parser.parse_args()
    seconds = 0.5 if args.quick else 2.0
    load_before = os.getloadavg()[0]
    print(f"load average before: {load_before:.2f}")

    single = profile_single_env(seconds)
    print('\nSingle env, gym.make("mbag/Build-v0"), masks on, 11×10×10: CPU µs per step\n')
    print("| part | µs per step | share of the unwrapped step |\n|---|---|---|")
    for row in single:
        print(f"| {row['part']} | {row['us_per_step']:.2f} | {row['share_of_unwrapped']:.0%} |")

    batched: dict[str, list[dict[str, Any]]] = {}
    for masks in (False, True):
        label = f"masks {'on' if masks else 'off'}"
        batched[label] = profile_batched_assist(args.num_envs, masks, seconds * 2)
        rate = batched[label][0]["env_steps_per_s"]
        print(
            f'\nBatched gym.make_vec("mbag/Assist-v0", N={args.num_envs}, copy=False), idle assistant, '
            f"{label}: {rate:,.0f} env-steps/s\n"
        )
        print("| phase | µs per call | ns per env-step | share |\n|---|---|---|---|")
        for row in batched[label]:
            print(
                f"| {row['part']} | {row['us_per_call']:,.0f} | {row['ns_per_env_step']:.0f} "
                f"| {row['share_of_step']:.0%} |"
            )

    load_after = os.getloadavg()[0]
    print(f"\nload average after: {load_after:.2f}")
    machine = machine_record(
        load_before, load_after, numba=numba.__version__, numpy=np.__version__, gymnasium=gym.__version__
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine, "single_env": single, "batched_assist": batched, "num_envs": args.num_envs}
    args.output.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
