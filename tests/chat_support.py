"""Shared by the tests/test_chat_* modules: a seeded tenant with real ingested traffic (and a
rival tenant whose markers must never leak), the chat request helper and an SSE parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.schema import chat_requests
from conftest import start_from
from factories import FIREFOX_LINUX, SAFARI_IPHONE, event, make_site, make_token
from fake_anthropic import FakeAnthropic, fake_anthropic

# Strings that exist only in the rival tenant's data: none may appear in acme's chat.
RIVAL_MARKERS = ("rival-secret.test", "Rival Corp", "/rival-only-page")
QUESTION = "Which pages were most read this week? zq-question-marker"
ANSWER = "Your top page is / with 3 visitors. zq-answer-marker"
API_KEY = "sk-test-key-zq-secret"

Json = dict[str, Any]


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: Json


def parse_sse(body: str) -> list[SseEvent]:
    events = []
    for frame in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in lines:
            events.append(SseEvent(lines["event"], orjson.loads(lines.get("data", "{}"))))
    return events


def names(events: list[SseEvent]) -> list[str]:
    return [e.name for e in events]


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(services: Services, *, plan: str = "business") -> str:
    """acme (Acme, two sites, a few visits in the last hours) and rival; returns acme's read token."""
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, "acme", name="Acme", plan=plan, timezone="UTC")
        accounts.create_tenant(conn, "rival", name="Rival Corp", plan="business")
    make_site(services, "acme", "acme.test")
    make_site(services, "acme", "shop.acme.test", currency="USD")
    make_site(services, "rival", "rival-secret.test")
    events = [
        event(ago(5), "/", ip="198.51.100.1"),
        event(ago(4.9), "/pricing", ip="198.51.100.1"),
        event(ago(4), "/", ip="198.51.100.2", ua=SAFARI_IPHONE),
        event(ago(3), "/", ip="198.51.100.3", ua=FIREFOX_LINUX),
        event(ago(2.9), "/docs", ip="198.51.100.3", ua=FIREFOX_LINUX),
        event(ago(2.8), "/pricing", ip="198.51.100.3", ua=FIREFOX_LINUX),
        event(ago(2), "/cart", domain="shop.acme.test", ip="198.51.100.4"),
    ]
    events += [
        event(ago(3 + i / 10), "/rival-only-page", domain="rival-secret.test", ip=f"203.0.113.{i}")
        for i in range(9)
    ]
    summary = ingest_events(services.ingestor, events)
    assert summary.accepted == len(events), summary
    return make_token(services, "acme")


async def ask(
    client: httpx2.AsyncClient, token: str, message: str = QUESTION, **extra: Any
) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return await client.post("/api/v1/chat", json={"message": message, **extra}, headers=headers)


def tool_results_sent(request: Json) -> list[Json]:
    """The tool_result blocks of the last user message the app sent to the model."""
    last = request["messages"][-1]
    return [block for block in last["content"] if block.get("type") == "tool_result"]


# -- fixtures (imported by the test modules) ------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    """An empty-scripted fake Messages API on 127.0.0.1; tests `fake.push(...)` their turns."""
    async with fake_anthropic() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, fake: FakeAnthropic, sqlite_template: Path) -> Settings:
    start_from(sqlite_template, tmp_path / "data")
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        ingest_process=False,  # as conftest's: a writer process per app costs seconds of CPU
        rate_limit="10000/minute",
        anthropic_api_key=API_KEY,
        anthropic_base_url=fake.base_url,
        anthropic_model="claude-test-model",
        _env_file=None,
    )


def services_of(app: Starlette) -> Services:
    services = app.state.services
    assert isinstance(services, Services)
    return services


def request_rows(app: Starlette) -> list[Json]:
    with services_of(app).db.sync.connect() as conn:
        return [
            dict(row) for row in conn.execute(select(chat_requests).order_by(chat_requests.c.id)).mappings()
        ]
