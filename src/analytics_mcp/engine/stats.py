"""Overview (with comparison), timeseries and hour of day."""

from __future__ import annotations

from analytics_mcp.engine.numbers import change, point_change, rate, ratio, seconds
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import (
    HourOfDay,
    HourRow,
    Overview,
    ReportRange,
    Timeseries,
    TimeseriesPoint,
)
from analytics_mcp.engine.store import Totals, source_for
from analytics_mcp.engine.timebuckets import bucket_labels, partial_labels
from analytics_mcp.storage.clickhouse import EventsDatabase


def bounce_rate(totals: Totals) -> float:
    return rate(totals.bounces, totals.visits)


def avg_duration(totals: Totals) -> int:
    return seconds(totals.duration_ms / totals.visits) if totals.visits else 0


def views_per_visit(totals: Totals) -> float:
    return ratio(totals.visit_pageviews, totals.visits, 2)


async def overview(db: EventsDatabase, query: Query) -> Overview:
    """visitors, visits, pageviews, views per visit, bounce rate, avg duration, and their changes
    against the previous range of the same length."""
    store = source_for(db, query)
    now, before = await store.totals(query.range), await store.totals(query.comparison)
    return Overview(
        range=ReportRange.of(query),
        comparison=ReportRange.comparison_of(query),
        visitors=now.visitors,
        visits=now.visits,
        pageviews=now.pageviews,
        views_per_visit=views_per_visit(now),
        bounce_rate=bounce_rate(now),
        avg_duration=avg_duration(now),
        visitors_change=change(now.visitors, before.visitors),
        visits_change=change(now.visits, before.visits),
        pageviews_change=change(now.pageviews, before.pageviews),
        views_per_visit_change=change(views_per_visit(now), views_per_visit(before)),
        bounce_rate_change=point_change(bounce_rate(now), bounce_rate(before), now.visits, before.visits),
        avg_duration_change=change(avg_duration(now), avg_duration(before)),
    )


async def timeseries(db: EventsDatabase, query: Query) -> Timeseries:
    """visitors and pageviews per bucket (hour, local day, ISO week or calendar month: the query's
    interval), zero-filled; visitors are distinct in each bucket."""
    visitors, pageviews = await source_for(db, query).per_bucket()
    points = [
        TimeseriesPoint(date=label, visitors=visitors.get(i, 0), pageviews=pageviews.get(i, 0))
        for i, label in enumerate(bucket_labels(query))
    ]
    return Timeseries(range=ReportRange.of(query), rows=points, partial_buckets=partial_labels(query))


async def hour_of_day(db: EventsDatabase, query: Query) -> HourOfDay:
    """visitors and pageviews by local hour of day 0-23 over the range, zero-filled."""
    found = await source_for(db, query).hours()
    hours = [
        HourRow(hour=h, visitors=found.get(h, (0, 0))[0], pageviews=found.get(h, (0, 0))[1])
        for h in range(24)
    ]
    return HourOfDay(range=ReportRange.of(query), rows=hours)
