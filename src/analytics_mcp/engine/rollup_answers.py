"""Engine answers read from the rollups, in the row layout of the raw statements they replace (same
columns, same order, the raw LIMIT's `limit + 1` rows), so each engine function shapes its result
one way whichever tables answered.

Grouped values come back as JSON arrays: they are decoded here and sorted with the raw ORDER BY's
rules: counts descending, then keys ascending with NULL first and text in binary order (Python's
str order: UTF-8 bytes sort as the code points they encode).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Select, and_, func, select, union_all

from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.rollup_sql import counters_sql, day_span, visitors_per_day_sql, visitors_sql
from analytics_mcp.engine.runner import fetch
from analytics_mcp.rollups.funnel import MAX_SPAN_DAYS, depth
from analytics_mcp.rollups.keys import FUNNEL_STEPS, VISIT_DIM_COLUMNS, Dim, day_number, decode, encode
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.schema import funnel_depths, funnel_visitors, rollup_daily

Row = tuple[Any, ...]
Rows = Sequence[Any]  # ordered rows in a raw statement's layout
VISIT_TOTALS = ("pageviews", "visits", "bounces", "duration_ms", "visit_pageviews")


def ascending(value: Any) -> tuple[bool, Any]:
    """Sort key of an ORDER BY ... ASC term: NULL first."""
    return (value is not None, 0 if value is None else value)


def top(rows: Iterable[Row], key: Callable[[Row], Any], query: Query) -> list[Row]:
    return sorted(rows, key=key)[: query.limit + 1]


def _first(value: str) -> Any:
    return decode(value)[0]


def _visitors(rows: Iterable[Row]) -> dict[str, int]:
    return {value: n for value, n in rows}


def _other_currencies(counts: dict[Any, int], query: Query) -> list[Row]:
    """(currency, count) of the currencies other than the reporting one, by currency."""
    found = [(code, n) for code, n in counts.items() if code is not None and code != query.currency and n]
    return sorted(found)


async def visit_breakdown(db: Database, query: Query, dim: Dim, extra: Sequence[str]) -> Rows:
    """(*keys, visitors, visits, *extra counters), by visitors, visits, keys."""
    counts, people = await fetch(
        db,
        counters_sql(query, query.range, dim, ("visits", *extra), present="visits"),
        visitors_sql(query, query.range, dim),
    )
    visitors = _visitors(people)
    rows = [(*decode(value), visitors.get(value, 0), *sums) for value, *sums in counts]
    n = len(VISIT_DIM_COLUMNS[dim])
    return top(rows, lambda r: (-r[n], -r[n + 1], *(ascending(k) for k in r[:n])), query)


async def pages(db: Database, query: Query) -> Rows:
    """(pathname, visitors, pageviews, mean time on page in ms or None), by pageviews, visitors,
    pathname."""
    counts, people = await fetch(
        db,
        counters_sql(
            query, query.range, Dim.PAGE, ("pageviews", "top_sum_ms", "top_count"), present="pageviews"
        ),
        visitors_sql(query, query.range, Dim.PAGE),
    )
    visitors = _visitors(people)
    rows = [
        (_first(value), visitors.get(value, 0), pageviews, total / count if count else None)
        for value, pageviews, total, count in counts
    ]
    return top(rows, lambda r: (-r[2], -r[1], r[0]), query)


async def totals(db: Database, query: Query, rng: DateRange) -> tuple[int, int, int, int, int, int]:
    """visitors, pageviews, visits, bounces, duration_ms, visit_pageviews over the range."""
    people, sums = await fetch(
        db,
        visitors_sql(query, rng, Dim.ALL, by_value=False),
        counters_sql(query, rng, Dim.ALL, VISIT_TOTALS, by=()),
    )
    pageviews, visits, bounces, duration_ms, visit_pageviews = (int(s or 0) for s in sums[0])
    return people[0][0], pageviews, visits, bounces, duration_ms, visit_pageviews


async def per_day(db: Database, query: Query) -> tuple[dict[int, int], dict[int, int]]:
    """(visitors, pageviews) by day index in the range (0 = its first day); days without are left
    out."""
    first, _ = day_span(query.range)
    people, views = await fetch(
        db,
        visitors_per_day_sql(query, query.range, Dim.ALL),
        counters_sql(query, query.range, Dim.ALL, ("pageviews",), by=("day",), present="pageviews"),
    )
    return {day - first: n for day, n in people}, {day - first: n for day, n in views}


async def hours(db: Database, query: Query) -> Rows:
    """(local hour, visitors, pageviews) for the hours of day with traffic."""
    people, views = await fetch(
        db,
        visitors_sql(query, query.range, Dim.HOUR),
        counters_sql(query, query.range, Dim.HOUR, ("pageviews",)),
    )
    visitors = {_first(value): n for value, n in people if n}
    pageviews = {_first(value): n for value, n in views if n}
    return [(h, visitors.get(h, 0), pageviews.get(h, 0)) for h in sorted(visitors.keys() | pageviews.keys())]


def goal_total_sql(query: Query, goal_id: str) -> Select[Any]:
    """One goal's completions in range (one row: the total, or null without completions)."""
    stmt = counters_sql(query, query.range, Dim.GOAL, ("count",), by=())
    return select(func.coalesce(stmt.where(rollup_daily.c.value == encode(goal_id)).scalar_subquery(), 0))


