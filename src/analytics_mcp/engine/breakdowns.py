"""Top-N breakdowns. Visit attributes (sources, referrers, channels, browsers, OS, devices,
languages, countries, campaigns, entry and exit pages) count the visits started in range; pages count the
pageviews in range by their own time. Each returns `limit` rows and `truncated` when more existed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from analytics_mcp.engine.numbers import rate, seconds
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import (
    Breakdown,
    BrowserRow,
    CampaignRow,
    ChannelRow,
    CountryRow,
    DeviceRow,
    EntryPageRow,
    ExitPageRow,
    LanguageRow,
    OsRow,
    PageRow,
    ReferrerRow,
    ReportRange,
)
from analytics_mcp.engine.store import source_for
from analytics_mcp.rollups.keys import Dim
from analytics_mcp.storage.clickhouse import EventsDatabase

RowT = TypeVar("RowT", bound=BaseModel)


def shaped(
    query: Query, rows: Sequence[Any], model: type[RowT], make_row: Callable[[Any], RowT]
) -> Breakdown[RowT]:
    """The first `limit` of up to `limit + 1` ordered rows, and whether more existed."""
    report = Breakdown[model]  # type: ignore[valid-type]
    shown = [make_row(row) for row in rows[: query.limit]]
    return report(range=ReportRange.of(query), rows=shown, truncated=len(rows) > query.limit)


async def _by_visit_column(
    db: EventsDatabase, query: Query, dim: Dim, model: type[RowT], field: str
) -> Breakdown[RowT]:
    rows = await source_for(db, query).visit_breakdown(dim)
    return shaped(query, rows, model, lambda r: model(**{field: r[0], "visitors": r[1]}))


async def referrers(db: EventsDatabase, query: Query) -> Breakdown[ReferrerRow]:
    """Visitors by source and referrer host; direct traffic is source "direct", referrer null."""
    rows = await source_for(db, query).visit_breakdown(Dim.SOURCE)
    return shaped(
        query, rows, ReferrerRow, lambda r: ReferrerRow(referrer_source=r[0], referrer=r[1], visitors=r[2])
    )


async def channels(db: EventsDatabase, query: Query) -> Breakdown[ChannelRow]:
    return await _by_visit_column(db, query, Dim.CHANNEL, ChannelRow, "channel")


async def browsers(db: EventsDatabase, query: Query) -> Breakdown[BrowserRow]:
    return await _by_visit_column(db, query, Dim.BROWSER, BrowserRow, "browser")


async def operating_systems(db: EventsDatabase, query: Query) -> Breakdown[OsRow]:
    return await _by_visit_column(db, query, Dim.OS, OsRow, "os")


async def devices(db: EventsDatabase, query: Query) -> Breakdown[DeviceRow]:
    return await _by_visit_column(db, query, Dim.DEVICE, DeviceRow, "device_type")


async def languages(db: EventsDatabase, query: Query) -> Breakdown[LanguageRow]:
    return await _by_visit_column(db, query, Dim.LANGUAGE, LanguageRow, "language")


async def countries(db: EventsDatabase, query: Query) -> Breakdown[CountryRow]:
    """Visitors, visits and their pageviews by country (null: unknown, private or local address)."""
    rows = await source_for(db, query).visit_breakdown(Dim.COUNTRY, ("visit_pageviews",))

    def row(r: Any) -> CountryRow:
        return CountryRow(country=r[0], visitors=r[1], visits=r[2], pageviews=r[3])

    return shaped(query, rows, CountryRow, row)


async def campaigns(db: EventsDatabase, query: Query) -> Breakdown[CampaignRow]:
    """Visits with any of utm_source / utm_medium / utm_campaign, with their pageviews."""
    rows = await source_for(db, query).visit_breakdown(Dim.CAMPAIGN, ("visit_pageviews",))

    def row(r: Any) -> CampaignRow:
        return CampaignRow(utm_source=r[0], utm_medium=r[1], utm_campaign=r[2], visitors=r[3], pageviews=r[5])

    return shaped(query, rows, CampaignRow, row)


async def entry_pages(db: EventsDatabase, query: Query) -> Breakdown[EntryPageRow]:
    rows = await source_for(db, query).visit_breakdown(Dim.ENTRY, ("bounces",))

    def row(r: Any) -> EntryPageRow:
        return EntryPageRow(pathname=r[0] or "", visitors=r[1], visits=r[2], bounce_rate=rate(r[3], r[2]))

    return shaped(query, rows, EntryPageRow, row)


async def exit_pages(db: EventsDatabase, query: Query) -> Breakdown[ExitPageRow]:
    rows = await source_for(db, query).visit_breakdown(Dim.EXIT)
    return shaped(query, rows, ExitPageRow, lambda r: ExitPageRow(pathname=r[0], visitors=r[1], visits=r[2]))


async def top_pages(db: EventsDatabase, query: Query) -> Breakdown[PageRow]:
    """Top pages ranked by pageviews; with several sites each site's paths are rows of their own,
    with the site's domain as `hostname` (`/` of two sites is two rows)."""
    by_site = len(query.sites) > 1
    domains = {site.id: site.domain for site in query.sites}

    def row(r: Any) -> PageRow:
        hostname = domains.get(int(r[0])) if by_site else None
        path, visitors, pageviews, ms = r[1:] if by_site else r
        avg = None if ms is None else seconds(float(ms))
        return PageRow(
            pathname=path, visitors=visitors, pageviews=pageviews, avg_duration=avg, hostname=hostname
        )

    return shaped(query, await source_for(db, query).pages(by_site), PageRow, row)
