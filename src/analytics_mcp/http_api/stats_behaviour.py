"""`/api/v1/stats/*` for what visitors did beyond the top lists: entry and exit pages, custom
events (the tracker's outbound link clicks, file downloads and 404s among them) with their
properties, and scroll depth. Same params, validation and engine functions as stats.py."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from analytics_mcp import engine
from analytics_mcp.engine import CustomEventRow, EntryPageRow, EventProperties, ExitPageRow, ScrollRow
from analytics_mcp.http_api.csv_report import Table
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.http_api.stats import TAGS, LimitParams, report_route, stats_query

routes = RouteTable()

stats_entry_pages = report_route(
    routes,
    "/stats/entry-pages",
    engine.entry_pages,
    name="stats_entry_pages",
    params=LimitParams,
    response=list[EntryPageRow],
    tags=TAGS,
    summary="Entry pages",
    doc="""The first page of the visits started in range: visitors, visits and bounce rate.""",
)
stats_exit_pages = report_route(
    routes,
    "/stats/exit-pages",
    engine.exit_pages,
    name="stats_exit_pages",
    params=LimitParams,
    response=list[ExitPageRow],
    tags=TAGS,
    summary="Exit pages",
    doc="""The last page of the visits started in range: visitors and visits.""",
)
stats_custom_events = report_route(
    routes,
    "/stats/custom-events",
    engine.custom_events,
    name="stats_custom_events",
    params=LimitParams,
    response=list[CustomEventRow],
    tags=TAGS,
    summary="Custom events",
    doc="""Custom event names (all but pageviews, engagement and e-commerce events; the tracker's
    "Outbound Link: Click", "File Download" and "404" among them) with events and visitors.""",
)
stats_scroll_depth = report_route(
    routes,
    "/stats/scroll-depth",
    engine.scroll_depth,
    name="stats_scroll_depth",
    params=LimitParams,
    response=list[ScrollRow],
    tags=TAGS,
    summary="Scroll depth by page",
    doc="""Pages by their pageviews with a scroll report from the tracker, with the mean deepest
    scroll (% of the page).""",
)


class PropertiesParams(LimitParams):
    event: str = Field(min_length=1, max_length=200, description="The custom event's name")


def property_rows(data: Any) -> Table:
    """One CSV row per (property, value): the nested answer flattened."""
    rows = [
        {"property": prop["key"], "value": value["value"], "events": value["events"]}
        for prop in data["properties"]
        for value in prop["values"]
    ]
    return ["property", "value", "events"], rows


@routes.route(
    "/stats/event-properties",
    params=PropertiesParams,
    response=EventProperties,
    tags=TAGS,
    summary="Properties of one custom event",
    csv_rows=property_rows,
)
async def stats_event_properties(ctx: ApiContext, params: PropertiesParams) -> EventProperties:
    """The property keys of one custom event with each key's most frequent values (`limit` of
    each): e.g. the `url` of "Outbound Link: Click" or "File Download", the `path` of "404"."""
    query = await stats_query(ctx, params)
    return await engine.event_properties(ctx.services.events_db, query, params.event)
