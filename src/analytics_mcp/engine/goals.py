"""Goals with completions and conversion rates; one goal's completions. Completions are recorded at
ingestion (one per matching event) and dated by that event's time."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.engine.numbers import rate
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import ReportRange
from analytics_mcp.engine.results_commerce import (
    CompletionRow,
    GoalCompletions,
    GoalRef,
    GoalRow,
    GoalsReport,
)
from analytics_mcp.engine.store import source_for
from analytics_mcp.storage.account_types import Goal
from analytics_mcp.storage.clickhouse import EventsDatabase
from analytics_mcp.storage.ids import row_ulid
from analytics_mcp.timeutil import ISO_FORMAT

_UINT64 = (1 << 64) - 1


def visitor_hash(visitor_id: int) -> str:
    """The signed 64-bit visitor id as 16 hex digits (what exports and completions show)."""
    return format(visitor_id & _UINT64, "016x")


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(ISO_FORMAT)


async def goals_report(db: EventsDatabase, query: Query) -> GoalsReport:
    """Every goal of the query's sites with completions, converting visitors and conversion rate
    (converting visitors / visitors in range x 100)."""
    counts, total_visitors = await source_for(db, query).goal_counts()
    by_goal = {goal_id: (completions, visitors) for goal_id, completions, visitors in counts}
    domains = {site.id: site.domain for site in query.sites} if len(query.sites) > 1 else {}
    rows = []
    for goal in query.goals:
        completions, visitors = by_goal.get(goal.id, (0, 0))
        rows.append(
            GoalRow(
                id=goal.id,
                name=goal.name,
                type=goal.type,
                config=goal.config(),
                completions=completions,
                visitors=visitors,
                conversion_rate=rate(visitors, total_visitors),
                hostname=domains.get(goal.site_id),
            )
        )
    return GoalsReport(range=ReportRange.of(query), visitors=total_visitors, goals=rows)


def _goal(query: Query, goal_id: str) -> Goal:
    """The goal if it is one of the query's sites'; else (another tenant's included)
    QueryError("goal", "not found")."""
    for goal in query.goals:
        if goal.id == goal_id:
            return goal
    raise QueryError("goal", "not found")


async def goal_completions(db: EventsDatabase, query: Query, goal_id: str) -> GoalCompletions:
    """Newest completions of one goal in range (up to `limit`) and their total."""
    goal = _goal(query, goal_id)  # goals are account data: the edge put them in the query
    # A goal's completions are all on its own site: reading that site alone lets an index on
    # (goal, site, ts) return the newest first (over several sites PostgreSQL sorted them all).
    own_site = query.model_copy(update={"sites": tuple(s for s in query.sites if s.id == goal.site_id)})
    page, count = await source_for(db, own_site).goal_completions(goal.id)
    rows = [
        CompletionRow(
            id=row_ulid(ts, row_id),
            goal_id=goal_ref,
            visitor_hash=visitor_hash(visitor),
            pageview_id=row_ulid(ts, event_id),  # a completion has its event's time
            created_at=iso_utc(ts),
        )
        for row_id, goal_ref, visitor, event_id, ts in page[: query.limit]
    ]
    return GoalCompletions(
        range=ReportRange.of(query),
        goal=GoalRef(id=goal.id, name=goal.name, type=goal.type),
        rows=rows,
        total=count,
        truncated=len(page) > query.limit,
    )
