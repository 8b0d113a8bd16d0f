"""Two dashboard reports that the public REST API (docs/api.md) has no route for: channels and goal
conversions.

They are declared like the /api/v1 routes, in their own table under /dashboard/api, and run
through the same pipeline (same auth - session or token -, rate limit, params and error shape)
and the same engine functions the MCP tools use; the public API and its OpenAPI document stay
exactly as docs/api.md documents them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.routing import Route

from analytics_mcp import engine
from analytics_mcp.dashboard import segments
from analytics_mcp.engine import ChannelRow, GoalRow
from analytics_mcp.http_api.csv_report import Table
from analytics_mcp.http_api.framework import ApiContext, ApiRegistry, RouteTable
from analytics_mcp.http_api.pipeline import starlette_routes
from analytics_mcp.http_api.stats import LimitParams, StatsParams, stats_query

PREFIX = "/dashboard/api"
TAGS = ("dashboard",)
routes = RouteTable(PREFIX)


class SiteGoalRow(GoalRow):
    site: str = Field(description="The goal's site (domain): two goals of one name are told apart")


class GoalsData(BaseModel):
    visitors: int = Field(description="All visitors in range (the conversion rate's base)")
    goals: list[SiteGoalRow]


@routes.route(
    "/channels",
    params=LimitParams,
    response=list[ChannelRow],
    operation_id="dashboard_channels",
    tags=TAGS,
    summary="Visitors by channel",
)
async def channels(ctx: ApiContext, params: LimitParams) -> list[ChannelRow]:
    """Visitors by channel (direct, organic search, social, referral, paid, email, AI assistants)."""
    return (await engine.channels(ctx.services.events_db, await stats_query(ctx, params))).rows


def goal_rows(data: Any) -> Table:
    """format=csv: one row per goal (its config as JSON text)."""
    return list(SiteGoalRow.model_fields), data["goals"]


@routes.route(
    "/goals",
    params=StatsParams,
    response=GoalsData,
    operation_id="dashboard_goals",
    tags=TAGS,
    summary="Goal conversions",
    csv_rows=goal_rows,
)
async def goals(ctx: ApiContext, params: StatsParams) -> GoalsData:
    """Every goal with its site, completions, converting visitors and conversion rate in range."""
    query = await stats_query(ctx, params)
    report = await engine.goals_report(ctx.services.events_db, query)
    domains = {site.id: site.domain for site in query.sites}
    site_of = {goal.id: domains[goal.site_id] for goal in query.goals}
    goals = [SiteGoalRow(**row.model_dump(), site=site_of[row.id]) for row in report.goals]
    return GoalsData(visitors=report.visitors, goals=goals)


DASHBOARD_API = ApiRegistry([*routes, *segments.routes], prefix=PREFIX)


def data_routes() -> list[Route]:
    return starlette_routes(DASHBOARD_API)
