"""The raw-tables store: answers any query with SQL on events, visits, goal_completions and
ecommerce_items (statements in raw_traffic_sql / raw_commerce_sql), one connection per operation."""

from __future__ import annotations

from collections.abc import Sequence

from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.store import protocol
from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.protocol import CommerceTotals, CurrencyCounts, Rows, Totals, VisitCounter
from analytics_mcp.engine.store.raw_breakdown_sql import conversions_sql, groups_sql, revenue_sql
from analytics_mcp.engine.store.raw_commerce_sql import (
    completions_sql,
    funnel_sql,
    goal_counts_sql,
    other_currencies_sql,
    products_sql,
    purchase_totals_sql,
    revenue_by_source_sql,
    revenue_timeseries_sql,
)
from analytics_mcp.engine.store.raw_events_sql import custom_events_sql, event_props_sql, scroll_depth_sql
from analytics_mcp.engine.store.raw_realtime_sql import (
    current_pages_sql,
    current_sources_sql,
    current_visitors_sql,
)
from analytics_mcp.engine.store.raw_traffic_sql import (
    hour_of_day_sql,
    limited,
    pages_sql,
    pageviews_sql,
    timeseries_sql,
    visit_breakdown_sql,
    visit_filtered_totals_sql,
    visit_totals_sql,
    visitors_sql,
)
from analytics_mcp.rollups.keys import Dim
from analytics_mcp.storage.db import Database


class RawTables:
    """An `EventStore` over the raw tables, for one query."""

    def __init__(self, db: Database, query: Query) -> None:
        self.db = db
        self.query = query
        self.dialect = dialect_of(db)

    def _scope(self, rng: DateRange | None = None) -> Scope:
        return Scope(self.query, self.dialect, rng)

    async def totals(self, rng: DateRange) -> Totals:
        scope = self._scope(rng)
        if scope.query.visit_filters and not scope.query.page_filters:
            (rows,) = await fetch(self.db, visit_filtered_totals_sql(scope))
            visitors, pageviews, visits, bounces, duration, visit_pageviews = rows[0]
        else:
            people, views, visit = await fetch(
                self.db, visitors_sql(scope), pageviews_sql(scope), visit_totals_sql(scope)
            )
            (visitors,), (pageviews,) = people[0], views[0]
            visits, bounces, duration, visit_pageviews = visit[0]
        return Totals(visitors, pageviews, visits, bounces or 0, duration or 0, visit_pageviews or 0)

    async def per_bucket(self) -> tuple[dict[int, int], dict[int, int]]:
        visitors, pageviews = await fetch(self.db, *timeseries_sql(self.query, self.dialect))
        return {int(b): n for b, n in visitors}, {int(b): n for b, n in pageviews}

    async def hours(self) -> dict[int, tuple[int, int]]:
        (rows,) = await fetch(self.db, hour_of_day_sql(self.query, self.dialect))
        return {int(hour): (visitors, pageviews) for hour, visitors, pageviews in rows}

    async def visit_breakdown(self, dim: Dim, extra: Sequence[VisitCounter] = ()) -> Rows:
        stmt = visit_breakdown_sql(self.query, self.dialect, dim, extra)
        (rows,) = await fetch(self.db, limited(stmt, self.query))
        return rows

    async def pages(self, by_site: bool = False) -> Rows:
        stmt = pages_sql(self.query, self.dialect, by_site=by_site)
        (rows,) = await fetch(self.db, limited(stmt, self.query))
        return rows

    async def goal_counts(self) -> tuple[Rows, int]:
        counts, traffic = await fetch(
            self.db, goal_counts_sql(self.query, self.dialect), visitors_sql(self._scope())
        )
        return counts, traffic[0][0]

    async def goal_completions(self, goal_id: str) -> tuple[Rows, int]:
        page, total = await fetch(self.db, *completions_sql(self.query, self.dialect, goal_id))
        return page, int(total[0][0])

    async def commerce_totals(self, rng: DateRange) -> CommerceTotals:
        scope = self._scope(rng)
        totals, traffic, others = await fetch(
            self.db, purchase_totals_sql(scope), visitors_sql(scope), other_currencies_sql(scope)
        )
        transactions, revenue, in_currency, buyers = totals[0]
        return CommerceTotals(transactions, revenue, in_currency, buyers, traffic[0][0], others)

    async def revenue_per_bucket(self) -> tuple[dict[int, tuple[float, int]], CurrencyCounts]:
        rows, others = await fetch(
            self.db, revenue_timeseries_sql(self.query, self.dialect), other_currencies_sql(self._scope())
        )
        return {int(index): (revenue, count) for index, revenue, count in rows}, others

    async def products(self) -> tuple[Rows, CurrencyCounts]:
        top, others = await fetch(self.db, *products_sql(self.query, self.dialect))
        return top, others

    async def revenue_by_source(self) -> tuple[Rows, CurrencyCounts]:
        top, others = await fetch(
            self.db, revenue_by_source_sql(self.query, self.dialect), other_currencies_sql(self._scope())
        )
        return top, others

    async def funnel_counts(self) -> list[int]:
        (rows,) = await fetch(self.db, funnel_sql(self.query, self.dialect))
        return list(rows[0])

    async def current(self, window: DateRange) -> protocol.Current:
        scope = self._scope(window)
        visitors, pages, sources = await fetch(
            self.db, current_visitors_sql(scope), current_pages_sql(scope), current_sources_sql(scope)
        )
        return protocol.Current(int(visitors[0][0]), pages, sources)

    async def custom_events(self) -> Rows:
        (rows,) = await fetch(self.db, custom_events_sql(self._scope()))
        return rows

    async def event_props(self, name: str, rows: int) -> Rows:
        (found,) = await fetch(self.db, event_props_sql(self._scope(), name, rows))
        return found

    async def breakdown(self, plan: protocol.BreakdownPlan) -> protocol.BreakdownCounts:
        scope = self._scope()
        statements = [groups_sql(scope, plan)]
        if plan.goal_id is not None:
            statements.append(conversions_sql(scope, plan, plan.goal_id))
        if plan.revenue:
            statements += [revenue_sql(scope, plan), other_currencies_sql(scope)]
        found = list(await fetch(self.db, *statements))
        rows = found.pop(0)
        conversions = found.pop(0) if plan.goal_id is not None else ()
        revenue, others = (found[0], found[1]) if plan.revenue else ((), ())
        return protocol.BreakdownCounts(rows, conversions, revenue, others)

    async def scroll_depth(self) -> Rows:
        (rows,) = await fetch(self.db, scroll_depth_sql(self._scope()))
        return rows
