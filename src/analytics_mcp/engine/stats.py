"""Overview (with comparison), timeseries and hour of day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal, select

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.engine import rollup_answers as from_rollups
from analytics_mcp.engine.compiler import Scope
from analytics_mcp.engine.numbers import change, point_change, rate, ratio, seconds
from analytics_mcp.engine.periods import DateRange
from analytics_mcp.engine.presence import bucket_windows, present_visitors
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import (
    HourOfDay,
    HourRow,
    Overview,
    ReportRange,
    Timeseries,
    TimeseriesPoint,
)
from analytics_mcp.engine.rollup_sql import usable
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.timebuckets import bucket_plan, hour_of_day_index
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.dialects import Dialect


def is_bounce(scope: Scope) -> ColumnElement[int]:
    v = scope.v
    return case((and_(v.c.pageviews == 1, v.c.interactions == 0), 1), else_=0)


def visit_totals_sql(scope: Scope) -> Select[Any]:
    """visits, bounces, total duration (bounces as 0) and pageviews of visits started in range."""
    v = scope.v
    duration = case((is_bounce(scope) == 1, literal(0)), else_=v.c.ended_at - v.c.started_at)
    return scope.visits_started(
        func.count(), func.sum(is_bounce(scope)), func.sum(duration), func.sum(v.c.pageviews)
    )


def visitors_sql(scope: Scope) -> Select[Any]:
    """Distinct visitor ids among the events in range (with a page filter: among the matching
    pageviews); see `presence` for why the visits table answers it without a page filter."""
    if scope.query.page_filters:
        return scope.traffic_events(func.count(distinct(scope.e.c.visitor_id)))
    windows = bucket_windows([scope.rng.start_ms], scope.rng.end_ms)
    present = present_visitors(scope, lambda _ts: literal(0), windows)
    return select(func.count()).select_from(present)


def pageviews_sql(scope: Scope) -> Select[Any]:
    """Pageviews by their own time (only the matching ones with a page filter)."""
    return scope.traffic_events(func.count(), pageviews_only=True)


@dataclass(frozen=True, slots=True)
class Totals:
    visitors: int
    pageviews: int
    visits: int
    bounces: int
    duration_ms: int
    visit_pageviews: int

    @property
    def bounce_rate(self) -> float:
        return rate(self.bounces, self.visits)

    @property
    def avg_duration(self) -> int:
        return seconds(self.duration_ms / self.visits) if self.visits else 0

    @property
    def views_per_visit(self) -> float:
        return ratio(self.visit_pageviews, self.visits, 2)


async def totals(db: Database, query: Query, rng: DateRange) -> Totals:
    if usable(query):
        return Totals(*await from_rollups.totals(db, query, rng))
    scope = Scope(query, dialect_of(db), rng)
    visitors, pageviews, visit = await fetch(
        db, visitors_sql(scope), pageviews_sql(scope), visit_totals_sql(scope)
    )
    visits, bounces, duration, visit_pageviews = visit[0]
    return Totals(visitors[0][0], pageviews[0][0], visits, bounces or 0, duration or 0, visit_pageviews or 0)


async def overview(db: Database, query: Query) -> Overview:
    """visitors, visits, pageviews, views per visit, bounce rate, avg duration, and their changes
    against the previous range of the same length."""
    now, before = await totals(db, query, query.range), await totals(db, query, query.comparison)
    return Overview(
        range=ReportRange.of(query),
        comparison=ReportRange.of(query.with_range(query.comparison)),
        visitors=now.visitors,
        visits=now.visits,
        pageviews=now.pageviews,
        views_per_visit=now.views_per_visit,
        bounce_rate=now.bounce_rate,
        avg_duration=now.avg_duration,
        visitors_change=change(now.visitors, before.visitors),
        visits_change=change(now.visits, before.visits),
        pageviews_change=change(now.pageviews, before.pageviews),
        views_per_visit_change=change(now.views_per_visit, before.views_per_visit),
        bounce_rate_change=point_change(now.bounce_rate, before.bounce_rate, now.visits, before.visits),
        avg_duration_change=change(now.avg_duration, before.avg_duration),
    )


def timeseries_sql(query: Query, dialect: Dialect) -> tuple[list[str], Select[Any], Select[Any]]:
    """(bucket labels, visitors per bucket, pageviews per bucket)."""
    scope = Scope(query, dialect)
    e = scope.e
    buckets = bucket_plan(query, dialect)
    bucket = buckets.index(e.c.ts).label("bucket")
    pageviews = scope.traffic_events(bucket, func.count(), pageviews_only=True).group_by(bucket)
    if query.page_filters:
        visitors = scope.traffic_events(bucket, func.count(distinct(e.c.visitor_id))).group_by(bucket)
    else:
        present = present_visitors(scope, buckets.index, bucket_windows(buckets.starts, buckets.end_ms))
        visitors = select(present.c.b, func.count()).group_by(present.c.b)
    return buckets.labels, visitors, pageviews


async def timeseries(db: Database, query: Query) -> Timeseries:
    """visitors and pageviews per bucket (hour for 24h, local day otherwise), zero-filled."""
    if usable(query):
        labels = bucket_plan(query, dialect_of(db)).labels
        visitors, pageviews = await from_rollups.per_day(db, query)
    else:
        labels, *statements = timeseries_sql(query, dialect_of(db))
        visitors, pageviews = (dict(rows) for rows in await fetch(db, *statements))
    points = [
        TimeseriesPoint(date=label, visitors=visitors.get(i, 0), pageviews=pageviews.get(i, 0))
        for i, label in enumerate(labels)
    ]
    return Timeseries(range=ReportRange.of(query), rows=points)


def pageview_flag(scope: Scope) -> ColumnElement[int]:
    return case((scope.e.c.name == PAGEVIEW, 1), else_=0)


def hour_of_day_sql(query: Query, dialect: Dialect) -> Select[Any]:
    scope = Scope(query, dialect)
    e = scope.e
    hour = hour_of_day_index(query, dialect, e.c.ts).label("hour")
    stmt = scope.traffic_events(hour, func.count(distinct(e.c.visitor_id)), func.sum(pageview_flag(scope)))
    return stmt.group_by(hour)


async def hour_of_day(db: Database, query: Query) -> HourOfDay:
    """visitors and pageviews by local hour of day 0-23 over the range, zero-filled."""
    if usable(query):
        rows = await from_rollups.hours(db, query)
    else:
        (rows,) = await fetch(db, hour_of_day_sql(query, dialect_of(db)))
    found = {int(hour): (visitors, pageviews) for hour, visitors, pageviews in rows}
    hours = [
        HourRow(hour=h, visitors=found.get(h, (0, 0))[0], pageviews=found.get(h, (0, 0))[1])
        for h in range(24)
    ]
    return HourOfDay(range=ReportRange.of(query), rows=hours)
