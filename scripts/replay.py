"""Play an episode recording back in the window, or write it as a GIF/MP4 (same as ``mbag-replay``).

Examples: ``python scripts/replay.py recordings/play_....npz`` and
``python scripts/replay.py episode.npz --out episode.gif``. See :mod:`mbag_env.apps.replay`.
"""

from __future__ import annotations

import sys

from mbag_env.apps.replay import main

if __name__ == "__main__":
    sys.exit(main())
