"""Loaders for real houses and plain arrays, returning structures in our ten block ids.

Supported files:

- **CraftAssist** ``schematic.npy``: an integer array of shape ``(y, z, x, 2)`` holding the Minecraft
  legacy block id and meta (data value) of each cell.
- **GrabCraft** JSON: nested objects ``{y: {x: {z: {"name": ..., ...}}}}`` with 1-based coordinates.
- **Plain arrays** ``.npy`` / ``.npz`` of our block ids (0..9): one structure ``(X, Y, Z)``, a stack
  ``(N, X, Y, Z)``, or goals (bedrock in the whole ``y = 0`` layer, which is then dropped).

Block mapping happens in two steps with the JSON files in ``block_maps/``: the source's own map
(``craftassist_block_map.json`` keyed ``"id:meta"``, ``grabcraft_block_map.json`` keyed by block
name; both copied from the real-house fixtures) gives a Minecraft block name, or ``null`` for
air, and ``minecraft_to_mbag.json`` turns that name into one of our ten blocks, into ``"air"`` (for
decoration such as leaves, mushrooms or TNT), or into ``"auto"``: light sources and other blocks
set into walls take the most common solid block among their 26 neighbours (air if there is none).

Fallbacks for entries missing from the source map, in order:

- CraftAssist: ``"id:meta"``, then ``"id:0"`` (meta mostly encodes orientation or colour, which our
  ten blocks do not distinguish);
- GrabCraft: the exact name, then the name with surrounding spaces removed, then the same ignoring
  case;
- then ``on_unknown``: ``"error"`` (the default) raises a ValueError naming the file and up to ten
  unknown entries, ``"air"`` drops them, ``"auto"`` fills them like ``"auto"`` blocks.

Every loader crops the result to its content (for the real-house formats, dirt does not count as
content, because schematics carry the ground they were built on). Unreadable, truncated or
malformed files raise :class:`GoalFileError` (a ValueError) naming the file: wrong JSON types,
JSON nested too deeply for the parser, and structures beyond the size limits below.

Size limits, checked before anything of that size is allocated: every axis of a structure (a
GrabCraft coordinate, a schematic or array dimension) is at most :data:`MAX_STRUCTURE_EXTENT` (256)
cells, an array file holds at most :data:`MAX_ARRAY_CELLS` cells, and a GrabCraft file lists at most
:data:`MAX_STRUCTURE_BLOCKS` blocks. Worlds are at most 32 cells per axis, so this leaves ample room
for real houses (which are shrunk and cropped to fit) while a few bytes of JSON naming coordinate
10**9 can no longer allocate gigabytes. Plain arrays and goal datasets are read by
:func:`read_block_array_file`, which checks each array's header (integer dtype, 3 or 4 axes, the
limits, and that the file holds as many bytes as the header promises) before reading its data; a
damaged zip or deflate stream is a :class:`GoalFileError` too.
"""

from __future__ import annotations

import functools
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Literal

import numpy as np

from mbag_env.blocks import AIR, BEDROCK, BLOCK_NAMES, DIRT, NUM_BLOCK_TYPES
from mbag_env.goals.splits import built_part
from mbag_env.goals.transforms import crop_to_content

BLOCK_MAPS_DIR = Path(__file__).resolve().parent / "block_maps"
"""Folder holding the block-map JSON files."""

UnknownPolicy = Literal["error", "air", "auto"]
UNKNOWN_POLICIES: tuple[str, ...] = ("error", "air", "auto")

AUTO = 255
"""Marker for cells whose block is decided by their neighbours (see :func:`fill_auto`)."""
_UNKNOWN = 254

MAX_STRUCTURE_EXTENT = 256
"""Largest size of a loaded structure along any axis (and largest 1-based GrabCraft coordinate)."""
MAX_STRUCTURE_BLOCKS = 1_000_000
"""Most blocks a GrabCraft file may list."""
MAX_ARRAY_CELLS = 64 * 1024 * 1024
"""Most cells in one ``.npy`` / ``.npz`` / schematic file (all its arrays and stacked structures together)."""


