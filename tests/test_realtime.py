"""Realtime current visitors (engine and REST): visitors with an event in the five minutes before a
pinned "now" (never the wall clock), their pages and sources, and tenant isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import pin_reports
from engine_support import add_site, hit, ingest
from factories import make_token

pytestmark = pytest.mark.backends()

# "Now" for every question of this module: fixed once, a little in the past so ingestion takes
# the events as past ones, whatever the wall clock does while the tests run.
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def ago(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


EVENTS = [
    hit(ago(1), "/pricing", who=1),
    hit(ago(4), "/", who=2),
    hit(ago(4.5), "/", who=3, name="signup"),  # any event counts a visitor, only pageviews a page
    hit(ago(6), "/gone", who=4),  # before the window
    # visitor 1's visit started before the window, from Google: its source counts, the visitor once
    hit(ago(5.5), "/pricing", who=1, referrer="https://www.google.com/"),
]
RIVAL_EVENTS = [hit(ago(2), "/rival-secret", who=9, domain="rival.test", referrer="https://rival.example/")]


@pytest.fixture
async def svc(services: Services) -> AsyncIterator[Services]:
    yield services
    await services.db.aio.dispose()


async def realtime(svc: Services, slug: str, **arguments: Any) -> engine.Realtime:
    with svc.db.sync.begin() as conn:
        tenant = accounts.get_tenant(conn, slug)
    assert tenant is not None
    query = await engine.query_for_tenant(svc.db, tenant, now=NOW, **arguments)
    return await engine.current_visitors(svc.db, query)


async def test_visitors_of_the_last_five_minutes(svc: Services) -> None:
    add_site(svc)
    ingest(svc, EVENTS)
    report = await realtime(svc, "acme")
    assert report.visitors == 3  # now-1 min, now-4 min, now-4.5 min; not now-6 min
    assert (report.window_minutes, report.as_of) == (5, NOW.isoformat().replace("+00:00", "Z"))
    assert [(p.pathname, p.visitors) for p in report.pages] == [("/", 1), ("/pricing", 1)]
    assert sorted((s.source, s.visitors) for s in report.sources) == [("direct", 2), ("google", 1)]


async def test_the_window_moves_with_now(svc: Services) -> None:
    tenant = add_site(svc)[0]
    ingest(svc, EVENTS)
    later = await engine.query_for_tenant(svc.db, tenant, now=NOW + timedelta(minutes=3, seconds=30))
    assert (await engine.current_visitors(svc.db, later)).visitors == 1  # only now-1 min is left
    earlier = await engine.query_for_tenant(svc.db, tenant, now=NOW - timedelta(minutes=2))
    assert (await engine.current_visitors(svc.db, earlier)).visitors == 4  # -4, -4.5, -5.5 and -6 min


async def test_sites_filters_and_tenants_stay_apart(svc: Services) -> None:
    add_site(svc)
    add_site(svc, "shop.test")
    add_site(svc, "rival.test", slug="rival")
    ingest(svc, [*EVENTS, hit(ago(2), "/cart", who=5, domain="shop.test"), *RIVAL_EVENTS])
    assert (await realtime(svc, "acme")).visitors == 4
    assert (await realtime(svc, "acme", site="shop.test")).visitors == 1
    assert (await realtime(svc, "acme", site="acme.test", filters="page==/pricing")).visitors == 1
    rival = await realtime(svc, "rival")
    assert (rival.visitors, [p.pathname for p in rival.pages]) == (1, ["/rival-secret"])
    with pytest.raises(engine.QueryError):
        await realtime(svc, "acme", site="rival.test")


async def test_rest_realtime(
    app: Starlette, client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_reports(monkeypatch, NOW)
    services: Services = app.state.services
    add_site(services)
    add_site(services, "rival.test", slug="rival")
    ingest(services, [*EVENTS, *RIVAL_EVENTS])
    headers = {"Authorization": f"Bearer {make_token(services)}"}
    response = await client.get("/api/v1/stats/realtime", params={"limit": 1}, headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["visitors"], data["window_minutes"]) == (3, 5)
    assert data["pages"] == [{"pathname": "/", "visitors": 1}]
    assert len(data["sources"]) == 1 and "rival" not in response.text
    foreign = await client.get("/api/v1/stats/realtime", params={"site": "rival.test"}, headers=headers)
    assert (foreign.status_code, foreign.json()) == (404, {"message": "Site not found.", "code": "not_found"})
    document = (await client.get("/api/v1/openapi.json")).json()
    [path] = [path for path in document["paths"] if path.endswith("/stats/realtime")]
    assert set(document["paths"][path]["get"]["responses"]) >= {"200", "422"}
