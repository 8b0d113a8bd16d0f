"""The ClickHouse store: answers any query from the events, visits, goal completions and
e-commerce items in ClickHouse (statements in clickhouse_traffic / clickhouse_commerce), the same
rows in the same order as `RawTables`. No rollups: ClickHouse reads the raw rows fast enough, and
exact distinct counts over any range need them anyway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store import clickhouse_breakdown as general
from analytics_mcp.engine.store import clickhouse_commerce as commerce
from analytics_mcp.engine.store import clickhouse_events as custom
from analytics_mcp.engine.store import clickhouse_realtime as realtime
from analytics_mcp.engine.store import clickhouse_traffic as traffic
from analytics_mcp.engine.store import protocol
from analytics_mcp.engine.store.clickhouse_scope import FINAL_SETTINGS, ChScope
from analytics_mcp.engine.store.protocol import CommerceTotals, CurrencyCounts, Rows, Totals, VisitCounter
from analytics_mcp.rollups.keys import Dim
from analytics_mcp.storage.clickhouse import ClickHouseEvents


class ClickHouseStore:
    """An `EventStore` over the ClickHouse events database, for one query."""

    def __init__(self, events: ClickHouseEvents, query: Query) -> None:
        self.events = events
        self.query = query

    def _scope(self, rng: DateRange | None = None) -> ChScope:
        return ChScope(self.query, self.events, rng)

    async def _rows(self, scope: ChScope, sql: str) -> Sequence[Sequence[Any]]:
        return await self.events.rows_async(sql, scope.params, FINAL_SETTINGS)

    async def _run(self, build: Any, *args: Any, rng: DateRange | None = None) -> Sequence[Sequence[Any]]:
        scope = self._scope(rng)
        return await self._rows(scope, build(scope, *args))

    async def totals(self, rng: DateRange) -> Totals:
        row = (await self._run(traffic.totals_sql, rng=rng))[0]
        return Totals(*(int(value or 0) for value in row))

    async def per_bucket(self) -> tuple[dict[int, int], dict[int, int]]:
        scope = self._scope()
        visitors_sql, pageviews_sql = traffic.timeseries_sql(scope)
        visitors = await self._rows(scope, visitors_sql)
        if not pageviews_sql:  # a page filter: (bucket, visitors, pageviews) in one statement
            return {int(r[0]): int(r[1]) for r in visitors}, {int(r[0]): int(r[2]) for r in visitors}
        pageviews = await self._rows(scope, pageviews_sql)
        return {int(b): int(n) for b, n in visitors}, {int(b): int(n) for b, n in pageviews}

    async def hours(self) -> dict[int, tuple[int, int]]:
        rows = await self._run(traffic.hour_of_day_sql)
        return {int(hour): (int(visitors), int(pageviews)) for hour, visitors, pageviews in rows}

    async def visit_breakdown(self, dim: Dim, extra: Sequence[VisitCounter] = ()) -> Rows:
        return await self._run(traffic.visit_breakdown_sql, dim, extra)

    async def pages(self, by_site: bool = False) -> Rows:
        return await self._run(traffic.pages_sql, by_site)

    async def goal_counts(self) -> tuple[Rows, int]:
        counts = await self._run(commerce.goal_counts_sql)
        visitors = await self._run(traffic.visitors_sql)
        return counts, int(visitors[0][0])

    async def goal_completions(self, goal_id: str) -> tuple[Rows, int]:
        scope = self._scope()
        page_sql, total_sql = commerce.completions_sql(scope, goal_id)
        page = await self._rows(scope, page_sql)
        total = await self._rows(scope, total_sql)
        return page, int(total[0][0])

    async def commerce_totals(self, rng: DateRange) -> CommerceTotals:
        totals = await self._run(commerce.purchase_totals_sql, rng=rng)
        visitors = await self._run(traffic.visitors_sql, rng=rng)
        others = await self._run(commerce.other_currencies_sql, rng=rng)
        transactions, revenue, in_currency, buyers = totals[0]
        return CommerceTotals(transactions, revenue, in_currency, buyers, int(visitors[0][0]), others)

    async def revenue_per_bucket(self) -> tuple[dict[int, tuple[float, int]], CurrencyCounts]:
        rows = await self._run(commerce.revenue_timeseries_sql)
        others = await self._run(commerce.other_currencies_sql)
        return {int(index): (revenue, count) for index, revenue, count in rows}, others

    async def products(self) -> tuple[Rows, CurrencyCounts]:
        scope = self._scope()
        top_sql, others_sql = commerce.products_sql(scope)
        return await self._rows(scope, top_sql), await self._rows(scope, others_sql)

    async def revenue_by_source(self) -> tuple[Rows, CurrencyCounts]:
        top = await self._run(commerce.revenue_by_source_sql)
        return top, await self._run(commerce.other_currencies_sql)

    async def funnel_counts(self) -> list[int]:
        rows = await self._run(commerce.funnel_sql)
        return [int(n) for n in rows[0]]

    async def current(self, window: DateRange) -> protocol.Current:
        visitors = await self._run(realtime.current_visitors_sql, rng=window)
        pages = await self._run(realtime.current_pages_sql, rng=window)
        sources = await self._run(realtime.current_sources_sql, rng=window)
        return protocol.Current(int(visitors[0][0]), pages, sources)

    async def custom_events(self) -> Rows:
        return [
            (name, int(events), int(visitors))
            for name, events, visitors in await self._run(custom.custom_events_sql)
        ]

    async def event_props(self, name: str, rows: int) -> Rows:
        return [(text, int(events)) for text, events in await self._run(custom.event_props_sql, name, rows)]

    async def breakdown(self, plan: protocol.BreakdownPlan) -> protocol.BreakdownCounts:
        rows = await self._run(general.groups_sql, plan)
        conversions: Rows = ()
        if plan.goal_id is not None:
            conversions = await self._run(general.conversions_sql, plan, plan.goal_id)
        revenue: Rows = ()
        others: Rows = ()
        if plan.revenue:
            revenue = await self._run(general.revenue_sql, plan)
            others = await self._run(commerce.other_currencies_sql)
        return protocol.BreakdownCounts(rows, conversions, revenue, others)

    async def scroll_depth(self) -> Rows:
        return [(path, int(n), int(total)) for path, n, total in await self._run(custom.scroll_depth_sql)]