class GoalFileError(ValueError):
    """A goal or structure file could not be read: missing, truncated, corrupt or malformed."""


CORRUPT_FILE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    ValueError,
    struct.error,
    OverflowError,
    zipfile.BadZipFile,
    zlib.error,  # a damaged deflate stream
    NotImplementedError,  # zipfile: a damaged member header naming an unknown compression method
    RuntimeError,  # zipfile: a damaged member header whose flags say the member is encrypted
)
"""What reading a damaged ``.npy`` / ``.npz`` can raise; the loaders turn it into :class:`GoalFileError`."""

_ZIP_PREFIXES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip (as np.load checks)


def _check_policy(on_unknown: str) -> None:
    if on_unknown not in UNKNOWN_POLICIES:
        raise ValueError(f"on_unknown must be one of {', '.join(UNKNOWN_POLICIES)}, got {on_unknown!r}")


def _read_json(path: Path) -> object:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError as error:
        raise GoalFileError(f"file not found: {path}") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GoalFileError(f"could not read JSON file {path}: {error}") from error
    except RecursionError as error:
        raise GoalFileError(f"could not read JSON file {path}: it is nested too deeply") from error


@functools.cache
def minecraft_to_mbag() -> dict[str, int]:
    """The map from Minecraft block names to our block ids (:data:`AUTO` for ``"auto"``)."""
    path = BLOCK_MAPS_DIR / "minecraft_to_mbag.json"
    raw = _read_json(path)
    if not isinstance(raw, dict):
        raise GoalFileError(f"{path} must hold a JSON object of block names, got {type(raw).__name__}")
    result = {}
    for name, target in raw.items():
        if target == "auto":
            result[name] = AUTO
        elif isinstance(target, str) and target in BLOCK_NAMES and target != "bedrock":
            result[name] = BLOCK_NAMES.index(target)
        else:
            raise GoalFileError(
                f"{path}: entry {name!r} maps to {target!r}; allowed: 'auto' or one of "
                f"{', '.join(n for n in BLOCK_NAMES if n != 'bedrock')}"
            )
    return result


def _source_map(file_name: str) -> dict[str, int]:
    path = BLOCK_MAPS_DIR / file_name
    raw = _read_json(path)
    if not isinstance(raw, dict):
        raise GoalFileError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    names = minecraft_to_mbag()
    result = {}
    for key, value in raw.items():
        if value is None:
            result[key] = AIR
            continue
        if not (isinstance(value, list) and value and isinstance(value[0], str)):
            raise GoalFileError(f"{path}: entry {key!r} must be null or [block_name, variant], got {value!r}")
        if value[0] not in names:
            raise GoalFileError(
                f"{path}: entry {key!r} names Minecraft block {value[0]!r}, which "
                f"{BLOCK_MAPS_DIR / 'minecraft_to_mbag.json'} does not map"
            )
        result[key] = names[value[0]]
    return result


@functools.cache
def craftassist_block_map() -> dict[str, int]:
    """``"id:meta"`` → our block id (or :data:`AUTO`), from ``craftassist_block_map.json``."""
    return _source_map("craftassist_block_map.json")


@functools.cache
def grabcraft_block_map() -> dict[str, int]:
    """GrabCraft block name → our block id (or :data:`AUTO`), from ``grabcraft_block_map.json``."""
    return _source_map("grabcraft_block_map.json")


@functools.cache
def _grabcraft_loose_map() -> dict[str, int]:
    loose: dict[str, int] = {}
    for name, block in grabcraft_block_map().items():
        loose.setdefault(name.strip().lower(), block)
    return loose


def fill_auto(blocks: np.ndarray) -> np.ndarray:
    """Replace :data:`AUTO` cells by the most common solid block among their 26 neighbours (air if none)."""
    result = blocks.copy()
    cells = np.argwhere(result == AUTO)
    if len(cells) == 0:
        return result
    padded = np.pad(result, 1)
    for x, y, z in cells:
        neighbourhood = padded[x : x + 3, y : y + 3, z : z + 3].ravel()
        solid = neighbourhood[(neighbourhood != AIR) & (neighbourhood < NUM_BLOCK_TYPES)]
        result[x, y, z] = np.bincount(solid, minlength=NUM_BLOCK_TYPES).argmax() if len(solid) else AIR
    return result


