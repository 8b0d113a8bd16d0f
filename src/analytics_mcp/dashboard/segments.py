"""The dashboard's Segments tab reads one route, /dashboard/api/segments: the tenant's segments with
their 30-day trend, the overlap pairs, the activations with their latest sync logs and the usage
against the plan. Each part is the very function behind its /api/analytics/ endpoint (the data
side's reports, the ops side's handlers called as they are), so the tab and the endpoints show
the same numbers; one request keeps the tab to one round trip and one rate-limit hit.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from analytics_mcp.http_api import platform_analytics
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.platform.reports import membership_totals, overlap_pairs, segments_with_trend
from analytics_mcp.tools.segments import TOTAL_MEMBERS, OverlapRow, SegmentRow

PREFIX = "/dashboard/api"
routes = RouteTable(PREFIX)


class SegmentsTab(BaseModel):
    total_members: int = Field(description="As /api/analytics/overview/: " + TOTAL_MEMBERS)
    segments: list[SegmentRow] = Field(
        description="Active segments with their 30-day trend (/api/analytics/segments/)"
    )
    overlap: list[OverlapRow] = Field(description="Top 20 pairs by shared members (/api/analytics/overlap/)")
    activations: list[platform_analytics.ActivationOut] = Field(description="As /api/analytics/activations/")
    usage: platform_analytics.UsageOut | None = Field(
        description="As /api/analytics/usage/; null: no subscription"
    )


def tenant_today(zone: str) -> date:
    """Today in the tenant's zone at the instant the analytics endpoints read (pinned in tests)."""
    return platform_analytics.analytics_now().astimezone(ZoneInfo(zone)).date()


async def _usage(ctx: ApiContext) -> platform_analytics.UsageOut | None:
    try:
        return await platform_analytics.usage(ctx)
    except ApiError as error:
        if error.status != 404:  # 404 is "no subscription", which the tab shows as such
            raise
        return None


@routes.route(
    "/segments",
    response=SegmentsTab,
    operation_id="dashboard_segments",
    tags=("dashboard",),
    summary="Segments, overlap, activations and usage",
)
async def segments_tab(ctx: ApiContext) -> SegmentsTab:
    """Everything the Segments tab shows, read as the /api/analytics/ endpoints read it."""
    tenant = ctx.tenant
    rows = await segments_with_trend(ctx.services, tenant.id, tenant_today(tenant.timezone))
    _count, total = await membership_totals(ctx.services, tenant.id)
    return SegmentsTab(
        total_members=total,
        segments=[SegmentRow.model_validate(row) for row in rows],
        overlap=[OverlapRow.model_validate(pair) for pair in await overlap_pairs(ctx.services, tenant.id)],
        activations=await platform_analytics.activations(ctx),
        usage=await _usage(ctx),
    )
