"""``mbag-replay``: play episode recordings back in the window, or write them as GIF or MP4 videos.

- ``mbag-replay episode.npz`` opens the window (3-D view, layer panel, HUD) and plays the
  episode. Controls: Space pause/play, Left/Right one step back/forward, Home/End first/last
  step, ``+``/``-`` faster/slower, N next recording, Q/E rotate, G goal ghost, ``[``/``]`` or
  PageDown/PageUp layer, H help, Esc quit.
- ``mbag-replay episode.npz --out episode.gif`` writes a video instead (``.gif``; ``.mp4`` needs
  ``pip install imageio-ffmpeg``); ``--view world`` writes the 3-D view alone instead of the
  whole window. ``mbag-replay runs/*.npz --out videos/`` writes one video per recording into a
  folder (``--format gif|mp4``).

Recordings are :class:`~mbag_env.evaluation.recording.EpisodeRecording` files: those of
``mbag-play``, of ``mbag-leaderboard --record``, or of
:func:`~mbag_env.evaluation.recording.run_episode`. Every playback goes through
:func:`~mbag_env.evaluation.recording.replay`, so a recording that does not replay exactly is
reported (with the step where it diverges) instead of being shown wrongly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mbag_env.core.actions import ActionSpace
from mbag_env.evaluation.episode_tasks import warm_up
from mbag_env.evaluation.recording import EpisodeRecording, RecordingError, ReplayMismatchError, replay
from mbag_env.render.export import VIDEO_SUFFIXES, write_video

if TYPE_CHECKING:  # the window (pygame) is imported only where a window is drawn
    import pygame

    from mbag_env.render.game_window import GameWindow
    from mbag_env.render.window_frame import Frame, Hud

REPLAY_HELP: list[tuple[str, str]] = [
    ("Space", "pause / play"),
    ("Left / Right", "one step back / forward"),
    ("Home / End", "first / last step"),
    ("+ / -", "faster / slower"),
    ("N", "next recording"),
    ("Q / E", "rotate the view"),
    ("G", "goal ghost on / off"),
    ("[ ]  PgDn PgUp", "panel layer down / up"),
    ("H", "hide this help"),
    ("Esc", "quit"),
]
"""The replay window's controls: ``(keys, what they do)``."""


