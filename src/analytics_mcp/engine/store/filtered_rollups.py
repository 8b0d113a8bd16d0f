"""Totals under one visit filter `dimension==value` from the visit dimensions' rollups.

The rollups of a visit dimension (docs/rollups.md) keep, per local day and value, the counters of
the visits started that day (visits, bounces, duration, pageviews) and the distinct visitors with
such a visit. Under `device==mobile` the totals of a range are the passing visits' (those with
that value), corrected for the passing visits crossing the range's edges, which are few and found
among the events of an edge's first half hour (`Scope.crossing_visits`):

- visitors: the rollups' visitors with a passing visit started in range, plus the visitors of
  passing visits started before the range that run into it and have no passing visit started in
  it;
- pageviews: the passing visits' pageview counters, minus those of the passing visits started in
  range that run past its end, plus the pageviews in range of every passing visit crossing an edge;
- visits, bounces, duration and their pageviews: the counters, as the raw tables date visits by
  their start.

Only for a dimension whose rollup value is that one visits column, and one `is` value: visitors
of several values would count a visitor once per value. The raw tables read every passing visit
of the range instead (and count their distinct visitors, the costly part: 300k at 10M events).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, distinct, exists, func, literal_column, select

from analytics_mcp.engine.filters import VISIT_DIMENSIONS, Filter
from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.runner import fetch
from analytics_mcp.engine.store.compiler import PAGEVIEW_NAME, Scope, condition
from analytics_mcp.engine.store.protocol import Totals
from analytics_mcp.engine.store.raw_store import RawTables
from analytics_mcp.engine.store.rollup_sql import counters_sql, visitors_sql
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim, encode
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.schema import events, rollup_daily, rollup_visitors, visits

# Filter dimension -> the rollup dimension whose value is that visits column alone.
_ONE_COLUMN_DIMS: dict[str, Dim] = {
    name: dim
    for dim, columns in VISIT_DIM_COLUMNS.items()
    for name, column in VISIT_DIMENSIONS.items()
    if columns == (column,)
}
VISIT_COUNTERS = ("visits", "bounces", "duration_ms", "visit_pageviews")


def rollup_filter(query: Query) -> tuple[Filter, Dim] | None:
    """The query's one filter and its rollup dimension, when the rollups can answer under it."""
    if len(query.filters) != 1:
        return None
    flt = query.filters[0]
    dim = _ONE_COLUMN_DIMS.get(flt.dimension)
    if dim is None or flt.operator != "is" or len(flt.values) != 1:
        return None
    return flt, dim


class FilteredRollups(RawTables):
    """The raw-tables store, but totals from the rollups of the query's one visit filter."""

    def __init__(self, db: Database, query: Query, flt: Filter, dim: Dim) -> None:
        super().__init__(db, query)
        self.flt, self.dim = flt, dim

    async def totals(self, rng: DateRange) -> Totals:
        (row,) = (await fetch(self.db, self._totals_sql(rng)))[0]
        visitors, pageviews, visits_, bounces, duration, visit_pageviews = (int(n or 0) for n in row)
        return Totals(visitors, pageviews, visits_, bounces, duration, visit_pageviews)

    def _totals_sql(self, rng: DateRange) -> Select[Any]:
        code = encode(self.flt.values[0])
        query, dim, scope = self.query, self.dim, self._scope(rng)
        counted = counters_sql(query, rng, dim, VISIT_COUNTERS, by=()).where(rollup_daily.c.value == code)
        counters = counted.subquery("counters")
        people = visitors_sql(query, rng, dim, by_value=False).where(rollup_visitors.c.value == code)
        return select(
            (people.scalar_subquery() + self._visitors_running_in(scope).scalar_subquery()),
            (func.coalesce(counters.c[3], 0) - self._pageviews_past_end(scope).scalar_subquery())
            + self._pageviews_of_crossing(scope).scalar_subquery(),
            *counters.c,
        )

    def _passes(self, alias: Any) -> Any:
        return condition(alias.c[VISIT_DIMENSIONS[self.flt.dimension]], self.flt, self.dialect)

    def _visitors_running_in(self, scope: Scope) -> Select[Any]:
        """Visitors of passing visits started before the range that run into it, without a
        passing visit started in it."""
        crossing, w = visits.alias("crossing"), visits.alias("w")
        started_in_range = and_(
            w.c.site_id == crossing.c.site_id,
            w.c.visitor_id == crossing.c.visitor_id,
            # By the visitor (ix_visits_lookup): `+ 0` keeps SQLite off the index of start times,
            # which would scan the whole range for each crossing visitor.
            *scope.in_range(w.c.started_at + literal_column("0")),
            self._passes(w),
        )
        stmt = select(func.count(distinct(crossing.c.visitor_id))).where(
            crossing.c.id.in_(scope.crossing_visits([scope.rng.start_ms], "start_edge"))
        )
        return stmt.where(~exists().where(started_in_range))

    def _pageviews_past_end(self, scope: Scope) -> Select[Any]:
        """Pageview counters of the passing visits started in range that run past its end."""
        late = visits.alias("late")
        stmt = select(func.coalesce(func.sum(late.c.pageviews), 0))
        running_past = late.c.id.in_(scope.crossing_visits([scope.rng.end_ms], "end_edge"))
        return stmt.where(running_past, *scope.in_range(late.c.started_at))

    def _pageviews_of_crossing(self, scope: Scope) -> Select[Any]:
        """Pageviews in range of the passing visits crossing the range's start or end."""
        pv = events.alias("pv")
        edges = [scope.rng.start_ms, scope.rng.end_ms]
        stmt = select(func.count()).where(pv.c.visit_id.in_(scope.crossing_visits(edges, "both_edges")))
        return stmt.where(pv.c.name == PAGEVIEW_NAME, *scope.in_range(pv.c.ts))
