"""The block table: the ten block ids of the game, their names, colours and flags.

Block ids are ``uint8`` values in the order fixed by the specification (SPEC §2). Every other
module refers to blocks through the constants and arrays defined here.
"""

from __future__ import annotations

import numpy as np

AIR = 0
BEDROCK = 1
DIRT = 2
COBBLESTONE = 3
GLASS = 4
LOG = 5
PLANKS = 6
STONE = 7
STONEBRICK = 8
WOOL = 9

NUM_BLOCK_TYPES = 10
"""Number of block ids (0..9)."""

BLOCK_NAMES: tuple[str, ...] = (
    "air",
    "bedrock",
    "dirt",
    "cobblestone",
    "glass",
    "log",
    "planks",
    "stone",
    "stonebrick",
    "wool",
)

PLACEABLE_BLOCKS: tuple[int, ...] = (DIRT, COBBLESTONE, GLASS, LOG, PLANKS, STONE, STONEBRICK, WOOL)
"""Block ids a player can place, in the order of the PLACE/GIVE action slots (p = 0..7)."""

NUM_PLACEABLE = len(PLACEABLE_BLOCKS)
FIRST_PLACEABLE = DIRT
"""Placeable type ``p`` is block id ``FIRST_PLACEABLE + p``."""

INFINITE_BLOCK_COUNT = 1_000_000
"""The count a player holds of each placeable type in infinite-blocks mode (what its inventory
observation shows), and the most a finite inventory may start with."""

IS_SOLID = np.array([block != AIR for block in range(NUM_BLOCK_TYPES)], dtype=np.bool_)
"""Every non-air block is solid: it supports placement and blocks line of sight (glass too)."""

IS_BREAKABLE = np.array([block not in (AIR, BEDROCK) for block in range(NUM_BLOCK_TYPES)], dtype=np.bool_)
"""Air and bedrock cannot be broken."""

BLOCK_COLORS = np.array(
    [
        (0, 0, 0),  # air (never drawn)
        (60, 60, 66),  # bedrock
        (134, 96, 67),  # dirt
        (122, 122, 122),  # cobblestone
        (190, 225, 240),  # glass (drawn translucent)
        (102, 81, 50),  # log
        (180, 144, 90),  # planks
        (150, 150, 150),  # stone
        (118, 118, 128),  # stonebrick
        (222, 222, 222),  # wool
    ],
    dtype=np.uint8,
)
"""RGB colour of each block id for the renderers."""


def block_id(name: str) -> int:
    """Return the id of a block given its name (case-insensitive), e.g. ``block_id("planks") == 6``.

    Raises:
        ValueError: if the name is not one of :data:`BLOCK_NAMES`.
    """
    key = name.strip().lower()
    if key not in BLOCK_NAMES:
        raise ValueError(f"unknown block name {name!r}; known blocks: {', '.join(BLOCK_NAMES)}")
    return BLOCK_NAMES.index(key)
