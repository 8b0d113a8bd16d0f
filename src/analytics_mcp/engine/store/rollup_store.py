"""The rollups store: answers from rollup_daily, rollup_visitors and the funnel tables, for the
queries `rollups_answer` allows, in the row layout and order the raw-tables store gives (same
columns, the raw LIMIT's `limit + 1` rows).

Grouped values come back as JSON arrays: they are decoded here and sorted with the raw ORDER BY's
rules: counts descending, then keys ascending with NULL first and text in binary order (Python's
str order: UTF-8 bytes sort as the code points they encode).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import and_, func, select, union_all

from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.store import protocol
from analytics_mcp.engine.store.protocol import CommerceTotals, CurrencyCounts, Rows, Totals, VisitCounter
from analytics_mcp.engine.store.raw_commerce_sql import completions_sql
from analytics_mcp.engine.store.raw_store import RawTables
from analytics_mcp.engine.store.rollup_sql import (
    counters_sql,
    goal_total_sql,
    visitors_per_bucket_sql,
    visitors_sql,
)
from analytics_mcp.engine.timebuckets import bucket_first_days
from analytics_mcp.rollups.funnel import MAX_SPAN_DAYS, depth
from analytics_mcp.rollups.keys import FUNNEL_STEPS, VISIT_DIM_COLUMNS, Dim, day_number, decode
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.schema import funnel_depths, funnel_visitors

Row = tuple[Any, ...]
VISIT_TOTALS = ("pageviews", "visits", "bounces", "duration_ms", "visit_pageviews")
# Visit attributes kept as a rollup dimension of their own: visits column -> dim.
ROLLUP_DIMS = {columns[0]: dim for dim, columns in VISIT_DIM_COLUMNS.items() if len(columns) == 1}


def ascending(value: Any) -> tuple[bool, Any]:
    """Sort key of an ORDER BY ... ASC term: NULL first."""
    return (value is not None, 0 if value is None else value)


def top(rows: Iterable[Row], key: Callable[[Row], Any], query: Query) -> list[Row]:
    return sorted(rows, key=key)[: query.limit + 1]


def _first(value: str) -> Any:
    return decode(value)[0]


def _visitors(rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    return {value: n for value, n in rows}


def _other_currencies(counts: dict[Any, int], query: Query) -> list[Row]:
    """(currency, count) of the currencies other than the reporting one, by currency."""
    found = [(code, n) for code, n in counts.items() if code is not None and code != query.currency and n]
    return sorted(found)


def _pages_alone(plan: protocol.BreakdownPlan) -> bool:
    return plan.level == "pageviews" and plan.columns == ("pathname",) and not plan.visits


def _kept_dim(plan: protocol.BreakdownPlan) -> Dim | None:
    alone = plan.level == "visits" and len(plan.columns) == 1 and not (plan.goal_id or plan.revenue)
    return ROLLUP_DIMS.get(plan.columns[0]) if alone else None


def rollups_break_down(plan: protocol.BreakdownPlan) -> bool:
    """Whether `Rollups.breakdown` answers this plan from the rollups (else the raw tables do)."""
    return _pages_alone(plan) or _kept_dim(plan) is not None


class Rollups:
    """An `EventStore` over the rollups, for one query that `rollups_answer` allows."""

    def __init__(self, db: Database, query: Query) -> None:
        self.db = db
        self.query = query

    async def totals(self, rng: DateRange) -> Totals:
        query = self.query
        people, sums = await fetch(
            self.db,
            visitors_sql(query, rng, Dim.ALL, by_value=False),
            counters_sql(query, rng, Dim.ALL, VISIT_TOTALS, by=()),
        )
        pageviews, visits, bounces, duration_ms, visit_pageviews = (int(s or 0) for s in sums[0])
        return Totals(people[0][0], pageviews, visits, bounces, duration_ms, visit_pageviews)

    def _bucket_firsts(self) -> list[int]:
        """The day number each day, week or month bucket of the range starts on."""
        return [day_number(day) for day in bucket_first_days(self.query)]

    async def per_bucket(self) -> tuple[dict[int, int], dict[int, int]]:
        query = self.query
        firsts = self._bucket_firsts()
        people, views = await fetch(
            self.db,
            visitors_per_bucket_sql(query, query.range, Dim.ALL, firsts),
            counters_sql(query, query.range, Dim.ALL, ("pageviews",), by=("day",), present="pageviews"),
        )
        pageviews: dict[int, int] = defaultdict(int)
        for day, n in views:
            pageviews[bisect_right(firsts, day) - 1] += n
        return {bisect_right(firsts, first) - 1: n for first, n in people}, dict(pageviews)

    async def hours(self) -> dict[int, tuple[int, int]]:
        query = self.query
        people, views = await fetch(
            self.db,
            visitors_sql(query, query.range, Dim.HOUR),
            counters_sql(query, query.range, Dim.HOUR, ("pageviews",)),
        )
        visitors = {int(_first(value)): n for value, n in people if n}
        pageviews = {int(_first(value)): n for value, n in views if n}
        return {h: (visitors.get(h, 0), pageviews.get(h, 0)) for h in visitors.keys() | pageviews.keys()}

    async def visit_breakdown(self, dim: Dim, extra: Sequence[VisitCounter] = ()) -> Rows:
        query = self.query
        counts, people = await fetch(
            self.db,
            counters_sql(query, query.range, dim, ("visits", *extra), present="visits"),
            visitors_sql(query, query.range, dim),
        )
        visitors = _visitors(people)
        rows = [(*decode(value), visitors.get(value, 0), *sums) for value, *sums in counts]
        n = len(VISIT_DIM_COLUMNS[dim])
        return top(rows, lambda r: (-r[n], -r[n + 1], *(ascending(k) for k in r[:n])), query)

    async def pages(self, by_site: bool = False) -> Rows:
        k = 1 if by_site else 0  # the row's pathname; visitors and pageviews follow
        rows = await self._page_rows(by_site)
        return top(rows, lambda r: (-r[k + 2], -r[k + 1], r[k], *r[:k]), self.query)

    async def _page_rows(self, by_site: bool) -> list[Row]:
        """Every path's (site_id if by_site, pathname, visitors, pageviews, mean time on page)."""
        query = self.query
        counters = ("pageviews", "top_sum_ms", "top_count")
        sites = ("site_id",) if by_site else ()
        counts, people = await fetch(
            self.db,
            counters_sql(query, query.range, Dim.PAGE, counters, by=(*sites, "value"), present="pageviews"),
            visitors_sql(query, query.range, Dim.PAGE, by_site=by_site),
        )
        visitors = {tuple(keys): n for *keys, n in people}
        rows: list[Row] = []
        for *keys, pageviews, total, count in counts:  # keys: (site_id,) value
            site, path = keys[:-1], _first(keys[-1])
            rows.append(
                (*site, path, visitors.get(tuple(keys), 0), pageviews, total / count if count else None)
            )
        return rows

    async def goal_counts(self) -> tuple[Rows, int]:
        query = self.query
        counts, people, everyone = await fetch(
            self.db,
            counters_sql(query, query.range, Dim.GOAL, ("count",), present="count"),
            visitors_sql(query, query.range, Dim.GOAL),
            visitors_sql(query, query.range, Dim.ALL, by_value=False),
        )
        visitors = _visitors(people)
        rows = [(_first(value), completions, visitors.get(value, 0)) for value, completions in counts]
        return rows, everyone[0][0]

    async def goal_completions(self, goal_id: str) -> tuple[Rows, int]:
        """The total from the rollups; the newest completions themselves only the raw table has."""
        page_sql, _ = completions_sql(self.query, dialect_of(self.db), goal_id)
        page, total = await fetch(self.db, page_sql, goal_total_sql(self.query, goal_id))
        return page, int(total[0][0])

    async def commerce_totals(self, rng: DateRange) -> CommerceTotals:
        query = self.query
        purchases, buyers, people = await fetch(
            self.db,
            counters_sql(query, rng, Dim.PURCHASE, ("count", "revenue"), present="count"),
            visitors_sql(query, rng, Dim.BUYERS, by_value=False),
            visitors_sql(query, rng, Dim.ALL, by_value=False),
        )
        counts: dict[Any, int] = {}
        revenue = 0.0
        for value, count, amount in purchases:
            currency = _first(value)
            counts[currency] = count
            if currency == query.currency:
                revenue = amount
        others = _other_currencies(counts, query)
        in_currency = counts.get(query.currency, 0)
        return CommerceTotals(sum(counts.values()), revenue, in_currency, buyers[0][0], people[0][0], others)

    async def revenue_per_bucket(self) -> tuple[dict[int, tuple[float, int]], CurrencyCounts]:
        query = self.query
        firsts = self._bucket_firsts()
        (rows,) = await fetch(
            self.db,
            counters_sql(
                query, query.range, Dim.PURCHASE, ("count", "revenue"), by=("day", "value"), present="count"
            ),
        )
        days: dict[int, list[Any]] = defaultdict(lambda: [0.0, 0])
        counts: dict[Any, int] = defaultdict(int)
        for day, value, count, amount in rows:
            currency, point = _first(value), days[bisect_right(firsts, day) - 1]
            point[1] += count
            counts[currency] += count
            if currency == query.currency:
                point[0] += amount
        found = {index: (revenue, count) for index, (revenue, count) in days.items()}
        return found, _other_currencies(counts, query)

    async def products(self) -> tuple[Rows, CurrencyCounts]:
        """Other currencies are counted by the purchases carrying their items."""
        query = self.query
        items, carriers = await fetch(
            self.db,
            counters_sql(query, query.range, Dim.ITEM, ("revenue", "quantity", "count"), present="count"),
            counters_sql(query, query.range, Dim.ITEM_EVENTS, ("count",), present="count"),
        )
        by_name: dict[str, list[Any]] = defaultdict(lambda: [0.0, 0, 0])
        for value, amount, quantity, orders in items:
            name, currency = decode(value)
            row = by_name[name]
            row[0] += amount if currency == query.currency else 0.0
            row[1] += quantity
            row[2] += orders
        rows = [(name, *sums) for name, sums in by_name.items()]
        others = _other_currencies({_first(value): n for value, n in carriers}, query)
        return top(rows, lambda r: (-r[1], -r[2], r[0]), query), others

    async def revenue_by_source(self) -> tuple[Rows, CurrencyCounts]:
        query = self.query
        sources, purchases = await fetch(
            self.db,
            counters_sql(query, query.range, Dim.SOURCE_REVENUE, ("revenue", "count"), present="count"),
            counters_sql(query, query.range, Dim.PURCHASE, ("count",), present="count"),
        )
        by_source: dict[str, list[Any]] = defaultdict(lambda: [0.0, 0])
        for value, amount, count in sources:
            source, currency = decode(value)
            row = by_source[source]
            row[0] += amount if currency == query.currency else 0.0
            row[1] += count
        rows = [(source, *sums) for source, sums in by_source.items()]
        others = _other_currencies({_first(value): n for value, n in purchases}, query)
        return top(rows, lambda r: (-r[1], -r[2], r[0]), query), others

    async def funnel_counts(self) -> list[int]:
        """Whole local days: visitors whose funnel lies inside the range are counted per depth;
        the few straddling an edge are replayed from their steps."""
        rng, site_ids = self.query.range, self.query.site_ids
        f, d = funnel_visitors.c, funnel_depths.c
        first, last = day_number(rng.date_from), day_number(rng.date_to)
        inside = select(d.depth, func.sum(d.n)).where(d.site_id.in_(site_ids), d.first_day >= first)
        inside = inside.where(d.last_day <= last).group_by(d.depth)
        starts_before = and_(f.first_day.between(first - MAX_SPAN_DAYS, first - 1), f.last_day >= first)
        ends_after = and_(f.first_day.between(max(first, last - MAX_SPAN_DAYS), last), f.last_day > last)
        edge_rows = [
            select(f.steps).where(f.site_id.in_(site_ids), edge) for edge in (starts_before, ends_after)
        ]
        straddling = union_all(*edge_rows)  # two index ranges (an OR would scan the site's rows)
        counted, replayed = await fetch(self.db, inside, straddling)
        reached = [0] * (len(FUNNEL_STEPS) + 1)
        for steps_depth, n in counted:
            reached[steps_depth] += n
        for (steps,) in replayed:
            reached[depth([(s, ts) for s, ts in orjson.loads(steps)], rng.start_ms, rng.end_ms)] += 1
        return [sum(reached[n:]) for n in range(1, len(FUNNEL_STEPS) + 1)]

    async def current(self, window: DateRange) -> protocol.Current:
        """Rollups count whole days: the last minutes come from the raw tables."""
        return await RawTables(self.db, self.query).current(window)

    async def custom_events(self) -> Rows:
        """Rollups keep no custom event names: the raw tables answer."""
        return await RawTables(self.db, self.query).custom_events()

    async def event_props(self, name: str, rows: int) -> Rows:
        return await RawTables(self.db, self.query).event_props(name, rows)

    async def breakdown(self, plan: protocol.BreakdownPlan) -> protocol.BreakdownCounts:
        """One visit attribute the rollups keep alone (channel, device, ...) without conversions
        or revenue; anything else (two keys, pages' visits, sites, events) the raw tables answer."""
        if _pages_alone(plan):
            pages = await self._page_rows(by_site=False)  # no visits count asked: the page rollups answer
            return protocol.BreakdownCounts([(path, people, 0, n, 0, 0, n) for path, people, n, _ in pages])
        dim = _kept_dim(plan)
        if dim is None:
            return await RawTables(self.db, self.query).breakdown(plan)
        query = self.query
        counters = ("visits", "visit_pageviews", "bounces", "duration_ms")
        counts, people = await fetch(
            self.db,
            counters_sql(query, query.range, dim, counters, present="visits"),
            visitors_sql(query, query.range, dim),
        )
        visitors = _visitors(people)
        rows = [(_first(value), visitors.get(value, 0), *map(int, sums), 0) for value, *sums in counts]
        return protocol.BreakdownCounts(rows)

    async def scroll_depth(self) -> Rows:
        """Rollups keep no scroll depths: the raw tables answer."""
        return await RawTables(self.db, self.query).scroll_depth()
