"""Public ingestion edge: the tracker endpoint and the tracker script."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from analytics_mcp.config import Settings
from analytics_mcp.http_api.errors import ApiError, from_validation
from analytics_mcp.ingest.model import Outcome, PendingEvent
from analytics_mcp.ingest.pipeline import IngestUnavailable
from analytics_mcp.ingest.wire import MAX_EVENT_BYTES, TrackerEvent, parse_json_body

STATIC_DIR = Path(__file__).parent / "static"
MAX_USER_AGENT = 1000  # what the batch format allows too; bounds the parser cache
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def client_ip(request: Request, settings: Settings) -> str:
    """The peer address, or, when the peer is a trusted proxy, the nearest untrusted hop of
    X-Forwarded-For (right to left), so a client cannot spoof its address through the header."""
    peer = request.client.host if request.client else "0.0.0.0"
    if not settings.trusted_networks or not _is_trusted(peer, settings):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, settings):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, settings: Settings) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.trusted_networks)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body: must be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body: must be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def outcome_body(outcome: Outcome) -> dict[str, str]:
    body = {"status": outcome.status}
    if outcome.reason:
        body["reason"] = outcome.reason
    return body


def json_response(body: object, status: int = 202, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def unavailable(exc: IngestUnavailable, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(
        503,
        f"Events were not stored: {exc}.",
        headers={**(headers or {}), "Retry-After": str(exc.retry_after)},
    )


async def track_event(request: Request) -> Response:
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=CORS_HEADERS)
    services = request.app.state.services
    try:
        body = await read_body(request, MAX_EVENT_BYTES)
        try:
            raw = parse_json_body(body)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        if not isinstance(raw, dict):
            raise ApiError(400, "body must be a JSON object")
        try:
            event = TrackerEvent.model_validate(raw)
        except ValidationError as exc:
            raise from_validation(exc) from exc
        pending = PendingEvent.from_wire(
            event,
            ts=int(time.time() * 1000),
            ip=client_ip(request, services.settings),
            user_agent=request.headers.get("user-agent", "")[:MAX_USER_AGENT],
        )
        try:
            [outcome] = await services.ingestor.submit([pending])
        except IngestUnavailable as exc:
            raise unavailable(exc) from exc
    except ApiError as error:
        error.headers.update(CORS_HEADERS)
        raise
    return json_response(outcome_body(outcome), headers=CORS_HEADERS)


def static_script(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(_request: Request) -> Response:
        return FileResponse(
            STATIC_DIR / name,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
        )

    return serve


tracker_script = static_script("script.js")


def ingest_routes() -> list[BaseRoute]:
    return [
        Route("/api/event", track_event, methods=["POST", "OPTIONS"]),
        Route("/js/script.js", tracker_script, methods=["GET", "HEAD"]),
        # seed 000's A/B snippet as a ready script (variant by weight, kept in localStorage)
        Route("/js/metrics.js", static_script("metrics.js"), methods=["GET", "HEAD"]),
    ]
