"""The tools' structured answers. Each extends the engine's result model, so every number keeps the
REST API's field name (visitors, bounce_rate, *_change, ...), and adds the tenant and the metric
definitions used. Each model is a tool's return annotation, hence its outputSchema."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from analytics_mcp.engine import (
    Breakdown,
    BrowserRow,
    CampaignRow,
    ChannelRow,
    CompletionRow,
    DeviceRow,
    EcommerceOverview,
    FunnelStep,
    GoalRow,
    HourOfDay,
    LanguageRow,
    OsRow,
    Overview,
    PageRow,
    ProductRow,
    ReferrerRow,
    Report,
    SourceRevenueRow,
    Timeseries,
)
from analytics_mcp.engine.results_commerce import Money

RowT = TypeVar("RowT", bound=BaseModel)


class Extras(BaseModel):
    tenant: str = Field(description="The tenant slug answered for")
    definitions: dict[str, str] = Field(description="How the metrics in this answer are defined")


class Section(BaseModel, Generic[RowT]):
    rows: list[RowT]
    truncated: bool = Field(description="More rows existed than the limit")


class SiteRow(BaseModel):
    domain: str
    timezone: str = Field(description="IANA time zone the site's dates are reported in")
    currency: str = Field(description="Reporting currency of the site's revenue")


class SitesAnswer(BaseModel):
    tenant: str
    name: str
    plan: str
    timezone: str = Field(description="Tenant time zone, used when several sites are read together")
    sites: list[SiteRow]
    truncated: bool


class OverviewAnswer(Overview, Extras):
    pass


class PagesAnswer(Breakdown[PageRow], Extras):
    pass


class SourcesAnswer(Report, Extras):
    channels: Section[ChannelRow]
    referrers: Section[ReferrerRow] = Field(description="Top sources and referring sites")


class DevicesAnswer(Report, Extras):
    devices: Section[DeviceRow]
    browsers: Section[BrowserRow]
    operating_systems: Section[OsRow]


class LanguagesAnswer(Breakdown[LanguageRow], Extras):
    pass


class CampaignsAnswer(Breakdown[CampaignRow], Extras):
    pass


class GoalAnswerRow(GoalRow):
    recent_completions: list[CompletionRow] = Field(description="Latest completions in range, newest first")


class GoalsAnswer(Report, Extras):
    visitors: int = Field(description="All visitors in range (the conversion rate's base)")
    goals: list[GoalAnswerRow]
    truncated: bool = Field(description="More goals existed than the limit")


class EcommerceOverviewAnswer(EcommerceOverview, Extras):
    pass


class ProductsAnswer(Money, Extras):
    products: Section[ProductRow]
    funnel: list[FunnelStep]
    revenue_by_source: Section[SourceRevenueRow]


class DailyAnswer(Timeseries, Extras):
    truncated: bool = Field(description="The range had more buckets than fit; the most recent are kept")


class HourlyAnswer(HourOfDay, Extras):
    pass
