"""Statements of the raw-tables store for the general breakdown (`BreakdownPlan`): every group,
unordered (the engine sorts and pages them). Built through `Scope`, so the sites, range and
filters are always there; each counts what its single-dimension namesake counts (visit
breakdowns, pages, custom events, goal counts, revenue by source)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, literal, select

from analytics_mcp.engine.store.compiler import Scope
from analytics_mcp.engine.store.protocol import BUILT_IN_EVENTS, EVENT_COLUMNS, BreakdownPlan
from analytics_mcp.engine.store.raw_commerce_sql import PURCHASE, revenue_sum
from analytics_mcp.engine.store.raw_traffic_sql import duration_ms, is_bounce


def keys_of(scope: Scope, plan: BreakdownPlan) -> list[ColumnElement[Any]]:
    """The grouped columns: the counted events' own at the pageviews and custom levels, else the
    visit's."""
    events_level = plan.level != "visits"
    return [(scope.e if events_level and c in EVENT_COLUMNS else scope.v).c[c] for c in plan.columns]


def _without_exit(stmt: Select[Any], scope: Scope, plan: BreakdownPlan) -> Select[Any]:
    return stmt.where(scope.v.c.exit_path.is_not(None)) if "exit_path" in plan.columns else stmt


def groups_sql(scope: Scope, plan: BreakdownPlan) -> Select[Any]:
    """`BreakdownCounts.rows` of the plan."""
    e, v = scope.e, scope.v
    keys = keys_of(scope, plan)
    zero = literal(0)
    counts: tuple[Any, ...]
    if plan.level == "visits":
        counts = (
            func.count(distinct(v.c.visitor_id)),
            func.count(),
            func.sum(v.c.pageviews),
            func.sum(is_bounce(scope)),
            func.sum(duration_ms(scope)),
            zero,
        )
        stmt = scope.visits_started(*keys, *counts)
    elif "props" in plan.columns:
        stmt = _custom(scope, *keys, e.c.visitor_id, e.c.visit_id, func.count())
        keys = [*keys, e.c.visitor_id, e.c.visit_id]
    elif plan.level == "custom":
        visitors, visits = func.count(distinct(e.c.visitor_id)), func.count(distinct(e.c.visit_id))
        stmt = _custom(scope, *keys, visitors, visits, zero, zero, zero, func.count())
    else:
        visitors, visits = func.count(distinct(e.c.visitor_id)), func.count(distinct(e.c.visit_id))
        joined = any(c not in EVENT_COLUMNS for c in plan.columns)
        counts = (visitors, visits, func.count(), zero, zero, func.count())
        stmt = scope.traffic_events(*keys, *counts, pageviews_only=True, joined=joined)
    return _without_exit(stmt, scope, plan).group_by(*keys)


def _custom(scope: Scope, *columns: Any) -> Select[Any]:
    """Custom events in range of the passing visits (what `custom_events_sql` counts)."""
    stmt = scope.events_with_visits(*columns, names=None)
    return stmt.where(scope.e.c.name.not_in(sorted(BUILT_IN_EVENTS)))


def conversions_sql(scope: Scope, plan: BreakdownPlan, goal_id: str) -> Select[Any]:
    """(*keys, completions of the goal in range) of passing visits, by the visit's attributes."""
    gc, v = scope.gc, scope.v
    keys = keys_of(scope, plan)
    conds = [scope.sites(gc.c.site_id), *scope.in_range(gc.c.ts), gc.c.goal_id == goal_id]
    stmt = select(*keys, func.count()).select_from(gc.join(v, v.c.id == gc.c.visit_id))
    stmt = stmt.where(*conds, *scope.visit_conditions())
    return _without_exit(stmt, scope, plan).group_by(*keys)


def revenue_sql(scope: Scope, plan: BreakdownPlan) -> Select[Any]:
    """(*keys, revenue in the reporting currency) of purchases in range, by their visit's
    attributes (what revenue by source sums)."""
    keys = keys_of(scope, plan)
    stmt = scope.events_with_visits(*keys, revenue_sum(scope), names=PURCHASE)
    return _without_exit(stmt, scope, plan).group_by(*keys)
