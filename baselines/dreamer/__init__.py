"""DreamerV3 for MBAG: a world model of the voxel world plus actor-critic learning in imagination.

Follows Hafner et al., "Mastering Diverse Domains through World Models" (arXiv 2301.04104, the 2023
version), written with torch and numpy only. It is longer than one readable file, so it is a
small package read in this order: ``core.py`` (config, presets and the paper's transforms:
symlog, two-hot, unimix, straight-through, free bits, λ-returns, return scale),
``networks.py`` (encoder, RSSM, world model, actor, critic and the training step),
``replay.py`` and ``training.py`` (collection, checkpoints, the policy and the CLI,
``python -m baselines.dreamer``). Diagnostics: ``world_model_eval.py`` (world-model quality of a
checkpoint; ``scripts/dreamer_world_model_eval.py``) and ``benchmark.py`` (training speed;
``scripts/benchmark_dreamer.py``).

* **World model (RSSM).** A LayerNorm GRU (update bias −1) holds the deterministic state ``h``;
  ``stoch`` categorical latents of ``classes`` classes are sampled straight-through with 1 %
  unimix. The encoder embeds each world channel's ids, runs stride-2 3-D convolutions and adds an
  MLP over the symlogged inventory and timestep. The decoder mirrors it with transposed
  convolutions and predicts a per-cell categorical (cross-entropy) over the ids of every observed
  channel and the symlogged inventory/timestep (MSE). Reward: symexp two-hot over 255 bins in [−20, 20];
  continue: Bernoulli. Losses: prediction 1.0, KL dyn 0.5 / rep 0.1 with 1 nat free bits
  (``--kl-scales official``: 1.0 / 0.1).
* **Actor-critic in imagination.** Horizon 15, λ = 0.95, γ = 0.997; REINFORCE with advantages
  divided by ``max(1, S)`` (S: EMA, decay 0.99, of the 95th − 5th percentile of λ-returns),
  entropy 3e-4, a two-hot critic regularised towards its EMA (rate 0.02, weight 1). Adam: world
  model lr 1e-4, ε 1e-8, clip 1000; actor and critic lr 3e-5, ε 1e-5, clip 100.
* **Actions and masks.** The actor is a spatial head like :mod:`baselines.common.networks` (7
  global logits + per-cell logits in the env's order via :func:`flatten_action_logits`). Invalid
  actions are masked *before* the 1 % unimix, which spreads only over valid actions. In the real
  env the env's mask is used. Imagination has no real mask, so by default (``decoded``) it is
  **derived from the decoded world** (:mod:`baselines.dreamer.decoded_mask`): each imagined state
  is decoded, the most likely id of every cell and the most likely feet cell of every player
  (and, with finite blocks, the rounded inventory) form a concrete world, and the core's
  ``write_action_mask`` gives its mask. The rules of reach and sight so exist only in
  ``mbag_env/core``, and with a perfect decoder the mask is exactly the env's (tested); it costs
  one decoder pass per imagined step. The first version learned a mask head instead (binary
  cross-entropy on the masks in replay, valid where ``p > 0.5``): each PLACE/BREAK action is
  valid in only a minority of states, so the head never reached ``p > 0.5`` for any of them and
  imagination could only take NOOP (``docs/results.md``). It remains as the ``learned`` and
  ``sampled`` (Bernoulli draws from the head) ablations, with ``none`` (every action valid).
* **Data.** Uniform sequence replay over each world's stream with ``is_first`` (episode starts,
  ``timestep == 0``) resetting the state, prefill with random valid actions, ``train_ratio``
  replayed steps per env step, collection on the batched vector env (next-step autoreset: the
  step after an episode ends returns the next episode's first observation, stored with
  ``is_first``). Row ``t`` holds the observation, the reward and terminal flag that came with it,
  and the action then taken *from* it; the RSSM consumes ``a_{t-1}`` on the way to ``h_t``.

**Deviations from the paper** (also in ``docs/results.md``):

1. Sizes for ``cpu-small``: 6×6×6 world, GRU 256, 16×16 latents, 256 hidden units, 1 MLP layer,
   CNN depth 16, batch 16 × 32, train ratio 64, 64 imagination starts (a random subset of the
   512 posterior states) instead of all. ``paper`` uses size S (GRU 512, 32×32, 512 units,
   2 layers, depth 32), batch 16 × 64, train ratio 512 (Crafter) and all starts.
2. The observation is a voxel grid: per-channel id embeddings and 3-D (transposed) convolutions
   replace the image CNN, and the decoder's image MSE becomes a per-cell categorical
   cross-entropy (summed over cells, like the paper's sum over pixels).
3. The action input of the RSSM is the sum of a learned embedding of the action's kind and of its
   cell (equal to a linear layer on a factored one-hot) instead of a 1,951-wide one-hot.
4. The imagination mask (the env's rules on the decoded world) does not exist in the paper; in the
   ``learned``/``sampled`` ablations the mask head is a new prediction loss (scale 1).
5. The initial RSSM state is zeros (the paper's code can learn it); each replayed sequence starts
   from it.
6. Collection runs ``num_envs`` worlds in parallel (the paper's Crafter runs use one env).
7. The actor's and the mask head's per-cell logits come from a light spatial head (one linear
   layer to a coarse grid, nearest upsampling, a learned per-cell embedding, LayerNorm, SiLU,
   1×1×1 convolution) instead of transposed convolutions, because both run at every imagination
   step; the decoder keeps transposed convolutions.
8. The id embeddings and the first convolution are applied as one convolution of the one-hot
   codes whose kernel is the product of the two weights (the same function and parameters as
   embedding lookups followed by the convolution, several times cheaper to differentiate on a
   CPU).
9. ``--goal-head`` (off by default) adds a head that predicts the privileged goal θ per cell from
   the latent state (cross-entropy summed over cells, a prediction loss of scale 1, θ stored in
   replay): an auxiliary loss that pushes the assistant's latent state to carry its goal belief.
   ``scripts/dreamer_world_model_eval.py`` measures how well it predicts θ.

Use::

    python -m baselines.dreamer --env mbag/Build-Small-v0 --preset cpu-small --total-steps 20000
    python -m baselines.dreamer --env mbag/Assist-Small-v0 --preset cpu-small --total-steps 20000
    python -m baselines.dreamer --resume runs/dreamer-Build-Small-v0-s1/checkpoints/last.pt

A run folder holds ``progress.csv``, TensorBoard events, ``learning_curve.png``,
``checkpoints/{last,final}.pt`` and ``checkpoints/replay.npz`` (the replay buffer, restored on
resume). :func:`policy_from_checkpoint` makes the checkpoint playable through
:func:`baselines.common.policy.load_policy`.
"""

from mbag_env.compile_cache import package_kernel_cache

# numba fixes a kernel's cache folder when its decorator runs: importing the modules here, inside
# the block, caches the compiled kernels (decoded_mask's) in mbag_env's versioned folder
# (~/.cache/mbag_env/numba-<hash>, see mbag_env.compile_cache) and not in __pycache__.
with package_kernel_cache():
    from baselines.dreamer.core import PRESETS, DreamerConfig, config_for_preset
    from baselines.dreamer.networks import DreamerAgent
    from baselines.dreamer.replay import ReplayBuffer
    from baselines.dreamer.training import (
        DreamerPolicy,
        agent_from_checkpoint,
        config_from_payload,
        main,
        make_envs,
        policy_from_checkpoint,
        train,
    )

__all__ = [
    "PRESETS",
    "DreamerAgent",
    "DreamerConfig",
    "DreamerPolicy",
    "ReplayBuffer",
    "agent_from_checkpoint",
    "config_for_preset",
    "config_from_payload",
    "main",
    "make_envs",
    "policy_from_checkpoint",
    "train",
]
