"""The one video writer (GIF and MP4) and the per-layer PNGs of :mod:`mbag_env.render.export`."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from mbag_env.blocks import AIR
from mbag_env.render.export import layer_image, write_layer_images, write_video


def _frames(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (20, 30, 3), dtype=np.uint8) for _ in range(count)]


def test_gif_streams_frames_and_matches_imageio_mimsave(tmp_path: Path) -> None:
    frames = _frames(4)
    assert write_video(iter(frames), tmp_path / "a" / "video.gif", fps=5.0) == 4
    imageio.mimsave(tmp_path / "reference.gif", frames, duration=200.0, loop=0)
    assert (tmp_path / "a" / "video.gif").read_bytes() == (tmp_path / "reference.gif").read_bytes()
    # kind= writes a GIF whatever the file is called
    assert write_video(frames, tmp_path / "video.bin", fps=5.0, kind="gif") == 4
    assert (tmp_path / "video.bin").read_bytes() == (tmp_path / "reference.gif").read_bytes()


def test_bad_suffix_or_rate(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="videos are .gif, .mp4 files"):
        write_video(_frames(1), tmp_path / "video.avi", fps=5.0)
    with pytest.raises(ValueError, match="fps must be > 0"):
        write_video(_frames(1), tmp_path / "video.gif", fps=0.0)


def test_layer_images(tmp_path: Path) -> None:
    blocks = np.zeros((3, 2, 4), dtype=np.uint8)
    goal = np.full_like(blocks, 3)
    blocks[0, 0, 0] = 3
    paths = write_layer_images(blocks, goal, tmp_path / "layers", cell_pixels=5)
    assert [path.name for path in paths] == ["layer_00.png", "layer_01.png"]
    image = layer_image(blocks[:, 0, :], goal[:, 0, :], cell_pixels=5)
    assert image.shape == (4 * 5, 3 * 5, 3) and blocks[1, 0, 0] == AIR
