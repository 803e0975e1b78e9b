"""Make the README's screenshot of the ``mbag-play`` window (``docs/play_window.png``), headless.

The window is the real one of :mod:`mbag_env.apps.play` under SDL's dummy video driver. A stand-in
for the person plays player 0 through the session's own input path (:meth:`PlaySession.act`):
the compiled goal-seeking builder chooses its actions, beside the oracle assistant, until the
house is about half built; then the mouse is pointed at a cell the person could place a block
in, and the window is saved.

Run ``python scripts/screenshot_play.py [--out docs/play_window.png] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"  # draw off screen
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def main(argv: list[str] | None = None) -> Path:
    """Play to mid-game and save the window; returns the image path."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/play_window.png"), help="image path")
    parser.add_argument("--seed", type=int, default=7, help="episode seed (picks the house)")
    parser.add_argument("--progress", type=float, default=0.3, help="goal percentage to stop at")
    args = parser.parse_args(argv)

    import numpy as np
    import pygame

    from mbag_env.apps.play import MESSAGE_SECONDS, PlaySession
    from mbag_env.blocks import AIR, BLOCK_NAMES
    from mbag_env.config import MbagConfig
    from mbag_env.core.actions import NOOP
    from mbag_env.evaluation.assistants import OracleAssistant

    now = [1000.0]  # a fixed clock, so the countdown bar is drawn the same way every time
    session = PlaySession(
        MbagConfig(), assistant="oracle", seed=args.seed, step_rate=2.0, record_dir=None, clock=lambda: now[0]
    )
    stand_in = OracleAssistant(session.env, player=0)
    batch = session.env.batch
    state = batch.state

    def reachable_goal_cells() -> np.ndarray:
        frame = session.frame()
        assert frame.place_valid is not None
        return np.argwhere((state.goal[0] != AIR) & (state.blocks[0] == AIR) & frame.place_valid)

    # play on to the wanted progress, then until the human could place a goal block somewhere
    while session.phase != "over" and (
        batch.goal_percentage(0) < args.progress or not len(reachable_goal_cells())
    ):
        now[0] += 0.4
        if not session.act(stand_in.act(session.observation)):
            session.act(NOOP, "wait")
    if session.phase == "over":
        raise SystemExit(f"the house was finished before {args.progress:.0%}: choose another --seed")

    # the person pauses to aim: the game goes on in real time (timer steps) until the last
    # message has faded and the status line shows what a click would do
    waited = 0.0
    while waited <= MESSAGE_SECONDS or not len(reachable_goal_cells()):
        now[0] += 0.1
        waited += 0.1
        session.tick()
        if session.phase == "over":
            raise SystemExit("the house was finished while aiming: choose another --seed or --progress")

    # show the layer the human works on, and point at a cell where a click would place a block
    feet = state.player_ints[0, 0, :3]
    cells = reachable_goal_cells()
    target = tuple(int(c) for c in min(cells, key=lambda c: (abs(int(c[1]) - int(feet[1])), tuple(c))))
    session.window.view.layer = target[1]
    session.selected_block = int(state.goal[0][target])
    session.window.view.mouse = session.window.cell_center(target)
    now[0] += 0.2  # the countdown to the next timer step is under way (no step is due yet)
    session.window.draw(session.frame())
    path = session.window.save_screenshot(args.out)
    session.window.close()
    print(
        f"wrote {path}: step {int(state.env_ints[0, 0])}, goal {batch.goal_percentage(0):.0%}, pointing at "
        f"{target} to place {BLOCK_NAMES[session.selected_block]}"
    )
    pygame.quit()
    return path


if __name__ == "__main__":
    main()
