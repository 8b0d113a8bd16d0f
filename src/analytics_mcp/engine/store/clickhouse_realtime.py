"""ClickHouse statements for realtime, meaning what their namesakes in raw_realtime_sql.py mean:
the window is the scope's range; exact distinct counts with `uniqExact`."""

from __future__ import annotations

from analytics_mcp.engine.store.clickhouse_scope import ChScope


def current_visitors_sql(scope: ChScope) -> str:
    return scope.traffic_events(["uniqExact(e.visitor_id)"])


def current_pages_sql(scope: ChScope) -> str:
    columns = ["e.pathname AS path", "uniqExact(e.visitor_id) AS visitors"]
    stmt = scope.traffic_events(columns, pageviews_only=True)
    return f"{stmt} GROUP BY path ORDER BY visitors DESC, path ASC LIMIT {scope.query.limit + 1}"


def current_sources_sql(scope: ChScope) -> str:
    stmt = scope.events_with_visits(["sv.source AS src", "uniqExact(e.visitor_id) AS visitors"], None)
    return f"{stmt} GROUP BY src ORDER BY visitors DESC, src ASC LIMIT {scope.query.limit + 1}"
