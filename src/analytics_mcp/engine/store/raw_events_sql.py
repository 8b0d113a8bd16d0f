"""Statements of the raw-tables store for custom events (every event name but pageviews,
engagement and the e-commerce events), built through `Scope`: events in range of the visits that
pass every filter, as goals' events are; and the scroll depth the tracker reported per page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, distinct, func

from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.protocol import BUILT_IN_EVENTS


def custom_events_sql(scope: Scope) -> Select[Any]:
    """(name, events, visitors) by events desc, visitors desc, name asc; `limit + 1` rows."""
    e = scope.e
    events, visitors = func.count(e.c.id), func.count(distinct(e.c.visitor_id))
    stmt = scope.events_with_visits(e.c.name, events, visitors, names=None)
    grouped = stmt.where(e.c.name.not_in(sorted(BUILT_IN_EVENTS))).group_by(e.c.name)
    ordered = grouped.order_by(events.desc(), visitors.desc(), scope.dialect.ascending(e.c.name))
    return ordered.limit(scope.query.limit + 1)


def event_props_sql(scope: Scope, name: str, rows: int) -> Select[Any]:
    """(props JSON text, events) of the events named `name` that carry properties, by events
    desc, props asc; `rows + 1` rows."""
    e = scope.e
    events = func.count(e.c.id)
    stmt = scope.events_with_visits(e.c.props, events, names=[name])
    grouped = stmt.where(e.c.props.is_not(None)).group_by(e.c.props)
    return grouped.order_by(events.desc(), scope.dialect.ascending(e.c.props)).limit(rows + 1)


def scroll_depth_sql(scope: Scope) -> Select[Any]:
    """(path, pageviews with a scroll report, sum of their depths %) of the pageviews in range
    (the matching ones with a page filter), by reports desc, path asc; `limit + 1` rows."""
    e = scope.e
    reports = func.count(e.c.scroll_depth)
    stmt = scope.traffic_events(e.c.pathname, reports, func.sum(e.c.scroll_depth), pageviews_only=True)
    grouped = stmt.where(e.c.scroll_depth.is_not(None)).group_by(e.c.pathname)
    ordered = grouped.order_by(reports.desc(), scope.dialect.ascending(e.c.pathname))
    return ordered.limit(scope.query.limit + 1)
