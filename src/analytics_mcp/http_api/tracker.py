"""Public ingestion edge: the tracker endpoint and the tracker script."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from analytics_mcp import ingest
from analytics_mcp.config import Settings
from analytics_mcp.http_api.errors import ApiError, from_validation
from analytics_mcp.ingest.event import ACCEPTED, Outcome, PendingEvent
from analytics_mcp.ingest.group_commit import IngestUnavailable
from analytics_mcp.ingest.wire import MAX_EVENT_BYTES, TrackerEvent, parse_json_body

STATIC_DIR = Path(ingest.__file__).parent / "static"  # the tracker scripts ship with ingestion
MAX_USER_AGENT = 1000  # what the batch format allows too; bounds the parser cache
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def client_ip(request: Request, settings: Settings) -> str:
    """The client's address as `forwarded_client` decides it, from a Starlette request."""
    peer = request.client.host if request.client else "0.0.0.0"
    return forwarded_client(peer, request.headers.get("x-forwarded-for", ""), settings)


def forwarded_client(peer: str, forwarded_for: str, settings: Settings) -> str:
    """The peer address, or, when the peer is a trusted proxy, the nearest untrusted hop of
    X-Forwarded-For (right to left), so a client cannot spoof its address through the header."""
    trusted = settings.is_trusted_proxy
    if not trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else peer


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing with 413 as soon as it passes `limit` bytes (see `receive_body`)."""
    declared = request.headers.get("content-length", "").encode("latin-1")
    return await receive_body(request.receive, declared, limit)


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


class TrackerEndpoint:
    """POST /api/event as a bare ASGI app: the busiest route builds no Request or Response
    objects. Errors are raised as ApiError, so they get the one JSON error shape (with CORS)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "OPTIONS":
            await _reply(send, 204, b"", _PREFLIGHT_HEADERS)
            return
        services = scope["app"].state.services
        length, user_agent, forwarded = b"", b"", []
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"user-agent":
                user_agent = value
            elif name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
        try:
            body = await receive_body(receive, length, MAX_EVENT_BYTES)
            peer = scope["client"][0] if scope.get("client") else "0.0.0.0"
            pending = PendingEvent.from_wire(
                _tracker_event(body),
                ts=int(time.time() * 1000),
                ip=forwarded_client(peer, ",".join(forwarded), services.settings),
                user_agent=user_agent.decode("latin-1")[:MAX_USER_AGENT],
            )
            try:
                [outcome] = await services.ingestor.submit([pending])
            except IngestUnavailable as exc:
                raise unavailable(exc) from exc
        except ApiError as error:
            error.headers.update(CORS_HEADERS)
            raise
        if outcome.status == ACCEPTED and not outcome.reason:
            await _reply(send, 202, _ACCEPTED_BODY, _JSON_HEADERS)
        else:
            await _reply(send, 202, orjson.dumps(outcome_body(outcome)), _JSON_HEADERS)


def _tracker_event(body: bytes) -> TrackerEvent:
    try:
        raw = parse_json_body(body)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    if not isinstance(raw, dict):
        raise ApiError(400, "body must be a JSON object")
    try:
        return TrackerEvent.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc) from exc


async def receive_body(receive: Receive, declared: bytes, limit: int) -> bytes:
    """The one bounded body reader (tracker, /api/v1, dashboard forms): the body, refusing with 413
    as soon as it passes `limit` bytes, by its Content-Length or while it streams in (chunked), so
    no more than `limit` bytes are ever held."""
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body: must be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "body: the client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body: must be at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _raw_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


_ACCEPTED_BODY = orjson.dumps({"status": ACCEPTED})
_JSON_HEADERS = _raw_headers({**CORS_HEADERS, "Content-Type": "application/json"})
_PREFLIGHT_HEADERS = _raw_headers(CORS_HEADERS)


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    length = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + length})
    await send({"type": "http.response.body", "body": body})


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
        Route("/api/event", TrackerEndpoint(), methods=["POST", "OPTIONS"]),
        Route("/js/script.js", tracker_script, methods=["GET", "HEAD"]),
        # the A/B client of docs/ab-testing.md as a ready script (variant by weight, kept in localStorage)
        Route("/js/metrics.js", static_script("metrics.js"), methods=["GET", "HEAD"]),
    ]
