"""The tools' structured answers. Each extends the engine's result model, so every number keeps the
REST API's field name (visitors, bounce_rate, *_change, ...), and adds the tenant and the keys of
the glossary entries its numbers need (`definition_keys`, sent as `definitions`: the text lives
once in the analytics://glossary resource, not in every answer). Each model is a tool's return
annotation, hence its outputSchema."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

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
# Glossary entries (tools.glossary) that several answers quote.
VISIT_BREAKDOWN = ("period", "visitors", "visit_attributes")
MONEY = ("period", "revenue", "transactions", "truncated")


class ToolAnswer(BaseModel):
    """What an engine-backed tool adds to the engine's report: the tenant and the definitions."""

    # The glossary entries this answer's `definitions` quote, in this order.
    definition_keys: ClassVar[tuple[str, ...]] = ()

    tenant: str = Field(description="The tenant slug answered for")
    definitions: list[str] = Field(
        description="Glossary entries (resource analytics://glossary) that define this answer's metrics"
    )


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


class OverviewAnswer(Overview, ToolAnswer):
    definition_keys = (
        "period",
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "avg_duration",
        "change",
    )


class PagesAnswer(Breakdown[PageRow], ToolAnswer):
    definition_keys = ("period", "visitors", "pageviews", "time_on_page", "truncated")


class SourcesAnswer(Report, ToolAnswer):
    definition_keys = (*VISIT_BREAKDOWN, "channel", "referrer_source", "referrer", "truncated")

    channels: Section[ChannelRow]
    referrers: Section[ReferrerRow] = Field(description="Top sources and referring sites")


class DevicesAnswer(Report, ToolAnswer):
    definition_keys = (*VISIT_BREAKDOWN, "device_type", "browser", "os", "truncated")

    devices: Section[DeviceRow]
    browsers: Section[BrowserRow]
    operating_systems: Section[OsRow]


class LanguagesAnswer(Breakdown[LanguageRow], ToolAnswer):
    definition_keys = (*VISIT_BREAKDOWN, "language", "truncated")


class CampaignsAnswer(Breakdown[CampaignRow], ToolAnswer):
    definition_keys = (*VISIT_BREAKDOWN, "pageviews", "utm", "truncated")


class GoalAnswerRow(GoalRow):
    recent_completions: list[CompletionRow] = Field(description="Latest completions in range, newest first")


class GoalsAnswer(Report, ToolAnswer):
    definition_keys = ("period", "visitors", "goal_completions", "goal_conversion_rate", "truncated")

    visitors: int = Field(description="All visitors in range (the conversion rate's base)")
    goals: list[GoalAnswerRow]
    truncated: bool = Field(description="More goals existed than the limit")


class EcommerceOverviewAnswer(EcommerceOverview, ToolAnswer):
    definition_keys = (
        "period",
        "revenue",
        "transactions",
        "avg_order_value",
        "ecommerce_conversion_rate",
        "change",
    )


class ProductsAnswer(Money, ToolAnswer):
    definition_keys = (*MONEY, "product_revenue", "funnel", "referrer_source")

    products: Section[ProductRow]
    funnel: list[FunnelStep]
    revenue_by_source: Section[SourceRevenueRow]


class DailyAnswer(Timeseries, ToolAnswer):
    definition_keys = ("period", "interval", "visitors", "pageviews", "truncated")

    truncated: bool = Field(description="The range had more buckets than fit; the most recent are kept")


class HourlyAnswer(HourOfDay, ToolAnswer):
    definition_keys = ("period", "hour_of_day", "visitors", "pageviews")
