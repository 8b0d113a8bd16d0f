"""Top-N breakdowns. Visit attributes (sources, referrers, channels, browsers, OS, devices,
languages, campaigns, entry and exit pages) count the visits started in range; pages count the
pageviews in range by their own time. Each returns `limit` rows and `truncated` when more existed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, distinct, func, or_

from analytics_mcp.engine import rollup_answers as from_rollups
from analytics_mcp.engine.compiler import Scope
from analytics_mcp.engine.numbers import rate, seconds
from analytics_mcp.engine.query import Query
from analytics_mcp.engine.results import (
    Breakdown,
    BrowserRow,
    CampaignRow,
    ChannelRow,
    DeviceRow,
    EntryPageRow,
    ExitPageRow,
    LanguageRow,
    OsRow,
    PageRow,
    ReferrerRow,
    ReportRange,
)
from analytics_mcp.engine.rollup_sql import usable
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.stats import is_bounce
from analytics_mcp.rollups.keys import VISIT_DIM_COLUMNS, Dim
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.dialects import Dialect

RowT = TypeVar("RowT", bound=BaseModel)


def limited(stmt: Select[Any], query: Query) -> Select[Any]:
    return stmt.limit(query.limit + 1)  # one more row tells whether the list was truncated


def shaped(
    query: Query, rows: Sequence[Any], model: type[RowT], make_row: Callable[[Any], RowT]
) -> Breakdown[RowT]:
    """The first `limit` of up to `limit + 1` ordered rows, and whether more existed."""
    report = Breakdown[model]  # type: ignore[valid-type]
    shown = [make_row(row) for row in rows[: query.limit]]
    return report(range=ReportRange.of(query), rows=shown, truncated=len(rows) > query.limit)


def visit_breakdown_sql(query: Query, dialect: Dialect, dim: Dim, extra: Sequence[str] = ()) -> Select[Any]:
    """Group visits started in range by the columns of `dim` (visits counted under it only):
    keys, visitors, visits, then the `extra` counters (visit_pageviews, bounces), by visitors,
    visits, keys."""
    scope = Scope(query, dialect)
    v = scope.v
    keys = [v.c[name] for name in VISIT_DIM_COLUMNS[dim]]
    sums = {"visit_pageviews": func.sum(v.c.pageviews), "bounces": func.sum(is_bounce(scope))}
    visitors = func.count(distinct(v.c.visitor_id))
    stmt = scope.visits_started(*keys, visitors, func.count(), *(sums[name] for name in extra))
    if dim is Dim.CAMPAIGN:
        stmt = stmt.where(or_(*(key.is_not(None) for key in keys)))
    elif dim is Dim.EXIT:
        stmt = stmt.where(keys[0].is_not(None))
    return stmt.group_by(*keys).order_by(
        visitors.desc(), func.count().desc(), *(dialect.ascending(k) for k in keys)
    )


async def visit_breakdown(db: Database, query: Query, dim: Dim, extra: Sequence[str] = ()) -> Sequence[Any]:
    """The ordered rows of `visit_breakdown_sql` (limit + 1), from the rollups when usable."""
    if usable(query):
        return await from_rollups.visit_breakdown(db, query, dim, extra)
    (rows,) = await fetch(db, limited(visit_breakdown_sql(query, dialect_of(db), dim, extra), query))
    return rows


async def _by_visit_column(
    db: Database, query: Query, dim: Dim, model: type[RowT], field: str
) -> Breakdown[RowT]:
    rows = await visit_breakdown(db, query, dim)
    return shaped(query, rows, model, lambda r: model(**{field: r[0], "visitors": r[1]}))


async def referrers(db: Database, query: Query) -> Breakdown[ReferrerRow]:
    """Visitors by source and referrer host; direct traffic is source "direct", referrer null."""
    rows = await visit_breakdown(db, query, Dim.SOURCE)
    return shaped(
        query, rows, ReferrerRow, lambda r: ReferrerRow(referrer_source=r[0], referrer=r[1], visitors=r[2])
    )


async def channels(db: Database, query: Query) -> Breakdown[ChannelRow]:
    return await _by_visit_column(db, query, Dim.CHANNEL, ChannelRow, "channel")


async def browsers(db: Database, query: Query) -> Breakdown[BrowserRow]:
    return await _by_visit_column(db, query, Dim.BROWSER, BrowserRow, "browser")


async def operating_systems(db: Database, query: Query) -> Breakdown[OsRow]:
    return await _by_visit_column(db, query, Dim.OS, OsRow, "os")


async def devices(db: Database, query: Query) -> Breakdown[DeviceRow]:
    return await _by_visit_column(db, query, Dim.DEVICE, DeviceRow, "device_type")


async def languages(db: Database, query: Query) -> Breakdown[LanguageRow]:
    return await _by_visit_column(db, query, Dim.LANGUAGE, LanguageRow, "language")


async def campaigns(db: Database, query: Query) -> Breakdown[CampaignRow]:
    """Visits with any of utm_source / utm_medium / utm_campaign, with their pageviews."""
    rows = await visit_breakdown(db, query, Dim.CAMPAIGN, ("visit_pageviews",))

    def row(r: Any) -> CampaignRow:
        return CampaignRow(utm_source=r[0], utm_medium=r[1], utm_campaign=r[2], visitors=r[3], pageviews=r[5])

    return shaped(query, rows, CampaignRow, row)


async def entry_pages(db: Database, query: Query) -> Breakdown[EntryPageRow]:
    rows = await visit_breakdown(db, query, Dim.ENTRY, ("bounces",))

    def row(r: Any) -> EntryPageRow:
        return EntryPageRow(pathname=r[0] or "", visitors=r[1], visits=r[2], bounce_rate=rate(r[3], r[2]))

    return shaped(query, rows, EntryPageRow, row)


async def exit_pages(db: Database, query: Query) -> Breakdown[ExitPageRow]:
    rows = await visit_breakdown(db, query, Dim.EXIT)
    return shaped(query, rows, ExitPageRow, lambda r: ExitPageRow(pathname=r[0], visitors=r[1], visits=r[2]))


def pages_sql(query: Query, dialect: Dialect) -> Select[Any]:
    """Pageviews in range by path: visitors, pageviews, mean time on page (engaged time, else the
    gap to the next pageview; pageviews with neither are left out of the mean)."""
    scope = Scope(query, dialect)
    e = scope.e
    pageviews = func.count()
    time_on_page = func.avg(func.coalesce(e.c.engaged_ms, e.c.gap_ms))
    stmt = scope.traffic_events(
        e.c.pathname, func.count(distinct(e.c.visitor_id)), pageviews, time_on_page, pageviews_only=True
    )
    return stmt.group_by(e.c.pathname).order_by(
        pageviews.desc(), func.count(distinct(e.c.visitor_id)).desc(), dialect.ascending(e.c.pathname)
    )


async def top_pages(db: Database, query: Query) -> Breakdown[PageRow]:
    """Top pages ranked by pageviews."""

    def row(r: Any) -> PageRow:
        avg = None if r[3] is None else seconds(float(r[3]))
        return PageRow(pathname=r[0], visitors=r[1], pageviews=r[2], avg_duration=avg)

    if usable(query):
        rows = await from_rollups.pages(db, query)
    else:
        (rows,) = await fetch(db, limited(pages_sql(query, dialect_of(db)), query))
    return shaped(query, rows, PageRow, row)
