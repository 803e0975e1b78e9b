"""Play the human of MBAG in a window (same as the ``mbag-play`` command).

Example: ``python scripts/play.py --assistant oracle --small``. See :mod:`mbag_env.apps.play` for the
controls, the real-time stepping and the recordings.
"""

from __future__ import annotations

import sys

from mbag_env.apps.play import main

if __name__ == "__main__":
    sys.exit(main())
