"""Assistants that infer the goal θ from what the human does.

- :class:`~.bayes.BayesAssistant` (``"bayes"`` on the leaderboard and in the play window): a
  posterior over candidate houses, updated on the human's places and breaks, acted on by the
  expected edit-distance gain. The reference helper of the suite.
- :class:`~.belief.GoalBelief`: that posterior for a batch of worlds, with per-cell marginals
  ``p(θ_c = b | history)`` (the belief API learned goal heads are compared with).
- :class:`~.priors.GoalPrior` and :func:`~.priors.default_prior`: the candidate houses (a
  finite goal set, or training-split houses with their symmetric copies; never the test split).
"""

from mbag_env.assistants.bayes import BayesAssistant, BayesSettings, expected_gains
from mbag_env.assistants.belief import GoalBelief, HumanModelLikelihood, human_changes
from mbag_env.assistants.priors import (
    GoalPrior,
    default_prior,
    expand_with_symmetries,
    structure_labels,
    symmetric_variants,
)

__all__ = [
    "BayesAssistant",
    "BayesSettings",
    "GoalBelief",
    "GoalPrior",
    "HumanModelLikelihood",
    "default_prior",
    "expand_with_symmetries",
    "expected_gains",
    "human_changes",
    "structure_labels",
    "symmetric_variants",
]
