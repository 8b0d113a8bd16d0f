"""Tools over what happens now and over custom events: `realtime` (current visitors) and
`custom-events` (custom event names, counts and properties)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from analytics_mcp import engine
from analytics_mcp.tools import args
from analytics_mcp.tools.answers_explore import RealtimeAnswer
from analytics_mcp.tools.args import DomainArg, FiltersArg, LimitArg, TenantArg
from analytics_mcp.tools.common import authorized_request, reply


async def realtime(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    domain: DomainArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
) -> Annotated[CallToolResult, RealtimeAnswer]:
    """Who is on the sites right now: visitors (distinct visitors with any event in the last 5
    minutes), the top pages they view and the sources (referrer_source) their visits came from,
    each by visitors and bounded by `limit`. No period: the window always ends now (`as_of`, UTC).
    Answers "how many people are on my site now?". Call list-sites first to discover domains."""
    request = await authorized_request(ctx, tenant, "7d", domain, None, None, limit, filters=filters)
    report = await request.run(engine.current_visitors)
    sites = [site.domain for site in request.query.sites]
    return reply("realtime", request.answer(RealtimeAnswer, report, sites=sites))
