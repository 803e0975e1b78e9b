"""Environment classes: Gymnasium single-agent envs, the PettingZoo parallel env, the vector env."""
