"""Kept rollups for events in ClickHouse: the store `source_for` picks when the events are in
ClickHouse and `rollups_answer` holds (docs/rollups.md "Kept rollups on ClickHouse").

Before its first rollup read it brings the query's days (its range and its comparison range, and
any other range an operation names) current in one stamp read, computing the stale ones in
ClickHouse (rollups/clickhouse_kept.py); then the rollups store answers from the SQL
database holding them, unchanged. What rollups do not hold (the newest goal completions, funnels,
the last minutes, custom events, props, scroll depth, breakdowns that are not one kept dimension)
ClickHouse answers from its raw rows, as `ClickHouseStore` does for every other query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store import protocol
from analytics_mcp.engine.store.clickhouse_store import ClickHouseStore
from analytics_mcp.engine.store.protocol import CommerceTotals, CurrencyCounts, Rows, Totals, VisitCounter
from analytics_mcp.engine.store.rollup_store import Rollups, rollups_break_down
from analytics_mcp.rollups.clickhouse_kept import bring_current
from analytics_mcp.rollups.keys import Dim, day_number
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.db import Database


def _days(rng: DateRange) -> set[int]:
    return {day_number(rng.date_from + timedelta(days=k)) for k in range(rng.days)}


class ClickHouseRollups:
    """An `EventStore` over rollups kept from ClickHouse, for one query `rollups_answer` allows."""

    def __init__(self, events: ClickHouseEvents, kept: Database, query: Query) -> None:
        self.events, self.kept, self.query = events, kept, query
        self.raw = ClickHouseStore(events, query)
        self.rollups = Rollups(kept, query)
        self._current: set[int] = set()

    def wanted_days(self, *ranges: DateRange) -> set[int]:
        """The local days of these ranges and of the query's range and comparison."""
        return set().union(*(_days(rng) for rng in (self.query.range, self.query.comparison, *ranges)))

    async def _ready(self, *ranges: DateRange) -> protocol.EventStore:
        """The rollups store, once the days of these ranges (and of the query's) are current."""
        missing = self.wanted_days(*ranges) - self._current
        if missing:
            zone = self.query.zone
            sites = {site_id: (zone, missing) for site_id in self.query.site_ids}
            await asyncio.to_thread(bring_current, self.events, self.kept, sites)
            self._current |= missing
        return self.rollups

    async def totals(self, rng: DateRange) -> Totals:
        return await (await self._ready(rng)).totals(rng)

    async def per_bucket(self) -> tuple[dict[int, int], dict[int, int]]:
        return await (await self._ready()).per_bucket()

    async def hours(self) -> dict[int, tuple[int, int]]:
        return await (await self._ready()).hours()

    async def visit_breakdown(self, dim: Dim, extra: Sequence[VisitCounter] = ()) -> Rows:
        return await (await self._ready()).visit_breakdown(dim, extra)

    async def pages(self, by_site: bool = False) -> Rows:
        return await (await self._ready()).pages(by_site)

    async def goal_counts(self) -> tuple[Rows, int]:
        return await (await self._ready()).goal_counts()

    async def goal_completions(self, goal_id: str) -> tuple[Rows, int]:
        return await self.raw.goal_completions(goal_id)  # the newest completions are raw rows

    async def commerce_totals(self, rng: DateRange) -> CommerceTotals:
        return await (await self._ready(rng)).commerce_totals(rng)

    async def revenue_per_bucket(self) -> tuple[dict[int, tuple[float, int]], CurrencyCounts]:
        return await (await self._ready()).revenue_per_bucket()

    async def products(self) -> tuple[Rows, CurrencyCounts]:
        return await (await self._ready()).products()

    async def revenue_by_source(self) -> tuple[Rows, CurrencyCounts]:
        return await (await self._ready()).revenue_by_source()

    async def funnel_counts(self) -> list[int]:
        return await self.raw.funnel_counts()  # funnel tables are not kept from ClickHouse

    async def current(self, window: DateRange) -> protocol.Current:
        return await self.raw.current(window)

    async def custom_events(self) -> Rows:
        return await self.raw.custom_events()

    async def event_props(self, name: str, rows: int) -> Rows:
        return await self.raw.event_props(name, rows)

    async def breakdown(self, plan: protocol.BreakdownPlan) -> protocol.BreakdownCounts:
        if rollups_break_down(plan):
            return await (await self._ready()).breakdown(plan)
        return await self.raw.breakdown(plan)

    async def scroll_depth(self) -> Rows:
        return await self.raw.scroll_depth()
