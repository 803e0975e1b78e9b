"""The apps, the top layer over the package: ``mbag-play`` (:mod:`mbag_env.apps.play`, a person
plays the human), ``mbag-replay`` (:mod:`mbag_env.apps.replay`, recordings played back or written
as videos) and ``mbag-demo`` (:mod:`mbag_env.apps.demo`). Nothing in the package imports them."""