@dataclass
class ReplayedEpisode:
    """A recording with the world after reset and after every step, from an exact replay.

    Attributes:
        recording: the episode.
        name: a label (the file name).
        blocks: ``uint8 (T + 1, W, H, D)``: the world after reset and after each step.
        players: ``int64 (T + 1, P, 3)``: the players' feet cells at the same times.
    """

    recording: EpisodeRecording
    name: str
    blocks: np.ndarray
    players: np.ndarray

    @classmethod
    def from_recording(cls, recording: EpisodeRecording, name: str = "") -> ReplayedEpisode:
        """Replay ``recording`` (checking every step) and keep the states.

        Raises:
            ReplayMismatchError: if the replay diverges from the recording.
        """
        blocks, players = [], []
        for env in replay(recording):
            state = env.batch.state
            blocks.append(state.blocks[0].copy())
            players.append(state.player_ints[0, :, :3].copy())
        return cls(recording, name, np.array(blocks), np.array(players, dtype=np.int64))

    @classmethod
    def load(cls, path: str | Path) -> ReplayedEpisode:
        """Load and replay the recording at ``path``.

        Raises:
            FileNotFoundError: if the file is missing.
            RecordingError: (a ``ValueError``) if it is not a readable, valid recording.
            ReplayMismatchError: if the replay diverges from the recording.
        """
        path = Path(path)
        return cls.from_recording(EpisodeRecording.load(path), path.name)

    @property
    def num_steps(self) -> int:
        """Steps T."""
        return self.recording.num_steps

    def player_labels(self) -> list[str]:
        """``"Human (name)"``, ``"Assistant (name)"``, or ``"Player i"`` for other player counts."""
        recording = self.recording
        if recording.num_players == 1:
            return [_human_label(recording.human, "Builder")]
        if recording.num_players == 2:
            assistant = f"Assistant ({recording.assistant})" if recording.assistant else "Assistant"
            return [_human_label(recording.human, "Human"), assistant]
        return [f"Player {index}" for index in range(recording.num_players)]

    def hud(self, step: int, turn: str = "") -> Hud:
        """The HUD after ``step`` steps (a :class:`~mbag_env.render.window_frame.Hud`)."""
        from mbag_env.render.window_frame import Hud, PlayerLine

        recording = self.recording
        actions = ActionSpace(recording.world_size, recording.config.infinite_blocks)
        lines = []
        for player, label in enumerate(self.player_labels()):
            if step == 0:
                lines.append(PlayerLine(player, label, "-"))
                continue
            delta = int(recording.action_delta[step - 1, player])
            outcome = "" if recording.action_valid[step - 1, player] else "invalid"
            outcome = "correct" if delta > 0 else "incorrect" if delta < 0 else outcome
            text = actions.describe(int(recording.actions[step - 1, player]))
            lines.append(PlayerLine(player, label, text, outcome))
        rewards = recording.rewards[:, 0]
        message = f"{self.name}  seed {recording.seed}"
        seconds = recording.extra.get("step_seconds")
        if isinstance(seconds, list) and step > 0 and len(seconds) >= step:
            cause = recording.extra.get("step_causes", [""] * step)[step - 1]
            message += f"   played at {float(seconds[step - 1]):.1f} s" + (f" ({cause})" if cause else "")
        if step == self.num_steps:
            ended = (
                "goal complete"
                if recording.terminated
                else "horizon"
                if recording.truncated
                else "stopped early"
            )
            message += f"   end: {ended}"
        return Hud(
            step=step,
            horizon=recording.config.horizon,
            goal_percentage=float(recording.goal_percentage()[step]),
            reward=float(rewards[step - 1]) if step > 0 else 0.0,
            total_reward=float(rewards[:step].sum()),
            turn=turn,
            players=lines,
            message=message,
            title="Replay",
        )

    def frame(self, step: int, turn: str = "") -> Frame:
        """The window's :class:`~mbag_env.render.window_frame.Frame` after ``step`` steps."""
        from mbag_env.render.window_frame import Frame

        return Frame(self.blocks[step], self.players[step], self.recording.goal, self.hud(step, turn))


def _player_tags(num_players: int) -> tuple[str, ...]:
    """Name tags above the players in the 3-D view of a replay."""
    return ("Human", "AI") if num_players == 2 else tuple(f"P{index}" for index in range(num_players))


def _human_label(human: dict, default: str) -> str:
    if human.get("type") == "person":
        return f"{default} ({human.get('name', 'person')})"
    if human.get("type") == "HumanModel":
        return f"{default} ({human.get('kind', 'scripted')})"
    return default


