"""What bench/engine.py times: every engine function behind the 12 MCP tools, called as the tools
call it (tools/traffic.py, tools/commerce.py, tools/timing.py), each with its DuckDB reference and
a shape that makes the engine's result comparable with the reference's."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import engine_ref as ref
from analytics_mcp import engine
from analytics_mcp.storage.db import Database

CHANNEL_ROWS = 10  # tools/traffic.py: channels are never cut by the caller's limit
RECENT = 5  # tools/commerce.py: latest completions per goal (the `recent` default)
_WARNING = re.compile(r"^(\d+) \w+ in ([A-Z]{3}) ")

Run = Callable[[Database, engine.Query], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Case:
    tool: str
    name: str
    run: Run
    shape: Callable[[Any], Any]
    reference: Callable[[ref.Con, ref.Ask], Any] | None
    prepare: Callable[[Database, engine.Query], Awaitable[Run]] | None = None  # untimed setup -> run


def _currencies(warnings: list[str]) -> list[tuple[str, int]]:
    found = [_WARNING.match(w) for w in warnings]
    return [(m.group(2), int(m.group(1))) for m in found if m]


def _rows(*fields: str) -> Callable[[Any], Any]:
    def shape(report: Any) -> Any:
        return [tuple(getattr(r, f) for f in fields) for r in report.rows], report.truncated

    return shape


def _overview(r: engine.Overview) -> dict[str, Any]:
    keys = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "avg_duration")
    return {k: getattr(r, k) for k in (*keys, *(f"{k}_change" for k in keys))}


def _timeseries(r: engine.Timeseries) -> dict[str, tuple[int, int]]:
    return {p.date: (p.visitors, p.pageviews) for p in r.rows if p.visitors or p.pageviews}


def _hours(r: engine.HourOfDay) -> dict[int, tuple[int, int]]:
    return {h.hour: (h.visitors, h.pageviews) for h in r.rows if h.visitors or h.pageviews}


def _goals(r: engine.GoalsReport) -> dict[str, Any]:
    rows = [(g.name, g.completions, g.visitors, g.conversion_rate) for g in r.goals]
    return {"visitors": r.visitors, "goals": rows}


def _commerce(r: engine.EcommerceOverview) -> dict[str, Any]:
    keys = (
        "revenue",
        "transactions",
        "avg_order_value",
        "conversion_rate",
        "visitors",
        "purchasing_visitors",
    )
    changes = ("revenue_change", "transactions_change", "avg_order_value_change", "conversion_rate_change")
    return {**{k: getattr(r, k) for k in (*keys, *changes)}, "other_currencies": _currencies(r.warnings)}


def _products(r: engine.Products) -> dict[str, Any]:
    rows = [(p.item_name, p.revenue, p.quantity, p.orders) for p in r.rows]
    return {"rows": rows, "truncated": r.truncated, "other_currencies": _currencies(r.warnings)}


def _funnel(r: engine.Funnel) -> list[tuple[str, int, float]]:
    return [(s.step, s.visitors, s.dropoff_rate) for s in r.rows]


def _by_source(r: engine.RevenueBySource) -> dict[str, Any]:
    rows = [(s.source, s.revenue, s.transactions) for s in r.rows]
    return {"rows": rows, "truncated": r.truncated, "other_currencies": _currencies(r.warnings)}


async def channels(db: Database, query: engine.Query) -> Any:
    return await engine.channels(db, query.model_copy(update={"limit": CHANNEL_ROWS}))


async def prepare_completions(db: Database, query: engine.Query) -> Run:
    """The goals tool, after goals_report: the newest completions of each shown goal that has any.
    Which goals those are is found here, untimed (goals_report is timed on its own row)."""
    report = await engine.goals_report(db, query)
    shown = [goal for goal in report.goals[: query.limit] if goal.completions]

    async def run(db: Database, query: engine.Query) -> list[tuple[str, engine.GoalCompletions]]:
        recent = query.model_copy(update={"limit": RECENT})
        return [(goal.name, await engine.goal_completions(db, recent, goal.id)) for goal in shown]

    return run


def _completions(pages: list[tuple[str, engine.GoalCompletions]]) -> dict[str, Any]:
    return {name: (p.total, [row.pageview_id for row in p.rows], p.truncated) for name, p in pages}


def _channel_ref(con: ref.Con, ask: ref.Ask) -> Any:
    return ref.by_visit_column("channel")(con, replace(ask, limit=CHANNEL_ROWS))


def _visit_case(tool: str, fn: Run, field: str, column: str) -> Case:
    return Case(tool, fn.__name__, fn, _rows(field, "visitors"), ref.by_visit_column(column))


CASES: tuple[Case, ...] = (
    Case("analytics-overview", "overview", engine.overview, _overview, ref.overview),
    Case("top-pages", "top_pages", engine.top_pages,
         _rows("pathname", "visitors", "pageviews", "avg_duration"), ref.top_pages),
    Case("traffic-sources", "channels", channels, _rows("channel", "visitors"), _channel_ref),
    Case("traffic-sources", "referrers", engine.referrers, _rows("referrer_source", "referrer", "visitors"),
         ref.referrers),
    _visit_case("device-and-browser", engine.devices, "device_type", "device_type"),
    _visit_case("device-and-browser", engine.browsers, "browser", "browser"),
    _visit_case("device-and-browser", engine.operating_systems, "os", "os"),
    _visit_case("languages", engine.languages, "language", "language"),
    Case("campaigns", "campaigns", engine.campaigns,
         _rows("utm_source", "utm_medium", "utm_campaign", "visitors", "pageviews"), ref.campaigns),
    Case("goals", "goals_report", engine.goals_report, _goals, ref.goals_report),
    Case("goals", "goal_completions", engine.goal_completions, _completions, ref.goal_completions,
         prepare_completions),
    Case("ecommerce-overview", "ecommerce_overview", engine.ecommerce_overview, _commerce,
         ref.ecommerce_overview),
    Case("ecommerce-products", "products", engine.products, _products, ref.products),
    Case("ecommerce-products", "funnel", engine.funnel, _funnel, ref.funnel),
    Case("ecommerce-products", "revenue_by_source", engine.revenue_by_source, _by_source,
         ref.revenue_by_source),
    Case("daily-breakdown", "timeseries", engine.timeseries, _timeseries, ref.timeseries),
    Case("hourly-breakdown", "hour_of_day", engine.hour_of_day, _hours, ref.hour_of_day),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A filter of the filtered cells: as the tools take it, and as the DuckDB reference's SQL."""

    text: str  # the `filters` argument (engine/filters.py syntax)
    visit_sql: str  # the same visit conditions on DuckDB's visits columns
    page: str | None = None


# Filtered cells (issue 14): the common single filters and one combination, on the reports an
# assistant asks with a filter most (the whole question, its breakdowns, pages and days).
FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec("source==google", "source = 'google'"),
    FilterSpec("page==/pricing", "", "/pricing"),
    FilterSpec("device==mobile", "device_type = 'mobile'"),
    FilterSpec("source==google;device==mobile", "source = 'google' AND device_type = 'mobile'"),
)
FILTERED_FUNCTIONS = ("overview", "top_pages", "referrers", "devices", "timeseries")
FILTERED_PERIODS = ("30d", "90d")
