"""`/api/v1/export/{pageviews,goals,goal-completions,ecommerce-events}` (docs/api.md): raw rows as
streamed JSON Lines or CSV.

Pages: rows in id order (ULIDs sort by time); pass the last row's id as `cursor` for the next
page, until a page has fewer than `limit` rows. `from`/`to` are inclusive local dates of the site
(all sites: the tenant's time zone); `to` defaults to today, `from` to 30 days before `to`.
Validation (site, dates, cursor, limit, format) happens before the first byte, so every error is
the usual JSON 422; after that the response streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from analytics_mcp import engine
from analytics_mcp.engine.periods import MIN_DATE, parse_date
from analytics_mcp.export import BY_NAME, ExportJob, Position, Table, export_stream, writer_for
from analytics_mcp.export.encode import session_key
from analytics_mcp.export.schemas import row_json_schema
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, Handler, RouteTable
from analytics_mcp.http_api.params import DATE, date_range
from analytics_mcp.storage.account_types import Site
from analytics_mcp.storage.ids import parse_row_ulid

TAGS = ("export",)
routes = RouteTable()
MAX_LIMIT = 10_000
DEFAULT_DAYS = 30
MAX_ROW_ID = (1 << 63) - 1  # row ids are signed 64-bit integers
CURSOR_RULE = "must be the id of a row from a previous page of this export"
# A row id: a ULID whose 80-bit tail is a row number (at most 63 bits, so its first 17 bits are 0).
_B32 = "[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]"
ROW_ID_PATTERN = f"^[0-7]{_B32}{{9}}000[0-7]{_B32}{{12}}$"


class ExportParams(BaseModel):
    format: Literal["jsonl", "csv"] = Field("jsonl", description="Export format: jsonl or csv")
    site: str | None = Field(None, max_length=253, description="One of your sites' domains (default: all)")


class PagedExportParams(ExportParams):
    model_config = ConfigDict(json_schema_extra=date_range("from", "to", together=False))

    from_: str | None = Field(
        None,
        alias="from",
        max_length=10,
        json_schema_extra=DATE,
        description="Start date (YYYY-MM-DD), inclusive (default: 30 days before `to`)",
    )
    to: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=DATE,
        description="End date (YYYY-MM-DD), inclusive (default: today)",
    )
    cursor: str | None = Field(
        None,
        max_length=64,
        json_schema_extra={"pattern": ROW_ID_PATTERN},
        description="Last record id (of the previous page)",
    )
    limit: int = Field(MAX_LIMIT, ge=1, le=MAX_LIMIT, description=f"Records per request, max {MAX_LIMIT}")


def _content(table: Table) -> dict[str, Any]:
    row = {**row_json_schema(table.columns), "description": "One line (JSON object) of the stream"}
    csv = {"type": "string", "description": "RFC 4180, a header row, then one row per record"}
    return {"application/x-ndjson": {"schema": row}, "text/csv": {"schema": csv}}


def _route(path: str, params: type[BaseModel], summary: str) -> Callable[[Handler], Handler]:
    table = BY_NAME[path.removeprefix("/export/").replace("-", "_")]
    return routes.route(path, params=params, content=_content(table), tags=TAGS, summary=summary)


@_route("/export/pageviews", PagedExportParams, "Export pageviews")
async def export_pageviews(ctx: ApiContext, params: PagedExportParams) -> StreamingResponse:
    """Raw pageviews with their visit's attributes (source, UTM, device, ...), JSONL or CSV,
    streamed; page with `cursor`."""
    return await export(ctx, params, BY_NAME["pageviews"])


@_route("/export/goals", ExportParams, "Export goals")
async def export_goals(ctx: ApiContext, params: ExportParams) -> StreamingResponse:
    """All goals of your sites (or of one site), JSONL or CSV."""
    return await export(ctx, params, BY_NAME["goals"])


@_route("/export/goal-completions", PagedExportParams, "Export goal completions")
async def export_goal_completions(ctx: ApiContext, params: PagedExportParams) -> StreamingResponse:
    """Goal completions, JSONL or CSV, streamed; page with `cursor`."""
    return await export(ctx, params, BY_NAME["goal_completions"])


@_route("/export/ecommerce-events", PagedExportParams, "Export e-commerce events")
async def export_ecommerce_events(ctx: ApiContext, params: PagedExportParams) -> StreamingResponse:
    """view_item, add_to_cart, begin_checkout and purchase events with their items, JSONL or CSV,
    streamed; page with `cursor`."""
    return await export(ctx, params, BY_NAME["ecommerce_events"])


async def export(ctx: ApiContext, params: ExportParams, table: Table) -> StreamingResponse:
    sites, goals = await engine.sites_and_goals(ctx.services.db, ctx.tenant.id)
    if isinstance(params, PagedExportParams):
        query = export_query(sites, ctx.tenant.timezone, params)
        after = parse_cursor(params.cursor, query.range.start_ms)
        limit, name = params.limit, f"{table.name}-{query.range.date_from}-{query.range.date_to}"
    else:
        query = engine.parse_query(sites, ctx.tenant.timezone, site=params.site, goals=goals)
        after, limit, name = Position(0, 0), 0, table.name  # goals: one short list, no paging
    job = ExportJob(
        table=table,
        domains={site.id: site.domain for site in query.sites},
        start_ms=query.range.start_ms,
        end_ms=query.range.end_ms,
        after=after,
        limit=limit,
        format=params.format,
        session_key=_session_key(ctx.services.settings.session_secret()),
        goals=query.goals,
    )
    writer = writer_for(params.format, table)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}.{writer.extension}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(
        export_stream(ctx.services.events_db, job), media_type=writer.media_type, headers=headers
    )


def export_query(
    sites: Sequence[Site], tenant_timezone: str, params: PagedExportParams, now: datetime | None = None
) -> engine.Query:
    """The engine's Query for the export range (site and dates validated by the engine)."""
    zone = engine.parse_query(sites, tenant_timezone, site=params.site).zone  # 404 for another's site
    date_to: date = (
        parse_date("to", params.to)
        if params.to is not None
        else (now or datetime.now(UTC)).astimezone(zone).date()
    )
    date_from = (
        parse_date("from", params.from_)
        if params.from_ is not None
        else max(MIN_DATE, date_to - timedelta(days=DEFAULT_DAYS))  # never before the first date
    )
    return engine.parse_query(sites, tenant_timezone, site=params.site, date_from=date_from, date_to=date_to)


def parse_cursor(cursor: str | None, start_ms: int) -> Position:
    """The position after which the page starts. Row ids are (time, row number) ULIDs, so a
    random ULID (a goal id, say) has a tail too large for a row number and is refused."""
    if cursor is None:
        return Position(start_ms, 0)
    try:
        ts, row_id = parse_row_ulid(cursor.strip())
    except ValueError:
        raise ApiError.invalid("cursor", CURSOR_RULE) from None
    if not 0 <= row_id <= MAX_ROW_ID:  # 0: before every row of that millisecond
        raise ApiError.invalid("cursor", CURSOR_RULE)
    return Position(ts, row_id)


@lru_cache(maxsize=4)
def _session_key(secret: str) -> bytes:
    return session_key(secret)
