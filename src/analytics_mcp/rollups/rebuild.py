"""Recompute the rollup tables from the raw tables (docs/rollups.md).

For databases that predate the rollups, as the reference the incremental writer is tested against,
and for an operator after restoring data. Everything runs inside the caller's transaction, site by
site in the site's own time zone, as INSERT ... SELECT with GROUP BY: no Python loop over events
(only the few visits whose span crosses a DST change get their hours computed in Python).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, delete, func, insert, literal, select

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.rollups.funnel import rebuild_funnel
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim
from analytics_mcp.rollups.rebuild_sql import (
    COUNTERS,
    PURCHASE,
    SiteClock,
    create_scratch,
    drop_scratch,
    fill_site_visits,
    page_hours,
    site_visits,
    stage,
    visit_dim_only,
)
from analytics_mcp.rollups.rebuild_visitors import rebuild_visitors
from analytics_mcp.storage.db import lock_event_writers
from analytics_mcp.storage.schema import (
    ecommerce_items,
    events,
    funnel_depths,
    funnel_visitors,
    goal_completions,
    metadata,
    rollup_daily,
    rollup_visitors,
    sites,
    tenants,
    visitor_marks,
    visits,
)

ROLLUP_TABLES = (rollup_daily, rollup_visitors, visitor_marks, funnel_visitors, funnel_depths)


@dataclass(frozen=True, slots=True)
class RebuildSummary:
    """Rows written per rollup table, over all rebuilt sites."""

    sites: int
    rollup_daily: int
    rollup_visitors: int
    visitor_marks: int
    funnel_visitors: int
    seconds: float


def rebuild_rollups(
    conn: Connection,
    site_ids: list[int] | None = None,
    *,
    now_s: int | None = None,
    zones: dict[int, ZoneInfo] | None = None,
) -> RebuildSummary:
    """Delete the rollup rows of these sites (all when None) and recompute them from raw rows.

    `conn` is a transaction on the events database; `zones` are the sites' time zones
    (`site_zones` on the accounts database), read on `conn` when not given. Creates the
    rollup tables if they are missing. `now_s` (epoch seconds, default now) decides which marks
    go to visitor_marks (local days from today - 4) and is their created_at.
    """
    started = time.perf_counter()
    now = int(time.time()) if now_s is None else int(now_s)
    lock_event_writers(conn)  # the writers wait: the rollups are consistent with the raw rows
    metadata.create_all(conn, tables=list(ROLLUP_TABLES), checkfirst=True)
    zones = site_zones(conn, site_ids) if zones is None else zones
    for table in ROLLUP_TABLES:
        stmt = delete(table)
        if site_ids is not None:
            stmt = stmt.where(table.c.site_id.in_(list(site_ids)))
        conn.execute(stmt)
    create_scratch(conn)  # temporary tables, also gone when the transaction rolls back
    daily = visitor_rows = mark_rows = funnel_rows = 0
    for site_id, zone in zones.items():
        clock = SiteClock.of(conn, site_id, zone, now)
        fill_site_visits(conn, clock)
        daily += rebuild_daily(conn, clock)
        counted = rebuild_visitors(conn, clock, now)
        visitor_rows += counted[0]
        mark_rows += counted[1]
        funnel_rows += rebuild_funnel(conn, site_id, zone)
    drop_scratch(conn)
    return RebuildSummary(
        len(zones), daily, visitor_rows, mark_rows, funnel_rows, round(time.perf_counter() - started, 3)
    )


def site_zones(conn: Connection, site_ids: Sequence[int] | None) -> dict[int, ZoneInfo]:
    """Each site's time zone (its own, else its tenant's), by site id."""
    zone = func.coalesce(sites.c.timezone, tenants.c.timezone)
    stmt = select(sites.c.id, zone).join(tenants, tenants.c.id == sites.c.tenant_id).order_by(sites.c.id)
    if site_ids is not None:
        stmt = stmt.where(sites.c.id.in_(list(site_ids)))
    return {site_id: ZoneInfo(name) for site_id, name in conn.execute(stmt)}


# -- rollup_daily --------------------------------------------------------------------------------


def rebuild_daily(conn: Connection, clock: SiteClock) -> int:
    """Stage every part of the site's rollup_daily, then merge the parts by key."""
    conn.execute(delete(stage))
    parts = [*visit_parts(clock), *pageview_parts(conn, clock), goal_part(clock), *purchase_parts(clock)]
    for columns, stmt in parts:
        conn.execute(insert(stage).from_select(["dim", "day", "value", *columns], stmt))
    s = stage.c
    merged = select(
        literal(clock.site_id), s.dim, s.day, s.value, *(func.sum(s[name]) for name in COUNTERS)
    ).group_by(s.dim, s.day, s.value)
    names = ["site_id", "dim", "day", "value", *COUNTERS]
    return conn.execute(insert(rollup_daily).from_select(names, merged)).rowcount or 0


Part = tuple[list[str], Select[Any]]


