"""`GET /api/health` (public): 200 when the database answers and ingestion can write, 503 (error
shape) when either cannot, so a load balancer takes the server out and it can be restarted."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analytics_mcp.http_api.errors import ApiError, error_response
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents

log = logging.getLogger("analytics_mcp.http")

DB_TIMEOUT_SECONDS = 5.0  # a hung database must fail the probe, not hang it


async def _ping(services: Services) -> None:
    for db in services.sql_databases():
        async with db.aio.connect() as conn:
            await conn.execute(text("SELECT 1"))
    if isinstance(services.events_db, ClickHouseEvents):
        await services.events_db.rows_async("SELECT 1")


async def health(request: Request) -> Response:
    try:
        await asyncio.wait_for(_ping(request.app.state.services), DB_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("health check: database unreachable: %r", exc)
        return error_response(ApiError(503, "Database unavailable."))
    if not request.app.state.services.ingestor.healthy:
        log.warning("health check: the ingestion writer is gone")
        return error_response(ApiError(503, "Ingestion unavailable."))
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def health_routes() -> list[Route]:
    return [Route("/api/health", health, methods=["GET"], name="health")]
