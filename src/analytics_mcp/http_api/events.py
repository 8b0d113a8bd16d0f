"""`POST /api/v1/events`: server-side tracking and backfills (token with the `ingest` scope).

The body is NDJSON or a JSON array of up to 10,000 batch-format events. Each line is validated
on its own: bad lines are listed with their field and rule, good lines are stored durably
before the 202, so a partly bad batch never loses the good part.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.http_api.tracker import read_body, unavailable
from analytics_mcp.ingest.bulk_import import (
    MAX_BATCH_EVENTS,
    ImportSummary,
    batch_events,
    plain_body,
    tenant_check,
)
from analytics_mcp.ingest.group_commit import IngestUnavailable
from analytics_mcp.ingest.wire import parse_batch_lines
from analytics_mcp.storage import accounts

MAX_BATCH_BYTES = 20 * 1024 * 1024
routes = RouteTable()


class LineError(BaseModel):
    line: int = Field(description="1-based position of the event in the body")
    field: str
    message: str


class BatchResult(BaseModel):
    accepted: int = Field(description="Events stored (committed before this reply)")
    duplicate: int = Field(description="Events already stored (same event_id, or a repeat within seconds)")
    dropped: int = Field(description="Valid events not counted: bots, events over the plan's quota, ...")
    dropped_reasons: dict[str, int] = Field(
        description="How many were dropped for each reason (bot, quota: over 110% of the billing "
        "period's events limit, unknown domain, ...)"
    )
    rejected: int = Field(
        description="Invalid events and events for a site outside the token's tenant, listed in errors"
    )
    errors: list[LineError]


def every_line_rejected(line_errors: list[dict[str, Any]]) -> ApiError:
    """422 for a body whose lines were all refused: each as "<line>.<field>"."""
    errors: dict[str, list[str]] = {}
    for error in line_errors:
        errors.setdefault(f"{error['line']}.{error['field']}", []).append(error["message"])
    first = line_errors[0]
    return ApiError(422, f"line {first['line']}: {first['field']}: {first['message']}", errors)


@routes.route(
    "/events",
    method="POST",
    scope="ingest",
    response=BatchResult,
    status_code=202,
    errors=(400, 413, 422, 503),
    summary="Send events (server-side tracking, imports)",
    tags=("ingestion",),
)
async def send_events(ctx: ApiContext) -> BatchResult:
    """NDJSON or a JSON array of events, each with `timestamp`, `ip` and `user_agent`."""
    body = await read_body(ctx.request, MAX_BATCH_BYTES)
    summary = ImportSummary()
    domains = await ctx.db(lambda conn: [site.domain for site in accounts.list_sites(conn, ctx.tenant.id)])
    check = tenant_check(domains)
    # The common body (every line plain and the tenant's) as columns, without a dict per line.
    pending = plain_body(body, check)
    if pending is None:
        lines = batch_lines(body, MAX_BATCH_EVENTS, "events")
        pending = batch_events(lines, summary, check=check)
    if not pending and summary.rejected:
        raise every_line_rejected(summary.errors)
    try:
        outcomes = await ctx.services.ingestor.submit(pending)
    except IngestUnavailable as exc:
        raise unavailable(exc) from exc
    summary.add_all(outcomes)
    return BatchResult.model_validate(summary, from_attributes=True)


async def read_batch(ctx: ApiContext, max_bytes: int, max_lines: int, noun: str) -> list[Any]:
    """A batch body's lines (NDJSON or a JSON array): 413 past `max_bytes` or `max_lines`, 400 when
    it does not parse."""
    return batch_lines(await read_body(ctx.request, max_bytes), max_lines, noun)


def batch_lines(body: bytes, max_lines: int, noun: str) -> list[Any]:
    """The lines of a batch body: 413 past `max_lines`, 400 when it does not parse."""
    try:
        lines = parse_batch_lines(body)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    if len(lines) > max_lines:
        raise ApiError(413, f"body: at most {max_lines} {noun} per request, got {len(lines)}")
    return lines
