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


@dataclass(slots=True)
class MarkDeltas:
    """Refcount changes (+/-) and presence-only marks (events never deleted) of one batch."""

    counted: dict[MarkKey, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    present: dict[MarkKey, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, key: MarkKey, day: int, delta: int) -> None:
        days = self.counted[key]
        days[day] = days.get(day, 0) + delta

    def touch(self, key: MarkKey, day: int) -> None:
        self.present[key].add(day)

    def visitors(self) -> set[tuple[int, int]]:
        keys: Iterable[MarkKey] = [*self.counted, *self.present]
        return {(site_id, visitor_id) for site_id, visitor_id, _, _ in keys}


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
    if not deltas.counted and not deltas.present:
        return
    stored = _load(conn, deltas.visitors())
    gaps = GapCounts()
    touched: set[tuple[int, int]] = set()
    for key, day_deltas in deltas.counted.items():
        days = stored.setdefault(key, {})
        if not days and _first_marks(gaps, key, days, day_deltas):
            touched.add(key[:2])
            continue
        for day, delta in sorted(day_deltas.items()):
            if delta and _move(gaps, key, days, day, days.get(day, 0) + delta):
                touched.add(key[:2])
    for key, present_days in deltas.present.items():
        days = stored.setdefault(key, {})
        for day in sorted(present_days):
            if days.get(day, 0) == 0 and _move(gaps, key, days, day, 1):
                touched.add(key[:2])
    _write(conn, stored, touched, gaps, int(time.time()) if now_s is None else now_s)


def _first_marks(gaps: GapCounts, key: MarkKey, days: dict[int, int], day_deltas: dict[int, int]) -> bool:
    """The common case of a key with no marks yet and only additions: a chain of gaps."""
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
    """Set a mark's count; True when the visitor's marks changed."""
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


def _load(conn: Connection, visitors: set[tuple[int, int]]) -> dict[MarkKey, dict[int, int]]:
    m = visitor_marks.c
    by_site: dict[int, list[int]] = defaultdict(list)
    for site_id, visitor_id in visitors:
        by_site[site_id].append(visitor_id)
    stored: dict[MarkKey, dict[int, int]] = {}
    for site_id, ids in by_site.items():
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            stmt = select(m.visitor_id, m.marks).where(
                m.site_id == site_id, m.visitor_id.in_(ids[start : start + _LOOKUP_CHUNK])
            )
            for visitor_id, marks in conn.execute(stmt):
                for dim, value, day, n in orjson.loads(marks):
                    stored.setdefault((site_id, visitor_id, dim, value), {})[day] = n
    return stored


def _write(
    conn: Connection,
    stored: dict[MarkKey, dict[int, int]],
    touched: set[tuple[int, int]],
    gaps: GapCounts,
    now_s: int,
) -> None:
    by_visitor: dict[tuple[int, int], list[tuple[int, str, int, int]]] = {v: [] for v in touched}
    for (site_id, visitor_id, dim, value), days in stored.items():
        marks = by_visitor.get((site_id, visitor_id))
        if marks is not None:
            marks.extend((dim, value, day, n) for day, n in days.items())
    keep = [(s, v, orjson.dumps(marks).decode(), now_s) for (s, v), marks in by_visitor.items() if marks]
    gone = [{"s": s, "v": v} for (s, v), marks in by_visitor.items() if not marks]
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
