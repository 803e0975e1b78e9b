"""The semi-MDP options layer: hand-designed options for the builder and the assistant, a wrapper
whose actions are options, PPO over options, and diagnostics that show what options do.

* :mod:`.hand_designed` – :class:`~.hand_designed.Option`, the builder's and the assistant's
  options and :class:`~.hand_designed.OptionRunner`;
* :mod:`.smdp` – :class:`~.smdp.OptionsEnv`, a Gymnasium wrapper over options (discounted option
  reward, duration);
* :mod:`.ppo_options` – PPO over options (``python -m baselines.options.ppo_options``);
* :mod:`.diagnostics` – option usage, durations, termination rates and per-option maps;
* :mod:`.evaluate_options` – evaluation on held-out houses with option diagnostics;
* :mod:`.option_critic` – option-critic (PPOC), which learns its options instead
  (``python -m baselines.options.option_critic``).
"""
