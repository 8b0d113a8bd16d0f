"""Two dashboard reports that the public REST API (docs/api.md) has no route for: channels and goal
conversions.

They run through the /api/v1 pipeline (same auth - session or token -, rate limit, params and
error shape) and the same engine functions the MCP tools use, but live under /dashboard/api so
the public API and its OpenAPI document stay exactly as docs/api.md documents them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.routing import Route

from analytics_mcp import engine
from analytics_mcp.engine import ChannelRow, GoalRow
from analytics_mcp.http_api.framework import ApiContext, ApiRoute
from analytics_mcp.http_api.pipeline import endpoint
from analytics_mcp.http_api.stats import LimitParams, StatsParams, stats_query

PREFIX = "/dashboard/api"


class GoalsData(BaseModel):
    visitors: int = Field(description="All visitors in range (the conversion rate's base)")
    goals: list[GoalRow]


async def channels(ctx: ApiContext, params: LimitParams) -> list[ChannelRow]:
    """Visitors by channel (direct, organic search, social, referral, paid, email, AI assistants)."""
    return (await engine.channels(ctx.services.db, await stats_query(ctx, params))).rows


async def goals(ctx: ApiContext, params: StatsParams) -> GoalsData:
    """Every goal with completions, converting visitors and conversion rate in range."""
    report = await engine.goals_report(ctx.services.db, await stats_query(ctx, params))
    return GoalsData(visitors=report.visitors, goals=report.goals)


def _spec(path: str, handler: Any, params: type[BaseModel], response: Any) -> ApiRoute:
    return ApiRoute(
        path=path,
        method="GET",
        handler=handler,
        operation_id=f"dashboard_{handler.__name__}",
        params=params,
        response=response,
        meta=None,
        scope="read",
        summary=handler.__doc__ or "",
        description="",
        tags=("dashboard",),
        status_code=200,
        content=None,
        errors=(),
    )


SPECS = (
    _spec("/channels", channels, LimitParams, list[ChannelRow]),
    _spec("/goals", goals, StatsParams, GoalsData),
)


def data_routes() -> list[Route]:
    return [Route(PREFIX + spec.path, endpoint({"GET": spec}), methods=["GET"]) for spec in SPECS]
