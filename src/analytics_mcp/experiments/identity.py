"""Keyed hashes of the client's ids, and scroll bands.

The client's `visitor_id` is a random id it keeps in localStorage (docs/ab-testing.md); we store only a
64-bit keyed BLAKE2b of it under the experiment's own random salt, so the stored key is useless
outside that experiment and cannot be matched against other data. The same salt keys the
deterministic event ids that make retries idempotent (see `events`).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import orjson

ScrollBand = Literal[1, 2, 3, 4]
BAND_RANGES: dict[int, str] = {1: "0-25", 2: "25-50", 3: "50-75", 4: "75-100"}
EVENT_ID_PREFIX = "ab-"


def scroll_band(depth: float) -> ScrollBand:
    """The bands of docs/ab-testing.md; a band includes its lower bound (25 -> 2, 75 -> 4, 100 -> 4)."""
    if depth < 25:
        return 1
    if depth < 50:
        return 2
    if depth < 75:
        return 3
    return 4


def visitor_key(salt: bytes, visitor_id: str) -> int:
    """Signed 64-bit keyed hash (fits BIGINT) of the client's visitor id."""
    digest = hashlib.blake2b(visitor_id.encode(), key=salt, digest_size=8, person=b"ab-visitor").digest()
    return int.from_bytes(digest, "big", signed=True)


def keyed_event_id(salt: bytes, *parts: Any) -> str:
    """A stable 35-character event id for these parts (canonical JSON, keys sorted)."""
    payload = orjson.dumps(list(parts), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(payload, key=salt, digest_size=16, person=b"ab-event").hexdigest()
    return EVENT_ID_PREFIX + digest
