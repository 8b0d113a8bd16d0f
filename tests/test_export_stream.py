"""Export responses stream: the first rows leave before the later ones are read (a real uvicorn,
read chunk by chunk), and memory stays bounded by a chunk, not the page."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.export import stream
from analytics_mcp.storage.db import Database
from engine_support import hit, ingest
from test_export import World, build_world

pytestmark = pytest.mark.backends()

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


def pageviews(count: int) -> list[dict[str, Any]]:
    return [
        hit(f"2026-03-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.{n % 1000:03d}Z", f"/p/{n}",
            who=1 + n % 200, event_id=f"s{n}")
        for n in range(count)
    ]  # fmt: skip


def seeded(app: Starlette, count: int) -> World:
    world = build_world(app)
    ingest(world.services, pageviews(count))
    return world


async def test_first_rows_leave_before_the_last_are_read(
    live_server: tuple[str, Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, app = live_server
    world = seeded(app, 50)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 10)
    gate, reads = asyncio.Event(), [0]
    original = stream.read

    async def gated(db: Database, fn: Callable[[Any], Any]) -> Any:
        reads[0] += 1
        if reads[0] > 1:
            await gate.wait()  # hold every read after the first
        return await original(db, fn)

    monkeypatch.setattr(stream, "read", gated)
    headers = {"Authorization": f"Bearer {world.acme}"}
    async with (
        httpx2.AsyncClient(base_url=base, timeout=10) as http,
        http.stream("GET", "/api/v1/export/pageviews", params=MARCH, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(anext(chunks), 5)
        assert first.count(b"\n") == 10  # the first chunk reached us ...
        assert not gate.is_set() and reads[0] == 2  # ... while the next read was still held
        gate.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert (first + rest).count(b"\n") == 50


async def test_memory_is_bounded_by_a_chunk_not_the_page(
    live_server: tuple[str, Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Server and client share this process and the client drops what it reads, so the traced
    peak is what the server holds at once: five times the rows may not cost much more."""
    base, app = live_server
    world = seeded(app, 10_000)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 500)
    headers = {"Authorization": f"Bearer {world.acme}"}
    measured: dict[int, tuple[int, int]] = {}
    async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
        await http.get("/api/v1/export/pageviews", params={**MARCH, "limit": 10}, headers=headers)  # warm up
        for limit in (2000, 10_000):
            params = {**MARCH, "limit": limit}
            tracemalloc.start()
            try:
                size = 0
                async with http.stream(
                    "GET", "/api/v1/export/pageviews", params=params, headers=headers
                ) as reply:
                    async for chunk in reply.aiter_raw():
                        size += len(chunk)
                measured[limit] = (size, tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
    (small, small_peak), (big, big_peak) = measured[2000], measured[10_000]
    assert big > 5_000_000 and big > 4 * small
    assert big_peak - small_peak < (big - small) / 4, measured
