"""`/api/v1/stats/*`: the stats endpoints of docs/api.md, thin adapters over the engine.

Every route takes `period` (default 7d) or `from` + `to`, plus an optional `site` (one of the
tenant's domains; default all of them) and `filters` (`page==/pricing;source!=google;utm_campaign~x`
or a JSON list). Dates, sites and filters are validated by the engine (422 naming the field).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from analytics_mcp import engine
from analytics_mcp.engine import (
    PERIODS,
    BrowserRow,
    CampaignRow,
    CountryRow,
    DeviceRow,
    LanguageRow,
    OsRow,
    PageRow,
    Query,
    ReferrerRow,
    TimeseriesPoint,
)
from analytics_mcp.engine.filters import MAX_VALUE_LENGTH
from analytics_mcp.engine.periods import COMPARES, INTERVAL_RULE, INTERVALS, MAX_HOUR_RANGE_DAYS
from analytics_mcp.http_api.csv_report import FORMAT_RULE, ReportFormat
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.http_api.params import COMPARE_RULE, DATE, DATE_RANGE, FILTERS, INTERVAL_X, date_range
from analytics_mcp.http_api.projection import projection
from analytics_mcp.storage.clickhouse import EventsDatabase

SITE = Field(None, max_length=253, description="One of your sites' domains (default: all)")
FILTER_LIST = Field(
    None,
    max_length=4000,
    json_schema_extra=FILTERS,
    description=f"page==/pricing;source!=google|bing;utm_campaign~spring (==, != and ~ contains; "
    f"values of at most {MAX_VALUE_LENGTH} characters); the same as a JSON list of "
    '{"dimension", "operator": "is"|"is_not"|"contains", "values"} objects is accepted too',
)
LIMIT = Field(10, ge=1, le=100, description="Number of results, 1-100")


class StatsParams(BaseModel):
    model_config = ConfigDict(json_schema_extra=date_range("from", "to", together=True))

    # A str checked by the engine, so a bad value is refused in our words ("period: must be one
    # of ..."), as MCP refuses it; the schema still lists the values.
    period: str = Field(
        "7d",
        max_length=30,
        json_schema_extra={"enum": list(PERIODS)},
        description="Nd (N days ending today, today included), yesterday, last_N_complete_days "
        "(ending yesterday), 24h or 12m; ignored when from is set",
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=10,
        json_schema_extra=DATE,
        description="Start date (YYYY-MM-DD), inclusive; overrides period; needs to",
    )
    to: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=DATE,
        description="End date (YYYY-MM-DD), inclusive; required if from is set",
    )
    site: str | None = SITE
    filters: str | None = FILTER_LIST
    format: ReportFormat = Field("json", description=FORMAT_RULE)


class LimitParams(StatsParams):
    limit: int = LIMIT


class TimeseriesParams(StatsParams):
    model_config = ConfigDict(
        json_schema_extra={
            **date_range("from", "to", together=True),
            INTERVAL_X: {"hourMaxDays": MAX_HOUR_RANGE_DAYS},
        }
    )

    # A str checked by the engine, as period is: "interval: must be one of ..." in our words.
    interval: str | None = Field(
        None, max_length=10, json_schema_extra={"enum": list(INTERVALS)}, description=INTERVAL_RULE
    )


def compare_rules() -> dict[str, Any]:
    """The schema extras of the comparison params: both date pairs go together (each date needs
    the other of its pair), and `x-compare` states what JSON Schema cannot (params.COMPARE_RULE)."""
    dates = date_range("from", "to", together=True)
    compared = date_range("compare_from", "compare_to", together=True)
    return {
        **dates,
        "dependentRequired": {**dates["dependentRequired"], **compared["dependentRequired"]},
        COMPARE_RULE: {"compare": "compare", **compared[DATE_RANGE]},
    }


class CompareParams(StatsParams):
    """The overviews' params: what their *_change numbers compare with (engine/periods.py)."""

    model_config = ConfigDict(json_schema_extra=compare_rules())

    compare: str | None = Field(
        None,
        max_length=30,
        json_schema_extra={"enum": list(COMPARES)},
        description="previous_period (default: the range of the same length right before), "
        "year_over_year (the same dates a year earlier) or custom (compare_from + compare_to)",
    )
    compare_from: str | None = Field(
        None, max_length=10, json_schema_extra=DATE, description="Comparison start (YYYY-MM-DD), inclusive"
    )
    compare_to: str | None = Field(
        None, max_length=10, json_schema_extra=DATE, description="Comparison end (YYYY-MM-DD), inclusive"
    )


class RealtimeParams(BaseModel):
    site: str | None = SITE
    filters: str | None = FILTER_LIST
    limit: int = LIMIT


async def stats_query(
    ctx: ApiContext, params: StatsParams, *, default_limit: int = 10, max_limit: int = 100
) -> Query:
    """The engine Query for these params, over the caller tenant's sites."""
    limit: Any = getattr(params, "limit", None)
    compare = [getattr(params, name, None) for name in ("compare", "compare_from", "compare_to")]
    interval: Any = getattr(params, "interval", None)
    return await engine.query_for_tenant(
        ctx.services.db,
        ctx.tenant,
        period=None if params.from_ else params.period,
        date_from=params.from_,
        date_to=params.to,
        compare=compare[0],
        compare_from=compare[1],
        compare_to=compare[2],
        interval=interval,
        site=params.site,
        filters=params.filters,
        limit=limit,
        default_limit=default_limit,
        max_limit=max_limit,
    )


