"""``mbag-play``: a person plays the human of MBAG in a pygame window, alone or beside an assistant.

The person is player 0, the goal-aware human: the goal house θ shows as pale "ghost" blocks.
With ``--assistant SPEC`` an assistant plays seat 1 of a two-player game exactly as in
``mbag/Assist-v0`` and on the leaderboard (a scripted name ``idle``/``random``/``oracle``, a
``.pt`` checkpoint, or ``module:factory``;
:func:`~mbag_env.evaluation.assistant_specs.parse_assistant_spec`);
without it the person builds alone (one player, as in ``mbag/Build-v0``).

**Controls** (also shown in the window; :data:`HELP_LINES`): W/A/S/D fly up/left/down/right as
seen in the layer panel, Space/Shift fly up/down; 1-8 or the mouse wheel choose the block;
left click on a cell of the layer panel places the block there, right click breaks the block
there; ``[``/``]`` or PageDown/PageUp change the panel's layer; Q/E rotate the view; G toggles
the goal ghost; N or Enter waits one step; T gives a block to the assistant (finite blocks
only); P pauses; H hides the help; Esc saves and quits.

**Quitting.** Esc or closing the window saves the episode in progress and ``mbag-play`` exits
with status 0. Ctrl-C in the terminal saves it the same way and exits with status 130 (the
shell's convention for an interrupt, as ``mbag-leaderboard`` does). A failing assistant exits
with status 1 (the episode so far is saved), a bad option or assistant spec with status 2.

**Validity.** The panel marks, from the person's own action mask (the env's validity, reach and
line of sight included), where a click acts now (a green dot on air, a green frame on a block)
and where it cannot (red tint: out of reach or out of sight). A click or move that is not valid
is not sent to the game: the status line says why, and no step is taken.

**Real-time stepping.** The game steps whenever the person acts (a move, place, break, give or
wait), *and* whenever ``1 / rate`` seconds pass without one; such a timer step is a NOOP for the
person. The assistant acts on every step, so it works in real time at least ``rate`` steps per
second whatever the person does. The countdown bar in the HUD shows the time to the next timer
step. ``--rate 0`` makes the game turn-based: it steps only when the person acts (N waits).
Nothing steps before the person's first action (or Enter), nor while paused.

**Recording.** Every episode is saved (``--record-dir``, default ``recordings/``) as an
:class:`~mbag_env.evaluation.recording.EpisodeRecording`, the format of the leaderboard's
recordings and of :func:`~mbag_env.evaluation.recording.replay`: the goal, both players'
actions and outcomes, and in ``extra``: ``"source": "mbag-play"``, ``step_seconds`` (wall-clock
seconds from the start of the episode to each step), ``step_causes`` (``"person"``,
``"wait"`` or ``"timer"`` per step), ``step_rate``, ``started_at`` (UTC), ``ended_by``
(``"goal"``, ``"horizon"``, ``"player"``, or ``"assistant_error"`` when the assistant raised or
returned an invalid action), ``player_name`` and ``assistant_spec``. An episode
the person leaves early is saved too, with ``terminated`` and ``truncated`` both false. The
recording's ``human`` is ``{"type": "person", "name": ...}``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from mbag_env.blocks import AIR, BEDROCK, BLOCK_NAMES, FIRST_PLACEABLE, NUM_PLACEABLE  # noqa: E402
from mbag_env.config import SMALL_WORLD_SIZE, MbagConfig  # noqa: E402
from mbag_env.core.actions import MOVE_NAMES, NOOP, place_action  # noqa: E402
from mbag_env.core.rules import REACH  # noqa: E402
from mbag_env.core.state import (  # noqa: E402
    ENV_EDIT_DISTANCE,
    ENV_TIMESTEP,
    PLAYER_INVENTORY,
    PLAYER_LAST_ACTION,
    PLAYER_LAST_DELTA,
    PLAYER_LAST_VALID,
)
from mbag_env.envs.single import MbagEnv  # noqa: E402
from mbag_env.evaluation.assistant_specs import (  # noqa: E402
    SPEC_HELP,
    AssistantSpec,
    AssistantSpecError,
    parse_assistant_spec,
)
from mbag_env.evaluation.episode_tasks import warm_up  # noqa: E402
from mbag_env.evaluation.recording import EpisodeRecording, check_action, state_digest  # noqa: E402
from mbag_env.humans.policy import Policy  # noqa: E402
from mbag_env.render.game_window import GameWindow, WindowError  # noqa: E402
from mbag_env.render.view_geometry import panel_move_direction  # noqa: E402
from mbag_env.render.window_frame import Frame, Hud, PlayerLine, block_for_slot  # noqa: E402

HELP_LINES: list[tuple[str, str]] = [
    ("W A S D", "fly up / left / down / right (panel)"),
    ("Space / Shift", "fly up / down a layer"),
    ("Left click", "place the block on a panel cell"),
    ("Right click", "break the block on a panel cell"),
    ("1-8 / wheel", "choose the block"),
    ("[ ]  PgDn PgUp", "panel layer down / up"),
    ("Q / E", "rotate the view"),
    ("G", "goal ghost on / off"),
    ("N / Enter", "wait one step"),
    ("P / H", "pause / hide this help"),
    ("Esc", "save and quit"),
]
"""The controls as shown in the window: ``(keys, what they do)``."""

GIVE_HELP = ("T", "give the block to the assistant")

MESSAGE_SECONDS = 4.0
"""How long a message about an action stays on the status line."""

_MOVE_KEYS = {pygame.K_w: (0, -1), pygame.K_s: (0, 1), pygame.K_a: (-1, 0), pygame.K_d: (1, 0)}
_NUMBER_KEYS = {getattr(pygame, f"K_{n}"): n - 1 for n in range(1, NUM_PLACEABLE + 1)}
_NUMBER_KEYS.update({getattr(pygame, f"K_KP{n}"): n - 1 for n in range(1, NUM_PLACEABLE + 1)})


class AssistantFailure(RuntimeError):
    """The assistant raised or returned an invalid action; the episode so far was saved."""


class PersonSeat:
    """Player 0's policy inside :class:`~mbag_env.envs.single.MbagEnv`: the action the person chose
    for the step being taken (set by :class:`PlaySession` just before it steps the env)."""

    def __init__(self) -> None:
        self.action: int | None = None

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        """Hand over the person's action for this step.

        Raises:
            RuntimeError: if the env steps without an action from the person.
        """
        if self.action is None:
            raise RuntimeError("the env stepped without an action from the person (PlaySession sets one)")
        action, self.action = self.action, None
        return action


class EpisodeLog:
    """Collects one played episode step by step and turns it into an :class:`EpisodeRecording`.

    It reads exactly what :func:`~mbag_env.evaluation.recording.run_episode` reads after each
    step (the env's per-player last action, validity and edit-distance drop, the rewards, the
    edit distance and the state digest), so :func:`~mbag_env.evaluation.recording.replay` can
    check the recording bit by bit.
    """

    def __init__(self, env: MbagEnv) -> None:
        state = env.batch.state
        self.initial_state = state.get_row(0)
        self.actions: list[np.ndarray] = []
        self.valid: list[np.ndarray] = []
        self.delta: list[np.ndarray] = []
        self.rewards: list[np.ndarray] = []
        self.distances = [int(state.env_ints[0, ENV_EDIT_DISTANCE])]
        self.digests = [state_digest(self.initial_state)]
        self.step_seconds: list[float] = []
        self.step_causes: list[str] = []

    @property
    def num_steps(self) -> int:
        """Steps recorded so far."""
        return len(self.actions)

    def record_step(self, env: MbagEnv, seconds: float, cause: str) -> None:
        """Record the step ``env`` just took, ``seconds`` after the episode started, caused by
        ``cause`` (``"person"``, ``"wait"`` or ``"timer"``)."""
        state = env.batch.state
        players = state.player_ints[0]
        self.actions.append(players[:, PLAYER_LAST_ACTION].copy())
        self.valid.append(players[:, PLAYER_LAST_VALID] != 0)
        self.delta.append(players[:, PLAYER_LAST_DELTA].astype(np.int8))
        self.rewards.append(env.batch.rewards[0].copy())
        self.distances.append(int(state.env_ints[0, ENV_EDIT_DISTANCE]))
        self.digests.append(state_digest(state.get_row(0)))
        self.step_seconds.append(round(float(seconds), 4))
        self.step_causes.append(cause)

    def to_recording(
        self,
        env: MbagEnv,
        *,
        seed: int,
        terminated: bool,
        truncated: bool,
        human: dict[str, Any],
        assistant: str,
        extra: Mapping[str, Any],
    ) -> EpisodeRecording:
        """The episode so far as an :class:`EpisodeRecording` (``extra`` gets the step timing)."""
        state = env.batch.state
        num_players = env.config.num_players
        goal = state.goal[0].copy()
        return EpisodeRecording(
            config=env.config.replace(goal=goal),
            agent=env.agent,
            seed=seed,
            goal=goal,
            initial_state=self.initial_state,
            actions=np.array(self.actions, dtype=np.int64).reshape(-1, num_players),
            rewards=np.array(self.rewards, dtype=np.float64).reshape(-1, num_players),
            action_valid=np.array(self.valid, dtype=np.bool_).reshape(-1, num_players),
            action_delta=np.array(self.delta, dtype=np.int8).reshape(-1, num_players),
            edit_distance=np.array(self.distances, dtype=np.int64),
            state_digests=np.array(self.digests, dtype=np.uint32),
            final_blocks=state.blocks[0].copy(),
            terminated=terminated,
            truncated=truncated,
            human=human,
            assistant=assistant,
            extra={**extra, "step_seconds": list(self.step_seconds), "step_causes": list(self.step_causes)},
        )


class PlaySession:
    """One person playing episode after episode in a :class:`~mbag_env.render.game_window.GameWindow`.

    Args:
        config: the game; ``num_players`` is set to 2 with an assistant and 1 without.
        assistant: an assistant spec (text or parsed), or ``None`` to play alone.
        seed: seed of the first episode (the next ones use ``seed + 1``, ...); ``None`` draws one.
        step_rate: timer steps per second (see the module docstring); ``0`` is turn-based.
        record_dir: folder for the recordings, or ``None`` to keep them only in
            :attr:`recordings`.
        player_name: stored in every recording.
        window: the window to use (default: a new one).
        clock: the time source in seconds (tests pass a fake one).
        fps: frames per second of the loop (``0``: as fast as possible).
        cell_pixels: block size of the 3-D view of a new window (default: the largest that fits).

    Raises:
        AssistantSpecError: for an assistant spec that cannot be used.
        ValueError: for a negative ``step_rate``.
    """

    def __init__(
        self,
        config: MbagConfig,
        *,
        assistant: str | AssistantSpec | None = None,
        seed: int | None = None,
        step_rate: float = 2.0,
        record_dir: str | Path | None = "recordings",
        player_name: str = "anonymous",
        window: GameWindow | None = None,
        clock: Callable[[], float] = time.monotonic,
        fps: int = 30,
        cell_pixels: int | None = None,
    ) -> None:
        if not step_rate >= 0:
            raise ValueError(f"step_rate must be >= 0 steps per second (0 = turn-based), got {step_rate!r}")
        self.spec = parse_assistant_spec(assistant) if isinstance(assistant, str) else assistant
        self.config = config.replace(num_players=1 if self.spec is None else 2, action_masks=True)
        self.seat = PersonSeat()
        if self.spec is None:
            self.env = MbagEnv(self.config, agent=0)
        else:
            self.env = MbagEnv(self.config, agent=1, human_policy=self.seat)
        self.actions = self.env.batch.actions
        self.step_rate = float(step_rate)
        self.record_dir = None if record_dir is None else Path(record_dir)
        self.player_name = player_name
        self.clock = clock
        self.fps = fps
        help_lines = list(HELP_LINES)
        if not self.config.infinite_blocks and self.spec is not None:
            help_lines.insert(-2, GIVE_HELP)
        self.window = (
            window
            if window is not None
            else GameWindow(
                self.config.world_size, title="mbag-play", help_lines=help_lines, cell_pixels=cell_pixels
            )
        )
        pygame.key.set_repeat(300, 120)
        self._frame_clock = pygame.time.Clock()
        self._buffers = self.env.batch.observation_buffers(0)
        self.selected_block = FIRST_PLACEABLE + 4  # planks: the most common house block
        self.seed = secrets.randbelow(2**31) if seed is None else int(seed)
        self.recordings: list[EpisodeRecording] = []
        """Every finished episode of this session, in order."""
        self.saved: list[Path] = []
        """The files the recordings were saved to."""
        self.running = True
        self.start_episode(self.seed)

    # ----------------------------------------------------------------- episodes
    def start_episode(self, seed: int) -> None:
        """Reset the env with ``seed`` and wait for the person's first action."""
        self.seed = int(seed)
        self.observation, _ = self.env.reset(seed=self.seed)
        self.assistant: Policy | None = None if self.spec is None else self.spec.build(self.env, self.seed)
        self.log = EpisodeLog(self.env)
        self.phase = "ready"  # ready -> running <-> paused -> over
        self.started_wall = ""
        self.start_time = 0.0
        self.last_step_time = 0.0
        self.total_reward = 0.0
        self.last_reward = 0.0
        self.ended_by = ""
        self.message, self.message_level, self.message_until = "", "info", 0.0
        self._refresh_mask()

    def _refresh_mask(self) -> None:
        self.human_mask = self.env.batch.first_observation(0, self._buffers, True)["action_mask"]

    def _begin(self, now: float) -> None:
        self.phase = "running"
        self.start_time = self.last_step_time = now
        self.started_wall = datetime.now(UTC).isoformat(timespec="seconds")

    def finish_episode(self, ended_by: str) -> EpisodeRecording | None:
        """End the episode (``ended_by``: ``"goal"``, ``"horizon"``, ``"player"`` or
        ``"assistant_error"``), save its recording and return it (``None`` when no step was taken)."""
        if self.phase == "over" or self.log.num_steps == 0:
            self.phase = "over"
            return None
        self.phase = "over"
        self.ended_by = ended_by
        batch = self.env.batch
        recording = self.log.to_recording(
            self.env,
            seed=self.seed,
            terminated=batch.terminated(0),
            truncated=batch.truncated(0),
            human={"type": "person", "name": self.player_name},
            assistant="" if self.spec is None else self.spec.label,
            extra={
                "source": "mbag-play",
                "player_name": self.player_name,
                "assistant_spec": None if self.spec is None else self.spec.text,
                "step_rate": self.step_rate,
                "started_at": self.started_wall,
                "ended_by": ended_by,
            },
        )
        self.recordings.append(recording)
        if self.record_dir is not None:
            path = recording.save(self.record_dir / self._file_name())
            self.saved.append(path)
            print(f"saved the episode ({recording.num_steps} steps) to {path}")
        return recording

    def _file_name(self) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        partner = "alone" if self.spec is None else self.spec.label
        text = f"play_{stamp}_{self.player_name}_{partner}_seed{self.seed}"
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:120] + ".npz"

    def quit(self) -> None:
        """Save the episode in progress (if any step was taken) and stop the session."""
        if self.phase in ("running", "paused"):
            self.finish_episode("player")
        self.running = False

    # ----------------------------------------------------------------- acting
    def act(self, action: int, cause: str = "person") -> bool:
        """Take the person's ``action`` now if it is valid; return whether the game stepped.

        An invalid action is not sent: the status line says why.
        """
        now = self.clock()
        if self.phase == "over":
            return False
        if self.phase == "paused":
            self._say("Paused: press P to go on", "warning")
            return False
        if not self.human_mask[action]:
            self._say(self.explain_invalid(action), "error")
            return False
        if self.phase == "ready":
            self._begin(now)
        self._step(action, cause, now)
        return True

    def tick(self, now: float | None = None) -> bool:
        """Take a timer step (NOOP for the person) if ``1 / step_rate`` seconds passed since the
        last step; return whether it stepped."""
        now = self.clock() if now is None else now
        if self.phase != "running" or self.step_rate <= 0:
            return False
        if now - self.last_step_time < 1.0 / self.step_rate:
            return False
        self._step(NOOP, "timer", now)
        return True

    def _step(self, action: int, cause: str, now: float) -> None:
        env = self.env
        if self.spec is None:
            self.observation, _, terminated, truncated, _ = env.step(action)
        else:
            assert self.assistant is not None
            who = f"the assistant {self.spec.label!r}"
            try:
                assistant_action = check_action(
                    self.assistant.act(self.observation), self.actions.n, who, self.log.num_steps
                )
            except Exception as error:  # any failure of foreign code: save what was played, then stop
                self.finish_episode("assistant_error")
                self.running = False
                self.window.close()
                saved = f"; the episode so far is in {self.saved[-1]}" if self.saved else ""
                raise AssistantFailure(
                    f"{who} failed at step {self.log.num_steps}: {type(error).__name__}: {error}{saved}"
                ) from error
            self.seat.action = action
            self.observation, _, terminated, truncated, _ = env.step(assistant_action)
        self.last_reward = float(env.batch.rewards[0, 0])
        self.total_reward += self.last_reward
        self.last_step_time = now
        self.log.record_step(env, now - self.start_time, cause)
        self._refresh_mask()
        if cause == "person":
            self._describe_own_action()
        if terminated or truncated:
            recording = self.finish_episode("goal" if terminated else "horizon")
            if recording is not None and self.saved:
                self._say(f"Saved {self.saved[-1]}", "success", forever=True)

    def _describe_own_action(self) -> None:
        # player 0 resolves first in a joint step, so an action its mask allowed is always valid
        row = self.env.batch.state.player_ints[0, 0]
        if row[PLAYER_LAST_DELTA] > 0:
            self._say(f"{self.actions.describe(int(row[PLAYER_LAST_ACTION]))}: correct (+1)", "success")
        elif row[PLAYER_LAST_DELTA] < 0:
            self._say(
                f"{self.actions.describe(int(row[PLAYER_LAST_ACTION]))}: not in the goal (-1)", "warning"
            )

    def place(self, cell: Sequence[int]) -> bool:
        """Place the selected block at ``cell`` (a left click); see :meth:`act`."""
        x, y, z = (int(c) for c in cell)
        return self.act(self.actions.encode("place", (x, y, z), self.selected_block))

    def break_block(self, cell: Sequence[int]) -> bool:
        """Break the block at ``cell`` (a right click); see :meth:`act`."""
        x, y, z = (int(c) for c in cell)
        return self.act(self.actions.encode("break", (x, y, z)))

    def move(self, direction: int) -> bool:
        """Fly one cell along MOVE direction ``direction`` (0..5: +x, -x, +y, -y, +z, -z)."""
        return self.act(self.actions.encode("move", direction=direction))

    def give(self) -> bool:
        """Give one selected block to the assistant (finite blocks, two players)."""
        if self.config.infinite_blocks or self.spec is None:
            self._say("Giving blocks needs finite blocks (--finite-blocks) and an assistant", "warning")
            return False
        x, y, z = (int(c) for c in self.env.batch.state.player_ints[0, 1, :3])
        return self.act(self.actions.encode("give", (x, y, z), self.selected_block))

    def wait(self) -> bool:
        """Let one step pass (NOOP for the person); also starts the episode."""
        if self.phase == "ready":
            self._begin(self.clock())
            return True
        return self.act(NOOP, "wait")

    def explain_invalid(self, action: int) -> str:
        """Why the person's ``action`` is not valid now, in words (the mask says *that* it is not)."""
        decoded = self.actions.decode(action)
        state = self.env.batch.state
        blocks = state.blocks[0]
        if decoded.kind == "move":
            assert decoded.direction is not None
            where = MOVE_NAMES[decoded.direction]
            return f"Cannot fly {where}: a block, a player or the world's edge is in the way"
        assert decoded.cell is not None
        x, y, z = decoded.cell
        cell, block = decoded.cell, int(blocks[x, y, z])
        far = f"{cell} is out of reach ({REACH:g} blocks from your eyes) or out of sight: fly closer"
        if decoded.kind == "break":
            if block == AIR:
                return f"Nothing to break at {cell}"
            if block == BEDROCK:
                return "Bedrock cannot be broken"
            return far
        if decoded.kind == "give":
            return "The assistant must stand within one cell of you, and you need that block"
        if block != AIR:
            return f"{cell} holds {BLOCK_NAMES[block]}: right-click to break it first"
        players = state.player_ints[0]
        if not self.config.teleportation:
            for feet in players[:, :3]:
                if feet[0] == x and feet[2] == z and feet[1] <= y <= feet[1] + 1:
                    return f"A player is in {cell}"
        if state.solid_neighbours[0, x, y, z] == 0:
            return f"Nothing to attach a block to at {cell}: place it next to a block"
        if not self.config.infinite_blocks and players[0, PLAYER_INVENTORY + int(decoded.block or 0)] <= 0:
            return f"You have no {BLOCK_NAMES[int(decoded.block or 0)]} left: break blocks to collect some"
        return far

    def _say(self, message: str, level: str = "info", forever: bool = False) -> None:
        self.message, self.message_level = message, level
        self.message_until = float("inf") if forever else self.clock() + MESSAGE_SECONDS

    # ----------------------------------------------------------------- input
    def handle_event(self, event: pygame.event.Event) -> None:
        """Apply one pygame event (keys, clicks, wheel, window close)."""
        if event.type == pygame.QUIT:
            self.quit()
            return
        if self.window.handle_view_event(event):
            return
        if event.type == pygame.KEYDOWN:
            self._handle_key(event.key)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button in (1, 3):
            self.window.view.mouse = tuple(event.pos)
            cell = self.window.cell_at(event.pos)
            if cell is None or self.phase == "over":
                return
            if event.button == 1:
                self.place(cell)
            else:
                self.break_block(cell)
        elif event.type == pygame.MOUSEWHEEL and event.y:
            slot = (self.selected_block - FIRST_PLACEABLE - int(np.sign(event.y))) % NUM_PLACEABLE
            self.selected_block = block_for_slot(slot)

    def _handle_key(self, key: int) -> None:
        if key == pygame.K_ESCAPE:
            self.quit()
            return
        if self.phase == "over":
            if key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_n):
                self.start_episode(self.seed + 1)
            return
        if key in _MOVE_KEYS:
            du, dv = _MOVE_KEYS[key]
            self.move(panel_move_direction(du, dv, self.window.view.rotation))
        elif key == pygame.K_SPACE:
            self.move(2)
        elif key in (pygame.K_LSHIFT, pygame.K_RSHIFT):
            self.move(3)
        elif key in _NUMBER_KEYS:
            self.selected_block = block_for_slot(_NUMBER_KEYS[key])
        elif key in (pygame.K_n, pygame.K_RETURN, pygame.K_KP_ENTER):
            self.wait()
        elif key == pygame.K_t:
            self.give()
        elif key == pygame.K_p:
            if self.phase == "running":
                self.phase = "paused"
            elif self.phase == "paused":
                self.phase = "running"
                self.last_step_time = self.clock()  # the pause does not count towards the timer

    # ----------------------------------------------------------------- drawing
    def frame(self) -> Frame:
        """What the window shows now."""
        state = self.env.batch.state
        blocks = state.blocks[0]
        width, height, depth = self.config.world_size
        cells = width * height * depth
        first_place = int(place_action(self.selected_block - FIRST_PLACEABLE, 0, cells))
        place_valid = self.human_mask[first_place : first_place + cells].reshape(width, height, depth)
        first_break = self.actions.first_break
        break_valid = self.human_mask[first_break : first_break + cells].reshape(width, height, depth)
        players = state.player_ints[0, :, :3]
        candidate = (blocks == AIR) & (state.solid_neighbours[0] > 0)
        if not self.config.teleportation:
            for x, y, z in players:
                candidate[x, y : y + 2, z] = False
        return Frame(
            blocks=blocks,
            players=players,
            goal=state.goal[0],
            hud=self._hud(),
            place_valid=place_valid,
            break_valid=break_valid,
            can_place_here=candidate,
        )

    def _hud(self) -> Hud:
        now = self.clock()
        batch = self.env.batch
        state = batch.state
        timestep = int(state.env_ints[0, ENV_TIMESTEP])
        progress = None
        if self.phase == "ready":
            turn = "Your move: the game starts with your first action (or Enter)"
        elif self.phase == "paused":
            turn = "Paused: press P to go on"
        elif self.phase == "over":
            turn = "Episode over: Enter plays the next house, Esc quits"
        elif self.step_rate > 0:
            period = 1.0 / self.step_rate
            progress = min(1.0, (now - self.last_step_time) / period)
            turn = f"Your move: the game steps when you act, or every {period:.2g} s"
        else:
            turn = "Your move: the game waits for you (N waits a step)"
        lines = [self._player_line(0, "You", timestep)]
        if self.spec is not None:
            lines.append(self._player_line(1, f"Assistant ({self.spec.label})", timestep))
        message, level = self.message, self.message_level
        if now >= self.message_until:
            message, level = self._hover_hint(), "info"
        inventory = (
            None
            if self.config.infinite_blocks
            else state.player_ints[0, 0, PLAYER_INVENTORY : PLAYER_INVENTORY + 10]
        )
        return Hud(
            step=timestep,
            horizon=self.config.horizon,
            goal_percentage=batch.goal_percentage(0),
            reward=self.last_reward,
            total_reward=self.total_reward,
            turn=turn,
            turn_progress=progress,
            selected_block=self.selected_block,
            inventory=inventory,
            players=lines,
            message=message,
            message_level=level,
            banner=self._banner(),
        )

    def _player_line(self, player: int, label: str, timestep: int) -> PlayerLine:
        if timestep == 0:
            return PlayerLine(player, label, "-")
        row = self.env.batch.state.player_ints[0, player]
        outcome = "" if row[PLAYER_LAST_VALID] else "invalid"
        if row[PLAYER_LAST_DELTA] > 0:
            outcome = "correct"
        elif row[PLAYER_LAST_DELTA] < 0:
            outcome = "incorrect"
        return PlayerLine(player, label, self.actions.describe(int(row[PLAYER_LAST_ACTION])), outcome)

    def _hover_hint(self) -> str:
        cell = self.window.hovered_cell()
        if cell is None:
            return "Point at a cell of the layer panel: left click places, right click breaks"
        blocks = self.env.batch.state.blocks[0]
        block = int(blocks[cell])
        if block == AIR:
            action = self.actions.encode("place", cell, self.selected_block)
            if self.human_mask[action]:
                return f"Left click: place {BLOCK_NAMES[self.selected_block]} at {cell}"
            return self.explain_invalid(action)
        action = self.actions.encode("break", cell)
        if self.human_mask[action]:
            return f"Right click: break the {BLOCK_NAMES[block]} at {cell}"
        return self.explain_invalid(action)

    def _banner(self) -> tuple[str, list[str]] | None:
        if self.phase == "ready":
            partner = "alone" if self.spec is None else f"with the assistant {self.spec.label}"
            return (
                "Build the house",
                [
                    f"You play the human, {partner}. Pale ghost blocks show the goal.",
                    "Click cells in the layer panel: left places, right breaks.",
                    "Make a move or press Enter to start.",
                ],
            )
        if self.phase != "over":
            return None
        title = {"goal": "House complete!", "horizon": "Time is up", "player": "Episode stopped"}.get(
            self.ended_by, "Episode over"
        )
        batch = self.env.batch
        lines = [
            f"Goal {batch.goal_percentage(0):.0%} after {int(batch.state.env_ints[0, ENV_TIMESTEP])} steps, "
            f"reward {self.total_reward:+g}",
        ]
        if self.saved and self.recordings:
            lines.append(f"Recording saved: {self.saved[-1].name}")
        lines.append("Enter: next house    Esc: quit")
        return title, lines

    # ----------------------------------------------------------------- loop
    def run(self, max_frames: int | None = None) -> list[Path]:
        """Run the window until the person quits (or for ``max_frames`` frames); return the paths
        of the recordings saved so far. The window closes when the person quits.

        A :class:`KeyboardInterrupt` (Ctrl-C) saves the episode in progress and closes the window
        as Esc does (:meth:`quit`), then propagates; the paths are in :attr:`saved`."""
        frames = 0
        try:
            while self.running and (max_frames is None or frames < max_frames):
                for event in pygame.event.get():
                    self.handle_event(event)
                    if not self.running:
                        break
                if not self.running:
                    break
                self.tick()
                self.window.draw(self.frame())
                if self.fps:
                    self._frame_clock.tick(self.fps)
                frames += 1
        except KeyboardInterrupt:  # Ctrl-C in the terminal: save and quit exactly like Esc, then re-raise
            self.quit()
            self.window.close()
            raise
        if not self.running:
            self.window.close()
        return list(self.saved)


