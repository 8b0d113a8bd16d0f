"""Visitors per bucket, read mostly from the visits table instead of every event.

A visitor has an event in a bucket [lo, hi) exactly when one of its visits started in the bucket,
or a visit that started earlier has an event in [lo, lo + 30 min): consecutive events of a visit
are less than 30 minutes apart (the visit rule), so a visit running into the bucket has its first
event there within 30 minutes. Every bucket is at least an hour long, so both parts stay inside
it. That replaces a distinct count over all events with one over the visits plus the events of
the buckets' first half hours.

Not used with a page filter: visitors are then the ones with a matching pageview (events only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Integer,
    Subquery,
    and_,
    column,
    select,
    union,
    values,
)

from analytics_mcp.definitions import VISIT_GAP_MS
from analytics_mcp.engine.store.compiler import Scope

BucketOf = Callable[[ColumnElement[Any]], ColumnElement[int]]


def bucket_windows(starts: Sequence[int], end_ms: int) -> list[tuple[int, int, int]]:
    """(bucket index, lo, hi): the first half hour of each bucket (cut at the bucket's end)."""
    ends = [*starts[1:], end_ms]
    return [(i, lo, min(lo + VISIT_GAP_MS, hi)) for i, (lo, hi) in enumerate(zip(starts, ends, strict=True))]


def present_visitors(
    scope: Scope,
    bucket_of: BucketOf,
    windows: Sequence[tuple[int, int, int]],
    started_visits: FromClause | None = None,
) -> Subquery:
    """Distinct (b, visitor_id): the visitors with an event in each bucket of the scope's range.
    `started_visits`: the scope's visits started in range, already read (started_at, visitor_id)."""
    v, e = scope.v, scope.e
    s = v.c if started_visits is None else started_visits.c
    columns = (bucket_of(s.started_at).label("b"), s.visitor_id.label("visitor_id"))
    started = scope.visits_started(*columns) if started_visits is None else select(*columns)
    spans = values(
        column("b", Integer), column("lo", BigInteger), column("hi", BigInteger), name="windows"
    ).data(list(windows))
    w = spans.cte("windows")
    in_window = and_(scope.sites(e.c.site_id), e.c.ts >= w.c.lo, e.c.ts < w.c.hi)
    source: Any = w.join(e, in_window)
    conds: list[ColumnElement[bool]] = []
    if scope.query.visit_filters:
        source = source.join(v, v.c.id == e.c.visit_id)
        conds = scope.visit_conditions(page_exists=False)
    running = select(w.c.b, e.c.visitor_id).select_from(source).where(*conds)
    return union(started, running).subquery("present")