# ----------------------------------------------------------------------------- the window
class ReplayViewer:
    """Plays :class:`ReplayedEpisode` s in a :class:`~mbag_env.render.game_window.GameWindow`.

    Args:
        episodes: the episodes, played one after another (N skips to the next).
        steps_per_second: the starting playback speed.
        window: the window (default: a new one sized for the first episode's world).
    """

    def __init__(
        self,
        episodes: Sequence[ReplayedEpisode],
        steps_per_second: float = 10.0,
        window: GameWindow | None = None,
    ) -> None:
        from mbag_env.render.game_window import GameWindow

        if not episodes:
            raise ValueError("ReplayViewer needs at least one episode")
        if not steps_per_second > 0:
            raise ValueError(f"steps_per_second must be > 0, got {steps_per_second!r}")
        self.episodes = list(episodes)
        self.speed = float(steps_per_second)
        self.window = (
            window
            if window is not None
            else GameWindow(
                self.episodes[0].recording.world_size,
                title="mbag-replay",
                help_lines=REPLAY_HELP,
                player_tags=_player_tags(self.episodes[0].recording.num_players),
            )
        )
        self.index = 0
        self.step = 0
        self.playing = True
        self.running = True
        self._last_advance = time.monotonic()

    @property
    def episode(self) -> ReplayedEpisode:
        """The episode shown."""
        return self.episodes[self.index]

    def handle_event(self, event: pygame.event.Event) -> None:
        """Apply one pygame event."""
        import pygame

        if event.type == pygame.QUIT:
            self.running = False
            return
        if self.window.handle_view_event(event):
            return
        if event.type != pygame.KEYDOWN:
            return
        last = self.episode.num_steps
        key = event.key
        if key == pygame.K_ESCAPE:
            self.running = False
        elif key == pygame.K_SPACE:
            self.playing = not self.playing
            if self.playing and self.step == last:
                self.step = 0
        elif key == pygame.K_RIGHT:
            self.playing, self.step = False, min(last, self.step + 1)
        elif key == pygame.K_LEFT:
            self.playing, self.step = False, max(0, self.step - 1)
        elif key == pygame.K_HOME:
            self.step = 0
        elif key == pygame.K_END:
            self.playing, self.step = False, last
        elif key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
            self.speed = min(240.0, self.speed * 2)
        elif key in (pygame.K_MINUS, pygame.K_KP_MINUS):
            self.speed = max(0.25, self.speed / 2)
        elif key == pygame.K_n:
            self.next_episode()

    def next_episode(self) -> None:
        """Show the next recording (the session ends after the last)."""
        if self.index + 1 >= len(self.episodes):
            self.running = False
            return
        self.index += 1
        self.step, self.playing = 0, True

    def advance(self, now: float) -> None:
        """Move playback forward by the steps due at time ``now`` (seconds)."""
        if not self.playing:
            self._last_advance = now
            return
        due = int((now - self._last_advance) * self.speed)
        if due <= 0:
            return
        self._last_advance += due / self.speed
        self.step = min(self.episode.num_steps, self.step + due)
        if self.step == self.episode.num_steps:
            self.playing = False

    def turn_text(self) -> str:
        """The HUD's playback line."""
        state = "Playing" if self.playing else "Paused"
        count = f"   recording {self.index + 1} of {len(self.episodes)}" if len(self.episodes) > 1 else ""
        return f"{state} at {self.speed:g} steps/s   (Space, Left/Right, +/-){count}"

    def run(self, max_frames: int | None = None, fps: int = 60) -> None:
        """Show the window until Esc or the window is closed (or for ``max_frames`` frames)."""
        import pygame

        clock = pygame.time.Clock()
        frames = 0
        while self.running and (max_frames is None or frames < max_frames):
            for event in pygame.event.get():
                self.handle_event(event)
            if not self.running:
                break
            self.advance(time.monotonic())
            self.window.draw(self.episode.frame(self.step, self.turn_text()))
            if fps:
                clock.tick(fps)
            frames += 1
        if not self.running:
            self.window.close()


