"""Pageviews of the visits passing visit filters, per bucket, from the visits' own counters.

With a visit filter (source, device, ...) the pageviews of a bucket are those of passing visits.
Read from events, every pageview of the range is joined to its visit. The visits table holds each
visit's pageview count already, and a visit that stays inside one bucket has all its pageviews
there, so summing the counters of the passing visits started in each bucket is the answer except
for the visits crossing a bucket edge T (a bucket start, or the range's end): those are counted
from their own pageviews, by each pageview's bucket, instead. Such a visit started before T and
has an event in [T, T + 30 min) (consecutive events of a visit are less than 30 minutes apart, as
`presence` uses), so the crossing visits are found among the few events of those half hours, and
only their pageviews are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import FromClause, Select, Subquery, func, literal, select, union_all

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.presence import BucketOf
from analytics_mcp.storage.schema import events


def _counted(
    scope: Scope,
    bucket_of: BucketOf,
    starts: Sequence[int],
    end_ms: int,
    started_visits: FromClause | None = None,
) -> Subquery:
    """(b, n) rows: counters of the passing visits inside one bucket, one row per pageview in
    range of the crossing ones. `started_visits`: the passing visits started in range, already
    read (id, started_at, pageviews)."""
    crossing = scope.crossing_visits([*starts, end_ms])
    s = scope.v.c if started_visits is None else started_visits.c
    columns = (bucket_of(s.started_at).label("b"), s.pageviews.label("n"))
    inside = scope.visits_started(*columns) if started_visits is None else select(*columns)
    inside = inside.where(s.id.not_in(crossing))
    p = events.alias("pv")
    in_range = [p.c.ts >= literal(starts[0]), p.c.ts < literal(end_ms)]
    moved = select(bucket_of(p.c.ts).label("b"), literal(1).label("n")).where(
        p.c.visit_id.in_(crossing), p.c.name == PAGEVIEW, *in_range
    )
    return union_all(inside, moved).subquery("counted")


def visit_pageviews_sql(scope: Scope, started_visits: FromClause | None = None) -> Select[Any]:
    """Pageviews in the scope's range of the visits passing its visit filters (no page filter)."""
    start, end = scope.rng.start_ms, scope.rng.end_ms
    counted = _counted(scope, lambda _ts: literal(0), [start], end, started_visits)
    return select(func.coalesce(func.sum(counted.c.n), 0))


def visit_pageviews_per_bucket_sql(
    scope: Scope, bucket_of: BucketOf, starts: Sequence[int], end_ms: int
) -> Select[Any]:
    """(bucket, pageviews) of the visits passing the scope's visit filters (no page filter)."""
    counted = _counted(scope, bucket_of, starts, end_ms)
    return select(counted.c.b, func.sum(counted.c.n)).group_by(counted.c.b)
