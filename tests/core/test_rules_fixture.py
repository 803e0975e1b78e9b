"""The 110 worked PLACE/BREAK cases of ``tests/fixtures/rules_cases.json`` (SPEC §3).

Each case gives a world, the feet of one or two players (the first one acts), and for every
cell whether that player may PLACE (some placeable type) or BREAK there, with infinite blocks
and no teleportation. Both the compiled core's action mask and the pure-Python reference
must give every answer; about 2,500 of them turn on the grazing rule of a clear segment.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mbag_env.core.actions import ActionSpace
from tests.core.harness import CoreGame, Setup
from tests.core.reference_rules import NUM_PLACEABLE, ReferenceGame, cell_at

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rules_cases.json"
CASES = json.loads(FIXTURE.read_text())["cases"]


def _parse(case: dict):
    size = tuple(case["size"])
    blocks = np.array([int(c) for c in case["blocks"]], dtype=np.uint8).reshape(size)
    feet = [tuple(f) for f in case["players_feet"]]
    can_place = np.array([c == "1" for c in case["can_place"]], dtype=bool)
    can_break = np.array([c == "1" for c in case["can_break"]], dtype=bool)
    assert can_place.size == can_break.size == blocks.size
    return size, blocks, feet, can_place, can_break


def _describe_disagreement(size, name, got, expected) -> str:
    wrong = np.nonzero(got != expected)[0]
    cells = [(cell_at(size, int(i)), bool(expected[i])) for i in wrong[:8]]
    return f"{name}: {len(wrong)} cells disagree; (cell, expected) e.g. {cells}"


def test_fixture_is_the_documented_one():
    assert len(CASES) == 110
    sizes = {tuple(c["size"]) for c in CASES}
    assert (6, 6, 6) in sizes and (11, 10, 10) in sizes
    assert {len(c["players_feet"]) for c in CASES} == {1, 2}


@pytest.mark.parametrize("number", range(len(CASES)))
def test_core_mask_matches_fixture(number):
    size, blocks, feet, can_place, can_break = _parse(CASES[number])
    space = ActionSpace(size, infinite_blocks=True)
    # The goal does not matter for validity; the world is written over the reset one.
    setup = Setup(size=size, goal=blocks, blocks=blocks, feet=feet, infinite_blocks=True, teleportation=False)
    mask = CoreGame(setup).mask(0)

    cells = space.num_cells
    place_by_type = mask[7 : 7 + NUM_PLACEABLE * cells].reshape(NUM_PLACEABLE, cells)
    # With infinite blocks every placeable type is valid at the same cells.
    assert (place_by_type == place_by_type[0]).all()
    core_place = place_by_type[0]
    core_break = mask[space.first_break : space.first_break + cells]
    assert np.array_equal(core_place, can_place), _describe_disagreement(size, "PLACE", core_place, can_place)
    assert np.array_equal(core_break, can_break), _describe_disagreement(size, "BREAK", core_break, can_break)


@pytest.mark.parametrize("number", range(len(CASES)))
def test_reference_matches_fixture(number):
    size, blocks, feet, can_place, can_break = _parse(CASES[number])
    game = ReferenceGame(blocks=blocks, goal=np.zeros(size, dtype=np.uint8), feet=[list(f) for f in feet])
    cells = range(can_place.size)
    ref_place = np.array([game.can_place_somewhere_at(0, cell_at(size, i)) for i in cells])
    ref_break = np.array([game.can_break_at(0, cell_at(size, i)) for i in cells])
    assert np.array_equal(ref_place, can_place), _describe_disagreement(size, "PLACE", ref_place, can_place)
    assert np.array_equal(ref_break, can_break), _describe_disagreement(size, "BREAK", ref_break, can_break)


def test_fixture_exercises_both_answers():
    """Guard against a degenerate fixture: many cells are valid and many are not."""
    place = sum(c["can_place"].count("1") for c in CASES)
    breaks = sum(c["can_break"].count("1") for c in CASES)
    total = sum(len(c["can_place"]) for c in CASES)
    assert 0 < place < total and 0 < breaks < total
