"""Learning baselines for mbag_env (PyTorch).

Each algorithm is one readable file (``ppo.py``, ...); :mod:`baselines.common` holds the small
shared pieces: the voxel observation encoder and spatial action head, masked sampling,
checkpoints, logging and seeding. ``mbag_env`` never imports this package.
"""
