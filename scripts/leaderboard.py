"""Evaluate assistants on the fixed leaderboard suite (same as the ``mbag-leaderboard`` command).

Example: ``python scripts/leaderboard.py --quick idle random oracle``. See
:mod:`mbag_env.evaluation.leaderboard` for assistant specs, suites and the headline score.
"""

from __future__ import annotations

import sys

from mbag_env.evaluation.leaderboard import main

if __name__ == "__main__":
    sys.exit(main())
