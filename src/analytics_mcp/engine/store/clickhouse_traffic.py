"""ClickHouse statements for traffic: totals, buckets, hours, visit breakdowns and pages. Each
function gives (sql, parameters) and means what its namesake in raw_traffic_sql.py means.

Local time is ClickHouse's own: `toDate32(ts, zone)` and `toHour(ts, zone)` (the same IANA rules as
Python's zoneinfo, which computed the buckets' starts). Exact distinct counts: `uniqExact`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from analytics_mcp.definitions import VISIT_GAP_MS
from analytics_mcp.engine.store.clickhouse_scope import ChScope, ms
from analytics_mcp.engine.store.clickhouse_visit_pageviews import crossing_pageviews_sql, inside_pageviews
from analytics_mcp.engine.store.protocol import VisitCounter
from analytics_mcp.engine.timebuckets import bucket_starts, natural_first
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim
from analytics_mcp.timeutil import HOUR_MS

Statement = tuple[str, dict[str, Any]]
BOUNCE = "(v.pageviews = 1 AND v.interactions = 0)"
# The matching pageviews under a page filter are read without FINAL, so that ClickHouse reads them
# from the events' pageviews_by_path projection (schema step 6): each pageview is counted once by
# its id, however many of its versions (rewrites, re-sent rows) are stored.
PAGE_VIEWS = "uniqExact(e.id)"
DURATION = f"{ms('v.ended_at')} - {ms('v.started_at')}"


def bucket_of(scope: ChScope, column: str) -> str:
    """The timeseries bucket number of a time: hours from the range's start, or local days, ISO
    weeks or calendar months from the range's first one (timebuckets.py)."""
    rng, interval = scope.rng, scope.query.interval
    if interval == "hour":
        return f"intDiv({ms(column)} - {scope.param(rng.start_ms, 'Int64')}, {HOUR_MS})"
    local_day = f"toDate32({column}, {scope.param(scope.query.timezone, 'String')})"
    if interval == "month":
        origin = rng.date_from.year * 12 + rng.date_from.month
        return f"toYear({local_day}) * 12 + toMonth({local_day}) - {scope.param(origin, 'Int32')}"
    origin = (natural_first(rng.date_from, interval) - date(1970, 1, 1)).days
    days = f"toInt32({local_day}) - {scope.param(origin, 'Int32')}"
    return f"intDiv({days}, 7)" if interval == "week" else days


def present_visitors(scope: ChScope, bucketed: bool, distinct: bool = True) -> str:
    """Distinct (b, visitor): visitors of the visits started in each bucket, with the visitors of
    events in the bucket's first half hour (presence.py: the same set as every event's visitor).
    `distinct=False`: every pair of both parts (UNION ALL), for a caller that counts distinct
    visitors per bucket itself."""
    ids = None
    if bucketed:
        starts = scope.param(bucket_starts(scope.query), "Array(Int64)")
        started_b, event_b = bucket_of(scope, "v.started_at"), bucket_of(scope, "e.ts")
        window = f"{ms('e.ts')} < {starts}[{event_b} + 1] + {VISIT_GAP_MS}"
    else:
        started_b = event_b = "0"
        window = scope.before("e.ts", scope.at(scope.rng.start_ms + VISIT_GAP_MS))
        # Visits started in range are the first part's: the window needs only those running in.
        ids = scope.visits_running_in()
    started = scope.visits_started([f"{started_b} AS b", "v.visitor_id AS visitor"])
    running = scope.traffic_events([f"{event_b} AS b", "e.visitor_id AS visitor"], visit_ids=ids, final=False)
    return f"{started} UNION {'DISTINCT' if distinct else 'ALL'} {running} AND {window}"


def visitors_sql(scope: ChScope) -> str:
    if scope.query.page_filters:
        return scope.traffic_events(["uniqExact(e.visitor_id)"])
    return f"SELECT count() FROM ({present_visitors(scope, bucketed=False)})"


def totals_sql(scope: ChScope) -> str:
    """visitors, pageviews, visits, bounces, duration (bounces as 0), visit pageviews. Without a
    page filter the pageviews come from the visits' counters (clickhouse_visit_pageviews.py); with
    one, visitors and pageviews are the matching pageviews', read once."""
    if scope.query.page_filters:
        counts = ["uniqExact(e.visitor_id) AS visitors", f"{PAGE_VIEWS} AS pageviews"]
        viewed = scope.traffic_events(counts, final=False)
        people, joined, inside = "w.visitors, w.pageviews", f"({viewed}) AS w CROSS JOIN ", "0"
        visitors: list[str] = []
    else:
        # The visitors of the visits started in range come with their counters (a uniqExact state,
        # merged with the state of the first half hour's visitors): the visits are read once.
        window = scope.before("e.ts", scope.at(scope.rng.start_ms + VISIT_GAP_MS))
        ids = scope.visits_running_in()
        running = scope.traffic_events(["uniqExactState(e.visitor_id) AS s"], visit_ids=ids, final=False)
        people = f"arrayReduce('uniqExactMerge', [t.s, w.s]), t.q + {crossing_pageviews_sql(scope)}"
        joined, inside = f"({running} AND {window}) AS w CROSS JOIN ", inside_pageviews(scope)
        visitors = ["uniqExactState(v.visitor_id) AS s"]
    visit = scope.visits_started(
        [
            "count() AS n",
            f"countIf({BOUNCE}) AS b",
            f"sum(if({BOUNCE}, 0, {DURATION})) AS d",
            "sum(v.pageviews) AS p",
            f"{inside} AS q",
            *visitors,
        ]
    )
    return f"SELECT {people}, t.n, t.b, t.d, t.p FROM {joined}({visit}) AS t"


