"""The tracker endpoint over HTTP: in-process ASGI, and one real uvicorn end to end."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from analytics_mcp.ingest.group_commit import IngestUnavailable
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events, visits
from conftest import INPUT_RULES
from factories import CHROME_WIN, GOOGLEBOT, make_site

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

HEADERS = {"User-Agent": CHROME_WIN, "Content-Type": "application/json"}


def body(**extra: Any) -> dict[str, Any]:
    return {"name": "pageview", "url": "https://acme.test/pricing", "domain": "acme.test", **extra}


@pytest.fixture
def svc(app: Starlette) -> Services:
    services: Services = app.state.services
    make_site(services)
    return services


def count(svc: Services, table: Any) -> int:
    with svc.events_db.sync.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def test_pageview_is_stored_before_the_202(client: httpx2.AsyncClient, svc: Services) -> None:
    response = await client.post("/api/event", json=body(referrer="https://t.co/x"), headers=HEADERS)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    assert response.headers["access-control-allow-origin"] == "*"
    assert count(svc, events) == 1  # committed, not merely queued
    with svc.events_db.sync.connect() as conn:
        visit = conn.execute(select(visits)).one()
    assert (visit.source, visit.channel) == ("twitter", "social")


async def test_text_plain_body_from_send_beacon(client: httpx2.AsyncClient, svc: Services) -> None:
    response = await client.post(
        "/api/event",
        content=orjson.dumps(body(event_id="beacon-1")),
        headers={**HEADERS, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 202
    assert count(svc, events) == 1


async def test_cors_preflight(client: httpx2.AsyncClient) -> None:
    response = await client.options(
        "/api/event", headers={"Origin": "https://acme.test", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert "set-cookie" not in response.headers


@INPUT_RULES
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://acme.test/", "domain": "acme.test"}, "name"),
        (body(url="/relative"), "url"),
        (body(domain=""), "domain"),
        (body(props={f"k{i}": i for i in range(31)}), "props"),
        (body(props={"k": "x" * 2001}), "props"),
        (body(scroll_depth=150), "scroll_depth"),
        (body(revenue={"amount": -1, "currency": "EUR"}), "revenue.amount"),
        (body(revenue={"amount": 1, "currency": "EURO"}), "revenue.currency"),
        (body(name="engagement"), "body"),
        (body(items=[{"price": 1}]), "items.0.item_name"),
    ],
)
async def test_bad_events_get_422_naming_the_field(
    client: httpx2.AsyncClient, svc: Services, payload: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/event", json=payload, headers=HEADERS)
    assert response.status_code == 422
    data = response.json()
    assert field in data["errors"], data
    assert data["message"].startswith(field)
    assert count(svc, events) == 0


async def test_malformed_and_oversized_bodies(client: httpx2.AsyncClient, svc: Services) -> None:
    bad = await client.post("/api/event", content=b"{nope", headers=HEADERS)
    assert bad.status_code == 400 and "JSON" in bad.json()["message"]
    array = await client.post("/api/event", json=[body()], headers=HEADERS)
    assert array.status_code == 400
    huge = await client.post("/api/event", json=body(props={"k": "x" * 40_000}), headers=HEADERS)
    assert huge.status_code == 413
    assert count(svc, events) == 0


async def test_bots_and_unknown_domains_get_202_dropped(client: httpx2.AsyncClient, svc: Services) -> None:
    bot = await client.post("/api/event", json=body(), headers={**HEADERS, "User-Agent": GOOGLEBOT})
    assert (bot.status_code, bot.json()) == (202, {"status": "dropped", "reason": "bot"})
    no_ua = await client.post("/api/event", json=body(), headers={"Content-Type": "application/json"})
    assert no_ua.json()["reason"] == "bot"
    unknown = await client.post("/api/event", json=body(domain="nobody.test"), headers=HEADERS)
    assert unknown.json() == {"status": "dropped", "reason": "unknown domain"}
    assert count(svc, events) == 0


async def test_concurrent_retries_of_one_event_id_store_one_row(
    client: httpx2.AsyncClient, svc: Services
) -> None:
    payload = body(event_id="same-event")
    replies = await asyncio.gather(
        *(client.post("/api/event", json=payload, headers=HEADERS) for _ in range(25))
    )
    statuses = sorted(r.json()["status"] for r in replies)
    assert statuses == ["accepted"] + ["duplicate"] * 24
    assert count(svc, events) == 1


async def test_many_concurrent_events_are_all_stored(client: httpx2.AsyncClient, svc: Services) -> None:
    replies = await asyncio.gather(
        *(
            client.post(
                "/api/event", json=body(event_id=f"e{i}", url=f"https://acme.test/p{i}"), headers=HEADERS
            )
            for i in range(200)
        )
    )
    assert all(r.status_code == 202 and r.json()["status"] == "accepted" for r in replies)
    assert count(svc, events) == 200


async def test_forwarded_for_is_ignored_from_untrusted_peers(
    client: httpx2.AsyncClient, svc: Services
) -> None:
    for spoof in ("198.51.100.1", "198.51.100.2"):
        headers = {**HEADERS, "X-Forwarded-For": spoof}
        await client.post("/api/event", json=body(url=f"https://acme.test/{spoof}"), headers=headers)
    with svc.events_db.sync.connect() as conn:
        assert conn.execute(select(func.count(visits.c.visitor_id.distinct()))).scalar_one() == 1


async def test_forwarded_for_is_honoured_from_trusted_proxies(settings: Any) -> None:
    from conftest import behind_proxy

    async with behind_proxy(settings) as (app, http):
        make_site(app.state.services)
        for real in ("198.51.100.1", "198.51.100.2"):
            headers = {**HEADERS, "X-Forwarded-For": f"6.6.6.6, {real}, 10.9.9.9"}
            await http.post("/api/event", json=body(url=f"https://acme.test/{real}"), headers=headers)
        with app.state.services.events_db.sync.connect() as conn:
            assert conn.execute(select(func.count(visits.c.visitor_id.distinct()))).scalar_one() == 2


async def test_storage_failure_answers_503_never_202(
    client: httpx2.AsyncClient,
    svc: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(svc.ingestor.processor, "process", broken)
    with caplog.at_level(logging.ERROR):
        response = await client.post("/api/event", json=body(), headers=HEADERS)
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert "disk on fire" not in response.text


async def test_overload_answers_503_with_retry_after(
    client: httpx2.AsyncClient, svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(_events: Any) -> Any:
        raise IngestUnavailable("too many events waiting to be written", retry_after=2)

    monkeypatch.setattr(svc.ingestor, "submit", full)
    response = await client.post("/api/event", json=body(), headers=HEADERS)
    assert (response.status_code, response.headers["retry-after"]) == (503, "2")


async def test_tracker_script_is_served(client: httpx2.AsyncClient) -> None:
    response = await client.get("/js/script.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "sendBeacon" in response.text


async def test_end_to_end_over_real_uvicorn(live_server: tuple[str, Starlette]) -> None:
    base_url, app = live_server
    make_site(app.state.services)
    async with httpx2.AsyncClient(base_url=base_url) as http:
        replies = await asyncio.gather(
            *(http.post("/api/event", json=body(event_id=f"live-{i}"), headers=HEADERS) for i in range(20))
        )
    assert {r.status_code for r in replies} == {202}
    assert count(app.state.services, events) == 20


async def test_batch_endpoint_needs_the_ingest_scope(client: httpx2.AsyncClient, svc: Services) -> None:
    from factories import make_token

    read_only = make_token(svc, scopes=("read",))
    reply = await client.post("/api/v1/events", content=b"", headers={"Authorization": f"Bearer {read_only}"})
    assert reply.status_code == 403
    anonymous = await client.post("/api/v1/events", content=b"")
    assert anonymous.status_code == 401 and "www-authenticate" in anonymous.headers


async def test_batch_endpoint_takes_ndjson_and_arrays(client: httpx2.AsyncClient, svc: Services) -> None:
    from factories import event, make_token

    auth = {"Authorization": f"Bearer {make_token(svc, scopes=('ingest',))}"}
    lines = [
        event("2026-11-20T10:00:00Z", "/a", event_id="n1"),
        event("2026-11-20T10:01:00Z", "/b", event_id="n2"),
        {**event("2026-11-20T10:02:00Z"), "ip": "nope"},
        event("2026-11-20T10:03:00Z", ua=GOOGLEBOT),
    ]
    ndjson = b"\n".join(orjson.dumps(line) for line in lines)
    reply = await client.post("/api/v1/events", content=ndjson, headers=auth)
    assert reply.status_code == 202
    assert reply.json()["data"] == {
        "accepted": 2,
        "duplicate": 0,
        "dropped": 1,
        "rejected": 1,
        "errors": [{"line": 3, "field": "ip", "message": "must be an IPv4 or IPv6 address"}],
        "dropped_reasons": {"bot": 1},
    }
    again = await client.post("/api/v1/events", json=lines[:2], headers=auth)
    assert again.json()["data"]["duplicate"] == 2
    assert count(svc, events) == 2


async def test_batch_endpoint_limits(client: httpx2.AsyncClient, svc: Services) -> None:
    from factories import event, make_token

    auth = {"Authorization": f"Bearer {make_token(svc, scopes=('ingest',))}"}
    too_many = b"\n".join([orjson.dumps(event("2026-11-20T10:00:00Z"))] * 10_001)
    assert (await client.post("/api/v1/events", content=too_many, headers=auth)).status_code == 413
    all_bad = await client.post("/api/v1/events", json=[{"name": "x"}], headers=auth)
    assert all_bad.status_code == 422 and "1.url" in all_bad.json()["errors"]
    not_json = await client.post("/api/v1/events", content=b"[1, 2", headers=auth)
    assert not_json.status_code == 400
    assert count(svc, events) == 0


async def test_no_raw_ip_or_user_agent_in_logs(
    client: httpx2.AsyncClient, svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    ua = CHROME_WIN + " LogMarker/1.0"
    with caplog.at_level(logging.DEBUG):
        await client.post("/api/event", json=body(), headers={**HEADERS, "User-Agent": ua})
        await client.post(
            "/api/event", json=body(domain="nobody.test"), headers={**HEADERS, "User-Agent": ua}
        )
    assert "203.0.113.7" not in caplog.text  # the test client's address
    assert "LogMarker" not in caplog.text
