"""Benchmark the renderers: frames per second of ``render_isometric`` and ``render_ansi``.

The scene is a house-like world (bedrock and dirt ground, a house with log corners, plank and
cobblestone walls, glass windows, a door and a pitched stonebrick roof) of which about half is
built, the other half being the goal, with two players standing beside it. Prints a Markdown
table and writes JSON (default ``results/benchmark_render.json``); ``--save-example`` also
writes a PNG of an almost finished house (the image in ``docs/render_example.png``).

Usage::

    python scripts/benchmark_render.py
    python scripts/benchmark_render.py --frames 500 --save-example docs/render_example.png
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from mbag_env.blocks import BEDROCK, COBBLESTONE, DIRT, GLASS, LOG, PLANKS, STONEBRICK, WOOL
from mbag_env.render import render_ansi, render_isometric


def house_goal(width: int = 11, height: int = 10, depth: int = 10) -> np.ndarray:
    """Return a ``uint8 (width, height, depth)`` goal: ground plus a house with a pitched roof.

    The house spans x in ``1..width-2`` and z in ``1..depth-2`` (at least 3 by 3), has a plank
    floor at y=1, walls three blocks high with log corners, a door and glass windows on the
    walls facing +x and +z (the ones the isometric camera sees), and a stonebrick roof whose
    slopes rise along z with a plank gable.
    """
    if width < 5 or depth < 5 or height < 7:
        raise ValueError(f"house_goal needs at least a 5 x 7 x 5 world, got {(width, height, depth)}")
    goal = np.zeros((width, height, depth), dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = DIRT
    x0, x1, z0, z1 = 1, width - 2, 1, depth - 2
    goal[x0 : x1 + 1, 1, z0 : z1 + 1] = PLANKS
    wall_top = 4
    for y in range(2, wall_top + 1):
        goal[x0 : x1 + 1, y, z0] = COBBLESTONE
        goal[x0 : x1 + 1, y, z1] = PLANKS
        goal[x0, y, z0 : z1 + 1] = PLANKS
        goal[x1, y, z0 : z1 + 1] = COBBLESTONE
        for x, z in ((x0, z0), (x0, z1), (x1, z0), (x1, z1)):
            goal[x, y, z] = LOG
    mid_x, mid_z = (x0 + x1) // 2, (z0 + z1) // 2
    goal[mid_x, 2:4, z1] = 0  # door in the +z wall
    for x in (x0 + 2, x1 - 2):
        if x0 < x < x1 and abs(x - mid_x) > 1:
            goal[x, 3, z1] = GLASS
    for z in (z0 + 2, z1 - 2):
        if z0 < z < z1 and z != mid_z:
            goal[x1, 3, z] = GLASS
    # pitched roof: each layer steps in by one along z; gable ends filled with planks
    y = wall_top + 1
    lo, hi = z0, z1
    while lo <= hi and y < height:
        goal[x0 - 1 if x0 > 0 else x0 : x1 + 2, y, lo] = STONEBRICK
        goal[x0 - 1 if x0 > 0 else x0 : x1 + 2, y, hi] = STONEBRICK
        goal[x0, y, lo + 1 : hi] = PLANKS
        goal[x1, y, lo + 1 : hi] = PLANKS
        lo, hi, y = lo + 1, hi - 1, y + 1
    return goal


def partly_built(goal: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Return the goal with only ``fraction`` of its house blocks (y >= 1) placed, bottom up,
    the last layer begun at random; the ground dirt stays where the house leaves it."""
    rng = np.random.default_rng(seed)
    world = goal.copy()
    is_house = goal != 0
    is_house[:, 0, :] = False
    is_house[:, 1, :] &= goal[:, 1, :] != DIRT
    house = np.argwhere(is_house)
    order = np.lexsort((rng.random(len(house)), house[:, 1]))
    keep = int(round(fraction * len(house)))
    for x, y, z in house[order[keep:]]:
        world[x, y, z] = DIRT if y == 1 else 0
    return world


def _time_frames(render: Any, frames: int) -> float:
    """Frames per second of ``render()`` over ``frames`` calls after one warm-up call."""
    render()
    start = time.perf_counter()
    for _ in range(frames):
        render()
    return frames / (time.perf_counter() - start)