def _resolve_unknown(
    blocks: np.ndarray, unknown: Iterable[str], path: Path, on_unknown: str, kind: str
) -> None:
    unknown = sorted(set(unknown))
    if not unknown:
        return
    if on_unknown == "error":
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ValueError(
            f"{path}: {len(unknown)} {kind} not in the block map: {shown}{more}; pass on_unknown='air' "
            "or 'auto' to drop them or fill them from their neighbours"
        )
    blocks[blocks == _UNKNOWN] = AIR if on_unknown == "air" else AUTO


def _check_array_shape(shape: Sequence[int], path: Path, what: str, spatial_axes: Sequence[int]) -> None:
    """Refuse arrays whose spatial axes exceed :data:`MAX_STRUCTURE_EXTENT` or that hold too many cells."""
    for axis in spatial_axes:
        if shape[axis] > MAX_STRUCTURE_EXTENT:
            raise GoalFileError(
                f"{path}: {what} has shape {tuple(shape)}; axis {axis} has {shape[axis]} cells, more than "
                f"the {MAX_STRUCTURE_EXTENT} a structure may span"
            )
    cells = int(np.prod(shape, dtype=np.float64))
    if cells > MAX_ARRAY_CELLS:
        raise GoalFileError(
            f"{path}: {what} has shape {tuple(shape)} ({cells} cells), "
            f"more than the {MAX_ARRAY_CELLS} allowed"
        )


def _read_checked_array(
    file: IO[bytes], available: int, path: Path, name: str, total_cells: int = 0
) -> np.ndarray:
    """Read one ``.npy`` array of block ids from ``file``, checking its header before reading the data.

    The array must have an integer dtype and 3 or 4 axes, its last three axes (the structure's) at
    most :data:`MAX_STRUCTURE_EXTENT` cells, and it and the ``total_cells`` read before it from the
    same file at most :data:`MAX_ARRAY_CELLS` cells; ``available`` is the number of bytes from the
    start of ``file`` that it holds (checked against the header before anything is allocated).
    """
    what = f"array {name!r}"
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
    else:
        raise GoalFileError(f"{path}: {what} has .npy format version {version}; expected 1.0 or 2.0")
    if dtype.kind not in "iu":
        raise GoalFileError(f"{path}: {what} must hold integer block ids 0..9, got dtype {dtype}")
    if len(shape) not in (3, 4):
        raise GoalFileError(f"{path}: {what} must be (X, Y, Z) or (N, X, Y, Z), got shape {shape}")
    _check_array_shape(shape, path, what, range(len(shape) - 3, len(shape)))
    cells = int(np.prod(shape, dtype=np.int64))
    if total_cells + cells > MAX_ARRAY_CELLS:
        raise GoalFileError(
            f"{path}: the file's arrays hold more than the {MAX_ARRAY_CELLS} cells allowed in one file"
        )
    size = cells * dtype.itemsize
    if available - file.tell() < size:
        raise GoalFileError(
            f"{path}: {what} is truncated: its header says {shape} {dtype} ({size} bytes), but the file "
            f"holds {max(0, available - file.tell())} bytes of data"
        )
    data = file.read(size)
    if len(data) < size:
        raise GoalFileError(f"{path}: {what} is truncated: {len(data)} of its {size} bytes of data")
    array = np.frombuffer(data, dtype=dtype, count=cells)
    return array.reshape(shape, order="F" if fortran_order else "C")


