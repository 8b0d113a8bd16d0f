"""Distinct-visitor marks: apply a batch's mark deltas and keep rollup_visitors' gaps exact.

A mark (visitor, dim, value, day) is counted in rollup_visitors on its day under gap = days since
the previous mark of the same (visitor, dim, value), 0 when there is none. When a mark appears or
disappears, its own entry changes and so does the gap of the next mark of the same key.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Connection, bindparam, delete, select

from analytics_mcp.rollups.upsert import upsert_add, upsert_set
from analytics_mcp.storage.schema import rollup_visitors, visitor_marks

log = logging.getLogger(__name__)

MARK_LIFETIME_S = 50 * 3600  # a visitor id's salt is gone within 48 h of the id's first mark
_LOOKUP_CHUNK = 400

MarkKey = tuple[int, int, int, str]  # site_id, visitor_id, dim, value
GapKey = tuple[int, int, int, str, int]  # site_id, dim, day, value, gap
Visitor = tuple[int, int]  # site_id, visitor_id
Marks = dict[tuple[int, str], dict[int, int]]  # (dim, value) -> {day: n}


@dataclass(slots=True)
class MarkDeltas:
    """Per visitor: refcount changes (+/-) and presence-only marks (events are never deleted)."""

    counted: dict[Visitor, Marks] = field(default_factory=dict)
    present: dict[Visitor, dict[tuple[int, str], set[int]]] = field(default_factory=dict)

    def add(self, key: MarkKey, day: int, delta: int) -> None:
        marks = self.counted.get(key[:2])
        if marks is None:
            marks = self.counted[key[:2]] = {}
        days = marks.get(key[2:])
        if days is None:
            marks[key[2:]] = {day: delta}
        else:
            days[day] = days.get(day, 0) + delta

    def add_all(self, visitor: Visitor, marks: Iterable[tuple[int, str, int]], delta: int) -> None:
        """Several (dim, value, day) marks of one visitor, each moved by `delta`."""
        held = self.counted.get(visitor)
        if held is None:
            held = self.counted[visitor] = {}
        for dim, value, day in marks:
            days = held.get((dim, value))
            if days is None:
                held[(dim, value)] = {day: delta}
            else:
                days[day] = days.get(day, 0) + delta

    def touch(self, key: MarkKey, day: int) -> None:
        self.present.setdefault(key[:2], {}).setdefault(key[2:], set()).add(day)

    def visitors(self) -> set[Visitor]:
        return {*self.counted, *self.present}


class GapCounts:
    """rollup_visitors deltas of one batch."""

    def __init__(self) -> None:
        self.deltas: dict[GapKey, int] = defaultdict(int)

    def count(self, key: MarkKey, day: int, previous: int | None, sign: int) -> None:
        site_id, _, dim, value = key
        self.deltas[(site_id, dim, day, value, 0 if previous is None else day - previous)] += sign

    def appear(self, key: MarkKey, days: dict[int, int], day: int) -> None:
        previous, following = _neighbours(days, day)
        self.count(key, day, previous, +1)
        if following is not None:
            self.count(key, following, previous, -1)
            self.count(key, following, day, +1)

    def disappear(self, key: MarkKey, days: dict[int, int], day: int) -> None:
        previous, following = _neighbours(days, day)
        self.count(key, day, previous, -1)
        if following is not None:
            self.count(key, following, day, -1)
            self.count(key, following, previous, +1)


def _neighbours(days: dict[int, int], day: int) -> tuple[int | None, int | None]:
    """The closest held days before and after `day` (itself excluded)."""
    before = [d for d, n in days.items() if n > 0 and d < day]
    after = [d for d, n in days.items() if n > 0 and d > day]
    return (max(before) if before else None), (min(after) if after else None)


def apply_marks(conn: Connection, deltas: MarkDeltas, now_s: int | None = None) -> None:
    """Load the batch visitors' marks, apply the deltas, write marks and gap counts."""
    visitors = deltas.visitors()
    if not visitors:
        return
    stored = _load(conn, visitors)
    gaps = GapCounts()
    changed: list[Visitor] = []
    for visitor in visitors:
        marks = stored.setdefault(visitor, {})
        moved = False
        for dim_value, day_deltas in deltas.counted.get(visitor, {}).items():
            key = (*visitor, *dim_value)
            days = marks.setdefault(dim_value, {})
            if not days and _first_marks(gaps, key, days, day_deltas):
                moved = True
                continue
            for day, delta in sorted(day_deltas.items()):
                if delta:
                    moved |= _move(gaps, key, days, day, days.get(day, 0) + delta)
        for dim_value, present_days in deltas.present.get(visitor, {}).items():
            key = (*visitor, *dim_value)
            days = marks.setdefault(dim_value, {})
            for day in sorted(present_days):
                if days.get(day, 0) == 0:
                    moved |= _move(gaps, key, days, day, 1)
        if moved:
            changed.append(visitor)
    _write(conn, stored, changed, gaps, int(time.time()) if now_s is None else now_s)


