"""Statements of the rollups store (docs/rollups.md) over rollup_daily and rollup_visitors.

Every statement restricts `site_id` to the query's sites, as `Scope` does for the raw tables, and
covers the local days of one `DateRange`; `rollups_answer` (choice.py) says when that is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, case, false, func, literal, or_, select

from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.rollups.keys import Dim, day_number, encode
from analytics_mcp.storage.schema import rollup_daily, rollup_visitors


def day_span(rng: DateRange) -> tuple[int, int]:
    """The range's first and last local day as rollup day numbers."""
    return day_number(rng.date_from), day_number(rng.date_to)


def _restricted(table: Table, query: Query, rng: DateRange, dim: Dim) -> list[ColumnElement[bool]]:
    first, last = day_span(rng)
    ids = query.site_ids
    return [
        table.c.site_id.in_(ids) if ids else false(),
        table.c.dim == int(dim),
        table.c.day >= first,
        table.c.day <= last,
    ]


def counters_sql(
    query: Query,
    rng: DateRange,
    dim: Dim,
    counters: Sequence[str],
    *,
    by: Sequence[str] = ("value",),
    present: str | None = None,
) -> Select[Any]:
    """(*by, sum of each counter) of `dim` over the range's days, grouped by the `by` columns
    (value and/or day; none: one row of totals, sums null without rows). With `present`, groups
    whose `present` counter sums to 0 are left out: the raw tables have no rows for them."""
    d = rollup_daily
    keys = [d.c[name] for name in by]
    stmt = select(*keys, *(func.sum(d.c[name]) for name in counters))
    stmt = stmt.where(*_restricted(d, query, rng, dim))
    if keys:
        stmt = stmt.group_by(*keys)
    if present is not None:
        stmt = stmt.having(func.sum(d.c[present]) > 0)
    return stmt


def visitors_sql(
    query: Query, rng: DateRange, dim: Dim, *, by_value: bool = True, by_site: bool = False
) -> Select[Any]:
    """Distinct visitors of `dim` over the range's days A..B, by value (or in total):
    SUM(n) WHERE day BETWEEN A AND B AND (gap = 0 OR gap > day - A), each visitor counting on
    its first mark in the range."""
    v = rollup_visitors
    first, _ = day_span(rng)
    first_mark_in_range = or_(v.c.gap == 0, v.c.gap > v.c.day - first)
    keys = ([v.c.site_id] if by_site else []) + ([v.c.value] if by_value else [])
    stmt = select(*keys, func.coalesce(func.sum(v.c.n), 0))
    stmt = stmt.where(*_restricted(v, query, rng, dim), first_mark_in_range)
    return stmt.group_by(*keys) if keys else stmt


def visitors_per_day_sql(query: Query, rng: DateRange, dim: Dim) -> Select[Any]:
    """(day, distinct visitors of `dim` on that day): every mark of the day counts."""
    first, last = day_span(rng)
    return visitors_per_bucket_sql(query, rng, dim, range(first, last + 1))


def visitors_per_bucket_sql(query: Query, rng: DateRange, dim: Dim, firsts: Sequence[int]) -> Select[Any]:
    """(bucket's first day, distinct visitors of `dim` in the bucket). A bucket runs from one of
    `firsts` (ascending day numbers, the range's first day first) to the day before the next: the
    gap rule of `visitors_sql` per bucket, each visitor counting on its first mark in it. A bucket
    of one day counts every mark of the day."""
    v = rollup_visitors
    first_day = _bucket_first_day(v.c.day, firsts, one_day=len(firsts) == rng.days).label("first_day")
    counted: list[ColumnElement[Any]] = [first_day, func.sum(v.c.n)]
    stmt = select(*counted).where(*_restricted(v, query, rng, dim))
    if len(firsts) < rng.days:
        stmt = stmt.where(or_(v.c.gap == 0, v.c.gap > v.c.day - first_day))
    return stmt.group_by(first_day)


def _bucket_first_day(day: ColumnElement[int], firsts: Sequence[int], *, one_day: bool) -> ColumnElement[int]:
    if one_day:
        return day
    whens = [(day < literal(following), literal(first)) for first, following in pairwise(firsts)]
    return case(*whens, else_=literal(firsts[-1])) if whens else literal(firsts[0])


def goal_total_sql(query: Query, goal_id: str) -> Select[Any]:
    """One goal's completions in range (one row: the total, 0 without completions)."""
    stmt = counters_sql(query, query.range, Dim.GOAL, ("count",), by=())
    return select(func.coalesce(stmt.where(rollup_daily.c.value == encode(goal_id)).scalar_subquery(), 0))
