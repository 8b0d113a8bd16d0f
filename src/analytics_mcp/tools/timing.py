"""Time tools: visitors and pageviews per day (trend) and by hour of day (peaks)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from analytics_mcp import engine
from analytics_mcp.tools.answers import DailyAnswer, HourlyAnswer
from analytics_mcp.tools.args import DomainArg, FiltersArg, FromArg, IntervalArg, PeriodArg, TenantArg, ToArg
from analytics_mcp.tools.common import authorized_request, reply

MAX_BUCKETS = 400  # 366 days of a 12m period by day; longer custom ranges keep the latest buckets


async def daily_breakdown(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    filters: FiltersArg = None,
    interval: IntervalArg = None,
) -> Annotated[CallToolResult, DailyAnswer]:
    """Visitors (unique in each bucket) and pageviews for every bucket of the period, zero-filled,
    oldest first, for trend analysis ("which day was best?", "is traffic growing?"). Buckets: days
    up to 92 days, weeks for longer (12m), months beyond a year, hours for 24h; `interval` picks
    hour, day, week or month. date = the bucket's first day (a week's Monday, a month's 1st) or
    local hour (ISO 8601 with offset); partial_buckets names weeks/months the range cuts short. At
    most 400 rows (the latest; truncated=true when cut). Visitors of different buckets must not be
    added up: use analytics-overview for the period's unique visitors. Call list-sites first to
    discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, filters=filters, interval=interval
    )
    report = await request.run(engine.timeseries)
    rows = report.rows[-MAX_BUCKETS:]
    answer = request.answer(DailyAnswer, report, rows=rows, truncated=len(report.rows) > len(rows))
    return reply("daily-breakdown", answer)


async def hourly_breakdown(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, HourlyAnswer]:
    """Visitors and pageviews by local hour of day (0-23, the site's time zone), counted over all
    days of the period together, zero-filled: always 24 rows. Answers "when is my peak traffic?" and "when
    should I publish or run maintenance?". Call list-sites first to discover domains."""
    request = await authorized_request(ctx, tenant, period, domain, date_from, date_to, filters=filters)
    report = await request.run(engine.hour_of_day)
    return reply("hourly-breakdown", request.answer(HourlyAnswer, report))
