"""The numbers of one tenant's weekly report: the same engine calls the MCP tools make for the
weekly-report prompt (analytics-overview, daily-breakdown, top-pages, traffic-sources, goals,
ecommerce-overview), over the 7 local days before the report day, compared with the 7 before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from analytics_mcp import engine
from analytics_mcp.engine import (
    EcommerceOverview,
    GoalsReport,
    Overview,
    PageRow,
    ReferrerRow,
    TimeseriesPoint,
)
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant

TOP_ROWS = 5


@dataclass(frozen=True)
class ReportWeek:
    """A report day's week: its key (ISO week of the report day, what a delivery is recorded
    under) and the 7 days it covers (those before the report day)."""

    key: str
    date_from: date
    date_to: date

    @classmethod
    def ending_before(cls, day: date) -> ReportWeek:
        year, week, _ = day.isocalendar()
        return cls(f"{year}-W{week:02d}", day - timedelta(days=7), day - timedelta(days=1))


@dataclass(frozen=True)
class WeeklyReport:
    tenant: Tenant
    week: ReportWeek
    sites: list[str]
    overview: Overview
    days: list[TimeseriesPoint]
    pages: list[PageRow]
    sources: list[ReferrerRow]
    goals: GoalsReport
    commerce: EcommerceOverview | None  # None without purchases in the week

    @property
    def _uneven(self) -> bool:
        return len({day.visitors for day in self.days}) > 1

    @property
    def best_day(self) -> TimeseriesPoint | None:
        """The day with the most visitors (None when every day had as many)."""
        return max(self.days, key=lambda d: d.visitors) if self._uneven else None

    @property
    def worst_day(self) -> TimeseriesPoint | None:
        return min(self.days, key=lambda d: d.visitors) if self._uneven else None


async def build_report(services: Services, tenant: Tenant, week: ReportWeek) -> WeeklyReport:
    query = await engine.query_for_tenant(
        services.db, tenant, date_from=week.date_from, date_to=week.date_to, limit=TOP_ROWS
    )
    db = services.events_db
    return WeeklyReport(
        tenant=tenant,
        week=week,
        sites=[site.domain for site in query.sites],
        overview=await engine.overview(db, query),
        days=(await engine.timeseries(db, query)).rows,
        pages=(await engine.top_pages(db, query)).rows,
        sources=(await engine.referrers(db, query)).rows,
        goals=await engine.goals_report(db, query),
        commerce=await _commerce(services, query),
    )


async def _commerce(services: Services, query: engine.Query) -> EcommerceOverview | None:
    try:
        overview = await engine.ecommerce_overview(services.events_db, query)
    except engine.QueryError:  # e.g. sites with different currencies read together
        return None
    return overview if overview.transactions else None
