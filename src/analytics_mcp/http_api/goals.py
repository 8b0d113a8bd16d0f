"""`/api/v1/goals` and `/api/v1/goals/{goal}/completions` (docs/api.md). A goal or site of another
tenant answers exactly like one that does not exist: 404."""

from __future__ import annotations

from pydantic import BaseModel, Field

from analytics_mcp import engine
from analytics_mcp.engine import CompletionRow, GoalRef
from analytics_mcp.http_api.framework import ApiContext, Envelope, RouteTable
from analytics_mcp.http_api.stats import StatsParams, stats_query
from analytics_mcp.storage.account_types import Goal
from analytics_mcp.storage.accounts import list_goals

TAGS = ("goals",)
routes = RouteTable()
MAX_COMPLETIONS = 1000


class GoalsParams(BaseModel):
    site: str | None = Field(None, max_length=253, description="One of your sites' domains (default: all)")


class GoalData(BaseModel):
    id: str
    name: str
    type: str = Field(description="url or event")
    config: dict[str, str] = Field(
        description='{"match_type", "path"} for url goals, {"event_name"} for event goals'
    )
    is_active: bool
    created_at: str
    updated_at: str


def goal_data(goal: Goal) -> GoalData:
    return GoalData(
        id=goal.id,
        name=goal.name,
        type=goal.type,
        config=goal.config(),
        is_active=goal.is_active,
        created_at=goal.created_at,
        updated_at=goal.updated_at,
    )


@routes.route("/goals", params=GoalsParams, response=list[GoalData], tags=TAGS, summary="List goals")
async def goals_list(ctx: ApiContext, params: GoalsParams) -> list[GoalData]:
    """All configured goals of your sites (or of one site)."""
    query = await engine.query_for_tenant(ctx.services.db, ctx.tenant, site=params.site)
    goals = await ctx.db(lambda conn: list_goals(conn, query.site_ids))
    return [goal_data(goal) for goal in goals]


class CompletionsParams(StatsParams):
    goal: str = Field(max_length=64, description="Goal id")
    limit: int = Field(50, ge=1, le=MAX_COMPLETIONS, description=f"Number of results, 1-{MAX_COMPLETIONS}")


class CompletionsMeta(BaseModel):
    goal: GoalRef
    total: int = Field(description="Completions in the period (all pages)")


@routes.route(
    "/goals/{goal}/completions",
    params=CompletionsParams,
    response=list[CompletionRow],
    meta=CompletionsMeta,
    errors=(404,),
    tags=TAGS,
    summary="Completions of one goal",
)
async def goal_completions(ctx: ApiContext, params: CompletionsParams) -> Envelope[list[CompletionRow]]:
    """Newest completions of the goal in the period, with their total."""
    query = await stats_query(ctx, params, default_limit=50, max_limit=MAX_COMPLETIONS)
    report = await engine.goal_completions(ctx.services.events_db, query, params.goal)  # 404 when not found
    return Envelope(report.rows, CompletionsMeta(goal=report.goal, total=report.total))
