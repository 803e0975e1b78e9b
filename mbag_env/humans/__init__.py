"""Human models: the :class:`Policy` protocol and scripted humans.

The goal-seeking human (:mod:`.goal_seeking`) is compiled into the env core so that
``mbag/Assist-v0`` and the vector env stay fast; any other policy object or callable can
stand in for the human through :func:`as_policy`.
"""

from mbag_env.humans.policy import Policy, as_policy
from mbag_env.humans.scripted import HUMAN_KINDS, HumanModel

__all__ = ["HUMAN_KINDS", "HumanModel", "Policy", "as_policy"]
