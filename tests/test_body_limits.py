"""Every route that reads a body bounds it while reading: a body streamed without Content-Length
past the route's limit gets 413 (the limit in the message, the one JSON error shape) after the
server has read no more than the limit, never the whole stream. The MCP endpoint is bounded by the
SDK (4 MiB), not by us."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx2
import orjson
import pytest
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.dashboard.routes import MAX_FORM_BYTES
from analytics_mcp.experiments.tracking import MAX_BODY_BYTES as TRACK_LIMIT
from analytics_mcp.http_api.errors import LINGER_BYTES
from analytics_mcp.http_api.events import MAX_BATCH_BYTES
from analytics_mcp.http_api.framework import MAX_BODY_BYTES as JSON_LIMIT
from analytics_mcp.ingest.wire import MAX_EVENT_BYTES
from analytics_mcp.services import Services
from conftest import serving
from factories import make_site, make_token

CHUNK = 64 * 1024
MCP_LIMIT = 4 * 1024 * 1024  # mcp.server.transport_security.DEFAULT_MAX_REQUEST_BODY_SIZE


@dataclass
class Stream:
    """A body of `total` bytes sent in chunks (no Content-Length: chunked); counts what was read."""

    total: int
    sent: int = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b" " * CHUNK


@pytest.fixture
def token(app: Starlette) -> str:
    services: Services = app.state.services
    make_site(services)
    return make_token(services, scopes=("read", "ingest", "admin"))


ROUTES = [
    ("POST", "/api/v1/chat", JSON_LIMIT),
    ("POST", "/api/v1/experiments", JSON_LIMIT),
    ("PATCH", "/api/v1/experiments/hero-test", JSON_LIMIT),
    ("POST", "/api/v1/events", MAX_BATCH_BYTES),
    ("POST", "/api/v1/metrics/track", TRACK_LIMIT),
    ("POST", "/api/event", MAX_EVENT_BYTES),
    ("POST", "/login", MAX_FORM_BYTES),
    ("POST", "/logout", MAX_FORM_BYTES),
]


@pytest.mark.parametrize(("method", "path", "limit"), ROUTES)
async def test_a_streamed_body_past_the_limit_is_413_while_reading(
    client: httpx2.AsyncClient, token: str, method: str, path: str, limit: int
) -> None:
    body = Stream(total=limit + 4 * 1024 * 1024)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": f"body: must be at most {limit} bytes", "code": "payload_too_large"}
    # Refused at the limit; then at most LINGER_BYTES more are read and dropped (so the client can
    # read the 413 before the connection closes), never the rest of the stream, never kept.
    assert body.sent <= limit + LINGER_BYTES + CHUNK


@pytest.mark.parametrize(("method", "path", "limit"), ROUTES)
async def test_a_declared_length_past_the_limit_is_413_before_reading(
    client: httpx2.AsyncClient, token: str, method: str, path: str, limit: int
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = await client.request(method, path, content=b" " * (limit + 1), headers=headers)
    assert response.status_code == 413
    assert response.json() == {"message": f"body: must be at most {limit} bytes", "code": "payload_too_large"}


async def test_the_mcp_endpoint_is_bounded_by_the_sdk(client: httpx2.AsyncClient, token: str) -> None:
    body = Stream(total=MCP_LIMIT + 4 * 1024 * 1024)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Host": "127.0.0.1:8000",
    }
    response = await client.post("/mcp/analytics", content=body, headers=headers)
    assert response.status_code == 413
    assert body.sent <= MCP_LIMIT + CHUNK


async def _chunked_post(base_url: str, path: str, token: str, total: int) -> tuple[bytes, bytes, int]:
    """A raw chunked POST over a socket that sends until the answer comes: (status line, body,
    body bytes sent before the answer came)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    answer = asyncio.create_task(_read_answer(reader))
    sent = 0
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    with contextlib.suppress(ConnectionError):
        while sent < total and not answer.done():
            writer.write(chunk)
            await writer.drain()
            sent += CHUNK
            await asyncio.sleep(0)
    status, body = await asyncio.wait_for(answer, timeout=30)
    writer.close()
    return status, body, sent


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


async def test_a_real_server_refuses_a_huge_chat_body_early(settings: Settings) -> None:
    """Over uvicorn, as the report did it (500 MB streamed to the chat): a readable 413 (not lost
    to a connection reset) long before the end."""
    async with serving(settings) as (base_url, served):
        services: Services = served.state.services
        make_site(services)
        token = make_token(services)
        for _attempt in range(3):  # each time: the answer arrives whole, the client stops early
            status, body, sent = await _chunked_post(base_url, "/api/v1/chat", token, 512 * 1024 * 1024)
            assert status.startswith(b"HTTP/1.1 413")
            assert orjson.loads(body) == {
                "message": f"body: must be at most {JSON_LIMIT} bytes",
                "code": "payload_too_large",
            }
            assert sent < 16 * 1024 * 1024
