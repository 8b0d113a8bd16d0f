"""Top-N breakdowns. Visit attributes (sources, referrers, channels, browsers, OS, devices,
languages, campaigns, entry and exit pages) count the visits started in range; pages count the
pageviews in range by their own time. Each returns `limit` rows and `truncated` when more existed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, distinct, func, or_

from analytics_mcp.engine.compiler import Scope
from analytics_mcp.engine.dialects import Dialect
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
from analytics_mcp.engine.runner import dialect_of, fetch
from analytics_mcp.engine.stats import is_bounce
from analytics_mcp.storage.db import Database

RowT = TypeVar("RowT", bound=BaseModel)


def limited(stmt: Select[Any], query: Query) -> Select[Any]:
    return stmt.limit(query.limit + 1)  # one more row tells whether the list was truncated


async def run_breakdown(
    db: Database, query: Query, stmt: Select[Any], model: type[RowT], make_row: Callable[[Any], RowT]
) -> Breakdown[RowT]:
    (rows,) = await fetch(db, limited(stmt, query))
    shaped = [make_row(row) for row in rows[: query.limit]]
    report = Breakdown[model]  # type: ignore[valid-type]
    return report(range=ReportRange.of(query), rows=shaped, truncated=len(rows) > query.limit)


def visit_breakdown_sql(
    query: Query,
    dialect: Dialect,
    columns: Callable[[Scope], Sequence[ColumnElement[Any]]],
    *,
    extra: Callable[[Scope], Sequence[ColumnElement[Any]]] = lambda scope: (),
    only: Callable[[Scope], ColumnElement[bool]] | None = None,
) -> Select[Any]:
    """Group visits started in range by `columns`: visitors, visits, then `extra` aggregates."""
    scope = Scope(query, dialect)
    keys = list(columns(scope))
    visitors = func.count(distinct(scope.v.c.visitor_id))
    stmt = scope.visits_started(*keys, visitors, func.count(), *extra(scope))
    if only is not None:
        stmt = stmt.where(only(scope))
    return stmt.group_by(*keys).order_by(visitors.desc(), func.count().desc(), *(k.asc() for k in keys))


async def _by_visit_column(
    db: Database, query: Query, column: str, model: type[RowT], field: str
) -> Breakdown[RowT]:
    stmt = visit_breakdown_sql(query, dialect_of(db), lambda s: [s.v.c[column]])
    return await run_breakdown(db, query, stmt, model, lambda r: model(**{field: r[0], "visitors": r[1]}))


async def referrers(db: Database, query: Query) -> Breakdown[ReferrerRow]:
    """Visitors by source and referrer host; direct traffic is source "direct", referrer null."""
    stmt = visit_breakdown_sql(query, dialect_of(db), lambda s: [s.v.c.source, s.v.c.referrer])
    return await run_breakdown(
        db,
        query,
        stmt,
        ReferrerRow,
        lambda r: ReferrerRow(referrer_source=r[0], referrer=r[1], visitors=r[2]),
    )


async def channels(db: Database, query: Query) -> Breakdown[ChannelRow]:
    return await _by_visit_column(db, query, "channel", ChannelRow, "channel")


async def browsers(db: Database, query: Query) -> Breakdown[BrowserRow]:
    return await _by_visit_column(db, query, "browser", BrowserRow, "browser")


async def operating_systems(db: Database, query: Query) -> Breakdown[OsRow]:
    return await _by_visit_column(db, query, "os", OsRow, "os")


async def devices(db: Database, query: Query) -> Breakdown[DeviceRow]:
    return await _by_visit_column(db, query, "device_type", DeviceRow, "device_type")


async def languages(db: Database, query: Query) -> Breakdown[LanguageRow]:
    return await _by_visit_column(db, query, "language", LanguageRow, "language")


async def campaigns(db: Database, query: Query) -> Breakdown[CampaignRow]:
    """Visits with any of utm_source / utm_medium / utm_campaign, with their pageviews."""

    def keys(s: Scope) -> list[ColumnElement[Any]]:
        return [s.v.c.utm_source, s.v.c.utm_medium, s.v.c.utm_campaign]

    stmt = visit_breakdown_sql(
        query,
        dialect_of(db),
        keys,
        extra=lambda s: [func.sum(s.v.c.pageviews)],
        only=lambda s: or_(*(key.is_not(None) for key in keys(s))),
    )

    def row(r: Any) -> CampaignRow:
        return CampaignRow(utm_source=r[0], utm_medium=r[1], utm_campaign=r[2], visitors=r[3], pageviews=r[5])

    return await run_breakdown(db, query, stmt, CampaignRow, row)


async def entry_pages(db: Database, query: Query) -> Breakdown[EntryPageRow]:
    stmt = visit_breakdown_sql(
        query, dialect_of(db), lambda s: [s.v.c.entry_path], extra=lambda s: [func.sum(is_bounce(s))]
    )

    def row(r: Any) -> EntryPageRow:
        return EntryPageRow(pathname=r[0] or "", visitors=r[1], visits=r[2], bounce_rate=rate(r[3], r[2]))

    return await run_breakdown(db, query, stmt, EntryPageRow, row)


async def exit_pages(db: Database, query: Query) -> Breakdown[ExitPageRow]:
    stmt = visit_breakdown_sql(
        query, dialect_of(db), lambda s: [s.v.c.exit_path], only=lambda s: s.v.c.exit_path.is_not(None)
    )
    return await run_breakdown(
        db, query, stmt, ExitPageRow, lambda r: ExitPageRow(pathname=r[0], visitors=r[1], visits=r[2])
    )


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
        pageviews.desc(), func.count(distinct(e.c.visitor_id)).desc(), e.c.pathname
    )


async def top_pages(db: Database, query: Query) -> Breakdown[PageRow]:
    """Top pages ranked by pageviews."""

    def row(r: Any) -> PageRow:
        avg = None if r[3] is None else seconds(float(r[3]))
        return PageRow(pathname=r[0], visitors=r[1], pageviews=r[2], avg_duration=avg)

    return await run_breakdown(db, query, pages_sql(query, dialect_of(db)), PageRow, row)
