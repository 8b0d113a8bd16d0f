"""Statements of the raw-tables store for realtime: who is on the sites in a window of minutes.
Built through `Scope` (sites, window and filters); the window is `Scope.rng`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, distinct, func

from analytics_mcp.engine.store.compiler import Scope


def current_visitors_sql(scope: Scope) -> Select[Any]:
    """Distinct visitors with an event in the window (with a page filter: a matching pageview)."""
    return scope.traffic_events(func.count(distinct(scope.e.c.visitor_id)))


def current_pages_sql(scope: Scope) -> Select[Any]:
    """(pathname, visitors) of the window's pageviews, by visitors desc, pathname asc."""
    e = scope.e
    visitors = func.count(distinct(e.c.visitor_id))
    stmt = scope.traffic_events(e.c.pathname, visitors, pageviews_only=True).group_by(e.c.pathname)
    ordered = stmt.order_by(visitors.desc(), scope.dialect.ascending(e.c.pathname))
    return ordered.limit(scope.query.limit + 1)


def current_sources_sql(scope: Scope) -> Select[Any]:
    """(source, visitors) of the visits of the window's events, by visitors desc, source asc."""
    e, v = scope.e, scope.v
    visitors = func.count(distinct(e.c.visitor_id))
    stmt = scope.events_with_visits(v.c.source, visitors, names=None).group_by(v.c.source)
    ordered = stmt.order_by(visitors.desc(), scope.dialect.ascending(v.c.source))
    return ordered.limit(scope.query.limit + 1)
