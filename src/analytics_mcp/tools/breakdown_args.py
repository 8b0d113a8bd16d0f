"""The `breakdown` tool's own arguments (the shared ones are in tools/args.py), typed once so the
inputSchema documents each with examples. Values are checked by the engine (parse_breakdown),
whose one-line errors name the argument."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from analytics_mcp.engine.breakdown_spec import DIMENSIONS, MAX_DIMENSIONS, MAX_OFFSET, Metric

DimensionsArg = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=310)]] | None,
    Field(
        min_length=1,
        max_length=MAX_DIMENSIONS,
        description=(
            f"One or two of: {', '.join(DIMENSIONS)}. hostname is the site (its domain); event is the "
            "custom event name; prop:<key> a custom event property (e.g. prop:plan). Visit dimensions "
            "count visits started in range; with page the rows are pageviews; with event or prop: "
            "custom events. With several sites, page/entry_page/exit_page rows also get hostname. "
            "Default ['source']. Examples: ['source', 'device'], ['page', 'country'], "
            "['event', 'prop:plan'], ['country']."
        ),
    ),
]
MetricsArg = Annotated[
    list[Metric] | None,
    Field(
        min_length=1,
        max_length=8,
        description=(
            "What each row counts. Visit dimensions: visitors, visits, pageviews, bounce_rate (%), "
            "visit_duration (s), conversions (completions of `goal`), revenue (reporting currency). "
            "With page: visitors, visits, pageviews. With event or prop:: visitors, visits, events. "
            "Default ['visitors']. Example: ['visitors', 'bounce_rate']."
        ),
    ),
]
SortArg = Annotated[
    str | None,
    Field(
        max_length=40,
        description=(
            "A chosen metric to order by, '-' first for descending, e.g. '-visitors' (the default: "
            "the first metric, descending) or 'bounce_rate'. Ties go by the dimension values."
        ),
    ),
]
OffsetArg = Annotated[
    int,
    Field(ge=0, le=MAX_OFFSET, description="Rows to skip: for the next page use offset + limit."),
]
GoalArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="The goal `conversions` counts: its id or its name as the goals tool lists it.",
    ),
]
