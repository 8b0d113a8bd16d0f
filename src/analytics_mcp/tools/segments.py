"""`segments` and `segment-overlap`: the tenant's customer segments with their 30-day membership
trend, and the members pairs of segments share; the numbers of `GET /api/analytics/segments/`
and `/overlap/` (one `platform.reports` function each)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from analytics_mcp.platform.reports import membership_totals, overlap_pairs, segments_with_trend
from analytics_mcp.platform.schedule import tenant_today
from analytics_mcp.tools.access import authorize
from analytics_mcp.tools.args import TenantArg
from analytics_mcp.tools.common import reply, services_of
from analytics_mcp.tools.glossary import pick

MAX_SEGMENTS = 100
TOTAL_MEMBERS = "Distinct customers in at least one active segment (one in three segments counts once)"


class TrendPoint(BaseModel):
    day: str = Field(description="Local day (tenant's zone), YYYY-MM-DD")
    count: int


class SegmentRow(BaseModel):
    id: int
    name: str
    member_count: int
    last_computed_at: str | None
    trend: list[TrendPoint]


class SegmentsAnswer(BaseModel):
    tenant: str
    definitions: list[str] = Field(description="Glossary keys (analytics://glossary) of these numbers")
    total_members: int = Field(description=TOTAL_MEMBERS)
    segments: list[SegmentRow]
    truncated: bool


class OverlapRow(BaseModel):
    seg_a_id: int
    seg_a_name: str
    seg_b_id: int
    seg_b_name: str
    overlap: int
    overlap_pct: float


class OverlapAnswer(BaseModel):
    tenant: str
    definitions: list[str] = Field(description="Glossary keys (analytics://glossary) of these numbers")
    pairs: list[OverlapRow]


async def segments(
    ctx: Context[Any, Any], tenant: TenantArg = None
) -> Annotated[CallToolResult, SegmentsAnswer]:
    """List the tenant's active customer segments (named rule sets over identified customers'
    traits and behaviour): each with its member count and when it was last computed, and its
    daily member counts over the last 30 days (empty when computed on fewer than 2 days).

    Answers "how big is High LTV Buyers?", "is the newsletter segment growing?". For how much two
    segments share, call segment-overlap."""
    services = services_of(ctx)
    allowed = await authorize(services.db, tenant)
    today = tenant_today(allowed.tenant.timezone)
    rows = await segments_with_trend(services, allowed.tenant.id, today)
    _count, total = await membership_totals(services, allowed.tenant.id)
    answer = SegmentsAnswer(
        tenant=allowed.tenant.slug,
        definitions=pick(["segments", "segment_trend"]),
        total_members=total,
        segments=[SegmentRow.model_validate(row) for row in rows[:MAX_SEGMENTS]],
        truncated=len(rows) > MAX_SEGMENTS,
    )
    return reply("segments", answer)


async def segment_overlap(
    ctx: Context[Any, Any], tenant: TenantArg = None
) -> Annotated[CallToolResult, OverlapAnswer]:
    """The top 20 pairs of active segments by members they share in their latest computation, with
    overlap_pct = shared / the smaller segment's members x 100 (one decimal): 100 means the
    smaller segment lies wholly inside the larger. Empty with fewer than 2 segments or nothing
    shared.

    Answers "how much does High LTV Buyers overlap with newsletter subscribers?". Call segments
    for the sizes and trends."""
    services = services_of(ctx)
    allowed = await authorize(services.db, tenant)
    pairs = await overlap_pairs(services, allowed.tenant.id)
    answer = OverlapAnswer(
        tenant=allowed.tenant.slug,
        definitions=pick(["segments", "segment_overlap"]),
        pairs=[OverlapRow.model_validate(pair) for pair in pairs],
    )
    return reply("segment-overlap", answer)
