"""Rebuild rollup_visitors and visitor_marks of one site from the raw tables.

Each dimension has a *mark source*: one row (visitor_id, day, p0..pn) per visit or event holding a
mark, p0..pn being the raw columns its value encodes. Then, in SQL:

- rollup_visitors: gap = day - LAG(day) over the rows of the same (visitor, value) by day (0 for
  the first; rows on the same day as the previous one are the same mark), counted per
  (day, value, gap);
- visitor_marks: the marks from the site's local today - 4 on, one row per visitor with the JSON
  list [[dim, value, day, n]] (n = the visits holding a span or attribute mark; 1 for event marks,
  as the ingestion writer keeps them).

Values are encoded after grouping on the raw columns, so only distinct values are encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, case, delete, func, insert, literal, or_, select, union_all

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim, span_hours
from analytics_mcp.rollups.rebuild_sql import (
    PURCHASE,
    SiteClock,
    crossing_hours,
    numbers,
    recent_marks,
    site_visits,
    visit_dim_only,
)
from analytics_mcp.storage.schema import events, goal_completions, rollup_visitors, visitor_marks

EVENT_MARKS = frozenset({Dim.PAGE, Dim.GOAL, Dim.BUYERS})  # presence marks: n is 1
_INSERT_CHUNK = 10_000

# (clock, recent) -> rows (visitor_id, day, p0..pn), one per visit or event holding a mark; with
# recent=True at least the rows on local days from clock.recent_day (earlier ones are filtered).
MarkSource = Callable[[SiteClock, bool], Select[Any]]


def rebuild_visitors(conn: Connection, clock: SiteClock, now_s: int) -> tuple[int, int]:
    """Insert the site's rollup_visitors and visitor_marks rows (site_visits must be filled);
    returns their counts."""
    prepare_spans(conn, clock)
    conn.execute(delete(recent_marks))
    counted = 0
    for dim, source in mark_sources().items():
        counted += conn.execute(visitors_insert(clock, dim, source(clock, False))).rowcount or 0
        conn.execute(recent_insert(clock, dim, source(clock, True)))
    return counted, write_visitor_marks(conn, clock, now_s)


def visitors_insert(clock: SiteClock, dim: Dim, source: Select[Any]) -> Any:
    """One sort: LAG over the rows of each (visitor, value) by day; a row on the same day as the
    previous one is the same mark (dropped), the first row has no previous (gap 0)."""
    src = source.subquery("src")
    parts = [src.c[c.name] for c in src.c if c.name.startswith("p")]
    previous = func.lag(src.c.day).over(partition_by=[src.c.visitor_id, *parts], order_by=src.c.day)
    ordered = select(src.c.day, *parts, previous.label("previous")).subquery("ordered")
    o_parts = [ordered.c[c.name] for c in parts]
    gap = case((ordered.c.previous.is_(None), 0), else_=ordered.c.day - ordered.c.previous).label("gap")
    marks = select(ordered.c.day, *o_parts, gap).where(
        or_(ordered.c.previous.is_(None), ordered.c.previous < ordered.c.day)
    )
    m = marks.subquery("marks")
    m_parts = [m.c[c.name] for c in parts]
    counts = select(
        literal(clock.site_id),
        literal(int(dim)),
        m.c.day,
        clock.encode(*m_parts),
        m.c.gap,
        func.count(),
    ).group_by(m.c.day, *m_parts, m.c.gap)
    return insert(rollup_visitors).from_select(["site_id", "dim", "day", "value", "gap", "n"], counts)


def recent_insert(clock: SiteClock, dim: Dim, source: Select[Any]) -> Any:
    """The dimension's marks from clock.recent_day on, with n (see the module docstring)."""
    src = source.subquery("src")
    parts = [src.c[c.name] for c in src.c if c.name.startswith("p")]
    n = literal(1) if dim in EVENT_MARKS else func.count()
    rows = (
        select(src.c.visitor_id, literal(int(dim)), clock.encode(*parts), src.c.day, n)
        .where(src.c.day >= clock.recent_day)
        .group_by(src.c.visitor_id, *parts, src.c.day)
    )
    return insert(recent_marks).from_select(["visitor_id", "dim", "value", "day", "n"], rows)


def write_visitor_marks(conn: Connection, clock: SiteClock, now_s: int) -> int:
    """One visitor_marks row per visitor: its marks as orjson writes them (marks.py reads them)."""
    r = recent_marks.c
    rows = conn.execute(
        select(r.visitor_id, r.dim, r.value, r.day, r.n).order_by(r.visitor_id, r.dim, r.value, r.day)
    )
    written = 0
    batch: list[dict[str, Any]] = []
    for visitor_id, marks in groupby(rows, key=lambda row: row[0]):
        listed = [(dim, value, day, n) for _, dim, value, day, n in marks]
        batch.append(
            {
                "site_id": clock.site_id,
                "visitor_id": visitor_id,
                "marks": orjson.dumps(listed).decode(),
                "created_at": now_s,
            }
        )
        if len(batch) == _INSERT_CHUNK:
            written += _insert_marks(conn, batch)
    return written + _insert_marks(conn, batch)