# ----------------------------------------------------------------------------- videos
@dataclass(frozen=True)
class ReplayView:
    """How a replay is drawn: the ``mbag-replay`` options ``--view``, ``--rotation``, ``--no-goal``,
    ``--layer`` and ``--cell-pixels``.

    Attributes:
        view: ``"window"`` (3-D view, layer panel and HUD; needs pygame, headless with
            ``SDL_VIDEODRIVER=dummy``) or ``"world"`` (the 3-D view alone, no pygame; videos only).
        rotation: quarter turns of the view (0..3).
        show_goal: draw the goal ghost.
        layer: the layer panel's y (``"window"`` view; default: 2).
        cell_pixels: block size of the 3-D view in a video (default: fit the window, or 16 for
            ``"world"``).

    Raises:
        ValueError: for a bad ``view`` or ``rotation``.
    """

    view: str = "window"
    rotation: int = 0
    show_goal: bool = True
    layer: int | None = None
    cell_pixels: int | None = None

    def __post_init__(self) -> None:
        if self.view not in ("window", "world"):
            raise ValueError(f"view must be 'window' or 'world', got {self.view!r}")
        if not 0 <= self.rotation <= 3:
            raise ValueError(f"rotation must be 0..3 quarter turns, got {self.rotation}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReplayView:
        """The view options of parsed ``mbag-replay`` arguments (see :func:`make_parser`)."""
        return cls(args.view, args.rotation, not args.no_goal, args.layer, args.cell_pixels)

    def apply(self, window: GameWindow) -> None:
        """Set ``window``'s rotation, goal ghost and (when given) layer to these options."""
        window.view.rotation, window.view.show_goal = self.rotation, self.show_goal
        if self.layer is not None:
            window.view.layer = self.layer


def video_frames(
    episode: ReplayedEpisode,
    *,
    every: int = 1,
    options: ReplayView = ReplayView(),
    window: GameWindow | None = None,
) -> Iterator[np.ndarray]:
    """The video frames of an episode: after reset, every ``every``-th step, and the last step.

    Args:
        episode: the replayed episode.
        every: keep every ``every``-th step (``>= 1``).
        options: what is drawn and how (the whole window or the 3-D view alone, rotation, ...).
        window: a :class:`~mbag_env.render.game_window.GameWindow` to draw in (``"window"`` view;
            default: a new one, closed at the end).

    Raises:
        ValueError: for a bad ``every`` or ``options.layer``.
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    last = episode.num_steps
    steps = [step for step in range(last + 1) if step % every == 0 or step == last]
    goal = episode.recording.goal if options.show_goal else None
    if options.view == "world":
        from mbag_env.render import render_isometric

        for step in steps:
            yield render_isometric(
                episode.blocks[step], episode.players[step], goal, options.rotation, options.cell_pixels or 16
            )
        return
    from mbag_env.render.game_window import GameWindow

    height = episode.recording.world_size[1]
    if options.layer is not None and not 0 <= options.layer < height:
        raise ValueError(f"layer must be in [0, {height}), got {options.layer}")
    own = window is None
    if window is None:
        window = GameWindow(
            episode.recording.world_size,
            title="mbag-replay",
            cell_pixels=options.cell_pixels,
            player_tags=_player_tags(episode.recording.num_players),
        )
    options.apply(window)
    try:
        for step in steps:
            window.draw(episode.frame(step, f"Replay of {episode.name}"))
            yield window.image()
    finally:
        if own:
            window.close()


def export_video(
    recording: EpisodeRecording | ReplayedEpisode,
    path: str | Path,
    *,
    fps: float = 10.0,
    every: int | None = None,
    max_frames: int = 300,
    options: ReplayView = ReplayView(),
) -> Path:
    """Replay an episode and write it as a ``.gif`` or ``.mp4`` video (see :func:`video_frames`).

    Args:
        recording: the episode (replayed here and checked if it is an :class:`EpisodeRecording`).
        path: the video file.
        fps: frames per second.
        every: keep every ``every``-th step; default: the smallest that gives at most
            ``max_frames`` frames (long episodes make large GIFs).
        max_frames: the frame budget when ``every`` is not given.
        options: what is drawn and how, as for :func:`video_frames`.

    Raises:
        ReplayMismatchError: if the recording does not replay exactly.
        ValueError, ImportError: as for :func:`video_frames` and
            :func:`~mbag_env.render.export.write_video`.
    """
    episode = (
        recording
        if isinstance(recording, ReplayedEpisode)
        else ReplayedEpisode.from_recording(recording, Path(path).stem)
    )
    if every is None:
        if max_frames < 2:
            raise ValueError(f"max_frames must be >= 2, got {max_frames}")
        every = max(1, math.ceil(episode.num_steps / (max_frames - 1)))
    write_video(video_frames(episode, every=every, options=options), path, fps)
    return Path(path)


# ----------------------------------------------------------------------------- command line
def make_parser() -> argparse.ArgumentParser:
    """The ``mbag-replay`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mbag-replay",
        description="Play episode recordings (.npz from mbag-play, mbag-leaderboard --record or run_episode) "
        "back in a window, or write them as GIF/MP4 videos.",
    )
    parser.add_argument("recordings", nargs="+", type=Path, help="recording files (.npz)")
    parser.add_argument(
        "--out",
        type=Path,
        help="write a video instead of opening the window: a .gif/.mp4 file (one recording) or a folder",
    )
    parser.add_argument(
        "--format", choices=("gif", "mp4"), default="gif", help="video type in a folder (default: gif)"
    )
    parser.add_argument("--fps", type=float, default=10.0, help="steps per second (default: %(default)s)")
    parser.add_argument(
        "--every", type=int, help="video: keep every N-th step (default: at most --max-frames frames)"
    )
    parser.add_argument(
        "--max-frames", type=int, default=300, help="video: frame budget (default: %(default)s)"
    )
    parser.add_argument(
        "--view", choices=("window", "world"), default="window", help="video: whole window or 3-D view only"
    )
    parser.add_argument("--rotation", type=int, default=0, choices=range(4), help="quarter turns of the view")
    parser.add_argument("--layer", type=int, help="the layer panel's y (default: 2)")
    parser.add_argument("--no-goal", action="store_true", help="hide the goal ghost")
    parser.add_argument("--cell-pixels", type=int, help="block size of the 3-D view in pixels")
    return parser


def _video_paths(args: argparse.Namespace) -> list[Path]:
    out: Path = args.out
    is_file = out.suffix.lower() in VIDEO_SUFFIXES
    if is_file and len(args.recordings) > 1:
        raise ValueError(
            f"--out {out} is one file, but {len(args.recordings)} recordings were given: pass a folder"
        )
    if is_file:
        return [out]
    if out.suffix:
        raise ValueError(f"--out {out}: give a {' or '.join(VIDEO_SUFFIXES)} file or a folder")
    return [out / f"{path.stem}.{args.format}" for path in args.recordings]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mbag-replay``; returns the exit status: 0 done, 2 a file that is not a readable, valid
    recording (truncated, corrupted, crafted; like argparse's usage errors), 1 any other error (a
    missing file, a replay that diverges, bad options, no window or video writer). Errors are one
    line on stderr."""
    args = make_parser().parse_args(argv)
    try:
        options = ReplayView.from_args(args)
        paths = _video_paths(args) if args.out is not None else []
        if args.out is not None:
            # videos need no visible window: draw off screen unless a video driver was chosen
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        episodes = []
        for index, path in enumerate(args.recordings):
            recording = EpisodeRecording.load(path)  # checked before anything else is printed
            if index == 0:
                warm_up()  # compile the kernels (announced on a first run) before replaying
            episodes.append(ReplayedEpisode.from_recording(recording, Path(path).name))
            print(f"{path}: {episodes[-1].num_steps} steps replayed exactly")
        if args.out is None:
            from mbag_env.render.game_window import WindowError

            try:
                viewer = ReplayViewer(episodes, args.fps)
            except WindowError as error:
                raise ValueError(str(error)) from error
            options.apply(viewer.window)
            viewer.run()
            return 0
        for episode, video in zip(episodes, paths, strict=True):
            export_video(
                episode,
                video,
                fps=args.fps,
                every=args.every,
                max_frames=args.max_frames,
                options=options,
            )
            print(f"wrote {video}")
    except RecordingError as error:  # a damaged or crafted file: bad input, like a usage error
        print(f"mbag-replay: error: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, ImportError, ReplayMismatchError) as error:
        print(f"mbag-replay: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
