"""Fuzzing the goal-file loaders with damaged GrabCraft JSON, CraftAssist schematics and ``.npz`` datasets.

Every load must either give a valid result (block ids 0..9 within the size limits) or raise the
loaders' clean error: :class:`GoalFileError` naming the file, or, for blocks missing from the block
map with ``on_unknown="error"``, the documented ``ValueError`` naming the file. Any other exception
(``BadZipFile``, ``EOFError``, ``zlib.error``, ``KeyError``, ``MemoryError``, ...) fails the test.

Examples per run (``derandomize=True``, so the same every run): 120 + 120 GrabCraft, 120 + 120
CraftAssist, 120 + 120 ``.npz``: 720 in all.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mbag_env.blocks import BEDROCK, NUM_BLOCK_TYPES
from mbag_env.goals import GoalFileError, initial_world, load_goal_dataset, save_goal_dataset, validate_goal
from mbag_env.goals.loaders import (
    AUTO,
    MAX_ARRAY_CELLS,
    MAX_STRUCTURE_EXTENT,
    load_craftassist_schematic,
    load_grabcraft_json,
    load_structures,
)

from .conftest import REAL_HOUSES

EXAMPLES = 120
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

GRABCRAFT_SEED = json.loads((REAL_HOUSES / "grabcraft_5262.json").read_text(encoding="utf-8"))
SCHEMATIC_SEED = (REAL_HOUSES / "craftassist_train_house.schematic.npy").read_bytes()
POLICIES = st.sampled_from(["error", "air", "auto"])


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("goal_fuzz")


# --- outcome checks ----------------------------------------------------------------------------


def _load_cleanly(load: Callable[[], Any], path: Path) -> Any:
    """``load()``'s result, or None when it raised one of the loaders' clean errors naming ``path``."""
    try:
        result = load()
    except GoalFileError as error:
        assert path.name in str(error), f"the error does not name the file: {error}"
        event("GoalFileError")
        return None
    except ValueError as error:
        if type(error) is ValueError and "not in the block map" in str(error):
            assert path.name in str(error), f"the error does not name the file: {error}"
            event("unknown blocks (ValueError)")
            return None
        raise
    event("loaded")
    return result


def _assert_structure(structure: object) -> None:
    assert isinstance(structure, np.ndarray)
    assert structure.dtype == np.uint8 and structure.ndim == 3
    assert max(structure.shape) <= MAX_STRUCTURE_EXTENT
    if structure.size:
        assert int(structure.max()) < NUM_BLOCK_TYPES and not (structure == AUTO).any()
        assert min(structure.shape) >= 1


def _assert_structures(structures: object) -> None:
    assert isinstance(structures, list)  # empty for an array stack of zero structures
    for structure in structures:
        _assert_structure(structure)
        assert not (structure == BEDROCK).any(), "a loaded structure holds no bedrock"


def _assert_goal_stack(goals: object) -> None:
    assert isinstance(goals, np.ndarray)
    assert goals.dtype == np.uint8 and goals.ndim == 4 and goals.shape[0] >= 1
    assert goals.size <= MAX_ARRAY_CELLS and max(goals.shape[1:]) <= MAX_STRUCTURE_EXTENT
    for goal in goals:
        validate_goal(goal, goals.shape[1:])


def _mutate_bytes(data: bytes, draw: st.DrawFn) -> bytes:
    """Flip a few bytes and maybe truncate (or extend) ``data``."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        if buffer:
            buffer[draw(st.integers(0, len(buffer) - 1))] ^= draw(st.integers(1, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, max(0, len(buffer) - 1))))
    if cut is not None:
        del buffer[cut:]
    if draw(st.booleans()) and draw(st.booleans()):
        buffer += draw(st.binary(max_size=16))
    return bytes(buffer)


# --- GrabCraft JSON ----------------------------------------------------------------------------

