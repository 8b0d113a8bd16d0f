"""Traffic tools: overview, pages, sources, devices/browsers/OS, languages, campaigns. Each is a thin
adapter: parse with the engine, call the engine function the REST route calls, shape, reply."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from analytics_mcp import engine
from analytics_mcp.tools import args
from analytics_mcp.tools.answers import (
    CampaignsAnswer,
    DevicesAnswer,
    LanguagesAnswer,
    OverviewAnswer,
    PagesAnswer,
    Section,
    SourcesAnswer,
)
from analytics_mcp.tools.args import DomainArg, FiltersArg, FromArg, LimitArg, PeriodArg, TenantArg, ToArg
from analytics_mcp.tools.common import authorized_request, reply

CHANNEL_ROWS = 10  # there are 7 channels: never cut them by the referrer limit


def section(report: engine.Breakdown[Any]) -> Section[Any]:
    return Section(rows=report.rows, truncated=report.truncated)


async def analytics_overview(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    filters: FiltersArg = None,
    compare: args.CompareArg = None,
    compare_from: args.CompareFromArg = None,
    compare_to: args.CompareToArg = None,
) -> Annotated[CallToolResult, OverviewAnswer]:
    """Headline traffic numbers with their change against a comparison range (`compare`: the
    previous period of the same length by default, or the same dates last year, or your own):
    visitors (unique, per day), visits, pageviews, views_per_visit, bounce_rate (%), avg_duration
    (seconds per visit), and each one's *_change (% change; percentage points for bounce_rate).

    Answers "how many visitors did I have last week?", "is traffic up or down on last year?".
    Call list-sites first to discover domains; omit domain for all sites together."""
    dates, versus = (date_from, date_to), (compare, compare_from, compare_to)
    request = await authorized_request(ctx, tenant, period, domain, *dates, filters=filters, compare=versus)
    report = await request.run(engine.overview)
    return reply("analytics-overview", request.answer(OverviewAnswer, report))


async def top_pages(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, PagesAnswer]:
    """Top pages by pageviews: pathname, visitors (unique), pageviews and avg_duration (mean time on
    the page in seconds). Answers "which pages are most read?". Rows are bounded by `limit`
    (truncated=true when more exist). Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    report = await request.run(engine.top_pages)
    return reply("top-pages", request.answer(PagesAnswer, report))


async def traffic_sources(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, SourcesAnswer]:
    """Where visitors come from. `channels`: unique visitors per channel (direct, organic search,
    social, email, paid, referral, ai assistants; all of them, never cut by limit). `referrers`: the
    top sources (referrer_source, e.g. google, chatgpt, newsletter) with the referring site
    (referrer host) and visitors, bounded by `limit`. Counted per visit, from its first event.
    Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    channel_query = request.query.model_copy(update={"limit": CHANNEL_ROWS})
    channels = await request.run(engine.channels, channel_query)
    referrers = await request.run(engine.referrers)
    answer = request.answer(
        SourcesAnswer, referrers, channels=section(channels), referrers=section(referrers)
    )
    return reply("traffic-sources", answer)


async def device_and_browser(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, DevicesAnswer]:
    """What visitors use: unique visitors by device_type (desktop, mobile, tablet), by browser
    (Chrome, Safari, Firefox, ...) and by operating system (os: Windows, macOS, iOS, Android, ...),
    each list bounded by `limit`. Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    devices = await request.run(engine.devices)
    browsers = await request.run(engine.browsers)
    systems = await request.run(engine.operating_systems)
    answer = request.answer(
        DevicesAnswer,
        devices,
        devices=section(devices),
        browsers=section(browsers),
        operating_systems=section(systems),
    )
    return reply("device-and-browser", answer)


async def languages(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, LanguagesAnswer]:
    """Unique visitors by browser language (primary subtag, lower case: en, de, fr; null when the
    browser sent none), bounded by `limit`. Answers "which languages should my site support?".
    Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    report = await request.run(engine.languages)
    return reply("languages", request.answer(LanguagesAnswer, report))


async def campaigns(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, CampaignsAnswer]:
    """UTM campaign performance: utm_source, utm_medium, utm_campaign with unique visitors and
    pageviews of the visits they brought, bounded by `limit`. Only visits with UTM tags appear.
    Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    report = await request.run(engine.campaigns)
    return reply("campaigns", request.answer(CampaignsAnswer, report))
