"""The general breakdown: one or two dimensions by chosen metrics (breakdown_spec.py says what is
counted). The store answers every group; here they are merged, given their metrics with the
shared rounding rules, sorted (the chosen metric, then the other metrics, then the dimension values
ascending, null first, text by code point: one order whichever store answered) and paged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import Field

from analytics_mcp.engine.breakdown_spec import HOSTNAME, PROP_PREFIX, BreakdownSpec, Metric
from analytics_mcp.engine.custom_events import text_of
from analytics_mcp.engine.ecommerce import currency_warnings
from analytics_mcp.engine.numbers import money, rate, seconds
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import Report, ReportRange
from analytics_mcp.engine.store import BreakdownCounts, source_for
from analytics_mcp.storage.clickhouse import EventsDatabase

Key = tuple[Any, ...]
Cell = str | int | float | None


class BreakdownReport(Report):
    dimensions: list[str] = Field(description="The row keys, in order (hostname added with several sites)")
    metrics: list[str] = Field(description="The metrics of each row, in order")
    sort: str = Field(description="The metric the rows are ordered by, '-' first for descending")
    offset: int = Field(description="Rows skipped before the first one shown")
    rows: list[dict[str, Cell]] = Field(
        description="One object per group: its dimension values, then its metrics"
    )
    truncated: bool = Field(description="More rows exist after these (ask again with offset + limit)")
    currency: str | None = Field(description="Reporting currency of revenue (null without revenue)")
    warnings: list[str] = Field(description="Purchases in other currencies left out of revenue")


@dataclass(slots=True)
class Group:
    visitors: int = 0
    visits: int = 0
    pageviews: int = 0
    bounces: int = 0
    duration_ms: int = 0
    events: int = 0
    conversions: int = 0
    revenue: float = 0.0
    ids: tuple[set[Any], set[Any]] = field(default_factory=lambda: (set(), set()))


METRIC_OF: dict[Metric, Callable[[Group], Cell]] = {
    "visitors": lambda g: g.visitors,
    "visits": lambda g: g.visits,
    "pageviews": lambda g: g.pageviews,
    "events": lambda g: g.events,
    "bounce_rate": lambda g: rate(g.bounces, g.visits),
    "visit_duration": lambda g: seconds(g.duration_ms / g.visits) if g.visits else 0,
    "conversions": lambda g: g.conversions,
    "revenue": lambda g: money(g.revenue),
}


def _prop(text: str | None, key: str) -> str | None:
    props = orjson.loads(text) if text else None
    return text_of(props.get(key)) if isinstance(props, dict) else None


def _key(spec: BreakdownSpec, values: Sequence[Any], domains: dict[int, str]) -> Key:
    """A group's dimension values as shown: a site's domain for hostname, a property's value."""
    out: list[Any] = []
    for name, value in zip(spec.keys, values, strict=True):
        if name == HOSTNAME:
            out.append(domains.get(int(value), str(value)))
        elif name.startswith(PROP_PREFIX):
            out.append(_prop(value, name[len(PROP_PREFIX) :]))
        else:
            out.append(value)
    return tuple(out)


def groups_of(spec: BreakdownSpec, counts: BreakdownCounts, domains: dict[int, str]) -> dict[Key, Group]:
    groups: dict[Key, Group] = defaultdict(Group)
    n = len(spec.keys)
    split = "props" in spec.plan.columns
    for row in counts.rows:
        group = groups[_key(spec, row[:n], domains)]
        if split:  # (*keys, visitor, visit, events): distinct ids counted here
            group.ids[0].add(row[n])
            group.ids[1].add(row[n + 1])
            group.events += int(row[n + 2])
            group.visitors, group.visits = len(group.ids[0]), len(group.ids[1])
            continue
        sums = [int(value or 0) for value in row[n:]]
        group.visitors, group.visits, group.pageviews, group.bounces, group.duration_ms, group.events = sums
    for row in counts.conversions:
        groups[_key(spec, row[:n], domains)].conversions = int(row[n])
    for row in counts.revenue:
        groups[_key(spec, row[:n], domains)].revenue = float(row[n] or 0.0)
    return groups


def ascending(value: Any) -> tuple[bool, Any]:
    """ORDER BY ... ASC of a dimension value: null first."""
    return (value is not None, "" if value is None else value)


def ordered(spec: BreakdownSpec, groups: dict[Key, Group]) -> list[tuple[Key, Group]]:
    """By the sort metric, ties by the other chosen metrics in order (the same direction), then by
    the dimension values."""
    measures = [METRIC_OF[spec.sort], *(METRIC_OF[m] for m in spec.metrics if m != spec.sort)]
    sign = -1 if spec.descending else 1

    def order(item: tuple[Key, Group]) -> tuple[Any, ...]:
        values = (sign * (measure(item[1]) or 0) for measure in measures)
        return (*values, *(ascending(k) for k in item[0]))

    return sorted(groups.items(), key=order)


def row_of(spec: BreakdownSpec, key: Key, group: Group) -> dict[str, Cell]:
    row: dict[str, Cell] = dict(zip(spec.keys, key, strict=True))
    row.update({metric: METRIC_OF[metric](group) for metric in spec.metrics})
    return row


async def breakdown(db: EventsDatabase, query: Query, spec: BreakdownSpec) -> BreakdownReport:
    """Rows of `spec`'s dimensions with its metrics: `query.limit` of them after `spec.offset`."""
    counts = await source_for(db, query).breakdown(spec.plan)
    domains = {site.id: site.domain for site in query.sites}
    everything = ordered(spec, groups_of(spec, counts, domains))
    end = spec.offset + query.limit
    revenue = "revenue" in spec.metrics
    return BreakdownReport(
        range=ReportRange.of(query),
        dimensions=list(spec.keys),
        metrics=list(spec.metrics),
        sort=("-" if spec.descending else "") + spec.sort,
        offset=spec.offset,
        rows=[row_of(spec, key, group) for key, group in everything[spec.offset : end]],
        truncated=len(everything) > end,
        currency=query.currency if revenue else None,
        warnings=currency_warnings(query, counts.other_currencies) if revenue else [],
    )
