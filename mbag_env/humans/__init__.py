"""Human models: the :class:`Policy` protocol and the compiled scripted humans.

The scripted humans (:class:`HumanModel`: the goal-seeking builder of :mod:`.goal_seeking`, the
layer-by-layer builder of :mod:`.layer_builder`, and the noise models of :mod:`.noise` on top)
are compiled into the env core so that ``mbag/Assist-v0`` and the vector env stay fast; any
other policy object or callable can stand in for the human through :func:`as_policy`.
"""

from mbag_env.humans.policy import Policy, as_policy
from mbag_env.humans.scripted import HUMAN_KINDS, HumanModel

__all__ = ["HUMAN_KINDS", "HumanModel", "Policy", "as_policy"]