def read_block_array_file(
    path: str | Path, kind: str, select: Callable[[list[str]], list[str]] | None = None
) -> dict[str, np.ndarray]:
    """The arrays of block ids in a ``.npy`` (named ``"array"``) or ``.npz`` file, each header checked
    before its data is read (see :func:`_read_checked_array` and the module's size limits).

    The format is told by the file's first bytes, as :func:`numpy.load` does. ``select`` picks, from
    the sorted names of an ``.npz``'s arrays, those to read (default: all).

    Raises:
        GoalFileError: naming ``path`` (and ``kind``, e.g. ``"goal dataset"``) if the file is missing,
            truncated, corrupt, holds something other than ``.npy`` arrays, or an array of another
            dtype, layout or beyond the size limits.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            if file.read(4) not in _ZIP_PREFIXES:
                file.seek(0)
                return {"array": _read_checked_array(file, os.fstat(file.fileno()).st_size, path, "array")}
        with zipfile.ZipFile(path) as archive:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise GoalFileError(f"{path}: member {info.filename!r} is not a .npy array")
                members[info.filename[: -len(".npy")]] = info
            names = sorted(members) if select is None else select(sorted(members))
            arrays: dict[str, np.ndarray] = {}
            total_cells = 0
            for name in names:
                with archive.open(members[name]) as member:
                    arrays[name] = _read_checked_array(
                        member, members[name].file_size, path, name, total_cells
                    )
                total_cells += arrays[name].size
            return arrays
    except FileNotFoundError as error:
        raise GoalFileError(f"{kind} not found: {path}") from error
    except GoalFileError:
        raise
    except CORRUPT_FILE_ERRORS as error:
        raise GoalFileError(f"could not read {kind} {path} (truncated or corrupt?): {error}") from error


def load_craftassist_schematic(path: str | Path, on_unknown: UnknownPolicy = "error") -> np.ndarray:
    """Load a CraftAssist ``schematic.npy`` (shape ``(y, z, x, 2)``: legacy id, meta) as a structure.

    Raises:
        GoalFileError: if the file cannot be read or does not have that layout.
        ValueError: for block ids missing from the map when ``on_unknown="error"``.
    """
    _check_policy(on_unknown)
    path = Path(path)
    try:
        raw = np.load(path, mmap_mode="r", allow_pickle=False)  # the header only, until checked
        if isinstance(raw, np.ndarray) and raw.ndim == 4:
            _check_array_shape(raw.shape, path, "the CraftAssist schematic", (0, 1, 2))
            raw = np.array(raw)
    except FileNotFoundError as error:
        raise GoalFileError(f"file not found: {path}") from error
    except CORRUPT_FILE_ERRORS as error:
        if isinstance(error, GoalFileError):
            raise
        raise GoalFileError(
            f"could not read CraftAssist schematic {path} (truncated or corrupt?): {error}"
        ) from error
    if not isinstance(raw, np.ndarray) or raw.ndim != 4 or raw.shape[-1] != 2:
        raise GoalFileError(
            f"{path}: a CraftAssist schematic must have shape (y, z, x, 2), got {getattr(raw, 'shape', None)}"
        )
    if not np.issubdtype(raw.dtype, np.integer) or raw.size and (raw.min() < 0 or raw[..., 1].max() > 15):
        raise GoalFileError(f"{path}: a CraftAssist schematic must hold non-negative ids and meta 0..15")
    cells = np.ascontiguousarray(raw.transpose(2, 0, 1, 3)).astype(np.int64)  # -> (x, y, z, 2)
    codes = cells[..., 0] * 16 + cells[..., 1]
    unique_codes, inverse = np.unique(codes, return_inverse=True)
    block_map = craftassist_block_map()
    mapped = np.empty(len(unique_codes), dtype=np.uint8)
    unknown = []
    for index, code in enumerate(unique_codes):
        block_id, meta = divmod(int(code), 16)
        key = f"{block_id}:{meta}"
        if key in block_map:
            mapped[index] = block_map[key]
        elif f"{block_id}:0" in block_map:
            mapped[index] = block_map[f"{block_id}:0"]
        else:
            mapped[index] = _UNKNOWN
            unknown.append(key)
    blocks = mapped[inverse.reshape(codes.shape)]
    _resolve_unknown(blocks, unknown, path, on_unknown, "block ids (id:meta)")
    return crop_to_content(fill_auto(blocks), background=(AIR, DIRT))


def _coordinate(key: object, path: Path, what: str) -> int:
    try:
        value = int(key)  # type: ignore[call-overload]
    except (TypeError, ValueError) as error:
        raise GoalFileError(f"{path}: GrabCraft {what} coordinate {key!r} is not an integer") from error
    if value < 1:
        raise GoalFileError(
            f"{path}: GrabCraft {what} coordinate {value} is below 1 (coordinates are 1-based)"
        )
    if value > MAX_STRUCTURE_EXTENT:
        raise GoalFileError(
            f"{path}: GrabCraft {what} coordinate {value} is above {MAX_STRUCTURE_EXTENT}, the largest "
            "extent a structure may have"
        )
    return value


def load_grabcraft_json(path: str | Path, on_unknown: UnknownPolicy = "error") -> np.ndarray:
    """Load a GrabCraft structure JSON (``{y: {x: {z: block}}}``, 1-based) as a structure.

    Raises:
        GoalFileError: if the file cannot be read or is not laid out as above.
        ValueError: for block names missing from the map when ``on_unknown="error"``.
    """
    _check_policy(on_unknown)
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or not data:
        raise GoalFileError(
            f"{path}: a GrabCraft structure must be a non-empty JSON object {{y: {{x: {{z: block}}}}}}"
        )
    entries: list[tuple[int, int, int, str]] = []
    for y_key, layer in data.items():
        y = _coordinate(y_key, path, "y")
        if not isinstance(layer, dict):
            raise GoalFileError(f"{path}: layer y={y_key} must be a JSON object {{x: {{z: block}}}}")
        for x_key, row in layer.items():
            x = _coordinate(x_key, path, "x")
            if not isinstance(row, dict):
                raise GoalFileError(f"{path}: row y={y_key}, x={x_key} must be a JSON object {{z: block}}")
            for z_key, block in row.items():
                z = _coordinate(z_key, path, "z")
                if not isinstance(block, dict) or not isinstance(block.get("name"), str):
                    raise GoalFileError(
                        f"{path}: block at y={y_key}, x={x_key}, z={z_key} has no 'name' string"
                    )
                entries.append((x, y, z, block["name"]))
                if len(entries) > MAX_STRUCTURE_BLOCKS:
                    raise GoalFileError(
                        f"{path}: the GrabCraft file lists more than {MAX_STRUCTURE_BLOCKS} blocks"
                    )
    if not entries:
        raise GoalFileError(f"{path}: the GrabCraft file lists no blocks")
    shape = (max(e[0] for e in entries), max(e[1] for e in entries), max(e[2] for e in entries))
    blocks = np.zeros(shape, dtype=np.uint8)
    exact, loose = grabcraft_block_map(), _grabcraft_loose_map()
    unknown = []
    for x, y, z, name in entries:
        block = exact.get(name)
        if block is None:
            block = loose.get(name.strip().lower())
        if block is None:
            unknown.append(name)
            block = _UNKNOWN
        blocks[x - 1, y - 1, z - 1] = block
    _resolve_unknown(blocks, unknown, path, on_unknown, "block names")
    return crop_to_content(fill_auto(blocks), background=(AIR, DIRT))


def _array_structures(array: np.ndarray, path: Path, name: str) -> list[np.ndarray]:
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise GoalFileError(
            f"{path}: array {name!r} must hold integer block ids 0..9, got dtype {array.dtype}"
        )
    if array.ndim not in (3, 4):
        raise GoalFileError(
            f"{path}: array {name!r} must be (X, Y, Z) or (N, X, Y, Z), got shape {array.shape}"
        )
    if array.size and (array.min() < 0 or array.max() >= NUM_BLOCK_TYPES):
        raise GoalFileError(f"{path}: array {name!r} holds ids outside 0..{NUM_BLOCK_TYPES - 1}")
    stack = array[None] if array.ndim == 3 else array
    structures = []
    for index, blocks in enumerate(stack.astype(np.uint8)):
        if blocks.shape[1] >= 2 and (blocks[:, 0, :] == BEDROCK).all():
            blocks = built_part(blocks)
        elif (blocks == BEDROCK).any():
            raise GoalFileError(
                f"{path}: array {name!r}[{index}] has bedrock outside a full y=0 layer; a goal needs bedrock "
                "in the whole y=0 layer and a structure none"
            )
        else:
            blocks = crop_to_content(blocks)
        structures.append(blocks)
    return structures


def load_block_arrays(path: str | Path) -> list[np.ndarray]:
    """Load structures from a ``.npy`` or ``.npz`` file of our block ids (see the module docstring).

    In an ``.npz`` every array is read, in name order. Goals (bedrock in the whole ``y = 0`` layer)
    become their built part (:func:`mbag_env.goals.splits.built_part`).
    """
    path = Path(path)
    arrays = read_block_array_file(path, "block array file")
    if not arrays:
        raise GoalFileError(f"{path}: the file holds no arrays")
    structures = []
    for name, array in arrays.items():
        structures.extend(_array_structures(array, path, name))
    return structures


def load_structures(path: str | Path, on_unknown: UnknownPolicy = "error") -> list[np.ndarray]:
    """Load every structure in one file, choosing the loader by the file's name and content.

    ``*.json`` → GrabCraft; ``*.npy`` holding a ``(y, z, x, 2)`` array → CraftAssist; other
    ``*.npy`` and ``*.npz`` → plain block arrays.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return [load_grabcraft_json(path, on_unknown)]
    if suffix == ".npy":
        try:
            header = np.load(path, mmap_mode="r", allow_pickle=False)
            is_schematic = isinstance(header, np.ndarray) and header.ndim == 4 and header.shape[-1] == 2
        except FileNotFoundError as error:
            raise GoalFileError(f"file not found: {path}") from error
        except CORRUPT_FILE_ERRORS as error:
            raise GoalFileError(f"could not read {path} (truncated or corrupt?): {error}") from error
        if is_schematic:
            return [load_craftassist_schematic(path, on_unknown)]
        return load_block_arrays(path)
    if suffix == ".npz":
        return load_block_arrays(path)
    raise GoalFileError(f"{path}: unsupported file type {suffix!r}; expected .json (GrabCraft), .npy or .npz")


