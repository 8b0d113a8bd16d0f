"""ClickHouse statements for custom events and scroll depth, meaning what their namesakes in raw_events_sql.py
mean (props is the same JSON text in both databases)."""

from __future__ import annotations

from analytics_mcp.engine.store.clickhouse_scope import ChScope
from analytics_mcp.engine.store.protocol import BUILT_IN_EVENTS


def custom_events_sql(scope: ChScope) -> str:
    columns = ["e.name AS event", "count() AS events", "uniqExact(e.visitor_id) AS visitors"]
    stmt = scope.events_with_visits(columns, None)
    built_in = scope.param(sorted(BUILT_IN_EVENTS), "Array(String)")
    return (
        f"{stmt} AND e.name NOT IN {built_in} GROUP BY event "
        f"ORDER BY events DESC, visitors DESC, event ASC LIMIT {scope.query.limit + 1}"
    )


def event_props_sql(scope: ChScope, name: str, rows: int) -> str:
    stmt = scope.events_with_visits(["e.props AS text", "count() AS events"], [name])
    return f"{stmt} AND e.props IS NOT NULL GROUP BY text ORDER BY events DESC, text ASC LIMIT {rows + 1}"


def scroll_depth_sql(scope: ChScope) -> str:
    columns = ["e.pathname AS path", "count(e.scroll_depth) AS reports", "sum(e.scroll_depth)"]
    stmt = scope.traffic_events(columns, pageviews_only=True)
    return (
        f"{stmt} AND e.scroll_depth IS NOT NULL GROUP BY path "
        f"ORDER BY reports DESC, path ASC LIMIT {scope.query.limit + 1}"
    )
