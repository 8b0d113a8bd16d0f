"""General breakdowns the differential tests ask of every backend for every query (with the
other engine reports): each kind of counted row (visits, pageviews, custom events, a property),
conversions and revenue, sorts, offsets, one visit attribute alone (the rollups answer it)."""

from __future__ import annotations

from typing import Any

from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts

SPECS: tuple[dict[str, Any], ...] = (
    {"dimensions": "device", "metrics": "visitors,visits,pageviews,bounce_rate,visit_duration"},
    {"dimensions": "source,device", "metrics": "visits,visitors,bounce_rate", "sort": "-visits"},
    {"dimensions": "page,country", "metrics": "pageviews,visitors,visits"},
    {"dimensions": "page", "metrics": "pageviews,visitors"},  # one site: the page rollups
    {"dimensions": "event,prop:target", "metrics": "events,visitors,visits", "sort": "visitors"},
    {"dimensions": "hostname,channel", "metrics": "revenue,visitors", "offset": 1},
    {"dimensions": "entry_page", "metrics": "conversions,visits,visit_duration"},
    {"dimensions": "exit_page,prop:depth", "metrics": "visits"},
)


def breakdown_specs(services: Services, query: engine.Query, case_number: int) -> list[tuple[Any, ...]]:
    """Every spec of SPECS for `query`; conversions count one of its goals, in turn."""
    with services.db.sync.connect() as conn:
        goals = accounts.list_goals(conn, query.site_ids)
    goal = goals[case_number % len(goals)].id if goals else None
    specs = []
    for spec in SPECS:
        goal_arg = goal if "conversions" in spec["metrics"] else None
        specs.append((engine.parse_breakdown(query, goal=goal_arg, **spec),))
    return specs
