"""The `breakdown` tool: one or two dimensions by chosen metrics, sorted and paged (the engine's
general breakdown, the one GET /api/v1/stats/breakdown runs)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from analytics_mcp import engine
from analytics_mcp.tools import args
from analytics_mcp.tools.answers import ToolAnswer
from analytics_mcp.tools.args import DomainArg, FiltersArg, FromArg, LimitArg, PeriodArg, TenantArg, ToArg
from analytics_mcp.tools.breakdown_args import DimensionsArg, GoalArg, MetricsArg, OffsetArg, SortArg
from analytics_mcp.tools.common import authorized_request, query_error, reply

DEFAULT_DIMENSIONS = ["source"]


class BreakdownAnswer(engine.BreakdownReport, ToolAnswer):
    definition_keys = (
        "period", "visitors", "visits", "pageviews", "bounce_rate", "avg_duration", "visit_attributes",
        "custom_events", "truncated",
    )  # fmt: skip


async def breakdown(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    dimensions: DimensionsArg = None,
    metrics: MetricsArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    filters: FiltersArg = None,
    sort: SortArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    offset: OffsetArg = 0,
    goal: GoalArg = None,
) -> Annotated[CallToolResult, BreakdownAnswer]:
    """Any traffic report by one or two dimensions: e.g. visitors and bounce rate by source and
    device, pageviews by page and country, signups by their `plan` property, revenue by channel,
    conversions of a goal by entry page. Rows hold the dimension values then the metrics, sorted
    by `sort`; `limit` rows after `offset`, truncated=true when more follow. Filters narrow what is
    counted. Call list-sites first to discover domains, goals for goal ids."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    try:
        spec = engine.parse_breakdown(
            request.query,
            dimensions=dimensions or DEFAULT_DIMENSIONS,
            metrics=metrics,
            sort=sort,
            offset=offset,
            goal=goal,
        )
    except engine.QueryError as exc:
        raise query_error(exc) from None
    report = await request.run(engine.breakdown, None, spec)
    return reply("breakdown", request.answer(BreakdownAnswer, report))
