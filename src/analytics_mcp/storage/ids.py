"""Public ids of event rows are ULIDs derived from (event time, row id).

Rows keep compact integer keys (assigned by the single writer), and every door shows the ULID
whose 48-bit time is the event's time and whose 80-bit tail is the row id: sortable by time,
unique, and a keyset cursor that decodes back to (ts, id) without a lookup.
"""

from __future__ import annotations

from ulid import ULID

_TAIL_BITS = 80
_TAIL_MASK = (1 << _TAIL_BITS) - 1


def row_ulid(ts_ms: int, row_id: int) -> str:
    return str(ULID.from_int((ts_ms << _TAIL_BITS) | row_id))


def parse_row_ulid(value: str) -> tuple[int, int]:
    """(ts_ms, row_id) of a ULID made by row_ulid; ValueError for anything malformed."""
    number = int(ULID.from_str(value))
    return number >> _TAIL_BITS, number & _TAIL_MASK
