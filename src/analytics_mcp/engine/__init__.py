"""The core query engine: the one place analytics questions are answered.

Every door (REST, MCP tools, chat, dashboard) does the same two steps:

    query = await query_for_tenant(db, tenant, period="30d", site="shop.test", filters="page==/x")
    report = await overview(db, query)          # or any function below; all take (db, query)

`parse_query` / `query_for_tenant` validate once and raise `QueryError(field, rule)` (field is one
of period, from, to, site, filters, limit, timezone, goal). The engine knows nothing of HTTP or MCP.

Definitions (DESIGN.md, normative):
- visitors: distinct visitor ids among the events in range (a visit past midnight counts its
  visitor on both days); pageviews: `pageview` events by their own time.
- visits, bounce rate, duration, views per visit, and every visit-attribute breakdown (sources,
  referrers, channels, devices, browsers, OS, languages, countries, campaigns, entry and exit pages): visits
  whose first event is in range. bounce = one pageview and no interactive event. avg_duration =
  mean of (last event - first event) with bounces as 0, whole seconds (half up).
- time on page (pages `avg_duration`): engaged time if reported, else the gap to the next pageview
  of the visit; pageviews with neither are left out; null when no pageview has a time.
- rates: one decimal; `*_change`: relative % vs the previous range of the same length (null when
  the previous value is 0), percentage points for bounce_rate and conversion_rate.
- money: only events in the reporting currency (the site's; the first site's when several sites
  with different currencies are read together) are summed; others still count as transactions,
  funnel steps and product quantities, and a warning says how many were left out.

Filters (`page`, entry_page, exit_page, source, referrer, channel, device, browser, os, language,
country, utm_source, utm_medium, utm_campaign, utm_content, utm_term; is / is_not / contains):
- A visit-attribute filter keeps the visits with that attribute; every number then comes from
  those visits and their events only (pageviews, visitors, goals, revenue included).
- `page` is a condition on pageview paths. A visit passes when at least one of its pageviews
  satisfies all page conditions together; visit metrics, visit breakdowns, goals and e-commerce use
  the passing visits. Pageview counts (pageviews, pages, timeseries, hour of day) count only the
  matching pageviews, and visitors are then the visitors with a matching pageview in range.
  So `page!=/x` keeps visits that viewed some other page, and counts the views of other pages.
- is / is_not compare exactly (values of normalised dimensions - source, channel, device, language,
  referrer, country - are normalised the same way first); is_not keeps unknown (null) values;
  contains ignores the case of A-Z (other letters compare exactly, on every database); several
  values (`a|b`) mean any of them.

Periods: see `periods` (Nd = N local days ending today; 12m = from the same day a year ago plus
one day, to today; 24h = the 24 local hours ending with the current one, hourly buckets).
"""

from __future__ import annotations

from analytics_mcp.engine.breakdown_spec import BreakdownSpec, parse_breakdown
from analytics_mcp.engine.breakdowns import (
    browsers,
    campaigns,
    channels,
    countries,
    devices,
    entry_pages,
    exit_pages,
    languages,
    operating_systems,
    referrers,
    top_pages,
)
from analytics_mcp.engine.custom_events import (
    CustomEventRow,
    EventProperties,
    EventProperty,
    PropertyValue,
    custom_events,
    event_properties,
)
from analytics_mcp.engine.ecommerce import (
    ecommerce_overview,
    funnel,
    products,
    revenue_by_source,
    revenue_timeseries,
)
from analytics_mcp.engine.errors import QueryError
from analytics_mcp.engine.filters import DIMENSIONS, Filter, parse_filters
from analytics_mcp.engine.general_breakdown import BreakdownReport, breakdown
from analytics_mcp.engine.goals import goal_completions, goals_report
from analytics_mcp.engine.periods import DEFAULT_PERIOD, MAX_RANGE_DAYS, PERIODS, DateRange, Period
from analytics_mcp.engine.query import Query, parse_query
from analytics_mcp.engine.realtime import Realtime, RealtimePage, RealtimeSource, current_visitors
from analytics_mcp.engine.results import (
    Breakdown,
    BrowserRow,
    CampaignRow,
    ChannelRow,
    CountryRow,
    DeviceRow,
    EntryPageRow,
    ExitPageRow,
    HourOfDay,
    HourRow,
    LanguageRow,
    OsRow,
    Overview,
    PageRow,
    ReferrerRow,
    Report,
    ReportRange,
    Timeseries,
    TimeseriesPoint,
)
from analytics_mcp.engine.results_commerce import (
    CompletionRow,
    EcommerceOverview,
    Funnel,
    FunnelStep,
    GoalCompletions,
    GoalRef,
    GoalRow,
    GoalsReport,
    ProductRow,
    Products,
    RevenueBySource,
    RevenuePoint,
    RevenueTimeseries,
    SourceRevenueRow,
)
from analytics_mcp.engine.scroll import ScrollRow, scroll_depth
from analytics_mcp.engine.stats import hour_of_day, overview, timeseries
from analytics_mcp.engine.tenant import query_for_tenant, sites_and_goals, tenant_sites

__all__ = [
    "DEFAULT_PERIOD", "DIMENSIONS", "MAX_RANGE_DAYS", "PERIODS",
    "Breakdown", "BreakdownReport", "BreakdownSpec",
    "BrowserRow", "CampaignRow", "ChannelRow", "CompletionRow", "CountryRow",
    "CustomEventRow", "DateRange", "DeviceRow",
    "EcommerceOverview", "EntryPageRow", "EventProperties", "EventProperty", "ExitPageRow",
    "Filter", "Funnel", "FunnelStep", "GoalCompletions",
    "GoalRef", "GoalRow", "GoalsReport", "HourOfDay", "HourRow", "LanguageRow", "OsRow", "Overview",
    "PageRow", "Period", "ProductRow", "Products", "PropertyValue",
    "Query", "QueryError", "Realtime", "RealtimePage",
    "RealtimeSource", "ReferrerRow", "Report",
    "ReportRange", "RevenueBySource", "RevenuePoint", "RevenueTimeseries", "ScrollRow",
    "SourceRevenueRow", "Timeseries",
    "TimeseriesPoint",
    "breakdown",
    "browsers", "campaigns", "channels", "countries", "current_visitors", "custom_events", "devices",
    "ecommerce_overview", "entry_pages", "event_properties",
    "exit_pages",
    "funnel", "goal_completions", "goals_report", "hour_of_day", "languages", "operating_systems",
    "overview", "parse_breakdown",
    "parse_filters", "parse_query", "products", "query_for_tenant", "referrers",
    "revenue_by_source", "revenue_timeseries", "scroll_depth",
    "sites_and_goals", "tenant_sites", "timeseries",
    "top_pages",
]  # fmt: skip
