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

from sqlalchemy import BigInteger, Select, Subquery, and_, column, func, literal, select, union_all, values

from analytics_mcp.definitions import PAGEVIEW, VISIT_GAP_MS
from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.presence import BucketOf
from analytics_mcp.storage.schema import events


def _crossing(scope: Scope, edges: Sequence[int]) -> Select[Any]:
    """Ids of the passing visits that started before an edge and have an event in its half hour
    (one indexed range of events per edge, as in `presence`)."""
    e, v = scope.e, scope.v
    w = values(column("t", BigInteger), name="edges").data([(t,) for t in edges]).cte("edges")
    window = and_(scope.sites(e.c.site_id), e.c.ts >= w.c.t, e.c.ts < w.c.t + VISIT_GAP_MS)
    joined = w.join(e, window).join(v, v.c.id == e.c.visit_id)
    stmt = select(e.c.visit_id).select_from(joined).where(v.c.started_at < w.c.t)
    return stmt.where(*scope.visit_conditions()).correlate(None)  # its own v, not an outer one


def _counted(scope: Scope, bucket_of: BucketOf, starts: Sequence[int], end_ms: int) -> Subquery:
    """(b, n) rows: counters of the passing visits inside one bucket, one row per pageview in
    range of the crossing ones."""
    v = scope.v
    crossing = _crossing(scope, [*starts, end_ms])
    inside = scope.visits_started(bucket_of(v.c.started_at).label("b"), v.c.pageviews.label("n"))
    inside = inside.where(v.c.id.not_in(crossing))
    p = events.alias("pv")
    in_range = [p.c.ts >= literal(starts[0]), p.c.ts < literal(end_ms)]
    moved = select(bucket_of(p.c.ts).label("b"), literal(1).label("n")).where(
        p.c.visit_id.in_(crossing), p.c.name == PAGEVIEW, *in_range
    )
    return union_all(inside, moved).subquery("counted")


def visit_pageviews_sql(scope: Scope) -> Select[Any]:
    """Pageviews in the scope's range of the visits passing its visit filters (no page filter)."""
    counted = _counted(scope, lambda _ts: literal(0), [scope.rng.start_ms], scope.rng.end_ms)
    return select(func.coalesce(func.sum(counted.c.n), 0))


def visit_pageviews_per_bucket_sql(
    scope: Scope, bucket_of: BucketOf, starts: Sequence[int], end_ms: int
) -> Select[Any]:
    """(bucket, pageviews) of the visits passing the scope's visit filters (no page filter)."""
    counted = _counted(scope, bucket_of, starts, end_ms)
    return select(counted.c.b, func.sum(counted.c.n)).group_by(counted.c.b)
