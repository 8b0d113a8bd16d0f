"""Typed results of the traffic functions. Row field names are the REST API's (docs/api.md); every
report also carries the range it actually covered, so each door can say what it answered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from analytics_mcp.engine.periods import DateRange, Interval, data_through
from analytics_mcp.engine.query import Query


class ReportRange(BaseModel):
    period: str = Field(description="As asked (7d, yesterday, custom, ...); a comparison's: its compare mode")
    date_from: date = Field(description="First local date covered (inclusive)")
    date_to: date = Field(description="Last local date covered (inclusive)")
    timezone: str
    interval: Interval
    sites: list[str] = Field(description="Domains read")
    partial_day: bool = Field(False, description="Its last day (or hour) is not over yet")
    data_through: datetime | None = Field(None, description="With partial_day: local time data runs to")

    @classmethod
    def of(cls, query: Query, rng: DateRange | None = None, label: str | None = None) -> ReportRange:
        """The query's range (or `rng`, e.g. its comparison, under `label`)."""
        shown = rng or query.range
        through = data_through(shown, query.as_of, query.zone)
        return cls(
            period=label or query.period,
            date_from=shown.date_from,
            date_to=shown.date_to,
            timezone=query.timezone,
            interval=query.interval,
            sites=[site.domain for site in query.sites],
            partial_day=through is not None,
            data_through=through,
        )

    @classmethod
    def comparison_of(cls, query: Query) -> ReportRange:
        return cls.of(query, query.comparison, query.compare)


class Report(BaseModel):
    range: ReportRange


RowT = TypeVar("RowT", bound=BaseModel)


class Breakdown(Report, Generic[RowT]):
    rows: list[RowT]
    truncated: bool = Field(description="More rows existed than the limit")


class Overview(Report):
    visitors: int
    visits: int
    pageviews: int
    views_per_visit: float
    bounce_rate: float = Field(description="Bounces / visits x 100")
    avg_duration: int = Field(description="Mean visit duration in whole seconds, bounces as 0")
    visitors_change: float | None = Field(description="% vs the previous period; null when it was 0")
    visits_change: float | None
    pageviews_change: float | None
    views_per_visit_change: float | None
    bounce_rate_change: float | None = Field(description="Percentage points vs the previous period")
    avg_duration_change: float | None
    comparison: ReportRange


class TimeseriesPoint(BaseModel):
    date: str = Field(
        description="The bucket's first day YYYY-MM-DD (a week's Monday, a month's 1st), or the local "
        "hour as ISO 8601 with offset"
    )
    visitors: int
    pageviews: int


class Timeseries(Report):
    rows: list[TimeseriesPoint]
    partial_buckets: list[str] = Field(
        default_factory=list, description="Labels of the week or month buckets the range cuts short"
    )


class HourRow(BaseModel):
    hour: int = Field(ge=0, le=23, description="Local hour of day")
    visitors: int
    pageviews: int


class HourOfDay(Report):
    rows: list[HourRow]


class PageRow(BaseModel):
    pathname: str
    visitors: int
    pageviews: int
    avg_duration: int | None = Field(description="Mean time on page in whole seconds")
    hostname: str | None = Field(
        default=None, exclude_if=lambda v: v is None, description="The page's site, when several are read"
    )


class EntryPageRow(BaseModel):
    pathname: str
    visitors: int
    visits: int
    bounce_rate: float


class ExitPageRow(BaseModel):
    pathname: str
    visitors: int
    visits: int


class ReferrerRow(BaseModel):
    referrer_source: str
    referrer: str | None
    visitors: int


class ChannelRow(BaseModel):
    channel: str
    visitors: int


class BrowserRow(BaseModel):
    browser: str
    visitors: int


class OsRow(BaseModel):
    os: str
    visitors: int


class DeviceRow(BaseModel):
    device_type: str
    visitors: int


class LanguageRow(BaseModel):
    language: str | None
    visitors: int


class CountryRow(BaseModel):
    country: str | None  # ISO 3166-1 alpha-2, upper case; null when unknown
    visitors: int
    visits: int
    pageviews: int


class CampaignRow(BaseModel):
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    visitors: int
    pageviews: int
