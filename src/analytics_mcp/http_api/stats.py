"""`/api/v1/stats/*`: seed 002's stats endpoints, thin adapters over the engine.

Every route takes `period` (default 7d) or `from` + `to`, plus an optional `site` (one of the
tenant's domains; default all of them) and `filters` (`page==/pricing;source!=google;utm_campaign~x`
or a JSON list). Dates, sites and filters are validated by the engine (422 naming the field).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from analytics_mcp import engine
from analytics_mcp.engine import (
    BrowserRow,
    CampaignRow,
    DeviceRow,
    LanguageRow,
    OsRow,
    PageRow,
    Query,
    ReferrerRow,
    TimeseriesPoint,
)
from analytics_mcp.http_api.framework import ApiContext, api_route

Period = Literal["24h", "7d", "30d", "90d", "12m"]
_DATE = {"format": "date"}


class StatsParams(BaseModel):
    period: Period = Field(
        "7d", description="Time period: 24h, 7d, 30d, 90d or 12m (ignored when from is set)"
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=10,
        json_schema_extra=_DATE,
        description="Start date (YYYY-MM-DD), inclusive; overrides period",
    )
    to: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=_DATE,
        description="End date (YYYY-MM-DD), inclusive; required if from is set",
    )
    site: str | None = Field(None, max_length=253, description="One of your sites' domains (default: all)")
    filters: str | None = Field(
        None,
        max_length=4000,
        description="page==/pricing;source!=google|bing;utm_campaign~spring (==, != and ~ contains)",
    )


class LimitParams(StatsParams):
    limit: int = Field(10, ge=1, le=100, description="Number of results, 1-100")


async def stats_query(
    ctx: ApiContext, params: StatsParams, *, default_limit: int = 10, max_limit: int = 100
) -> Query:
    """The engine Query for these params, over the caller tenant's sites."""
    limit: Any = getattr(params, "limit", None)
    return await engine.query_for_tenant(
        ctx.services.db,
        ctx.tenant,
        period=None if params.from_ else params.period,
        date_from=params.from_,
        date_to=params.to,
        site=params.site,
        filters=params.filters,
        limit=limit,
        default_limit=default_limit,
        max_limit=max_limit,
    )


class OverviewData(BaseModel):
    visitors: int
    pageviews: int
    bounce_rate: float = Field(description="Bounces / visits x 100")
    avg_duration: int = Field(description="Mean visit duration in whole seconds, bounces as 0")
    visitors_change: float | None = Field(description="% vs the previous period; null when it was 0")
    pageviews_change: float | None
    bounce_rate_change: float | None = Field(description="Percentage points vs the previous period")
    avg_duration_change: float | None
    visits: int
    views_per_visit: float
    visits_change: float | None
    views_per_visit_change: float | None


TAGS = ("stats",)


@api_route(
    "/stats/overview",
    params=StatsParams,
    response=OverviewData,
    tags=TAGS,
    summary="Key metrics with period comparison",
)
async def stats_overview(ctx: ApiContext, params: StatsParams) -> engine.Overview:
    """Visitors, pageviews, bounce rate and average visit duration, with changes against the
    previous period of the same length."""
    return await engine.overview(ctx.services.db, await stats_query(ctx, params))


@api_route(
    "/stats/timeseries",
    params=StatsParams,
    response=list[TimeseriesPoint],
    tags=TAGS,
    summary="Visitors and pageviews over time",
)
async def stats_timeseries(ctx: ApiContext, params: StatsParams) -> list[TimeseriesPoint]:
    """Daily buckets (hourly for 24h), every bucket present, zero-filled."""
    return (await engine.timeseries(ctx.services.db, await stats_query(ctx, params))).rows


@api_route("/stats/pages", params=LimitParams, response=list[PageRow], tags=TAGS, summary="Top pages")
async def stats_pages(ctx: ApiContext, params: LimitParams) -> list[PageRow]:
    """Top pages ranked by pageviews, with visitors and mean time on page in seconds."""
    return (await engine.top_pages(ctx.services.db, await stats_query(ctx, params))).rows


@api_route(
    "/stats/referrers",
    params=LimitParams,
    response=list[ReferrerRow],
    tags=TAGS,
    summary="Top referrer sources",
)
async def stats_referrers(ctx: ApiContext, params: LimitParams) -> list[ReferrerRow]:
    """Visitors by source and referrer host; direct traffic is source "direct", referrer null."""
    return (await engine.referrers(ctx.services.db, await stats_query(ctx, params))).rows


@api_route("/stats/browsers", params=LimitParams, response=list[BrowserRow], tags=TAGS, summary="Browsers")
async def stats_browsers(ctx: ApiContext, params: LimitParams) -> list[BrowserRow]:
    return (await engine.browsers(ctx.services.db, await stats_query(ctx, params))).rows


@api_route(
    "/stats/operating-systems",
    params=LimitParams,
    response=list[OsRow],
    tags=TAGS,
    summary="Operating systems",
)
async def stats_operating_systems(ctx: ApiContext, params: LimitParams) -> list[OsRow]:
    return (await engine.operating_systems(ctx.services.db, await stats_query(ctx, params))).rows


@api_route("/stats/devices", params=StatsParams, response=list[DeviceRow], tags=TAGS, summary="Device types")
async def stats_devices(ctx: ApiContext, params: StatsParams) -> list[DeviceRow]:
    """Visitors by device type: desktop, mobile, tablet."""
    return (await engine.devices(ctx.services.db, await stats_query(ctx, params))).rows


@api_route("/stats/languages", params=LimitParams, response=list[LanguageRow], tags=TAGS, summary="Languages")
async def stats_languages(ctx: ApiContext, params: LimitParams) -> list[LanguageRow]:
    """Visitors by browser language (primary subtag; null when unknown)."""
    return (await engine.languages(ctx.services.db, await stats_query(ctx, params))).rows


@api_route(
    "/stats/campaigns", params=LimitParams, response=list[CampaignRow], tags=TAGS, summary="UTM campaigns"
)
async def stats_campaigns(ctx: ApiContext, params: LimitParams) -> list[CampaignRow]:
    """Visits with UTM parameters by source, medium and campaign."""
    return (await engine.campaigns(ctx.services.db, await stats_query(ctx, params))).rows
