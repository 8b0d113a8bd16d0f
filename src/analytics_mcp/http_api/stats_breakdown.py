"""`GET /api/v1/stats/breakdown`: the general breakdown (one or two dimensions by chosen metrics,
sorted and paged), the engine's `breakdown` over the same question as every stats route. The
rules between values that JSON Schema cannot state (which metrics each kind of row has, the sort
among the chosen metrics, a goal for conversions) are in the operation's `x-breakdown` and
answered with a 422 naming the field."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, JsonValue

from analytics_mcp import engine
from analytics_mcp.engine.breakdown_spec import (
    EVENT,
    HOSTNAME,
    LEVEL_METRICS,
    MAX_OFFSET,
    METRICS,
    PROP_PREFIX,
)
from analytics_mcp.engine.filters import PAGE_DIMENSION, VISIT_DIMENSIONS
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.http_api.params import INK, date_range
from analytics_mcp.http_api.stats import TAGS, LimitParams, stats_query

# The arguments' forms (the engine also takes blanks around the items). A property key: no comma,
# quote, backslash or control character, and no blank at either end (the engine strips items).
_EDGE, _MIDDLE = f'[^,"\\\\{INK}\\u0001-\\u001f]', '[^,"\\\\\\u0000-\\u001f]'
_PROP_KEY = f"{_EDGE}(?:{_MIDDLE}{{0,298}}{_EDGE})?"
_ONE_DIMENSION = "|".join([PAGE_DIMENSION, *VISIT_DIMENSIONS, HOSTNAME, EVENT, f"{PROP_PREFIX}{_PROP_KEY}"])
DIMENSION_PATTERN = f"^(?:{_ONE_DIMENSION})(?:,(?:{_ONE_DIMENSION}))?$"
_ONE_METRIC = "|".join(METRICS)
METRICS_PATTERN = f"^(?:{_ONE_METRIC})(?:,(?:{_ONE_METRIC})){{0,{len(METRICS) - 1}}}$"
SORT_PATTERN = f"^-?(?:{_ONE_METRIC})$"

RULES: dict[str, JsonValue] = {
    "x-breakdown": {
        "metrics_by_row": {level: list[JsonValue](sorted(names)) for level, names in LEVEL_METRICS.items()},
        "rows": "page: pageviews; event or prop:<key>: custom events; otherwise visits",
        "sort": "one of the chosen metrics",
        "goal": "required with conversions (else checked, then not used)",
    }
}


class BreakdownParams(LimitParams):
    model_config = ConfigDict(json_schema_extra={**date_range("from", "to", together=True), **RULES})

    dimensions: str = Field(
        max_length=700,
        pattern=DIMENSION_PATTERN,
        description="One or two of page, entry_page, exit_page, source, referrer, channel, device, browser, "
        "os, language, country, utm_source, utm_medium, utm_campaign, utm_term, utm_content, hostname "
        "(the site), event (custom event name), prop:<key> (a custom event property), comma-separated: "
        "source,device; page; event,prop:plan",
    )
    metrics: str = Field(
        "visitors",
        max_length=200,
        pattern=METRICS_PATTERN,
        description=f"Comma-separated, any of {', '.join(METRICS)}; with page only visitors, visits, "
        "pageviews; with event or prop: only visitors, visits, events",
    )
    sort: str | None = Field(
        None,
        max_length=40,
        pattern=SORT_PATTERN,
        description="A chosen metric, '-' first for descending (default: -the first metric); ties by "
        "the dimension values",
    )
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip (next page: offset + limit)")
    goal: str | None = Field(
        None, min_length=1, max_length=200, description="The goal conversions count: its id, or its name"
    )


routes = RouteTable()


@routes.route(
    "/stats/breakdown",
    params=BreakdownParams,
    response=engine.BreakdownReport,
    tags=TAGS,
    summary="Breakdown by one or two dimensions",
    errors=(404,),
)
async def stats_breakdown(ctx: ApiContext, params: BreakdownParams) -> Any:
    """Rows of one or two dimensions (e.g. source by device) with the chosen metrics, sorted by
    one of them and paged with limit and offset; `truncated` when more rows follow. With several
    sites, page, entry_page and exit_page rows also carry their site's `hostname`."""
    query = await stats_query(ctx, params)
    spec = engine.parse_breakdown(
        query,
        dimensions=params.dimensions,
        metrics=params.metrics,
        sort=params.sort,
        offset=params.offset,
        goal=params.goal,
    )
    return await engine.breakdown(ctx.services.events_db, query, spec)