# The REST overview: the engine's numbers, without its ranges, in the order the API has always sent
# them (the visit metrics were added last).
OverviewData = projection(
    engine.Overview,
    "OverviewData",
    (
        *("visitors", "pageviews", "bounce_rate", "avg_duration"),
        *("visitors_change", "pageviews_change", "bounce_rate_change", "avg_duration_change"),
        *("visits", "views_per_visit", "visits_change", "views_per_visit_change"),
        *("range", "comparison"),
    ),
)


TAGS = ("stats",)
routes = RouteTable()

EngineReport = Callable[[EventsDatabase, Query], Awaitable[Any]]
RouteHandler = Callable[[ApiContext, StatsParams], Awaitable[Any]]


def report_route(
    table: RouteTable,
    path: str,
    report: EngineReport,
    *,
    name: str,
    params: type[StatsParams],
    response: Any,
    summary: str,
    tags: tuple[str, ...],
    doc: str = "",
    rows: bool = True,
) -> RouteHandler:
    """Declare GET `path` in `table` as the engine's `report` over the params' question: its
    `.rows` (or the whole report with rows=False). `name` is the operationId, `doc` the OpenAPI
    description."""

    async def handler(ctx: ApiContext, params: StatsParams) -> Any:
        result = await report(ctx.services.events_db, await stats_query(ctx, params))
        return result.rows if rows else result

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc or None
    table.route(path, params=params, response=response, tags=tags, summary=summary)(handler)
    return handler


stats_overview = report_route(
    routes,
    "/stats/overview",
    engine.overview,
    name="stats_overview",
    params=CompareParams,
    response=OverviewData,
    tags=TAGS,
    summary="Key metrics with period comparison",
    doc="""Visitors, pageviews, bounce rate and average visit duration, with changes against the
    comparison range (`compare`: the previous period of the same length by default), and both
    ranges (`range`, `comparison`; `partial_day` when a range runs past now).""",
    rows=False,
)
stats_timeseries = report_route(
    routes,
    "/stats/timeseries",
    engine.timeseries,
    name="stats_timeseries",
    params=TimeseriesParams,
    response=list[TimeseriesPoint],
    tags=TAGS,
    summary="Visitors and pageviews over time",
    doc="""One row per bucket (`interval`), every bucket present, zero-filled, labelled by its first
    day (a week's Monday, a month's 1st; the local hour for hours); visitors are distinct per
    bucket. The first and last week or month may be cut by the range.""",
)
stats_pages = report_route(
    routes,
    "/stats/pages",
    engine.top_pages,
    name="stats_pages",
    params=LimitParams,
    response=list[PageRow],
    tags=TAGS,
    summary="Top pages",
    doc="""Top pages ranked by pageviews, with visitors and mean time on page in seconds.""",
)
stats_referrers = report_route(
    routes,
    "/stats/referrers",
    engine.referrers,
    name="stats_referrers",
    params=LimitParams,
    response=list[ReferrerRow],
    tags=TAGS,
    summary="Top referrer sources",
    doc="""Visitors by source and referrer host; direct traffic is source "direct", referrer null.""",
)
stats_browsers = report_route(
    routes,
    "/stats/browsers",
    engine.browsers,
    name="stats_browsers",
    params=LimitParams,
    response=list[BrowserRow],
    tags=TAGS,
    summary="Browsers",
)
stats_operating_systems = report_route(
    routes,
    "/stats/operating-systems",
    engine.operating_systems,
    name="stats_operating_systems",
    params=LimitParams,
    response=list[OsRow],
    tags=TAGS,
    summary="Operating systems",
)
stats_devices = report_route(
    routes,
    "/stats/devices",
    engine.devices,
    name="stats_devices",
    params=StatsParams,
    response=list[DeviceRow],
    tags=TAGS,
    summary="Device types",
    doc="""Visitors by device type: desktop, mobile, tablet.""",
)
stats_languages = report_route(
    routes,
    "/stats/languages",
    engine.languages,
    name="stats_languages",
    params=LimitParams,
    response=list[LanguageRow],
    tags=TAGS,
    summary="Languages",
    doc="""Visitors by browser language (primary subtag; null when unknown).""",
)
stats_countries = report_route(
    routes,
    "/stats/countries",
    engine.countries,
    name="stats_countries",
    params=LimitParams,
    response=list[CountryRow],
    tags=TAGS,
    summary="Countries",
    doc="""Visitors, visits and pageviews by country (ISO 3166-1 alpha-2, derived from the IP at
ingestion; the IP is not stored; null when unknown).""",
)
stats_campaigns = report_route(
    routes,
    "/stats/campaigns",
    engine.campaigns,
    name="stats_campaigns",
    params=LimitParams,
    response=list[CampaignRow],
    tags=TAGS,
    summary="UTM campaigns",
    doc="""Visits with UTM parameters by source, medium and campaign.""",
)


@routes.route(
    "/stats/realtime",
    params=RealtimeParams,
    response=engine.Realtime,
    tags=TAGS,
    summary="Current visitors",
)
async def stats_realtime(ctx: ApiContext, params: RealtimeParams) -> engine.Realtime:
    """Visitors with an event in the last 5 minutes, with the top pages and sources among them.
    No period: the window always ends now."""
    query = await engine.query_for_tenant(
        ctx.services.db, ctx.tenant, site=params.site, filters=params.filters, limit=params.limit
    )
    return await engine.current_visitors(ctx.services.events_db, query)
