"""Goals θ: procedural houses, real-house loaders, transforms, datasets and the samplers the env uses.

The environment calls :func:`make_goal_sampler` once and ``sampler.sample(rng)`` at every reset, and
checks each goal with :func:`validate_goal`. See SPEC §6 for the rules a goal obeys.

Modules:

- :mod:`~mbag_env.goals.validation`: :func:`validate_goal`, buildability checks;
- :mod:`~mbag_env.goals.houses`: the procedural house generator;
- :mod:`~mbag_env.goals.splits`: the disjoint train/test split of goals;
- :mod:`~mbag_env.goals.transforms`: rotation, mirroring, remapping, crop/pad, placement, filters;
- :mod:`~mbag_env.goals.loaders`: CraftAssist, GrabCraft and plain-array files;
- :mod:`~mbag_env.goals.datasets`: the shipped datasets in ``assets/goals/`` and ``.npz`` files;
- :mod:`~mbag_env.goals.sampling`: :func:`make_goal_sampler` and the sampler classes.
"""

from mbag_env.goals.datasets import (
    DatasetInfo,
    assets_dir,
    find_shipped_dataset,
    goal_assets_dir,
    load_goal_dataset,
    load_shipped_goals,
    read_manifest,
    save_goal_dataset,
)
from mbag_env.goals.houses import (
    HOUSE_GENERATOR_VERSION,
    HouseDesign,
    build_house,
    generate_house,
    sample_house_design,
)
from mbag_env.goals.loaders import (
    GoalFileError,
    HouseFiles,
    load_block_arrays,
    load_craftassist_schematic,
    load_grabcraft_json,
    load_structures,
)
from mbag_env.goals.sampling import (
    ACCEPTED_SOURCES,
    CallableGoalSampler,
    DatasetGoalSampler,
    FixedGoalSampler,
    GoalSampler,
    ProceduralHouseSampler,
    StructureGoalSampler,
    StructureLoader,
    make_goal_sampler,
)
from mbag_env.goals.splits import TEST_FRACTION, canonical_digest, goal_split
from mbag_env.goals.transforms import (
    Compose,
    CropOrPad,
    DensityFilter,
    Mirror,
    RemapBlocks,
    Rotate,
    ShrinkToFit,
    SizeFilter,
    UniformMaterial,
    crop_or_pad,
    crop_to_content,
    density,
    goal_to_structure,
    halve,
    mirror,
    place_in_world,
    remap_blocks,
    rotate_y,
    solid_count,
    uniform_material,
)
from mbag_env.goals.validation import (
    floating_mask,
    hidden_changes_mask,
    initial_world,
    is_buildable,
    make_finishable,
    remove_floating,
    validate_goal,
)

__all__ = [
    "ACCEPTED_SOURCES",
    "CallableGoalSampler",
    "Compose",
    "CropOrPad",
    "DatasetGoalSampler",
    "DatasetInfo",
    "DensityFilter",
    "FixedGoalSampler",
    "GoalFileError",
    "GoalSampler",
    "HOUSE_GENERATOR_VERSION",
    "HouseDesign",
    "HouseFiles",
    "Mirror",
    "ProceduralHouseSampler",
    "RemapBlocks",
    "Rotate",
    "ShrinkToFit",
    "SizeFilter",
    "StructureGoalSampler",
    "StructureLoader",
    "TEST_FRACTION",
    "UniformMaterial",
    "assets_dir",
    "build_house",
    "canonical_digest",
    "crop_or_pad",
    "crop_to_content",
    "density",
    "find_shipped_dataset",
    "floating_mask",
    "generate_house",
    "goal_assets_dir",
    "goal_split",
    "goal_to_structure",
    "halve",
    "hidden_changes_mask",
    "initial_world",
    "is_buildable",
    "load_block_arrays",
    "load_craftassist_schematic",
    "load_goal_dataset",
    "load_grabcraft_json",
    "load_shipped_goals",
    "load_structures",
    "make_finishable",
    "make_goal_sampler",
    "mirror",
    "place_in_world",
    "read_manifest",
    "remap_blocks",
    "remove_floating",
    "rotate_y",
    "sample_house_design",
    "save_goal_dataset",
    "solid_count",
    "uniform_material",
    "validate_goal",
]
