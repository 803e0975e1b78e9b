"""Package layout for setuptools (the project's metadata lives in ``pyproject.toml``).

The shipped goal datasets stay in the repository's top-level ``assets/`` folder (their single
copy); a built wheel or ``pip install .`` installs that folder as the package data
``mbag_env/_assets/`` (``mbag_env._assets`` is mapped onto ``assets/``), where
:func:`mbag_env.goals.assets_dir` finds it when there is no source checkout around the package.
Only what the env reads at run time ships: the goal datasets and their manifest. Baseline
checkpoints (``assets/checkpoints/*.pt``) are not packaged; pass their path to ``mbag-leaderboard``.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["mbag_env", "mbag_env.*", "baselines", "baselines.*"]),
        "mbag_env._assets",
    ],
    package_dir={"mbag_env._assets": "assets"},
    package_data={
        "mbag_env": ["goals/block_maps/*.json"],
        "mbag_env._assets": ["goals/manifest.json", "goals/*.npz"],
    },
)
