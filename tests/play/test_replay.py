"""``mbag-replay``: exact playback in the (headless) window and GIF/MP4 export."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pygame
import pytest

import mbag_env
from mbag_env.apps.replay import ReplayedEpisode, ReplayView, ReplayViewer, export_video, main
from mbag_env.evaluation import EpisodeRecording, ReplayMismatchError, make_scripted_assistant, run_episode
from mbag_env.goals import load_shipped_goals
from mbag_env.humans import HumanModel

SMALL = (6, 6, 6)


@pytest.fixture(scope="module")
def recording() -> EpisodeRecording:
    goal = load_shipped_goals("test", SMALL)[2]
    env = mbag_env.MbagEnv(world_size=SMALL, goal=goal, agent=1, horizon=24, human_policy=HumanModel())
    return run_episode(env, make_scripted_assistant("oracle", env), seed=4, assistant_name="oracle")


def test_replayed_states_match_the_recording(recording: EpisodeRecording) -> None:
    episode = ReplayedEpisode.from_recording(recording, "test")
    assert episode.blocks.shape == (recording.num_steps + 1, *SMALL)
    np.testing.assert_array_equal(episode.blocks[-1], recording.final_blocks)
    np.testing.assert_array_equal(episode.blocks[0], recording.initial_state["blocks"])
    hud = episode.hud(5)
    assert hud.step == 5 and hud.goal_percentage == pytest.approx(recording.goal_percentage()[5])
    assert [line.label for line in hud.players] == ["Human (goal_seeking)", "Assistant (oracle)"]
    tampered = dataclasses.replace(recording, actions=recording.actions.copy())
    tampered.actions[3, 1] = 0 if tampered.actions[3, 1] else 1
    with pytest.raises(ReplayMismatchError, match="step 4"):
        ReplayedEpisode.from_recording(tampered)


def test_window_playback_with_keys(recording: EpisodeRecording) -> None:
    viewer = ReplayViewer([ReplayedEpisode.from_recording(recording, "a")], steps_per_second=5)
    for code in (pygame.K_SPACE, pygame.K_RIGHT, pygame.K_RIGHT, pygame.K_RIGHT):
        viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=code))
    assert viewer.step == 3 and not viewer.playing
    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT))
    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_PLUS))
    assert viewer.step == 2 and viewer.speed == 10
    viewer.run(max_frames=2, fps=0)
    shown = viewer.window.image()
    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_END))
    viewer.run(max_frames=1, fps=0)
    assert viewer.step == recording.num_steps and not np.array_equal(viewer.window.image(), shown)
    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))  # replay from the start
    assert viewer.playing and viewer.step == 0
    viewer.advance(viewer._last_advance + 0.35)
    assert viewer.step == 3
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
    viewer.run(fps=0)
    assert not viewer.running and viewer.window.closed


def test_export_gif_of_the_window_and_of_the_world(recording: EpisodeRecording, tmp_path: Path) -> None:
    path = export_video(recording, tmp_path / "window.gif", every=5)
    frames = imageio.mimread(path)
    assert len(frames) == 6  # steps 0, 5, 10, 15, 20 and the last (24)
    assert frames[0].shape[0] > 400 and frames[0].shape[1] > 600, "the whole window: view, panel and HUD"
    path = export_video(
        recording, tmp_path / "world.gif", max_frames=5, options=ReplayView("world", cell_pixels=8)
    )
    frames = imageio.mimread(path)
    assert len(frames) == 5 and frames[0].shape[:2] == (mbag_env.render.image_shape(SMALL, 8)[:2])
    with pytest.raises(ValueError, match=r"\.gif, \.mp4"):
        export_video(recording, tmp_path / "episode.avi")


@pytest.mark.skipif(
    importlib.util.find_spec("imageio_ffmpeg") is None, reason="MP4 needs imageio-ffmpeg (the video extra)"
)
def test_export_mp4(recording: EpisodeRecording, tmp_path: Path) -> None:
    path = export_video(recording, tmp_path / "episode.mp4", every=6, options=ReplayView("world"))
    assert path.stat().st_size > 1000


def test_command_line(recording: EpisodeRecording, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first = recording.save(tmp_path / "first.npz")
    second = recording.save(tmp_path / "second.npz")
    assert main([str(first), "--out", str(tmp_path / "one.gif"), "--every", "8"]) == 0
    assert len(imageio.mimread(tmp_path / "one.gif")) == 4
    assert main([str(first), str(second), "--out", str(tmp_path / "videos"), "--view", "world"]) == 0
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == ["first.gif", "second.gif"]
    assert main([str(first), str(second), "--out", str(tmp_path / "both.gif")]) == 1
    assert "pass a folder" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.npz"), "--out", str(tmp_path / "x.gif")]) == 1
    assert "no episode recording" in capsys.readouterr().err


def test_leaderboard_writes_gifs_of_chosen_houses(tmp_path: Path) -> None:
    from mbag_env.evaluation.leaderboard import main as leaderboard

    arguments = ["--quick", "--no-progress", "--houses", "2", "--humans", "goal_seeking", "--workers", "1"]
    assert leaderboard([*arguments, "--out", str(tmp_path), "--gif", "1", "idle"]) == 0
    (gif,) = (tmp_path / "gifs").iterdir()
    assert gif.name == "idle__goal_seeking__house001__seed0.gif" and len(imageio.mimread(gif)) > 10
    with pytest.raises(SystemExit, match="not in the quick-custom suite"):
        leaderboard([*arguments, "--out", str(tmp_path), "--gif", "7", "idle"])
