"""Pageviews of a range from the visits' own counters: ClickHouse's form of visit_pageviews.py,
for the overview's totals without a page filter (unfiltered or under visit filters).

Counting the range's pageview events reads every one of them with FINAL (events are rewritten when
their engaged time arrives), and under a visit filter tests each against the passing visits' ids.
The totals read the visits started in range anyway; a visit whose span [started_at, ended_at] lies
inside the range has all its pageviews there (a visit's events lie in its span), so its `pageviews`
counter is its share. The others cross an edge: started before the range and ended in it or later,
or started in it and ended at or after its end. Their pageviews in range are counted from the
events, read only between the range's start and the latest end of the first kind, and between the
earliest start of the second kind and the range's end: a few granules around each edge.
"""

from __future__ import annotations

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.engine.store.clickhouse_scope import ChScope


def inside_pageviews(scope: ChScope) -> str:
    """The aggregate, over the visits started in range, of the pageviews of those ending in it."""
    return f"sumIf(v.pageviews, v.ended_at < {scope.at(scope.rng.end_ms)})"


def crossing_pageviews_sql(scope: ChScope) -> str:
    """The range's pageviews of the passing visits crossing one of its edges (a scalar)."""
    start, end = scope.at(scope.rng.start_ms), scope.at(scope.rng.end_ms)
    after = f"v.started_at >= {start} AND v.started_at < {end} AND v.ended_at >= {end}"
    latest_end = f"({scope.visits_running_in('max(v.ended_at)')})"
    earliest_start = f"ifNull({_visits(scope, 'minOrNull(v.started_at)', after)}, {end})"
    return (
        f"{_pageviews(scope, f'({scope.visits_running_in()})', scope.until('e.ts', latest_end))} + "
        f"{_pageviews(scope, _visits(scope, 'v.id', after), scope.since('e.ts', earliest_start))}"
    )


def _visits(scope: ChScope, column: str, span: str) -> str:
    where = " AND ".join([*scope.visit_conditions(page_exists=False), span])
    return f"(SELECT {column} FROM {scope.table('visits', 'v')} WHERE {where})"


def _pageviews(scope: ChScope, visit_ids: str, bound: str) -> str:
    conds = [
        scope.sites("e.site_id"),
        scope.in_range("e.ts"),
        bound,
        f"e.name = {scope.param(PAGEVIEW, 'String')}",
        f"e.visit_id IN {visit_ids}",
    ]
    return f"(SELECT count() FROM {scope.table('events', 'e')} WHERE {' AND '.join(conds)})"
