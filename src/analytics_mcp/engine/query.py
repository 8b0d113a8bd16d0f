"""The Query: every analytics question's arguments, parsed and validated once.

`parse_query` is the only way in: edges pass the raw arguments they received and the caller
tenant's sites; anything invalid raises `QueryError(field, rule)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.engine.filters import Filter, FilterInput, parse_filters
from analytics_mcp.engine.periods import DEFAULT_COMPARE, Compare, DateRange, Interval, resolve_range
from analytics_mcp.storage.account_rules import site_key
from analytics_mcp.storage.account_types import Goal, Site


class Query(BaseModel):
    """A validated question: which sites, when (local dates and UTC bounds), which filters."""

    model_config = ConfigDict(frozen=True)

    sites: tuple[Site, ...]
    timezone: str
    period: str  # one of periods.PERIODS, or custom
    interval: Interval  # timeseries buckets (periods.py: asked, or by the range's length)
    range: DateRange
    comparison: DateRange  # the range the *_change numbers compare with
    compare: Compare = DEFAULT_COMPARE  # how `comparison` was chosen
    filters: tuple[Filter, ...] = ()
    limit: int = 10
    # The chosen sites' goal definitions (accounts database), read at the edge with the sites:
    # the engine reads only the events database (storage/roles.py).
    goals: tuple[Goal, ...] = ()
    # The instant relative periods end at ("now"); realtime reports count back from it.
    as_of: datetime | None = None

    @property
    def site_ids(self) -> list[int]:
        return [site.id for site in self.sites]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def currency(self) -> str:
        """The reporting currency: the sites' own (the first site's when they differ)."""
        return self.sites[0].currency if self.sites else "EUR"

    @property
    def visit_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if not f.is_page)

    @property
    def page_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.is_page)

    def with_range(self, new_range: DateRange) -> Query:
        """The same question over another range (the comparison period)."""
        return self.model_copy(update={"range": new_range})


class QueryArguments(TypedDict, total=False):
    """The keyword arguments of `parse_query`, for callers that pass them through."""

    period: str | None
    date_from: str | date | None
    date_to: str | date | None
    compare: str | None
    compare_from: str | date | None
    compare_to: str | date | None
    interval: str | None
    site: str | None
    filters: FilterInput
    limit: int | None
    default_limit: int
    max_limit: int
    now: datetime | None


def reporting_now() -> datetime:
    """The instant a relative period ends at when the caller gives no `now` (tests pin it here, so
    every request of a test reads the same window)."""
    return datetime.now(UTC)


def parse_query(
    sites_of_tenant: Sequence[Site],
    tenant_timezone: str,
    *,
    period: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    compare: str | None = None,
    compare_from: str | date | None = None,
    compare_to: str | date | None = None,
    interval: str | None = None,
    site: str | None = None,
    filters: FilterInput = None,
    limit: int | None = None,
    default_limit: int = 10,
    max_limit: int = 100,
    now: datetime | None = None,
    goals: Sequence[Goal] = (),
) -> Query:
    """Validate the raw arguments of one question. `site` must be one of the tenant's domains (an
    unknown domain and another tenant's get the same error); without it, all the tenant's sites are
    read together in the tenant's time zone."""
    chosen = _choose_sites(sites_of_tenant, site)
    timezone = chosen[0].timezone if site is not None else tenant_timezone
    zone = _zone(timezone)
    as_of = now or reporting_now()
    compared = (compare_from, compare_to)
    when = resolve_range(zone, as_of, period, date_from, date_to, compare, compared, interval)
    return Query(
        sites=chosen,
        timezone=timezone,
        period=when.period,
        interval=when.interval,
        range=when.range,
        comparison=when.comparison,
        compare=when.compare,
        filters=parse_filters(filters),
        limit=_limit(limit, default_limit, max_limit),
        goals=tuple(goal for goal in goals if goal.site_id in {s.id for s in chosen}),
        as_of=as_of,
    )


def _choose_sites(sites_of_tenant: Sequence[Site], domain: str | None) -> tuple[Site, ...]:
    if domain is None:
        return tuple(sorted(sites_of_tenant, key=lambda s: s.domain))
    wanted = site_key(domain)
    for candidate in sites_of_tenant:
        if candidate.domain == wanted:
            return (candidate,)
    raise QueryError("site", "not found")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError("timezone", f"unknown time zone {name!r}") from exc


def _limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise QueryError("limit", f"must be an integer from 1 to {maximum}")
    return limit
