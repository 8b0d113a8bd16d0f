"""The writer process (the server's default): a real uvicorn takes tracker and batch events, every
202 is durable in the spool and stored by the writer process (rows, dedup and rollups as with the
writer thread), write_now returns once stored, the writer stops with the server after storing
everything, and a dead writer turns into 503s, never a 202."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from analytics_mcp import engine
from analytics_mcp.config import Settings
from analytics_mcp.engine.store import raw_tables
from analytics_mcp.ingest.bulk_import import validate_line
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import get_tenant
from analytics_mcp.storage.schema import events
from conftest import serving
from factories import CHROME_WIN, make_site, make_token


@pytest.fixture
async def process_server(tmp_path: Path) -> AsyncIterator[tuple[str, Starlette]]:
    settings = Settings(data_dir=tmp_path / "data", secret_key="t", ingest_process=True, _env_file=None)  # type: ignore[call-arg]
    async with serving(settings) as served:
        yield served


def days_ago(days: int, hour: int) -> str:
    """A timestamp `days` before today at `hour` UTC: inside the `30d` period whenever the test runs."""
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tracker(i: int, **extra: Any) -> dict[str, Any]:
    url = f"https://acme.test/p{i % 7}"
    return {"name": "pageview", "url": url, "domain": "acme.test", "event_id": f"t{i}", **extra}


async def test_child_writer_commits_before_202_with_rollups(process_server: tuple[str, Starlette]) -> None:
    base, app = process_server
    services: Services = app.state.services
    make_site(services)
    token = make_token(services, scopes=("read", "ingest"))
    headers = {"User-Agent": CHROME_WIN}
    async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
        replies = await asyncio.gather(
            *(client.post("/api/event", json=tracker(i), headers=headers) for i in range(60)),
            *(client.post("/api/event", json=tracker(0), headers=headers) for _ in range(5)),  # retries
        )
        assert sorted(r.json()["status"] for r in replies) == ["accepted"] * 60 + ["duplicate"] * 5
        lines = [
            {**tracker(100 + i), "ip": f"203.0.113.{i % 20}", "user_agent": CHROME_WIN,
             "timestamp": days_ago(3, 10)}
            for i in range(200)
        ]  # fmt: skip
        batch = await client.post(
            "/api/v1/events",
            content=b"\n".join(orjson.dumps(line) for line in lines),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        )
        assert batch.status_code == 202, batch.text
        assert batch.json()["data"]["accepted"] == 200, batch.json()
    line = {
        **tracker(999),
        "ip": "203.0.113.99",
        "user_agent": CHROME_WIN,
        "timestamp": days_ago(3, 11),
    }
    pending = validate_line(line, now_ms=int(time.time() * 1000))
    assert not isinstance(pending, tuple), pending
    [outcome] = await asyncio.to_thread(services.ingestor.write_now, [pending])  # through the child too
    assert outcome.status == "accepted"
    with services.db.sync.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 261
        tenant = get_tenant(conn, "acme")
    assert tenant is not None
    query = await engine.query_for_tenant(services.db, tenant, period="30d")
    with raw_tables():
        raw = await engine.overview(services.db, query)
    assert await engine.overview(services.db, query) == raw  # the child kept the rollups too
    assert raw.pageviews == 261


async def test_a_dead_child_gives_503_not_202(process_server: tuple[str, Starlette]) -> None:
    base, app = process_server
    services: Services = app.state.services
    make_site(services)
    async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
        assert (await client.get("/api/health")).status_code == 200
    spooler = services.ingestor._spooler
    assert spooler is not None
    spooler._child._process.kill()
    spooler._child._process.join()
    deadline = time.time() + 10
    while services.ingestor.healthy and time.time() < deadline:  # the receiver sees the pipe close
        await asyncio.sleep(0.02)
    async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
        reply = await client.post("/api/event", json=tracker(1), headers={"User-Agent": CHROME_WIN})
        health = await client.get("/api/health")
    assert reply.status_code == 503 and "Retry-After" in reply.headers
    assert health.status_code == 503  # the balancer takes this server out
    with services.db.sync.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0