BIG_INTS = st.one_of(st.integers(-3, 300), st.integers(-(2**70), 2**70), st.sampled_from([10**9, -(10**9)]))
COORDINATE_KEYS = st.one_of(
    st.integers(1, 6).map(str),
    st.integers(1, 6).map(str),
    BIG_INTS.map(str),
    st.sampled_from(["1", "2", "256", "257", "0", "-1", "1e3", "1.5", " 3", "0x10", "", "NaN", "٣"]),
    st.text(max_size=4),
)
SEED_NAMES = sorted(
    {b["name"] for layer in GRABCRAFT_SEED.values() for row in layer.values() for b in row.values()}
)
BLOCK_NAMES = st.one_of(
    st.sampled_from([*SEED_NAMES, "", " cobblestone ", "STONE", "No Such Block"]), st.text(max_size=6)
)
SCALARS = st.one_of(
    st.none(), st.booleans(), BIG_INTS, st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5)
)
BLOCKS = st.one_of(
    st.fixed_dictionaries({"name": BLOCK_NAMES}),
    st.fixed_dictionaries({"name": st.one_of(SCALARS, st.lists(BLOCK_NAMES, max_size=2))}),
    st.dictionaries(st.text(max_size=4), SCALARS, max_size=2),
)
JSON_VALUES = st.recursive(
    st.one_of(SCALARS, BLOCKS),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(COORDINATE_KEYS, children, max_size=3)
    ),
    max_leaves=12,
)
GRABCRAFT_LIKE = st.one_of(
    st.dictionaries(
        COORDINATE_KEYS,
        st.one_of(
            st.dictionaries(
                COORDINATE_KEYS,
                st.one_of(st.dictionaries(COORDINATE_KEYS, BLOCKS, max_size=4), JSON_VALUES),
                max_size=3,
            ),
            JSON_VALUES,
        ),
        max_size=3,
    ),
    JSON_VALUES,
)


def _check_structure_file(path: Path, load_one: Callable[..., Any], on_unknown: str) -> None:
    """The file written at ``path``, loaded with its format's loader ``load_one`` and with
    :func:`load_structures`: each refuses it cleanly or returns well-formed structures."""
    structure = _load_cleanly(lambda: load_one(path, on_unknown), path)
    if structure is not None:
        _assert_structure(structure)
    structures = _load_cleanly(lambda: load_structures(path, on_unknown), path)  # type: ignore[arg-type]
    if structures is not None:
        _assert_structures(structures)


def _check_grabcraft(path: Path, text: bytes | str, on_unknown: str) -> None:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    _check_structure_file(path, load_grabcraft_json, on_unknown)


@given(data=GRABCRAFT_LIKE, on_unknown=POLICIES)
@FUZZ_SETTINGS
def test_random_grabcraft_json(work_dir: Path, data: object, on_unknown: str) -> None:
    _check_grabcraft(work_dir / "random.json", json.dumps(data), on_unknown)


@st.composite
def mutated_grabcraft(draw: st.DrawFn) -> bytes:
    house = json.loads(json.dumps(GRABCRAFT_SEED))
    for _ in range(draw(st.integers(0, 4))):
        layer_key = draw(st.sampled_from(sorted(house))) if house else None
        operation = draw(st.sampled_from(["rename", "replace", "block", "deep", "drop"]))
        if layer_key is None or not isinstance(house[layer_key], dict) or not house[layer_key]:
            house[draw(COORDINATE_KEYS)] = draw(JSON_VALUES)
            continue
        layer = house[layer_key]
        row_key = draw(st.sampled_from(sorted(layer)))
        row = layer[row_key]
        if operation == "rename":  # move a layer, row or block to another (maybe huge or negative) coordinate
            level = draw(st.sampled_from(["y", "x", "z"]))
            owner, key = {"y": (house, layer_key), "x": (layer, row_key)}.get(level, (row, None))
            if key is None:
                if not isinstance(row, dict) or not row:
                    continue
                key = draw(st.sampled_from(sorted(row)))
            owner[draw(COORDINATE_KEYS)] = owner.pop(key)
        elif operation == "replace":
            layer[row_key] = draw(JSON_VALUES)
        elif operation == "block" and isinstance(row, dict) and row:
            row[draw(st.sampled_from(sorted(row)))] = draw(BLOCKS)
        elif operation == "deep":  # written out below, as json.dumps itself would recurse too deeply
            depth = draw(st.sampled_from([3, 50, 5000]))
            layer[row_key] = f"@deep{depth}@"
        elif operation == "drop":
            del house[layer_key]
    text = re.sub(r'"@deep(\d+)@"', lambda m: '{"1": ' * int(m[1]) + "1" + "}" * int(m[1]), json.dumps(house))
    return _mutate_bytes(text.encode(), draw) if draw(st.booleans()) else text.encode()


