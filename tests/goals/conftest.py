"""Shared fixtures for the goal tests: the real-house fixture folder and a loaded script module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
REAL_HOUSES = FIXTURES / "real_houses"
REAL_HOUSE_FILES = (
    "craftassist_test_house.schematic.npy",
    "craftassist_train_house.schematic.npy",
    "grabcraft_5262.json",
    "grabcraft_5861.json",
)


@pytest.fixture(scope="session")
def real_houses_dir() -> Path:
    """The real-house fixtures (CraftAssist and GrabCraft files) in ``tests/fixtures/real_houses``."""
    missing = [name for name in REAL_HOUSE_FILES if not (REAL_HOUSES / name).is_file()]
    assert not missing, f"real-house fixtures missing from {REAL_HOUSES}: {missing}"
    return REAL_HOUSES


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module (the scripts folder is not a package)."""
    path = REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
