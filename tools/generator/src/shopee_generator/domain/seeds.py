"""Named random streams derived from the one seed, so that every draw is reproducible.

Each stream is a numpy PCG64 generator keyed by (purpose, shop, ...). Streams keyed by a calendar
date give the same draws for that date whatever the first day of the run, so a longer history or
the live stream continues the same world.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    CATALOGUE = 1
    DAY = 2
    CAMPAIGNS = 3
    NOISE = 4
    EVENT_IDS = 5
    ADS = 6
    INCIDENTS = 7
    BUYERS = 8
    TASTES = 9


def rng_for(seed: int, stream: Stream, *key: int) -> np.random.Generator:
    """The generator for one purpose (and shop, date, ...) under `seed`."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, *key)))
    )


def uuid_strings(rng: np.random.Generator, count: int) -> list[str]:
    """`count` random (version 4 layout) UUID strings drawn from `rng`."""
    if count == 0:
        return []
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = raw.tobytes().hex()
    uuids = []
    for i in range(0, 32 * count, 32):
        h = hexed[i : i + 32]
        uuids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return uuids