@given(text=mutated_grabcraft(), on_unknown=POLICIES)
@FUZZ_SETTINGS
def test_mutated_grabcraft_house(work_dir: Path, text: bytes, on_unknown: str) -> None:
    _check_grabcraft(work_dir / "mutated.json", text, on_unknown)


# --- CraftAssist schematics --------------------------------------------------------------------

DESCRS = st.sampled_from(
    ["|u1", "<i2", ">i4", "<i8", "<u8", "<f4", "|b1", "|O", "<U2", "|V4", "<c8", "u1", "bogus", "<M8[s]"]
)
DIMENSIONS = st.one_of(st.integers(0, 20), st.integers(-3, 300), st.sampled_from([2**31, 2**40, 10**18]))


def _npy_bytes(header: str, data: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    """A ``.npy`` file with a handwritten header (which need not make sense) and ``data``."""
    encoded = header.encode("latin1", errors="replace")
    length = struct.pack("<H", len(encoded)) if version == (1, 0) else struct.pack("<I", len(encoded))
    return b"\x93NUMPY" + bytes(version) + length + encoded + data


@st.composite
def crafted_npy(draw: st.DrawFn, spatial: tuple[int, ...] = ()) -> bytes:
    """A ``.npy`` whose header claims any dtype and shape (huge, negative, 0-d) over a few bytes of data."""
    shape = tuple(draw(st.lists(DIMENSIONS, max_size=5)))
    if spatial and draw(st.booleans()):
        shape = (*draw(st.tuples(*[DIMENSIONS] * len(spatial))), *spatial)
    header = repr(
        {"descr": draw(DESCRS), "fortran_order": draw(st.sampled_from([False, True, 0, "x"])), "shape": shape}
    )
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.text(max_size=40))
    version = draw(st.sampled_from([(1, 0), (1, 0), (2, 0), (3, 0), (9, 9)]))
    return _npy_bytes(header.ljust(60) + "\n", draw(st.binary(max_size=400)), version)


@st.composite
def schematic_arrays(draw: st.DrawFn) -> bytes:
    """A well-formed ``.npy`` holding a small ``(y, z, x, 2)`` array of any dtype and values."""
    dtype = draw(st.sampled_from([np.uint8, np.int16, np.dtype(">i4"), np.int64, np.float32, np.bool_]))
    shape = draw(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.sampled_from([2, 2, 1, 3]))
    )
    values = np.asarray(
        draw(hnp.arrays(np.int64, shape, elements=st.one_of(st.integers(0, 120), st.integers(-5, 4096))))
    )
    buffer = io.BytesIO()
    np.save(buffer, values.astype(dtype), allow_pickle=False)
    return buffer.getvalue()


def _check_schematic(path: Path, data: bytes, on_unknown: str) -> None:
    path.write_bytes(data)
    _check_structure_file(path, load_craftassist_schematic, on_unknown)


@given(data=st.one_of(crafted_npy(spatial=(2,)), schematic_arrays()), on_unknown=POLICIES)
@FUZZ_SETTINGS
def test_crafted_craftassist_schematic(work_dir: Path, data: bytes, on_unknown: str) -> None:
    _check_schematic(work_dir / "crafted.schematic.npy", data, on_unknown)


