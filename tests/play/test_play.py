"""``mbag-play`` driven by scripted key and mouse events (headless): places, breaks, moves, the
real-time timer, and the recordings it writes, which must replay exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest

from mbag_env.apps.play import AssistantFailure, PlaySession, config_from_args, main, make_parser
from mbag_env.blocks import AIR, GLASS
from mbag_env.config import MbagConfig
from mbag_env.core.actions import NOOP
from mbag_env.evaluation import EpisodeRecording, verify_replay
from mbag_env.goals import load_shipped_goals

SMALL = (6, 6, 6)


def small_config(horizon: int = 50) -> MbagConfig:
    return MbagConfig(world_size=SMALL, horizon=horizon, goal=load_shipped_goals("test", SMALL)[4])


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key(code: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode="", scancode=0)


def click(session: PlaySession, cell: tuple[int, int, int], button: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=session.window.cell_center(cell), button=button)


def post_and_run(session: PlaySession, *events: pygame.event.Event) -> None:
    for event in events:
        pygame.event.post(event)
    session.run(max_frames=1)


def test_scripted_events_place_break_move_and_write_a_recording(tmp_path: Path) -> None:
    session = PlaySession(small_config(), assistant="idle", seed=5, step_rate=0, record_dir=tmp_path, fps=0)
    state = session.env.batch.state
    actions = session.actions
    near, far = (1, 2, 1), (5, 2, 5)
    assert session.window.view.layer == 2 and session.phase == "ready"

    post_and_run(session, key(pygame.K_3), click(session, near, 1))  # glass, left click: place
    assert state.blocks[0][near] == GLASS and session.phase == "running"
    post_and_run(session, click(session, near, 3))  # right click: break
    assert state.blocks[0][near] == AIR

    post_and_run(session, click(session, far, 1))  # out of reach: explained, not sent
    assert "out of reach" in session.message and session.message_level == "error"
    assert session.log.num_steps == 2
    frame = session.frame()
    assert frame.place_valid is not None and frame.place_valid[near] and not frame.place_valid[far]
    assert frame.can_place_here is not None and frame.can_place_here[far], "far cells are tinted red"

    post_and_run(session, key(pygame.K_s))  # down in the panel = +z at rotation 0
    assert tuple(state.player_ints[0, 0, :3]) == (0, 2, 1)
    post_and_run(session, key(pygame.K_e), key(pygame.K_d))  # rotate the view: right is now -z
    assert session.window.view.rotation == 1
    assert tuple(state.player_ints[0, 0, :3]) == (0, 2, 0)
    post_and_run(session, key(pygame.K_SPACE), key(pygame.K_n))  # fly up, then wait a step
    assert tuple(state.player_ints[0, 0, :3]) == (0, 3, 0)
    post_and_run(session, pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=-1, flipped=False))
    assert session.selected_block == GLASS + 1

    post_and_run(session, key(pygame.K_ESCAPE))
    assert not session.running and session.window.closed
    assert len(session.saved) == 1 and session.saved[0].parent == tmp_path
    recording = EpisodeRecording.load(session.saved[0])
    expected = [
        actions.encode("place", near, GLASS),
        actions.encode("break", near),
        actions.encode("move", direction="+z"),
        actions.encode("move", direction="-z"),
        actions.encode("move", direction="+y"),
        NOOP,
    ]
    assert recording.actions[:, 0].tolist() == expected
    assert recording.actions[:, 1].tolist() == [NOOP] * 6, "the idle assistant acted every step"
    assert recording.agent == 1 and recording.assistant == "idle"
    assert recording.human == {"type": "person", "name": "anonymous"}
    assert not recording.terminated and not recording.truncated
    extra = recording.extra
    assert extra["source"] == "mbag-play" and extra["ended_by"] == "player" and extra["step_rate"] == 0
    assert extra["step_causes"] == ["person"] * 5 + ["wait"]
    assert len(extra["step_seconds"]) == 6 and extra["step_seconds"] == sorted(extra["step_seconds"])
    assert verify_replay(recording) == 6


def test_timer_steps_the_game_with_noop_for_the_person(tmp_path: Path) -> None:
    clock = FakeClock()
    session = PlaySession(
        small_config(), assistant="oracle", seed=2, step_rate=4, record_dir=None, clock=clock, fps=0
    )
    clock.now += 5.0
    assert not session.tick(), "nothing steps before the person starts"
    assert session.move(4)  # +z starts the episode at t = 105
    clock.now += 0.1
    assert not session.tick()
    clock.now += 0.16
    assert session.tick(), "0.26 s without an action: a timer step"
    clock.now += 0.05
    assert session.wait()
    clock.now += 0.2
    assert not session.tick(), "the person's step restarted the countdown"
    session.handle_event(key(pygame.K_p))
    clock.now += 1.0
    assert not session.tick() and session.phase == "paused"
    assert not session.move(0) and "Paused" in session.message
    session.handle_event(key(pygame.K_p))
    clock.now += 0.3
    assert session.tick()
    session.quit()
    (recording,) = session.recordings
    assert recording.extra["step_causes"] == ["person", "timer", "wait", "timer"]
    assert recording.extra["step_seconds"] == pytest.approx([0.0, 0.26, 0.31, 1.81])
    assert recording.actions[1:, 0].tolist() == [NOOP, NOOP, NOOP]
    assert (recording.actions[:, 1] != NOOP).any(), "the oracle assistant acts on timer steps too"
    assert verify_replay(recording) == 4


def test_playing_alone_until_the_horizon_then_the_next_episode(tmp_path: Path) -> None:
    session = PlaySession(small_config(horizon=3), seed=9, step_rate=0, record_dir=tmp_path, fps=0)
    assert session.env.config.num_players == 1
    post_and_run(session, key(pygame.K_RETURN))  # Enter starts without a step
    assert session.phase == "running" and session.log.num_steps == 0
    post_and_run(session, key(pygame.K_n), key(pygame.K_n), key(pygame.K_n))
    assert session.phase == "over" and len(session.saved) == 1
    assert session.frame().hud.banner is not None
    recording = EpisodeRecording.load(session.saved[0])
    assert recording.truncated and recording.extra["ended_by"] == "horizon" and recording.agent == 0
    assert verify_replay(recording) == 3
    post_and_run(session, key(pygame.K_RETURN))  # the next house
    assert session.phase == "ready" and session.seed == 10
    post_and_run(session, key(pygame.K_ESCAPE))  # nothing played: nothing saved
    assert len(session.saved) == 1 and not session.running


def test_invalid_actions_are_explained() -> None:
    session = PlaySession(small_config(), assistant="idle", seed=1, step_rate=0, record_dir=None, fps=0)
    try:
        actions = session.actions
        cases = {
            actions.encode("break", (2, 0, 2)): "Bedrock",
            actions.encode("break", (2, 3, 2)): "Nothing to break",
            actions.encode("place", (0, 1, 0), GLASS): "holds dirt",
            actions.encode("place", (1, 3, 0), GLASS): "player",
            actions.encode("place", (3, 4, 3), GLASS): "Nothing to attach",
            actions.encode("move", direction="-x"): "Cannot fly -x",
        }
        for action, words in cases.items():
            assert not session.human_mask[action]
            assert words in session.explain_invalid(action), actions.describe(action)
            assert not session.act(action)
        assert session.log.num_steps == 0
    finally:
        session.window.close()


def test_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    args = make_parser().parse_args(
        ["--small", "--rate", "0", "--finite-blocks", "3", "--goal", "houses:test"]
    )
    config = config_from_args(args)
    assert config.world_size == SMALL and config.horizon == 200 and not config.infinite_blocks
    assert config.starting_inventory == 3 and config.goal == "houses:test"
    assert main(["--assistant", "no_such_assistant"]) == 2
    assert "malformed assistant spec" in capsys.readouterr().err

    script = iter(
        [[key(pygame.K_RETURN)], [key(pygame.K_n)], [key(pygame.K_n)], [pygame.event.Event(pygame.QUIT)]]
    )
    monkeypatch.setattr(pygame.event, "get", lambda: next(script, []))
    status = main(
        ["--small", "--assistant", "random", "--seed", "3", "--rate", "0", "--record-dir", str(tmp_path)]
    )
    assert status == 0
    (path,) = tmp_path.glob("*.npz")
    recording = EpisodeRecording.load(path)
    assert recording.num_steps == 2 and recording.extra["assistant_spec"] == "random"
    assert np.array_equal(recording.actions[:, 0], [NOOP, NOOP])
    assert verify_replay(recording) == 2


def test_a_failing_assistant_stops_the_game_and_keeps_the_episode(tmp_path: Path) -> None:
    spec = "crash=tests.evaluation.assistant_factories:crashing"  # NOOP twice, then raises
    session = PlaySession(small_config(), assistant=spec, seed=1, step_rate=0, record_dir=tmp_path, fps=0)
    assert session.wait() and session.wait() and session.wait()  # Enter, then two steps
    with pytest.raises(AssistantFailure, match="'crash' failed at step 2: RuntimeError"):
        session.wait()
    assert not session.running and session.window.closed
    recording = EpisodeRecording.load(session.saved[0])
    assert recording.extra["ended_by"] == "assistant_error" and verify_replay(recording) == 2


def test_ctrl_c_saves_the_episode_like_esc_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def interrupted_after(*frames: list[pygame.event.Event]):
        script = iter(frames)

        def get() -> list[pygame.event.Event]:
            events = next(script, None)
            if events is None:
                raise KeyboardInterrupt  # Ctrl-C in the terminal while the window runs
            return events

        return get

    # The session itself: Ctrl-C saves like Esc, closes the window, and propagates.
    session = PlaySession(small_config(), assistant="idle", seed=2, step_rate=0, record_dir=tmp_path, fps=0)
    monkeypatch.setattr(pygame.event, "get", interrupted_after([key(pygame.K_RETURN)], [key(pygame.K_n)]))
    with pytest.raises(KeyboardInterrupt):
        session.run()
    assert not session.running and session.window.closed and len(session.saved) == 1
    recording = EpisodeRecording.load(session.saved[0])
    assert recording.num_steps == 1 and recording.extra["ended_by"] == "player"  # as Esc records it
    assert not recording.terminated and not recording.truncated and verify_replay(recording) == 1

    # mbag-play: no traceback, the episode saved, exit status 130 (Esc exits 0).
    folder = tmp_path / "cli"
    arguments = ["--small", "--assistant", "idle", "--seed", "3", "--rate", "0", "--record-dir", str(folder)]
    monkeypatch.setattr(
        pygame.event, "get", interrupted_after([key(pygame.K_RETURN)], [key(pygame.K_n)], [key(pygame.K_n)])
    )
    capsys.readouterr()
    assert main(arguments) == 130
    (path,) = folder.glob("*.npz")
    assert EpisodeRecording.load(path).num_steps == 2
    captured = capsys.readouterr()
    assert f"replay with: mbag-replay {path}" in captured.out and "Traceback" not in captured.err
    monkeypatch.setattr(
        pygame.event, "get", lambda: [key(pygame.K_RETURN), key(pygame.K_n), key(pygame.K_ESCAPE)]
    )
    assert main([*arguments[:-1], str(tmp_path / "esc")]) == 0
    assert len(list((tmp_path / "esc").glob("*.npz"))) == 1
