"""The platform analytics endpoints of seed 001 under /api/analytics/ (paths with the trailing
slash, bare JSON bodies as the seed shows them): overview, activations, copilot and usage from the
ops side's reports; segments and overlap from the data side's (platform/reports.py). Read-only,
`read` scope; an API token or a JWT from POST /api/auth/token (http_api/auth.py), pinned to the
caller's tenant.
Definitions: docs/platform.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.platform import plans, reports, reports_ops
from analytics_mcp.platform.activations import SyncLog
from analytics_mcp.storage.subscriptions import utc_today

PREFIX = "/api/analytics"
TAGS = ("platform analytics",)
routes = RouteTable(prefix=PREFIX)


def analytics_now() -> datetime:
    """The instant the reports are read at (tests pin it here)."""
    return datetime.now(UTC)


class Overview(BaseModel):
    segment_count: int = Field(description="Active segments")
    total_members: int = Field(description="Distinct profiles in an active segment's latest snapshot")
    events_30d: int = Field(description="Events of the tenant's sites over the last 30 days")
    ai_credits_used: int
    ai_credits_limit: int = Field(description="-1 means unlimited")


class TrendPoint(BaseModel):
    day: str
    count: int


class SegmentOut(BaseModel):
    id: int
    name: str
    member_count: int
    last_computed_at: str | None
    trend: list[TrendPoint] = Field(description="Daily counts of the last 30 days; empty below 2 days")


class OverlapOut(BaseModel):
    seg_a_id: int
    seg_a_name: str
    seg_b_id: int
    seg_b_name: str
    overlap: int
    overlap_pct: float = Field(description="overlap / min(a, b) x 100, one decimal")


class SyncLogOut(BaseModel):
    status: str = Field(description="success | error")
    user_count: int
    error_message: str
    synced_at: str


class ActivationOut(BaseModel):
    id: int
    segment_id: int
    segment_name: str
    connector_type: str = Field(description="webhook | klaviyo")
    status: str = Field(description="active | paused")
    last_synced_at: str | None
    last_error: str
    member_count: int
    success_rate: int | None = Field(description="Successful share of the last 30 syncs, whole %")
    sync_logs: list[SyncLogOut] = Field(description="The 5 most recent syncs, newest first")


class CopilotDayOut(BaseModel):
    day: str
    success: int
    error: int


class Copilot(BaseModel):
    total: int = Field(description="Chat requests that ended (success or error) in the 30 days")
    daily: list[CopilotDayOut] = Field(description="By UTC day over the last 30 days; empty days left out")


class UsedLimit(BaseModel):
    used: int
    limit: int = Field(description="-1 means unlimited")


class UsageOut(BaseModel):
    plan_name: str
    plan_tier: str
    period_start: str
    period_end: str
    events: UsedLimit
    users: UsedLimit
    segments: UsedLimit
    ai_credits: UsedLimit


@routes.route("/overview/", response=Overview, envelope=False, tags=TAGS, summary="Platform overview")
async def overview(ctx: ApiContext) -> Overview:
    """Segments, their members, the last 30 days' events and this period's AI credits."""
    now = analytics_now()
    tenant = ctx.tenant
    count, members = await reports.membership_totals(ctx.services, tenant.id)
    credits = await ctx.db(lambda conn: reports_ops.current_credits(conn, tenant, now.date()))
    return Overview(
        segment_count=count,
        total_members=members,
        events_30d=await reports_ops.events_30d(ctx.services, tenant, now),
        ai_credits_used=credits.used,
        ai_credits_limit=credits.limit,
    )


@routes.route(
    "/segments/", response=list[SegmentOut], envelope=False, tags=TAGS, summary="Segments with their trend"
)
async def segments(ctx: ApiContext) -> list[SegmentOut]:
    """Active segments with their latest member count and the daily counts of the last 30 days."""
    today = analytics_now().astimezone(ZoneInfo(ctx.tenant.timezone)).date()
    rows = await reports.segments_with_trend(ctx.services, ctx.tenant.id, today)
    return [SegmentOut.model_validate(row) for row in rows]


@routes.route(
    "/overlap/", response=list[OverlapOut], envelope=False, tags=TAGS, summary="Top 20 segment overlaps"
)
async def overlap(ctx: ApiContext) -> list[OverlapOut]:
    """The 20 pairs of active segments sharing the most members in their latest snapshots."""
    rows = await reports.overlap_pairs(ctx.services, ctx.tenant.id)
    return [OverlapOut.model_validate(row) for row in rows]


@routes.route(
    "/activations/",
    response=list[ActivationOut],
    envelope=False,
    tags=TAGS,
    summary="Activations and their recent syncs",
)
async def activations(ctx: ApiContext) -> list[ActivationOut]:
    """Every connector of the tenant with its success rate and its 5 latest sync logs."""
    tenant_id = ctx.tenant.id
    found = await ctx.db(lambda conn: reports_ops.activation_reports(conn, tenant_id))
    return [
        ActivationOut(
            id=r.activation.id,
            segment_id=r.activation.segment_id,
            segment_name=r.activation.segment_name,
            connector_type=r.activation.connector_type,
            status=r.activation.status,
            last_synced_at=r.activation.last_synced_at,
            last_error=r.activation.last_error,
            member_count=r.member_count,
            success_rate=r.success_rate,
            sync_logs=[_log_out(log) for log in r.logs],
        )
        for r in found
    ]


def _log_out(log: SyncLog) -> SyncLogOut:
    return SyncLogOut(
        status=log.status, user_count=log.user_count, error_message=log.error_message, synced_at=log.synced_at
    )


@routes.route("/copilot/", response=Copilot, envelope=False, tags=TAGS, summary="AI chat requests per day")
async def copilot(ctx: ApiContext) -> Copilot:
    """The AI chat's requests by day (success / error) over the last 30 days."""
    today = utc_today(analytics_now())
    tenant_id = ctx.tenant.id
    days = await ctx.db(lambda conn: reports_ops.copilot_days(conn, tenant_id, today))
    daily = [CopilotDayOut(day=d.day, success=d.success, error=d.error) for d in days]
    return Copilot(total=sum(d.success + d.error for d in days), daily=daily)


@routes.route(
    "/usage/", response=UsageOut, envelope=False, errors=(404,), tags=TAGS, summary="Usage against the plan"
)
async def usage(ctx: ApiContext) -> UsageOut:
    """The current billing period's usage against the subscription's limits (404 without one)."""
    found = await plans.usage(ctx.services, ctx.tenant.id, utc_today(analytics_now()))
    if found is None:
        raise ApiError(404, "This account has no subscription.")
    sub, (first, last) = found.subscription, found.period

    def pair(name: str) -> UsedLimit:
        return UsedLimit(used=found.used[name], limit=sub.limits[name])

    return UsageOut(
        plan_name=sub.plan_name,
        plan_tier=sub.plan_tier,
        period_start=first.isoformat(),
        period_end=last.isoformat(),
        events=pair("events"),
        users=pair("users"),
        segments=pair("segments"),
        ai_credits=pair("ai_credits"),
    )
