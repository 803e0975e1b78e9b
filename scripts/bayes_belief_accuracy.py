"""The Bayesian assistant's posterior against the true house over the episode: plot + JSON.

A thin wrapper: the scoring (the leaderboard suite's episodes played by ``bayes`` assistants, the
posterior behind every action scored against θ) lives in :mod:`mbag_env.evaluation.bayes_belief`,
whose docstring describes the flags and outputs. Example::

    python scripts/bayes_belief_accuracy.py bayes bayes:prior=dataset:test \\
        --json results/bayes_belief.json --plot docs/bayes_belief.png
"""

from __future__ import annotations

from mbag_env.evaluation.bayes_belief import main

if __name__ == "__main__":
    main()
