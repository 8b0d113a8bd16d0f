"""Goals with completions and conversion rates; one goal's completions. Completions are recorded at
ingestion (one per matching event) and dated by that event's time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, distinct, func

from analytics_mcp.engine import rollup_answers as from_rollups
from analytics_mcp.engine.compiler import Scope
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
from analytics_mcp.engine.rollup_sql import usable
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.stats import visitors_sql
from analytics_mcp.storage.account_types import Goal
from analytics_mcp.storage.accounts import get_goal, list_goals
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.dialects import Dialect, dialect_named
from analytics_mcp.storage.ids import row_ulid
from analytics_mcp.timeutil import ISO_FORMAT

_UINT64 = (1 << 64) - 1


def visitor_hash(visitor_id: int) -> str:
    """The signed 64-bit visitor id as 16 hex digits (what exports and completions show)."""
    return format(visitor_id & _UINT64, "016x")


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(ISO_FORMAT)


def goal_counts_sql(query: Query, dialect: Dialect) -> Select[Any]:
    scope = Scope(query, dialect)
    gc = scope.gc
    stmt = scope.completions(gc.c.goal_id, func.count(), func.count(distinct(gc.c.visitor_id)))
    return stmt.group_by(gc.c.goal_id)


async def _goals(db: Database, query: Query) -> list[Goal]:
    async with db.aio.connect() as conn:
        return await conn.run_sync(lambda sync: list_goals(sync, query.site_ids))


async def _goal_counts(db: Database, query: Query) -> tuple[Sequence[Any], int]:
    """((goal_id, completions, converting visitors) of goals with completions, visitors in range)."""
    if usable(query):
        return await from_rollups.goal_counts(db, query)
    dialect = dialect_of(db)
    counts, traffic = await fetch(db, goal_counts_sql(query, dialect), visitors_sql(Scope(query, dialect)))
    return counts, traffic[0][0]


async def goals_report(db: Database, query: Query) -> GoalsReport:
    """Every goal of the query's sites with completions, converting visitors and conversion rate
    (converting visitors / visitors in range x 100)."""
    goals = await _goals(db, query)
    counts, total_visitors = await _goal_counts(db, query)
    by_goal = {goal_id: (completions, visitors) for goal_id, completions, visitors in counts}
    rows = []
    for goal in goals:
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
            )
        )
    return GoalsReport(range=ReportRange.of(query), visitors=total_visitors, goals=rows)


def completions_sql(query: Query, dialect: Dialect, goal_id: str) -> tuple[Select[Any], Select[Any]]:
    """(newest `limit`+1 completions, their total) of one goal in range."""
    scope = Scope(query, dialect)
    gc = scope.gc
    cols = (gc.c.id, gc.c.goal_id, gc.c.visitor_id, gc.c.event_id, gc.c.ts)
    page = scope.completions(*cols).where(gc.c.goal_id == goal_id)
    page = page.order_by(gc.c.ts.desc(), gc.c.id.desc()).limit(query.limit + 1)
    total = scope.completions(func.count()).where(gc.c.goal_id == goal_id)
    return page, total


def _completions_of(sync: Connection, query: Query, goal_id: str) -> tuple[Goal, list[Any], int]:
    """(goal, newest `limit`+1 completion rows, total), or QueryError("goal", "not found") when the
    goal is not one of the query's sites' (another tenant's included). One connection."""
    goal = get_goal(sync, goal_id, query.site_ids)
    if goal is None:
        raise QueryError("goal", "not found")
    page_sql, total_sql = completions_sql(query, dialect_named(sync.dialect.name), goal.id)
    if usable(query):
        total_sql = from_rollups.goal_total_sql(query, goal.id)
    return goal, list(sync.execute(page_sql).all()), int(sync.execute(total_sql).scalar_one())


async def goal_completions(db: Database, query: Query, goal_id: str) -> GoalCompletions:
    """Newest completions of one goal in range (up to `limit`) and their total."""
    async with db.aio.connect() as conn:
        goal, page, count = await conn.run_sync(_completions_of, query, goal_id)
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
