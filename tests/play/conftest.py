"""The window tests run headless: SDL's dummy video and audio drivers, set before pygame starts."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"  # never open a real window from the tests
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest  # noqa: E402

pytest.importorskip("pygame", reason="the window needs pygame: pip install 'mbag_env[render]'")
