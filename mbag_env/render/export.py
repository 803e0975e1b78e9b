"""Export of drawn worlds to files: animated GIF and MP4 videos, and top-down PNGs of each layer.

One writer serves every video of the package: :func:`~mbag_env.evaluation.recording.export_gif`
(the leaderboard's ``--gif``, the isometric world alone) and ``mbag-replay --out``
(:func:`mbag_env.apps.replay.export_video`, the whole window or the world) hand their frames to
:func:`write_video`; :func:`~mbag_env.evaluation.recording.export_layer_images` writes its
pictures with :func:`write_layer_images`. This module only writes arrays it is given (RGB frames,
block and goal arrays); replaying a recording into frames happens above it, where recordings
live (``render`` sits below ``evaluation`` in the layers). imageio (the ``render`` extra) is
imported only when a video is written; MP4 also needs imageio-ffmpeg (the ``video`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mbag_env.blocks import AIR, BLOCK_COLORS

VIDEO_SUFFIXES = (".gif", ".mp4")
"""File types :func:`write_video` writes."""


def write_video(
    frames: Iterable[np.ndarray], path: str | Path, fps: float, *, kind: str | None = None
) -> int:
    """Write RGB ``frames`` (``(H, W, 3)`` uint8) to a GIF (looping) or MP4 file with imageio;
    return the number of frames.

    Args:
        frames: the frames, written as they come (a generator is not held in memory).
        path: the file; its folder is created.
        fps: frames per second.
        kind: ``"gif"`` or ``"mp4"``; default: from the suffix of ``path`` (which must then be one
            of :data:`VIDEO_SUFFIXES`).

    Raises:
        ValueError: for another suffix (without ``kind``) or ``fps <= 0``.
        ImportError: without imageio, or without imageio-ffmpeg for ``.mp4`` (the message says
            what to install).
    """
    path = Path(path)
    suffix = path.suffix.lower() if kind is None else f".{kind}"
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"cannot write {path}: videos are {', '.join(VIDEO_SUFFIXES)} files")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps!r}")
    try:
        import imageio.v2 as imageio
    except ImportError as error:
        raise ImportError("writing videos needs imageio: pip install 'mbag_env[render]'") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    # imageio picks the format from the suffix; it is named only for a file named otherwise
    named = {} if path.suffix.lower() == suffix else {"format": "GIF" if suffix == ".gif" else "FFMPEG"}
    if suffix == ".gif":
        writer = imageio.get_writer(path, mode="I", duration=1000.0 / fps, loop=0, **named)
    else:
        try:
            writer = imageio.get_writer(path, fps=fps, macro_block_size=2, **named)
        except ValueError as error:
            raise ImportError(
                f"writing {path.name} needs ffmpeg for imageio: pip install imageio-ffmpeg"
            ) from error
    count = 0
    with writer:
        for frame in frames:
            if suffix == ".mp4":  # H.264 with yuv420p needs even sides
                rows, cols = frame.shape[0] + frame.shape[0] % 2, frame.shape[1] + frame.shape[1] % 2
                frame = np.pad(
                    frame, ((0, rows - frame.shape[0]), (0, cols - frame.shape[1]), (0, 0)), mode="edge"
                )
            writer.append_data(frame)
            count += 1
    return count


def write_layer_images(
    blocks: np.ndarray, goal: np.ndarray, folder: str | Path, cell_pixels: int = 24
) -> list[Path]:
    """Write one top-down PNG per y layer of ``blocks`` (``(W, H, D)``, with the ``goal`` of the
    same shape) into ``folder``: ``layer_00.png``, ``layer_01.png``, ... (bottom first); see
    :func:`layer_image` for what each shows. Returns the paths."""
    import matplotlib.image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for y in range(blocks.shape[1]):
        image = layer_image(blocks[:, y, :], goal[:, y, :], cell_pixels)
        path = folder / f"layer_{y:02d}.png"
        matplotlib.image.imsave(path, image)
        paths.append(path)
    return paths


def layer_image(blocks: np.ndarray, goal: np.ndarray, cell_pixels: int = 24) -> np.ndarray:
    """A top-down RGB image of one layer (``blocks`` and ``goal`` are ``(W, D)``), x to the right and
    z downward: blocks in their colours, cells the goal still wants as a pale version of the goal
    block, and wrong blocks outlined in red."""
    width, depth = blocks.shape
    image = np.full((depth * cell_pixels, width * cell_pixels, 3), 250, dtype=np.uint8)
    border = max(1, cell_pixels // 8)
    for x in range(width):
        for z in range(depth):
            tile = image[z * cell_pixels : (z + 1) * cell_pixels, x * cell_pixels : (x + 1) * cell_pixels]
            block, wanted = int(blocks[x, z]), int(goal[x, z])
            if block != AIR:
                tile[:] = BLOCK_COLORS[block]
            elif wanted != AIR:
                tile[:] = (BLOCK_COLORS[wanted].astype(np.int64) + 2 * 250) // 3
            if block != wanted and block != AIR:
                tile[:border] = tile[-border:] = tile[:, :border] = tile[:, -border:] = (220, 30, 30)
            else:
                tile[-1:] = tile[:, -1:] = (215, 215, 210)
    return image
