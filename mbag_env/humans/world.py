"""One world as a scripted human sees it: the arrays its kernels read, handed over as one value."""

from __future__ import annotations

from collections import namedtuple

HumanWorld = namedtuple("HumanWorld", "blocks goal player_ints layer_errors env_ints params")
"""One world's arrays, the env axis already indexed (see :class:`~mbag_env.core.state.BatchState`):
``blocks``, ``goal``, ``player_ints``, ``layer_errors``, ``env_ints`` (its counters and random
generator) and the batch's ``params``. :func:`~mbag_env.humans.scripted.scripted_human_action`
builds it once per call and hands it to the human kind and the noise model it applies."""