def _first_marks(gaps: GapCounts, key: MarkKey, days: dict[int, int], day_deltas: dict[int, int]) -> bool:
    """The common case of a key with no marks yet and only additions: a chain of gaps."""
    if len(day_deltas) == 1:  # the most common case of all: one day
        ((day, delta),) = day_deltas.items()
        if delta > 0:
            gaps.count(key, day, None, +1)
            days[day] = delta
        return delta > 0
    if any(delta < 0 for delta in day_deltas.values()):
        return False
    previous = None
    for day in sorted(day_deltas):
        if day_deltas[day]:
            gaps.count(key, day, previous, +1)
            days[day] = day_deltas[day]
            previous = day
    return previous is not None


def _move(gaps: GapCounts, key: MarkKey, days: dict[int, int], day: int, new_n: int) -> bool:
    """Set a mark's count; True when it changed."""
    old_n = days.get(day, 0)
    if new_n < 0:  # a visit moved a mark that was never stored: only a bug can get here
        log.error("visitor mark %s day %s would go below zero", key[2:], day)
        new_n = 0
    if old_n == 0 and new_n > 0:
        gaps.appear(key, days, day)
    elif old_n > 0 and new_n == 0:
        gaps.disappear(key, days, day)
    if new_n:
        days[day] = new_n
    else:
        days.pop(day, None)
    return old_n != new_n


def _load(conn: Connection, visitors: set[Visitor]) -> dict[Visitor, Marks]:
    m = visitor_marks.c
    by_site: dict[int, list[int]] = defaultdict(list)
    for site_id, visitor_id in visitors:
        by_site[site_id].append(visitor_id)
    stored: dict[Visitor, Marks] = {}
    for site_id, ids in by_site.items():
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            stmt = select(m.visitor_id, m.marks).where(
                m.site_id == site_id, m.visitor_id.in_(ids[start : start + _LOOKUP_CHUNK])
            )
            for visitor_id, text in conn.execute(stmt):
                marks: Marks = {}
                for dim, value, day, n in orjson.loads(text):
                    marks.setdefault((dim, value), {})[day] = n
                stored[(site_id, visitor_id)] = marks
    return stored


def _write(
    conn: Connection, stored: dict[Visitor, Marks], changed: list[Visitor], gaps: GapCounts, now_s: int
) -> None:
    keep, gone = [], []
    for visitor in changed:
        flat = [
            (dim, value, day, n) for (dim, value), days in stored[visitor].items() for day, n in days.items()
        ]
        if flat:
            keep.append((*visitor, orjson.dumps(flat).decode(), now_s))
        else:
            gone.append({"s": visitor[0], "v": visitor[1]})
    if keep:
        upsert_set(conn, visitor_marks, keep, update=("marks",))
    if gone:
        m = visitor_marks.c
        conn.execute(
            delete(visitor_marks).where(m.site_id == bindparam("s"), m.visitor_id == bindparam("v")), gone
        )
    rows = [(*key, n) for key, n in gaps.deltas.items() if n]
    if rows:
        upsert_add(conn, rollup_visitors, rows)


def prune_marks(conn: Connection, now_s: float | None = None) -> int:
    """Delete marks of ids that can no longer get events."""
    cutoff = int((time.time() if now_s is None else now_s) - MARK_LIFETIME_S)
    result = conn.execute(delete(visitor_marks).where(visitor_marks.c.created_at < cutoff))
    return result.rowcount or 0
