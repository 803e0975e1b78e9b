"""AssistanceZero (Laidlaw et al., 2025): MCTS with a learned goal belief and human model, and the
AlphaZero builder (the same code with θ visible and no human in the tree).

Modules, one job each: :mod:`.config` (run configuration and presets), :mod:`.network` (policy,
value, goal-belief and human-action heads), :mod:`.tree_kernels` (compiled tree operations on the
env core's kernels), :mod:`.mcts` (batched search), :mod:`.replay` (replay buffer),
:mod:`.losses` (loss (1)), :mod:`.train` (self-play loop, checkpoints, logs), :mod:`.policy`
(checkpoints as env policies), :mod:`.cli` (command line), :mod:`.diagnostics` (evaluation against
idle/PPO and the belief against the exact posterior; ``scripts/evaluate_assistance_zero.py``),
:mod:`.benchmark` (training throughput; ``scripts/benchmark_assistance_zero.py``). Train with
``python -m baselines.assistance_zero --preset cpu-small``.
"""