@given(data=st.data(), on_unknown=POLICIES)
@FUZZ_SETTINGS
def test_mutated_craftassist_house(work_dir: Path, data: st.DataObject, on_unknown: str) -> None:
    seed = SCHEMATIC_SEED if data.draw(st.integers(0, 3)) else data.draw(schematic_arrays())
    _check_schematic(work_dir / "mutated.schematic.npy", _mutate_bytes(seed, data.draw), on_unknown)


# --- .npz goal datasets ------------------------------------------------------------------------


@st.composite
def goal_stacks(draw: st.DrawFn) -> np.ndarray:
    """A valid stack of small goals, for :func:`save_goal_dataset`."""
    size = draw(st.tuples(st.integers(1, 5), st.integers(2, 5), st.integers(1, 5)))
    count = draw(st.integers(1, 4))
    goals = np.stack([initial_world(size)] * count)
    above = draw(
        hnp.arrays(
            np.uint8, (count, size[0], size[1] - 1, size[2]), elements=st.sampled_from([0, 2, 3, 6, 9])
        )
    )
    goals[:, :, 1:, :] = above
    return goals


@st.composite
def odd_arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays of any small shape and dtype, with ids in and out of 0..9, often bedrock in the y = 0 layer."""
    dtype = draw(
        st.sampled_from([np.uint8, np.uint8, np.int8, np.int64, np.dtype(">u2"), np.float64, np.bool_])
    )
    shape = tuple(
        draw(
            st.one_of(
                st.lists(st.integers(1, 4), min_size=3, max_size=4),
                st.lists(st.integers(0, 4), min_size=0, max_size=5),
            )
        )
    )
    values = np.asarray(draw(hnp.arrays(np.int64, shape, elements=st.integers(-2, 12))))
    if values.ndim >= 3 and values.shape[-2] >= 1 and draw(st.integers(0, 3)):
        values[..., 0, :] = BEDROCK
        values[..., 1:, :] %= NUM_BLOCK_TYPES
        values[..., 1:, :][values[..., 1:, :] == BEDROCK] = 0
    return values.astype(dtype)


def _zip_bytes(members: dict[str, bytes], compressed: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as archive:
        for name, member in members.items():
            archive.writestr(name, member)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@st.composite
def odd_datasets(draw: st.DrawFn) -> bytes:
    """An ``.npz`` with odd arrays, odd names, or a crafted header claiming a huge shape."""
    names = st.sampled_from(["goals.npy", "goals.npy", "other.npy", "goals", "a/goals.npy", "goals.txt"])
    members: dict[str, bytes] = {}
    for _ in range(draw(st.sampled_from([1, 1, 0, 2]))):
        if draw(st.integers(0, 2)):
            content = _npy(draw(odd_arrays()))
        else:
            content = draw(crafted_npy(spatial=(draw(DIMENSIONS), draw(DIMENSIONS), draw(DIMENSIONS))))
        members[draw(names)] = content
    return _zip_bytes(members, compressed=draw(st.booleans()))


def _check_dataset(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    goals = _load_cleanly(lambda: load_goal_dataset(path), path)
    if goals is not None:
        _assert_goal_stack(goals)
    structures = _load_cleanly(lambda: load_structures(path), path)
    if structures is not None:
        _assert_structures(structures)


@given(data=st.data())
@FUZZ_SETTINGS
def test_mutated_goal_dataset(work_dir: Path, data: st.DataObject) -> None:
    path = work_dir / "mutated.npz"
    save_goal_dataset(path, data.draw(goal_stacks()))
    _check_dataset(path, _mutate_bytes(path.read_bytes(), data.draw))


@given(data=st.data())
@FUZZ_SETTINGS
def test_odd_goal_dataset(work_dir: Path, data: st.DataObject) -> None:
    content = data.draw(odd_datasets())
    if data.draw(st.booleans()):
        content = _mutate_bytes(content, data.draw)
    _check_dataset(work_dir / "odd.npz", content)