def run_benchmark(frames: int) -> dict[str, Any]:
    """Measure every configuration and return the results as a JSON-ready dict."""
    t0 = time.perf_counter()
    render_isometric(np.zeros((3, 4, 3), dtype=np.uint8))
    setup_s = time.perf_counter() - t0

    rows: list[dict[str, Any]] = []
    cases: list[tuple[str, tuple[int, int, int], dict[str, Any]]] = []
    for size in ((11, 10, 10), (6, 7, 6), (32, 32, 32)):
        for variant in ("blocks", "blocks+players", "blocks+players+goal"):
            cases.append((variant, size, {"rotation": 0, "cell_pixels": 16}))
    for rotation in (1, 2, 3):
        cases.append(("blocks+players+goal", (11, 10, 10), {"rotation": rotation, "cell_pixels": 16}))
    for cell_pixels in (8, 32):
        cases.append(("blocks+players+goal", (11, 10, 10), {"rotation": 0, "cell_pixels": cell_pixels}))

    for variant, size, kwargs in tqdm(cases, desc="rgb_array", leave=False):
        goal = house_goal(*size)
        world = partly_built(goal, 0.5)
        players = np.array([[0, 2, 0], [size[0] - 1, 2, size[2] - 1]])
        args: dict[str, Any] = {"blocks": world}
        if "players" in variant:
            args["players"] = players
        if "goal" in variant:
            args["goal"] = goal
        image = render_isometric(**args, **kwargs)
        fps = _time_frames(lambda args=args, kwargs=kwargs: render_isometric(**args, **kwargs), frames)
        rows.append(
            {
                "mode": "rgb_array",
                "world": "x".join(map(str, size)),
                "variant": variant,
                **kwargs,
                "image": f"{image.shape[1]}x{image.shape[0]}",
                "fps": fps,
                "ms_per_frame": 1000.0 / fps,
            }
        )
    for size in ((11, 10, 10), (32, 32, 32)):
        goal = house_goal(*size)
        world = partly_built(goal, 0.5)
        players = np.array([[0, 2, 0], [size[0] - 1, 2, size[2] - 1]])
        fps = _time_frames(lambda w=world, p=players, g=goal: render_ansi(w, p, g), frames)
        rows.append(
            {
                "mode": "ansi",
                "world": "x".join(map(str, size)),
                "variant": "blocks+players+goal",
                "fps": fps,
                "ms_per_frame": 1000.0 / fps,
            }
        )
    return {
        "benchmark": "render",
        "frames_per_case": frames,
        "first_call_s": setup_s,
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "results": rows,
    }


def _markdown_table(rows: list[dict[str, Any]]) -> str:
    header = "| mode | world | variant | rotation | cell_pixels | image | fps | ms/frame |"
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['mode']} | {row['world']} | {row['variant']} | {row.get('rotation', '-')} | "
            f"{row.get('cell_pixels', '-')} | {row.get('image', '-')} | {row['fps']:.0f} | "
            f"{row['ms_per_frame']:.2f} |"
        )
    return "\n".join(lines)


def save_example(path: Path) -> None:
    """Write a PNG of an 11x10x10 house with most of it built, its goal ghosted and two players."""
    from PIL import Image  # pillow comes with matplotlib; only needed for this option

    goal = house_goal()
    world = partly_built(goal, 0.85, seed=3)
    world[9, 2, 5] = WOOL  # a wrong block, shown with a red tint
    players = np.array([[3, 2, 9], [10, 2, 2]])  # the human near the door, the assistant by the +x wall
    image = render_isometric(world, players, goal, cell_pixels=24)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, optimize=True)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="timed frames per case (default 300)")
    parser.add_argument(
        "--json", type=Path, default=Path("results/benchmark_render.json"), help="where to write the JSON"
    )
    parser.add_argument("--save-example", type=Path, default=None, help="also write an example PNG here")
    args = parser.parse_args()
    if args.frames < 1:
        parser.error(f"--frames must be >= 1, got {args.frames}")

    results = run_benchmark(args.frames)
    print(f"first call (numba cache load / compile, sprite tables): {results['first_call_s']:.2f} s")
    print(_markdown_table(results["results"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")
    if args.save_example is not None:
        save_example(args.save_example)
        print(f"wrote {args.save_example}")


if __name__ == "__main__":
    main()