class HouseFiles:
    """A loader object: the structures in a list of files and folders, loaded once on first use.

    Folders contribute their ``*.json`` (except ``*.metadata.json`` and ``*block_map.json``), ``*.npy``
    and ``*.npz`` files in name order. Pass an instance to :func:`mbag_env.goals.make_goal_sampler`
    to draw goals from them.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path], on_unknown: UnknownPolicy = "error"):
        """Remember ``paths`` (nothing is read yet) and the policy for unmapped blocks."""
        _check_policy(on_unknown)
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = tuple(Path(p) for p in paths)
        if not self.paths:
            raise ValueError("HouseFiles needs at least one file or folder")
        self.on_unknown = on_unknown
        self._structures: list[np.ndarray] | None = None

    def files(self) -> list[Path]:
        """The files this loader reads, folders expanded."""
        files = []
        for path in self.paths:
            if path.is_dir():
                files.extend(
                    sorted(
                        p
                        for p in path.iterdir()
                        if p.suffix.lower() in (".json", ".npy", ".npz")
                        and not p.name.endswith((".metadata.json", "block_map.json"))
                    )
                )
            elif path.exists():
                files.append(path)
            else:
                raise GoalFileError(f"file or folder not found: {path}")
        return files

    def structures(self) -> list[np.ndarray]:
        """Every structure in the files (loaded on the first call, then cached)."""
        if self._structures is None:
            loaded = []
            for file in self.files():
                loaded.extend(load_structures(file, self.on_unknown))
            if not loaded:
                raise GoalFileError(f"no structures found in {', '.join(str(p) for p in self.paths)}")
            self._structures = loaded
        return list(self._structures)

    def __repr__(self) -> str:
        return f"HouseFiles({[str(p) for p in self.paths]!r}, on_unknown={self.on_unknown!r})"