def _grouped(
    clock: SiteClock, dim: Dim, inner: Select[Any], keys: Sequence[str], sums: dict[str, Any]
) -> Part:
    """Group a subquery (columns `day`, the value's `keys` and what `sums` names) by day and value."""
    sub = inner.subquery()
    key_columns = [sub.c[key] for key in keys]
    aggregates = [fn(sub) for fn in sums.values()]
    stmt = select(literal(int(dim)), sub.c.day, clock.encode(*key_columns), *aggregates)
    return list(sums), stmt.group_by(sub.c.day, *key_columns)


def visit_parts(clock: SiteClock) -> list[Part]:
    """Visit counters by visit start: ALL and every visit dimension (from site_visits)."""
    sv = site_visits.c
    sums = {
        "visits": lambda sub: func.count(),
        "bounces": lambda sub: func.sum(sub.c.bounce),
        "duration_ms": lambda sub: func.sum(sub.c.duration),
        "visit_pageviews": lambda sub: func.sum(sub.c.pageviews),
    }
    parts = []
    for dim, keys in ((Dim.ALL, ()), *VISIT_DIM_COLUMNS.items()):
        inner = select(
            sv.first_day.label("day"), *(sv[key] for key in keys), sv.bounce, sv.duration, sv.pageviews
        ).where(*visit_dim_only(dim, sv))
        parts.append(_grouped(clock, dim, inner, keys, sums))
    return parts


def pageview_parts(conn: Connection, clock: SiteClock) -> list[Part]:
    """Pageviews by event time: one pass over the events into (day, hour, pathname), then ALL,
    HOUR and PAGE (with time on page: coalesce(engaged_ms, gap_ms) where not null)."""
    e = events.c
    top = func.coalesce(e.engaged_ms, e.gap_ms)
    hour_index = clock.hour_index(e.ts)
    inner = select(
        clock.dialect.int_div(hour_index, 24).label("day"),
        (hour_index % 24).label("hour"),
        e.pathname,
        top.label("top"),
    ).where(e.site_id == clock.site_id, e.name == PAGEVIEW)
    sub = inner.subquery()
    grouped = select(
        sub.c.day,
        sub.c.hour,
        sub.c.pathname,
        func.count(),
        func.coalesce(func.sum(sub.c.top), 0),
        func.count(sub.c.top),
    ).group_by(sub.c.day, sub.c.hour, sub.c.pathname)
    conn.execute(delete(page_hours))
    conn.execute(insert(page_hours).from_select([c.name for c in page_hours.columns], grouped))
    p = page_hours.select().subquery()
    pageviews = {"pageviews": lambda sub: func.sum(sub.c.pageviews)}
    page_sums = {
        **pageviews,
        "top_sum_ms": lambda sub: func.sum(sub.c.top_sum_ms),
        "top_count": lambda sub: func.sum(sub.c.top_count),
    }
    return [
        _grouped(clock, Dim.ALL, select(p), (), pageviews),
        _grouped(clock, Dim.HOUR, select(p), ("hour",), pageviews),
        _grouped(clock, Dim.PAGE, select(p), ("pathname",), page_sums),
    ]


def goal_part(clock: SiteClock) -> Part:
    gc = goal_completions.c
    inner = select(clock.day(gc.ts).label("day"), gc.goal_id).where(gc.site_id == clock.site_id)
    return _grouped(clock, Dim.GOAL, inner, ("goal_id",), {"count": lambda sub: func.count()})


def purchase_parts(clock: SiteClock) -> list[Part]:
    """PURCHASE and SOURCE_REVENUE from purchase events; ITEM and ITEM_EVENTS from their items."""
    e, v = events.c, visits.c
    revenue = func.coalesce(e.revenue, 0.0).label("revenue")
    purchases = select(clock.day(e.ts).label("day"), e.currency, revenue)
    purchases = purchases.where(e.site_id == clock.site_id, e.name == PURCHASE)
    by_source = select(clock.day(e.ts).label("day"), v.source, e.currency, revenue)
    by_source = by_source.select_from(events.join(visits, v.id == e.visit_id))
    by_source = by_source.where(e.site_id == clock.site_id, e.name == PURCHASE)
    money = {"count": lambda sub: func.count(), "revenue": lambda sub: func.sum(sub.c.revenue)}
    i = ecommerce_items.c
    items = select(
        clock.day(i.ts).label("day"),
        i.item_name,
        i.currency,
        i.event_id,
        (i.price * i.quantity).label("amount"),
        i.quantity,
    ).where(i.site_id == clock.site_id, i.event_name == PURCHASE)
    item_sums = {
        "revenue": lambda sub: func.sum(sub.c.amount),
        "quantity": lambda sub: func.sum(sub.c.quantity),
        "count": lambda sub: func.count(sub.c.event_id.distinct()),
    }
    orders = {"count": lambda sub: func.count(sub.c.event_id.distinct())}
    return [
        _grouped(clock, Dim.PURCHASE, purchases, ("currency",), money),
        _grouped(clock, Dim.SOURCE_REVENUE, by_source, ("source", "currency"), money),
        _grouped(clock, Dim.ITEM, items, ("item_name", "currency"), item_sums),
        _grouped(clock, Dim.ITEM_EVENTS, items, ("currency",), orders),
    ]