async def goal_counts(db: Database, query: Query) -> tuple[Rows, int]:
    """((goal_id, completions, converting visitors) per goal with completions, visitors)."""
    counts, people, everyone = await fetch(
        db,
        counters_sql(query, query.range, Dim.GOAL, ("count",), present="count"),
        visitors_sql(query, query.range, Dim.GOAL),
        visitors_sql(query, query.range, Dim.ALL, by_value=False),
    )
    visitors = _visitors(people)
    rows = [(_first(value), completions, visitors.get(value, 0)) for value, completions in counts]
    return rows, everyone[0][0]


async def commerce_totals(db: Database, query: Query, rng: DateRange) -> tuple[Row, int, Rows]:
    """((transactions, revenue, transactions in currency, purchasing visitors), visitors, other
    currencies)."""
    purchases, buyers, people = await fetch(
        db,
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
    totals = (sum(counts.values()), revenue, counts.get(query.currency, 0), buyers[0][0])
    return totals, people[0][0], _other_currencies(counts, query)


async def revenue_per_day(db: Database, query: Query) -> tuple[Rows, Rows]:
    """((day index, revenue, transactions) per day with purchases, other currencies)."""
    first, _ = day_span(query.range)
    (rows,) = await fetch(
        db,
        counters_sql(
            query, query.range, Dim.PURCHASE, ("count", "revenue"), by=("day", "value"), present="count"
        ),
    )
    days: dict[int, list[Any]] = defaultdict(lambda: [0.0, 0])
    counts: dict[Any, int] = defaultdict(int)
    for day, value, count, amount in rows:
        currency, point = _first(value), days[day - first]
        point[1] += count
        counts[currency] += count
        if currency == query.currency:
            point[0] += amount
    found = [(index, revenue, count) for index, (revenue, count) in days.items()]
    return found, _other_currencies(counts, query)


async def products(db: Database, query: Query) -> tuple[Rows, Rows]:
    """((item_name, revenue, quantity, orders), by revenue, quantity, name; other currencies by the
    purchases carrying their items)."""
    items, carriers = await fetch(
        db,
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


async def revenue_by_source(db: Database, query: Query) -> tuple[Rows, Rows]:
    """((source, revenue, transactions), by revenue, transactions, source; other currencies)."""
    sources, purchases = await fetch(
        db,
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


async def funnel_counts(db: Database, query: Query, rng: DateRange) -> list[int]:
    """Visitors reaching each funnel step within the range (whole local days)."""
    f, d = funnel_visitors.c, funnel_depths.c
    first, last = day_number(rng.date_from), day_number(rng.date_to)
    inside = select(d.depth, func.sum(d.n)).where(d.site_id.in_(query.site_ids), d.first_day >= first)
    inside = inside.where(d.last_day <= last).group_by(d.depth)
    starts_before = and_(f.first_day.between(first - MAX_SPAN_DAYS, first - 1), f.last_day >= first)
    ends_after = and_(f.first_day.between(max(first, last - MAX_SPAN_DAYS), last), f.last_day > last)
    edge_rows = [
        select(f.steps).where(f.site_id.in_(query.site_ids), edge) for edge in (starts_before, ends_after)
    ]
    straddling = union_all(*edge_rows)  # two index ranges (an OR would scan the site's rows)
    counted, replayed = await fetch(db, inside, straddling)
    reached = [0] * (len(FUNNEL_STEPS) + 1)
    for steps_depth, n in counted:
        reached[steps_depth] += n
    for (steps,) in replayed:
        reached[depth([(s, ts) for s, ts in orjson.loads(steps)], rng.start_ms, rng.end_ms)] += 1
    return [sum(reached[n:]) for n in range(1, len(FUNNEL_STEPS) + 1)]
