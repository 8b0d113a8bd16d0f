"""Statements of the raw-tables store for traffic: totals, buckets, hours, visit breakdowns and
pages, over visits and events. Built through `Scope`, which adds the sites, range and filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, and_, case, distinct, func, literal, or_, select

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.presence import bucket_windows, present_visitors
from analytics_mcp.engine.store.protocol import VisitCounter
from analytics_mcp.engine.store.visit_pageviews import visit_pageviews_per_bucket_sql, visit_pageviews_sql
from analytics_mcp.engine.timebuckets import bucket_plan, hour_of_day_index
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim
from analytics_mcp.storage.dialects import Dialect


def limited(stmt: Select[Any], query: Query) -> Select[Any]:
    return stmt.limit(query.limit + 1)  # one more row tells whether the list was truncated


def is_bounce(scope: Scope) -> ColumnElement[int]:
    v = scope.v
    return case((and_(v.c.pageviews == 1, v.c.interactions == 0), 1), else_=0)


def duration_ms(scope: Scope) -> ColumnElement[int]:
    """A visit's duration, 0 for a bounce."""
    v = scope.v
    return case((is_bounce(scope) == 1, literal(0)), else_=v.c.ended_at - v.c.started_at)


def visit_totals_sql(scope: Scope) -> Select[Any]:
    """visits, bounces, total duration (bounces as 0) and pageviews of visits started in range."""
    v = scope.v
    return scope.visits_started(
        func.count(), func.sum(is_bounce(scope)), func.sum(duration_ms(scope)), func.sum(v.c.pageviews)
    )


def visitors_sql(scope: Scope, started_visits: FromClause | None = None) -> Select[Any]:
    """Distinct visitor ids among the events in range (with a page filter: among the matching
    pageviews); see `presence` for why the visits table answers it without a page filter."""
    if scope.query.page_filters:
        return scope.traffic_events(func.count(distinct(scope.e.c.visitor_id)))
    windows = bucket_windows([scope.rng.start_ms], scope.rng.end_ms)
    present = present_visitors(scope, lambda _ts: literal(0), windows, started_visits)
    return select(func.count()).select_from(present)


def visit_filtered_totals_sql(scope: Scope) -> Select[Any]:
    """One row (visitors, pageviews, visits, bounces, duration, visit pageviews) of the range
    under visit filters only. The passing visits started in range are read once, into a
    materialised CTE that all six numbers read, instead of once per number (the visits of the
    range are the cost: 742k in 30 days at 10M events)."""
    v = scope.v
    started = (
        scope.visits_started(
            v.c.id,
            v.c.visitor_id,
            v.c.started_at,
            v.c.pageviews,
            is_bounce(scope).label("bounce"),
            duration_ms(scope).label("duration"),
        )
        .cte("started_visits")
        .prefix_with("MATERIALIZED")
    )
    s = started.c
    counters = select(func.count(), func.sum(s.bounce), func.sum(s.duration), func.sum(s.pageviews))
    visits = counters.select_from(started).subquery("visit_counters")
    return select(
        visitors_sql(scope, started).scalar_subquery(),
        visit_pageviews_sql(scope, started).scalar_subquery(),
        *visits.c,
    )


def pageviews_sql(scope: Scope) -> Select[Any]:
    """Pageviews by their own time (only the matching ones with a page filter; with visit filters
    only, from the passing visits' counters)."""
    if scope.query.visit_filters and not scope.query.page_filters:
        return visit_pageviews_sql(scope)
    return scope.traffic_events(func.count(), pageviews_only=True)


def timeseries_sql(query: Query, dialect: Dialect) -> tuple[Select[Any], Select[Any]]:
    """(visitors per bucket, pageviews per bucket)."""
    scope = Scope(query, dialect)
    e = scope.e
    buckets = bucket_plan(query, dialect)
    bucket = buckets.index(e.c.ts).label("bucket")
    if query.visit_filters and not query.page_filters:
        pageviews = visit_pageviews_per_bucket_sql(scope, buckets.index, buckets.starts, buckets.end_ms)
    else:
        pageviews = scope.traffic_events(bucket, func.count(), pageviews_only=True).group_by(bucket)
    if query.page_filters:
        visitors = scope.traffic_events(bucket, func.count(distinct(e.c.visitor_id))).group_by(bucket)
    else:
        present = present_visitors(scope, buckets.index, bucket_windows(buckets.starts, buckets.end_ms))
        visitors = select(present.c.b, func.count()).group_by(present.c.b)
    return visitors, pageviews


def pageview_flag(scope: Scope) -> ColumnElement[int]:
    return case((scope.e.c.name == PAGEVIEW, 1), else_=0)


def hour_of_day_sql(query: Query, dialect: Dialect) -> Select[Any]:
    scope = Scope(query, dialect)
    e = scope.e
    hour = hour_of_day_index(query, dialect, e.c.ts).label("hour")
    stmt = scope.traffic_events(hour, func.count(distinct(e.c.visitor_id)), func.sum(pageview_flag(scope)))
    return stmt.group_by(hour)


def visit_breakdown_sql(
    query: Query, dialect: Dialect, dim: Dim, extra: Sequence[VisitCounter] = ()
) -> Select[Any]:
    """Group visits started in range by the columns of `dim` (visits counted under it only):
    keys, visitors, visits, then the `extra` counters, by visitors, visits, keys."""
    scope = Scope(query, dialect)
    v = scope.v
    keys = [v.c[name] for name in VISIT_DIM_COLUMNS[dim]]
    sums = {"visit_pageviews": func.sum(v.c.pageviews), "bounces": func.sum(is_bounce(scope))}
    visitors = func.count(distinct(v.c.visitor_id))
    stmt = scope.visits_started(*keys, visitors, func.count(), *(sums[name] for name in extra))
    if dim is Dim.CAMPAIGN:
        stmt = stmt.where(or_(*(key.is_not(None) for key in keys)))
    elif dim is Dim.EXIT:
        stmt = stmt.where(keys[0].is_not(None))
    return stmt.group_by(*keys).order_by(
        visitors.desc(), func.count().desc(), *(dialect.ascending(k) for k in keys)
    )


def pages_sql(query: Query, dialect: Dialect, *, by_site: bool = False) -> Select[Any]:
    """Pageviews in range by path (by site and path with `by_site`): visitors, pageviews, mean
    time on page (engaged time, else the gap to the next pageview; pageviews with neither are left
    out of the mean)."""
    scope = Scope(query, dialect)
    e = scope.e
    pageviews = func.count()
    time_on_page = func.avg(func.coalesce(e.c.engaged_ms, e.c.gap_ms))
    keys = [e.c.site_id, e.c.pathname] if by_site else [e.c.pathname]
    stmt = scope.traffic_events(
        *keys, func.count(distinct(e.c.visitor_id)), pageviews, time_on_page, pageviews_only=True
    )
    return stmt.group_by(*keys).order_by(
        pageviews.desc(),
        func.count(distinct(e.c.visitor_id)).desc(),
        dialect.ascending(e.c.pathname),
        *keys[:-1],
    )
