"""ClickHouse statements for the general breakdown, meaning what their namesakes in
raw_breakdown_sql.py mean: every group, unordered, with the same counters."""

from __future__ import annotations

from analytics_mcp.definitions import PAGEVIEW
from analytics_mcp.engine.store.clickhouse_commerce import PURCHASE, revenue_sum
from analytics_mcp.engine.store.clickhouse_scope import ChScope
from analytics_mcp.engine.store.clickhouse_traffic import BOUNCE, DURATION
from analytics_mcp.engine.store.protocol import BUILT_IN_EVENTS, EVENT_COLUMNS, BreakdownPlan


def _visit_columns(plan: BreakdownPlan) -> list[str]:
    events_level = plan.level != "visits"
    return [c for c in dict.fromkeys(plan.columns) if not (events_level and c in EVENT_COLUMNS)]


def _keys(plan: BreakdownPlan, visits: str = "sv") -> list[str]:
    """The grouped columns: the counted events' own (`e`) at the pageviews and custom levels,
    else the visit's (`visits`: the joined `sv`, or `v` when reading visits themselves)."""
    events_level = plan.level != "visits"
    return [f"e.{c}" if events_level and c in EVENT_COLUMNS else f"{visits}.{c}" for c in plan.columns]


def _exit_known(plan: BreakdownPlan, visits: str = "sv") -> list[str]:
    return [f"{visits}.exit_path IS NOT NULL"] if "exit_path" in plan.columns else []


def _grouped(stmt: str, keys: list[str]) -> str:
    return f"{stmt} GROUP BY {', '.join(keys)}"


def groups_sql(scope: ChScope, plan: BreakdownPlan) -> str:
    if plan.level == "visits":
        keys = _keys(plan, "v")
        counts = [
            "uniqExact(v.visitor_id)",
            "count()",
            "sum(v.pageviews)",
            f"countIf({BOUNCE})",
            f"sum(if({BOUNCE}, 0, {DURATION}))",
            "0",
        ]
        return _grouped(scope.visits_started([*keys, *counts], _exit_known(plan, "v")), keys)
    keys = _keys(plan)
    distinct = ["uniqExact(e.visitor_id)", "uniqExact(e.visit_id)"]
    if plan.level == "pageviews":
        return _pageviews(scope, plan, keys, [*distinct, "count()", "0", "0", "count()"])
    built_in = f"e.name NOT IN {scope.param(sorted(BUILT_IN_EVENTS), 'Array(String)')}"
    if "props" in plan.columns:
        keys, counts = [*keys, "e.visitor_id", "e.visit_id"], ["count()"]
    else:
        counts = [*distinct, "0", "0", "0", "count()"]
    stmt = scope.events_with_visits([*keys, *counts], None, _visit_columns(plan))
    return _grouped(" AND ".join([stmt, built_in, *_exit_known(plan)]), keys)


def _pageviews(scope: ChScope, plan: BreakdownPlan, keys: list[str], counts: list[str]) -> str:
    """Pageviews in range (only the matching ones with a page filter), joined to their visits
    when a visit attribute is grouped by."""
    visit_columns = _visit_columns(plan)
    if not visit_columns:
        return _grouped(scope.traffic_events([*keys, *counts], pageviews_only=True), keys)
    matching = scope.page_match("e.pathname")
    stmt = scope.events_with_visits([*keys, *counts], [PAGEVIEW], visit_columns, page_exists=False)
    return _grouped(" AND ".join([stmt, *matching, *_exit_known(plan)]), keys)


def conversions_sql(scope: ChScope, plan: BreakdownPlan, goal_id: str) -> str:
    keys = _keys(plan)
    goal = f"gc.goal_id = {scope.param(goal_id, 'String')}"
    conds = [goal, *_exit_known(plan)]
    stmt = scope.joined_to_visits([*keys, "count()"], "goal_completions", "gc", conds, _visit_columns(plan))
    return _grouped(stmt, keys)


def revenue_sql(scope: ChScope, plan: BreakdownPlan) -> str:
    keys = _keys(plan)
    stmt = scope.events_with_visits([*keys, revenue_sum(scope)], PURCHASE, _visit_columns(plan))
    return _grouped(" AND ".join([stmt, *_exit_known(plan)]), keys)
