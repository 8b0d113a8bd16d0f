"""Statements of the raw-tables store for custom events (every event name but pageviews,
engagement and the e-commerce events). Built through `Scope`: events in range of the visits that
pass every filter, as goals' events are."""

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
