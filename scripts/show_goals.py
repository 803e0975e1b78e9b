"""Render a grid of goal houses to a PNG (matplotlib 3-D voxels, one panel per goal).

Goals come from any source :func:`mbag_env.goals.make_goal_sampler` accepts (procedural houses by
default, a shipped dataset, or a goal file). Bedrock is hidden and the dirt ground is drawn only
where it was changed, so the houses stand out; glass is drawn translucent.

Usage::

    python scripts/show_goals.py --out docs/goals.png
    python scripts/show_goals.py --source dataset:test --world-size 6 6 6 --count 12 --out test6.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from goal_options import goal_source_parser  # noqa: E402
from mpl_toolkits.mplot3d.axes3d import Axes3D  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mbag_env.blocks import AIR, BEDROCK, BLOCK_COLORS, DIRT, GLASS  # noqa: E402
from mbag_env.goals import make_goal_sampler  # noqa: E402


def voxel_colors(goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cells to draw (all solid blocks except bedrock) and their RGBA colours, both in
    matplotlib's axis order (x, z, y) so that y points up."""
    shown = (goal != AIR) & (goal != BEDROCK)
    colors = np.zeros((*goal.shape, 4), dtype=np.float64)
    colors[..., :3] = BLOCK_COLORS[goal] / 255.0
    colors[..., 3] = np.where(goal == GLASS, 0.45, 1.0)
    return shown.transpose(0, 2, 1), colors.transpose(0, 2, 1, 3)


def draw_goal(axes: Axes3D, goal: np.ndarray, title: str) -> None:
    """Draw one goal (bedrock hidden) on 3-D ``axes``."""
    width, height, depth = goal.shape
    filled, colors = voxel_colors(goal)
    axes.voxels(filled, facecolors=colors, edgecolor=(0, 0, 0, 0.25), linewidth=0.3)
    axes.set_xlim(0, width)
    axes.set_ylim(0, depth)
    axes.set_zlim(0, height)
    axes.set_proj_type("ortho")
    axes.set_box_aspect((width, depth, height), zoom=1.0)
    axes.view_init(elev=30, azim=-56)
    axes.set_axis_off()
    axes.set_title(title, fontsize=8)


def render_grid(goals: list[np.ndarray], titles: list[str], columns: int, out: Path) -> None:
    """Draw ``goals`` in a grid with ``columns`` columns and save the figure to ``out``."""
    rows = -(-len(goals) // columns)
    figure = plt.figure(figsize=(3.2 * columns, 3.2 * rows), dpi=110)
    for index, (goal, title) in enumerate(tqdm(list(zip(goals, titles, strict=True)), desc="rendering")):
        axes = figure.add_subplot(rows, columns, index + 1, projection="3d")
        assert isinstance(axes, Axes3D)
        draw_goal(axes, goal, title)
    figure.subplots_adjust(left=0, right=1, bottom=0, top=0.97, wspace=0, hspace=0.05)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = goal_source_parser(__doc__)
    parser.add_argument("--count", type=int, default=16, help="number of goals to draw")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/goals.png"))
    args = parser.parse_args(argv)
    if args.count < 1 or args.columns < 1:
        parser.error("--count and --columns must be at least 1")
    sampler = make_goal_sampler(args.source, tuple(args.world_size))
    rng = np.random.default_rng(args.seed)
    goals = [sampler.sample(rng) for _ in range(args.count)]
    titles = []
    for index, goal in enumerate(goals):
        blocks = int(np.count_nonzero(goal[:, 2:, :])) + int(np.count_nonzero(goal[:, 1, :] != DIRT))
        titles.append(f"{args.source} #{index}: {blocks} blocks")
    render_grid(goals, titles, args.columns, args.out)
    print(f"wrote {args.out} ({len(goals)} goals of size {tuple(args.world_size)} from {args.source!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