# ----------------------------------------------------------------------------- command line
def make_parser() -> argparse.ArgumentParser:
    """The ``mbag-play`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mbag-play",
        description="Play the human of MBAG in a window, alone or beside an assistant; every episode is "
        "recorded for replay and for training human models.",
        epilog="Controls: " + "; ".join(f"{keys}: {what}" for keys, what in HELP_LINES),
    )
    parser.add_argument(
        "--assistant", metavar="SPEC", help=f"play beside this assistant: {SPEC_HELP} (default: alone)"
    )
    parser.add_argument(
        "--small", action="store_true", help=f"the {SMALL_WORLD_SIZE} world of the -Small- ids (horizon 200)"
    )
    parser.add_argument(
        "--world-size", nargs=3, type=int, metavar=("W", "H", "D"), help="world size (default 11 10 10)"
    )
    parser.add_argument(
        "--goal",
        default="houses",
        help="goal source: houses (procedural training houses, default), houses:test, dataset:train, "
        "dataset:test (the leaderboard's held-out houses) or a .npz/.npy file",
    )
    parser.add_argument("--horizon", type=int, help="steps per episode (default 1500, or 200 with --small)")
    parser.add_argument("--seed", type=int, help="seed of the first episode (default: random)")
    parser.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help="timer steps per second: the game also steps (NOOP for you) when you do not act for 1/RATE s; "
        "0 = turn-based (default: %(default)s)",
    )
    parser.add_argument(
        "--record-dir",
        type=Path,
        default=Path("recordings"),
        help="where recordings go (default: %(default)s)",
    )
    parser.add_argument("--no-record", action="store_true", help="do not save recordings")
    parser.add_argument("--name", default="anonymous", help="player name stored in the recordings")
    parser.add_argument(
        "--teleportation", action="store_true", help="place and break anywhere (no reach or sight)"
    )
    parser.add_argument(
        "--finite-blocks",
        type=int,
        metavar="N",
        help="start with N blocks of each type instead of unlimited blocks",
    )
    parser.add_argument("--cell-pixels", type=int, help="block size of the 3-D view in pixels (default: fit)")
    return parser


def config_from_args(args: argparse.Namespace) -> MbagConfig:
    """The game configuration the command line asks for.

    Raises:
        ValueError: for a bad size, horizon or goal source (the message names it).
    """
    fields: dict[str, Any] = {"goal": args.goal}
    if args.small:
        fields.update(world_size=SMALL_WORLD_SIZE, horizon=200)
    if args.world_size:
        fields["world_size"] = tuple(args.world_size)
    if args.horizon is not None:
        fields["horizon"] = args.horizon
    if args.teleportation:
        fields["teleportation"] = True
    if args.finite_blocks is not None:
        fields.update(infinite_blocks=False, starting_inventory=args.finite_blocks)
    return MbagConfig(**fields)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mbag-play``; returns the exit status."""
    args = make_parser().parse_args(argv)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # module:factory assistants from the working folder
    try:
        return _play(args)
    except KeyboardInterrupt:  # Ctrl-C before the window ran (the warm-up, loading the assistant)
        print("mbag-play: interrupted", file=sys.stderr)
        return 130


def _play(args: argparse.Namespace) -> int:
    """:func:`main` once the arguments are parsed."""
    try:
        config = config_from_args(args)
        spec = None if args.assistant is None else parse_assistant_spec(args.assistant)
        warm_up()  # compile the kernels before the window opens (announced on a first run)
        session = PlaySession(
            config,
            assistant=spec,
            seed=args.seed,
            step_rate=args.rate,
            record_dir=None if args.no_record else args.record_dir,
            player_name=args.name,
            cell_pixels=args.cell_pixels,
        )
    except (AssistantSpecError, ValueError, WindowError) as error:
        print(f"mbag-play: error: {error}", file=sys.stderr)
        return 2
    status = 0
    try:
        paths = session.run()
    except AssistantFailure as error:
        print(f"mbag-play: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # run() saved the episode in progress, as Esc does
        paths, status = list(session.saved), 130
    if paths:
        print(f"{len(paths)} recording(s) saved; replay with: mbag-replay {paths[-1]}")
    return status


if __name__ == "__main__":
    sys.exit(main())