def _insert_marks(conn: Connection, batch: list[dict[str, Any]]) -> int:
    if batch:
        conn.execute(insert(visitor_marks), batch)
    count = len(batch)
    batch.clear()
    return count


# -- spans ---------------------------------------------------------------------------------------


def prepare_spans(conn: Connection, clock: SiteClock) -> None:
    """Fill the numbers 0..N (N: the longest visit's span in local hours) and the hours of the
    visits whose span crosses an offset change (keys.span_hours, as the ingestion writer does)."""
    sv = site_visits.c
    longest = conn.execute(select(func.max(sv.last_hour - sv.first_hour))).scalar() or 0
    conn.execute(delete(numbers))
    conn.execute(delete(crossing_hours))
    for start in range(0, longest + 1, _INSERT_CHUNK):
        conn.execute(
            insert(numbers), [{"k": k} for k in range(start, min(longest + 1, start + _INSERT_CHUNK))]
        )
    crossing = select(sv.visitor_id, sv.started_at, sv.ended_at).where(sv.steady == 0)
    rows = [
        {"visitor_id": visitor_id, "day": day, "hour": hour}
        for visitor_id, started_at, ended_at in conn.execute(crossing)
        for day, hour in sorted(span_hours(clock.zone, started_at, ended_at))
    ]
    for start in range(0, len(rows), _INSERT_CHUNK):
        conn.execute(insert(crossing_hours), rows[start : start + _INSERT_CHUNK])


def span_days(clock: SiteClock, recent: bool) -> Select[Any]:
    """ALL: every local day from the visit's start to its end."""
    sv, n = site_visits.c, numbers.c
    stmt = select(sv.visitor_id, (sv.first_day + n.k).label("day"))
    stmt = stmt.select_from(site_visits.join(numbers, and_(n.k >= 0, n.k <= sv.last_day - sv.first_day)))
    return stmt.where(sv.last_day >= clock.recent_day) if recent else stmt


def span_hours_source(clock: SiteClock, recent: bool) -> Select[Any]:
    """HOUR: every local (day, hour) from the visit's start to its end: consecutive local hours
    for visits within one offset segment, keys.span_hours (precomputed) for the others."""
    sv, n, c = site_visits.c, numbers.c, crossing_hours.c
    index = sv.first_hour + n.k
    steady = select(sv.visitor_id, clock.dialect.int_div(index, 24).label("day"), (index % 24).label("p0"))
    steady = steady.select_from(
        site_visits.join(numbers, and_(n.k >= 0, n.k <= sv.last_hour - sv.first_hour))
    )
    steady = steady.where(sv.steady == 1)
    if recent:
        steady = steady.where(sv.last_day >= clock.recent_day)
    if clock.steady:
        return steady
    crossing = select(c.visitor_id, c.day, c.hour.label("p0"))
    return select(union_all(steady, crossing).subquery())


def visit_attribute(dim: Dim) -> MarkSource:
    """A visit dimension: the visit's start day, its value's columns."""

    def source(clock: SiteClock, recent: bool) -> Select[Any]:
        sv = site_visits.c
        parts = [sv[column].label(f"p{i}") for i, column in enumerate(VISIT_DIM_COLUMNS[dim])]
        stmt = select(sv.visitor_id, sv.first_day.label("day"), *parts).where(*visit_dim_only(dim, sv))
        return stmt.where(sv.first_day >= clock.recent_day) if recent else stmt

    return source


def event_source(name: str, *columns: str) -> MarkSource:
    """Events of one name (PAGE: pageviews by pathname; BUYERS: purchases), by event day."""

    def source(clock: SiteClock, recent: bool) -> Select[Any]:
        e = events.c
        parts = [e[column].label(f"p{i}") for i, column in enumerate(columns)]
        stmt = select(e.visitor_id, clock.day(e.ts).label("day"), *parts)
        stmt = stmt.where(e.site_id == clock.site_id, e.name == name)
        return stmt.where(e.ts >= clock.recent_ms) if recent else stmt

    return source


def completions_source(clock: SiteClock, recent: bool) -> Select[Any]:
    gc = goal_completions.c
    stmt = select(gc.visitor_id, clock.day(gc.ts).label("day"), gc.goal_id.label("p0"))
    stmt = stmt.where(gc.site_id == clock.site_id)
    return stmt.where(gc.ts >= clock.recent_ms) if recent else stmt


def mark_sources() -> dict[Dim, MarkSource]:
    return {
        Dim.ALL: span_days,
        Dim.HOUR: span_hours_source,
        **{dim: visit_attribute(dim) for dim in VISIT_DIM_COLUMNS},
        Dim.PAGE: event_source(PAGEVIEW, "pathname"),
        Dim.GOAL: completions_source,
        Dim.BUYERS: event_source(PURCHASE),
    }
