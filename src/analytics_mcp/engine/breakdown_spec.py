"""What a general breakdown asks for: one or two dimensions, the metrics, the order and the page,
parsed and validated once (`parse_breakdown`), and turned into the store's plan.

Which rows are counted follows from the dimensions (DESIGN.md's dating rules):
- visit dimensions only (visit attributes and `hostname`): the visits started in range, as the
  single-dimension breakdowns count them (visitors, visits, their pageviews, bounce rate,
  duration); conversions and revenue are the goal completions and purchases in range (by their
  own time) of visits with those attributes, as revenue by source counts them;
- with `page`: the pageviews in range (as top pages counts them), split by the visit's
  attributes for a second, visit dimension;
- with `event` or `prop:<key>`: the custom events in range of the passing visits (as
  custom-events counts them); `page` is then the page the event was sent from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.engine.filters import PAGE_DIMENSION, VISIT_DIMENSIONS
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.store.protocol import BreakdownPlan, Level

Metric = Literal[
    "visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration", "conversions", "revenue"
]
METRICS: tuple[Metric, ...] = (
    "visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration", "conversions", "revenue"
)  # fmt: skip
HOSTNAME = "hostname"
EVENT = "event"
PROP_PREFIX = "prop:"
# Store columns of the dimensions that are not visit attributes (events' columns; hostname is the
# site, kept on visits and events alike).
_OWN_COLUMNS = {PAGE_DIMENSION: "pathname", HOSTNAME: "site_id", EVENT: "name"}
DIMENSIONS: tuple[str, ...] = (PAGE_DIMENSION, *VISIT_DIMENSIONS, HOSTNAME, EVENT, f"{PROP_PREFIX}<key>")
PATH_DIMENSIONS = frozenset({PAGE_DIMENSION, "entry_page", "exit_page"})
MAX_DIMENSIONS = 2

MAX_OFFSET = 10_000
_PROP_KEY = re.compile(r"[^\"\\\x00-\x1f]{1,300}")
# The metrics each kind of counted row has.
LEVEL_METRICS: dict[Level, frozenset[str]] = {
    "visits": frozenset(METRICS) - {"events"},
    "pageviews": frozenset({"visitors", "visits", "pageviews"}),
    "custom": frozenset({"visitors", "visits", "events"}),
}
_LEVEL_HINT: dict[Level, str] = {
    "pageviews": "with page the rows are pageviews",
    "custom": "with event or prop: the rows are custom events",
    "visits": "",
}


@dataclass(frozen=True, slots=True)
class BreakdownSpec:
    """A validated breakdown: `dimensions` as asked, plus `hostname` when several sites are read
    and a path could be ambiguous (`keys` = both, in row order)."""

    dimensions: tuple[str, ...]
    keys: tuple[str, ...]
    metrics: tuple[Metric, ...]
    sort: Metric
    descending: bool
    offset: int
    goal_id: str | None
    plan: BreakdownPlan


def _split(raw: str | Sequence[str] | None) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else list(raw or ())
    return [item.strip() for item in items if item.strip()]


def _dimension(name: str) -> str:
    if name.startswith(PROP_PREFIX):
        if not _PROP_KEY.fullmatch(name[len(PROP_PREFIX) :]):
            raise QueryError("dimensions", f"{name!r}: a property key is 1-300 characters without quotes")
        return name
    if name not in VISIT_DIMENSIONS and name not in _OWN_COLUMNS:
        raise QueryError("dimensions", f"unknown dimension {name!r}; use one of {', '.join(DIMENSIONS)}")
    return name


def _dimensions(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    names = list(dict.fromkeys(_split(raw)))  # a dimension named twice is one
    if not 1 <= len(names) <= MAX_DIMENSIONS:
        raise QueryError("dimensions", f"give 1 or {MAX_DIMENSIONS} dimensions, e.g. source or source,device")
    return tuple(_dimension(name) for name in names)


def level_of(dimensions: Sequence[str]) -> Level:
    if any(d == EVENT or d.startswith(PROP_PREFIX) for d in dimensions):
        return "custom"
    return "pageviews" if PAGE_DIMENSION in dimensions else "visits"


def column_of(dimension: str) -> str:
    if dimension.startswith(PROP_PREFIX):
        return "props"
    return _OWN_COLUMNS.get(dimension) or VISIT_DIMENSIONS[dimension]


def _metrics(raw: str | Sequence[str] | None, level: Level) -> tuple[Metric, ...]:
    names = _split(raw) or ["visitors"]
    chosen: list[Metric] = []
    for name in dict.fromkeys(names):
        if name not in METRICS:
            raise QueryError("metrics", f"unknown metric {name!r}; use any of {', '.join(METRICS)}")
        if name not in LEVEL_METRICS[level]:
            allowed = ", ".join(m for m in METRICS if m in LEVEL_METRICS[level])
            raise QueryError("metrics", f"{name} is not available here ({_LEVEL_HINT[level]}: {allowed})")
        chosen.append(name)
    return tuple(chosen)


def _sort(raw: str | None, metrics: tuple[Metric, ...]) -> tuple[Metric, bool]:
    text = (raw or f"-{metrics[0]}").strip()
    descending = text.startswith("-")
    name = text.lstrip("-+")
    for metric in metrics:
        if metric == name:
            return metric, descending
    raise QueryError(
        "sort", f"must be one of the chosen metrics, '-' first for descending (e.g. -{metrics[0]})"
    )


def _offset(offset: int | None) -> int:
    if offset is None:
        return 0
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise QueryError("offset", f"must be an integer from 0 to {MAX_OFFSET}")
    return offset


def _goal(query: Query, goal: str | None, metrics: Sequence[str]) -> str | None:
    """The goal's id from its id or its name (a name two sites' goals share is ambiguous); a goal
    given without the conversions metric is checked, then not used."""
    if goal is None:
        if "conversions" in metrics:
            raise QueryError("goal", "the conversions metric needs a goal (its id or name, see goals)")
        return None
    found = [g for g in query.goals if g.id == goal] or [g for g in query.goals if g.name == goal]
    if not found:
        raise QueryError("goal", "not found")
    if len(found) > 1:
        raise QueryError("goal", f"{len(found)} goals are named {goal!r}; give the id of one")
    return found[0].id if "conversions" in metrics else None


def parse_breakdown(
    query: Query,
    *,
    dimensions: str | Sequence[str] | None,
    metrics: str | Sequence[str] | None = None,
    sort: str | None = None,
    offset: int | None = None,
    goal: str | None = None,
) -> BreakdownSpec:
    """Validate a breakdown of `query` (QueryError naming dimensions, metrics, sort, offset or goal)."""
    asked = _dimensions(dimensions)
    level = level_of(asked)
    chosen = _metrics(metrics, level)
    by, descending = _sort(sort, chosen)
    keys = asked
    if len(query.sites) > 1 and HOSTNAME not in asked and PATH_DIMENSIONS & set(asked):
        keys = (*asked, HOSTNAME)  # `/` of two sites are two rows
    goal_id = _goal(query, goal, chosen)
    columns = tuple(column_of(k) for k in keys)
    plan = BreakdownPlan(level, columns, goal_id, "revenue" in chosen, visits="visits" in chosen)
    return BreakdownSpec(asked, keys, chosen, by, descending, _offset(offset), goal_id, plan)
