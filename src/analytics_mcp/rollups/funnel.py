"""The e-commerce funnel from `funnel_visitors`: one row per visitor id with its funnel events.

A visitor id lives a few days at most (its salt is daily), so for a range of whole days nearly
every visitor has all its funnel events inside or none: those are counted by their stored depth,
and only the ones whose events straddle a range edge are replayed, restricted to the range, from
their stored steps. Same rule as the raw SQL: step n counts when its event is at or after the time
step n-1 was first reached.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, select

from analytics_mcp.rollups.keys import FUNNEL_STEP_OF, FUNNEL_STEPS, local_day
from analytics_mcp.rollups.upsert import upsert_add, upsert_set
from analytics_mcp.storage.schema import events, funnel_depths, funnel_visitors

Step = tuple[int, int]  # step index, ts
_LOOKUP_CHUNK = 400
# An event at ts uses the salts of its UTC day and the day before only, so one visitor id's events
# lie within 48 hours: at most 3 local days apart (4 across a DST change). Range edges only need
# to look this far back for visitors that straddle them.
MAX_SPAN_DAYS = 3


def depth(steps: Iterable[Step], start_ms: int | None = None, end_ms: int | None = None) -> int:
    """How many funnel steps were reached in order by these events (within [start, end))."""
    by_time = sorted(
        (ts, step)
        for step, ts in steps
        if (start_ms is None or ts >= start_ms) and (end_ms is None or ts < end_ms)
    )
    reached, since = 0, None
    while reached < len(FUNNEL_STEPS):
        found = next((ts for ts, step in by_time if step == reached and (since is None or ts >= since)), None)
        if found is None:
            break
        reached, since = reached + 1, found
    return reached


def funnel_row(site_id: int, visitor_id: int, zone: ZoneInfo, steps: list[Step]) -> tuple[Any, ...]:
    times = [ts for _, ts in steps]
    first, last = local_day(zone, min(times)), local_day(zone, max(times))
    return (site_id, visitor_id, first, last, depth(steps), orjson.dumps(sorted(steps)).decode())


class FunnelBatch:
    """The funnel events of one ingestion batch, merged into the visitors' rows on write."""

    def __init__(self) -> None:
        self.steps: dict[tuple[int, int], list[Step]] = defaultdict(list)

    def event(self, site_id: int, visitor_id: int, name: str, ts: int) -> None:
        step = FUNNEL_STEP_OF.get(name)
        if step is not None:
            self.steps[(site_id, visitor_id)].append((step, ts))

    def write(self, conn: Connection, zones: Mapping[int, ZoneInfo]) -> None:
        if not self.steps:
            return
        stored = _load(conn, list(self.steps))
        depths: dict[tuple[int, int, int, int], int] = defaultdict(int)
        rows = []
        for (site_id, visitor_id), new in self.steps.items():
            before = stored.get((site_id, visitor_id))
            if before is not None:
                depths[(site_id, *before[0])] -= 1
            row = funnel_row(site_id, visitor_id, zones[site_id], (before[1] if before else []) + new)
            depths[(site_id, *row[2:5])] += 1
            rows.append(row)
        upsert_set(conn, funnel_visitors, rows, update=("first_day", "last_day", "depth", "steps"))
        moved = [(*key, n) for key, n in depths.items() if n]
        if moved:
            upsert_add(conn, funnel_depths, moved)


def _load(
    conn: Connection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], tuple[tuple[int, int, int], list[Step]]]:
    """Stored rows: ((first_day, last_day, depth), steps) by (site, visitor)."""
    f = funnel_visitors.c
    by_site: dict[int, list[int]] = defaultdict(list)
    for site_id, visitor_id in keys:
        by_site[site_id].append(visitor_id)
    found: dict[tuple[int, int], tuple[tuple[int, int, int], list[Step]]] = {}
    for site_id, ids in by_site.items():
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            stmt = select(f.visitor_id, f.first_day, f.last_day, f.depth, f.steps).where(
                f.site_id == site_id, f.visitor_id.in_(ids[start : start + _LOOKUP_CHUNK])
            )
            for visitor_id, first, last, reached, steps in conn.execute(stmt):
                parsed = [(step, ts) for step, ts in orjson.loads(steps)]
                found[(site_id, visitor_id)] = ((first, last, reached), parsed)
    return found


def rebuild_funnel(conn: Connection, site_id: int, zone: ZoneInfo) -> int:
    """Recompute one site's funnel rows from its raw events (the caller deleted the old ones)."""
    e = events.c
    stmt = select(e.visitor_id, e.name, e.ts).where(e.site_id == site_id, e.name.in_(list(FUNNEL_STEP_OF)))
    steps: dict[int, list[Step]] = defaultdict(list)
    for visitor_id, name, ts in conn.execute(stmt):
        steps[visitor_id].append((FUNNEL_STEP_OF[name], ts))
    rows = [funnel_row(site_id, visitor_id, zone, found) for visitor_id, found in steps.items()]
    depths: dict[tuple[int, int, int, int], int] = defaultdict(int)
    for row in rows:
        depths[(site_id, *row[2:5])] += 1
    for start in range(0, len(rows), 10_000):
        upsert_set(conn, funnel_visitors, rows[start : start + 10_000], update=("depth",))
    if depths:
        upsert_add(conn, funnel_depths, [(*key, n) for key, n in depths.items()])
    return len(rows)
