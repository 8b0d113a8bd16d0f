"""A reference fill of the rollup tables from the raw rows, written from docs/rollups.md (not from
the writer's code), so the read-side tests can check the readers against an independent filling
as well as against what ingestion wrote. Marks come straight from the events (every event's local
day and hour), not from visit spans."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, insert, select

from analytics_mcp.rollups.keys import (
    NO_VALUE,
    VISIT_DIM_COLUMNS,
    Dim,
    encode,
    local_day_hour,
    visit_dim_value,
)
from analytics_mcp.storage.schema import (
    ecommerce_items,
    events,
    goal_completions,
    rollup_daily,
    rollup_visitors,
    sites,
    tenants,
    visits,
)

COUNTERS = (
    "visits", "bounces", "duration_ms", "visit_pageviews", "pageviews", "top_sum_ms", "top_count", "count",
    "revenue", "quantity",
)  # fmt: skip
CounterKey = tuple[int, Dim, int, str]  # site_id, dim, day, value
Mark = tuple[int, int, Dim, str, int]  # site_id, visitor_id, dim, value, day


class Fill:
    def __init__(self, zones: dict[int, ZoneInfo]) -> None:
        self.zones = zones
        self.counters: dict[CounterKey, dict[str, float]] = defaultdict(lambda: defaultdict(int))
        self.marks: set[Mark] = set()
        self.orders: dict[CounterKey, set[int]] = defaultdict(set)  # ITEM / ITEM_EVENTS: event ids

    def at(self, site_id: int, ts: int) -> tuple[int, int]:
        return local_day_hour(self.zones[site_id], ts)

    def add(self, key: CounterKey, **amounts: float) -> None:
        for name, amount in amounts.items():
            self.counters[key][name] += amount

    def visit(self, row: Any) -> None:
        day, _ = self.at(row.site_id, row.started_at)
        bounce = int(row.pageviews == 1 and row.interactions == 0)
        counters = dict(
            visits=1,
            bounces=bounce,
            duration_ms=0 if bounce else row.ended_at - row.started_at,
            visit_pageviews=row.pageviews,
        )
        self.add((row.site_id, Dim.ALL, day, NO_VALUE), **counters)
        for dim in VISIT_DIM_COLUMNS:
            value = visit_dim_value(dim, dict(row._mapping))
            if value is not None:
                self.add((row.site_id, dim, day, value), **counters)
                self.marks.add((row.site_id, row.visitor_id, dim, value, day))

    def event(self, row: Any, source: str) -> None:
        site, who = row.site_id, row.visitor_id
        day, hour = self.at(site, row.ts)
        self.marks.add((site, who, Dim.ALL, NO_VALUE, day))
        self.marks.add((site, who, Dim.HOUR, encode(hour), day))
        if row.name == "pageview":
            self.add((site, Dim.ALL, day, NO_VALUE), pageviews=1)
            self.add((site, Dim.HOUR, day, encode(hour)), pageviews=1)
            page = (site, Dim.PAGE, day, encode(row.pathname))
            self.add(page, pageviews=1)
            on_page = row.engaged_ms if row.engaged_ms is not None else row.gap_ms
            if on_page is not None:
                self.add(page, top_sum_ms=on_page, top_count=1)
            self.marks.add((site, who, Dim.PAGE, encode(row.pathname), day))
        if row.name == "purchase":
            revenue = row.revenue or 0.0
            self.add((site, Dim.PURCHASE, day, encode(row.currency)), count=1, revenue=revenue)
            self.add((site, Dim.SOURCE_REVENUE, day, encode(source, row.currency)), count=1, revenue=revenue)
            self.marks.add((site, who, Dim.BUYERS, NO_VALUE, day))

    def completion(self, row: Any) -> None:
        day, _ = self.at(row.site_id, row.ts)
        self.add((row.site_id, Dim.GOAL, day, encode(row.goal_id)), count=1)
        self.marks.add((row.site_id, row.visitor_id, Dim.GOAL, encode(row.goal_id), day))

    def item(self, row: Any) -> None:
        day, _ = self.at(row.site_id, row.ts)
        key = (row.site_id, Dim.ITEM, day, encode(row.item_name, row.currency))
        self.add(key, revenue=row.price * row.quantity, quantity=row.quantity)
        self.orders[key].add(row.event_id)
        self.orders[(row.site_id, Dim.ITEM_EVENTS, day, encode(row.currency))].add(row.event_id)

    def daily_rows(self) -> list[dict[str, Any]]:
        for key, event_ids in self.orders.items():
            self.counters[key]["count"] = len(event_ids)
        return [
            {"site_id": s, "dim": int(d), "day": day, "value": v, **{c: amounts[c] for c in COUNTERS}}
            for (s, d, day, v), amounts in self.counters.items()
        ]

    def visitor_rows(self) -> list[dict[str, Any]]:
        days: dict[tuple[int, int, Dim, str], list[int]] = defaultdict(list)
        for site, who, dim, value, day in self.marks:
            days[(site, who, dim, value)].append(day)
        counts: dict[tuple[int, Dim, int, str, int], int] = defaultdict(int)
        for (site, _, dim, value), found in days.items():
            previous = None
            for day in sorted(found):
                counts[(site, dim, day, value, 0 if previous is None else day - previous)] += 1
                previous = day
        return [
            {"site_id": s, "dim": int(d), "day": day, "value": v, "gap": gap, "n": n}
            for (s, d, day, v, gap), n in counts.items()
        ]


def _zones(conn: Connection) -> dict[int, ZoneInfo]:
    zone = func.coalesce(sites.c.timezone, tenants.c.timezone)
    rows = conn.execute(select(sites.c.id, zone).join(tenants, tenants.c.id == sites.c.tenant_id))
    return {site_id: ZoneInfo(name) for site_id, name in rows}


def _insert(conn: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    listed = list(rows)
    if listed:
        conn.execute(insert(table), listed)


def fill_from_raw(conn: Connection) -> None:
    """Replace the rollup tables' rows by the reference fill of the raw tables."""
    fill = Fill(_zones(conn))
    source_of: dict[int, str] = {}
    for row in conn.execute(select(visits)):
        fill.visit(row)
        source_of[row.id] = row.source
    for row in conn.execute(select(events)):
        fill.event(row, source_of[row.visit_id])
    for row in conn.execute(select(goal_completions)):
        fill.completion(row)
    for row in conn.execute(select(ecommerce_items).where(ecommerce_items.c.event_name == "purchase")):
        fill.item(row)
    conn.execute(delete(rollup_daily))
    conn.execute(delete(rollup_visitors))
    _insert(conn, rollup_daily, fill.daily_rows())
    _insert(conn, rollup_visitors, fill.visitor_rows())