def timeseries_sql(scope: ChScope) -> tuple[str, str]:
    """(bucket, visitors) and (bucket, pageviews) rows; with a page filter, one statement of
    (bucket, visitors, pageviews) rows (`page_timeseries_sql`) and no second one."""
    if scope.query.page_filters:
        return page_timeseries_sql(scope), ""
    pageviews = scope.traffic_events([f"{bucket_of(scope, 'e.ts')} AS b", "count()"], pageviews_only=True)
    # uniqExact per bucket over both sets (UNION ALL), not a DISTINCT of (bucket, visitor) pairs:
    # the same counts, 143 -> 77 ms CPU unfiltered at 30 days on the 10M copy.
    present = present_visitors(scope, bucketed=True, distinct=False)
    visitors = f"SELECT b, uniqExact(visitor) FROM ({present})"
    return f"{visitors} GROUP BY b", f"{pageviews} GROUP BY b"


def page_timeseries_sql(scope: ChScope) -> str:
    """(bucket, visitors, pageviews) of the matching pageviews: one read of them."""
    columns = [f"{bucket_of(scope, 'e.ts')} AS b", "uniqExact(e.visitor_id)", PAGE_VIEWS]
    return f"{scope.traffic_events(columns, final=False)} GROUP BY b"


def hour_of_day_sql(scope: ChScope) -> str:
    hour = f"toHour(e.ts, {scope.param(scope.query.timezone, 'String')})"
    pageview = scope.param("pageview", "String")
    stmt = scope.traffic_events([f"{hour} AS h", "uniqExact(e.visitor_id)", f"countIf(e.name = {pageview})"])
    return f"{stmt} GROUP BY h"


def visit_breakdown_sql(scope: ChScope, dim: Dim, extra: Sequence[VisitCounter] = ()) -> str:
    keys = [f"v.{name}" for name in VISIT_DIM_COLUMNS[dim]]
    sums = {"visit_pageviews": "sum(v.pageviews)", "bounces": f"countIf({BOUNCE})"}
    only: list[str] = []
    if dim is Dim.CAMPAIGN:
        only = ["(" + " OR ".join(f"{key} IS NOT NULL" for key in keys) + ")"]
    elif dim is Dim.EXIT:
        only = [f"{keys[0]} IS NOT NULL"]
    columns = [*keys, "uniqExact(v.visitor_id) AS visitors", "count() AS visits", *(sums[n] for n in extra)]
    order = ", ".join(["visitors DESC", "visits DESC", *(f"{key} ASC NULLS FIRST" for key in keys)])
    stmt = scope.visits_started(columns, only)
    return f"{stmt} GROUP BY {', '.join(keys)} ORDER BY {order} LIMIT {scope.query.limit + 1}"


def pages_sql(scope: ChScope, by_site: bool = False) -> str:
    """Pageviews by path (by site and path with `by_site`): visitors, pageviews, mean time on page
    (engaged, else the gap)."""
    site = ["e.site_id AS site"] if by_site else []
    columns = [
        *site,
        "e.pathname AS path",
        "uniqExact(e.visitor_id) AS visitors",
        "count() AS pageviews",
        "avg(coalesce(e.engaged_ms, e.gap_ms))",
    ]
    if scope.query.page_filters:
        stmt = _latest_pageviews(scope, by_site)
    else:
        stmt = scope.traffic_events(columns, pageviews_only=True)
    keys = "site, path" if by_site else "path"
    order = "pageviews DESC, visitors DESC, path ASC" + (", site ASC" if by_site else "")
    return f"{stmt} GROUP BY {keys} ORDER BY {order} LIMIT {scope.query.limit + 1}"


def _latest_pageviews(scope: ChScope, by_site: bool) -> str:
    """`pages_sql`'s columns over the matching pageviews read without FINAL (PAGE_VIEWS): each id's
    latest version (LIMIT 1 BY: 62 ms CPU for 214k pageviews at 10M, argMax per id 176 ms; for all
    of a range's 2.1M pageviews FINAL is cheaper, 339 ms against 647)."""
    site = ["e.site_id AS site_"] if by_site else []
    columns = ["e.id AS id_", "e.version AS version_", *site, "e.pathname AS path_"]
    columns += ["e.visitor_id AS visitor_", "coalesce(e.engaged_ms, e.gap_ms) AS time_"]
    latest = scope.traffic_events(columns, final=False)
    shown = [
        *(["site_ AS site"] if by_site else []),
        "path_ AS path",
        "uniqExact(visitor_) AS visitors",
        "count() AS pageviews",
        "avg(time_)",
    ]
    return f"SELECT {', '.join(shown)} FROM ({latest} ORDER BY id_, version_ DESC LIMIT 1 BY id_)"
