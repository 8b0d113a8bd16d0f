"""Tools over what happens now and over custom events: `realtime` (current visitors) and
`custom-events` (custom event names, counts and properties)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from analytics_mcp import engine
from analytics_mcp.tools import args
from analytics_mcp.tools.answers_explore import CustomEventsAnswer, RealtimeAnswer
from analytics_mcp.tools.args import (
    DomainArg,
    EventArg,
    FiltersArg,
    FromArg,
    LimitArg,
    PeriodArg,
    TenantArg,
    ToArg,
)
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


async def custom_events(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
    limit: LimitArg = args.DEFAULT_LIMIT,
    filters: FiltersArg = None,
    event: EventArg = None,
) -> Annotated[CallToolResult, CustomEventsAnswer]:
    """Custom events (what the site tracks under its own names: signups, clicks, downloads; not
    pageviews or e-commerce events): each name with its events and unique visitors in the period,
    by events, bounded by `limit`. With `event`, also that event's properties: each key with the
    events carrying it and its most frequent values. Answers "which events fire most?", "which
    plans do signups choose?". Call list-sites first to discover domains."""
    request = await authorized_request(
        ctx, tenant, period, domain, date_from, date_to, limit, filters=filters
    )
    report = await request.run(engine.custom_events)
    detail = None
    if event is not None:
        found = await request.run(engine.event_properties, None, event)
        detail = found.model_dump(exclude={"range"})
    answer = request.answer(CustomEventsAnswer, report, event=detail)
    return reply("custom-events", answer, property_lines(answer))


def property_lines(answer: CustomEventsAnswer) -> list[str]:
    detail = answer.event
    if detail is None:
        return []
    lines = [f"event {detail.name}: {detail.events_with_properties:,} events with properties"]
    for prop in detail.properties:
        values = ", ".join(f"{value.value} {value.events:,}" for value in prop.values)
        lines.append(f"  {prop.key} ({prop.events:,} events): {values}" + (" ..." if prop.truncated else ""))
    if detail.truncated:
        lines.append("  (truncated: more keys or property sets exist)")
    return lines
