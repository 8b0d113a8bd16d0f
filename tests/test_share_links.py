"""Read-only share links through the in-process ASGI client: created in settings, opened with no
session, pinned to their site (the same numbers as the REST API for that site, whatever the query
asks), nothing else reachable, revocable (then 404 like a link that never was), and behind an
optional password that reveals nothing when wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import pin_reports
from factories import event, make_token
from settings_support import PASSWORD, Stranger, owner, post, sign_in, stranger

__all__ = ["owner", "stranger"]  # fixtures
pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")  # split: reports read both roles
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
REVEAL = 'id="new-secret" class="secret" readonly value="'


@pytest.fixture
def traffic(app: Starlette, owner: accounts.User, monkeypatch: pytest.MonkeyPatch) -> str:
    """Pageviews on both of the owner's sites over the pinned week; a read token."""
    services: Services = app.state.services
    with services.db.sync.begin() as conn:
        accounts.add_goal(conn, "acme.test", "Pricing", path="/pricing")
        accounts.add_goal(conn, "blog.acme.test", "Blog secret goal", path="/secret")
    events = []
    for n in range(12):
        when = (NOW - timedelta(days=n % 6, hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        events.append(event(when, "/pricing" if n % 2 else "/", ip=f"198.51.100.{n + 1}"))
        events.append(event(when, "/post", domain="blog.acme.test", ip=f"203.0.113.{n + 1}"))
    assert ingest_events(services.ingestor, events).rejected == 0
    pin_reports(monkeypatch, NOW)
    return make_token(services)


async def create_link(client: httpx2.AsyncClient, **fields: str) -> str:
    response = await post(client, "sharing", {"site": "acme.test", "label": "Investors", **fields})
    assert response.status_code == 200, response.text
    url = response.text.split(REVEAL)[1].split('"')[0]
    assert url.startswith("http://testserver/share/")
    return url.removeprefix("http://testserver")


def fresh(app: Starlette) -> httpx2.AsyncClient:
    """A browser with no session cookie."""
    transport = httpx2.ASGITransport(app=app, client=("198.51.100.200", 40000))
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


async def api(client: httpx2.AsyncClient, path: str, **params: str) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_share_link_shows_one_site_read_only_with_no_session(
    app: Starlette, client: httpx2.AsyncClient, traffic: str
) -> None:
    await sign_in(client)
    link = await create_link(client)
    async with fresh(app) as anonymous:
        shell = await anonymous.get(link, headers={"Accept": "text/html"})
        assert shell.status_code == 200
        assert f'"base": "{link}"' in shell.text and '"sites": ["acme.test"]' in shell.text
        for absent in ("blog.acme.test", "Sign out", "ai-button", "settings-link", 'data-tab="experiments"'):
            assert absent not in shell.text, absent
        assert shell.headers["cache-control"] == "no-store"
        token = {"Authorization": f"Bearer {traffic}"}
        for path in ("/api/v1/stats/overview", "/api/v1/stats/pages", "/api/v1/stats/timeseries"):
            expected = (await client.get(path, params={"site": "acme.test"}, headers=token)).json()
            assert await api(anonymous, link + path) == expected
            # The link's site, whatever the query says: never the tenant's other site, never all.
            assert await api(anonymous, link + path, site="blog.acme.test") == expected
            assert await api(anonymous, link + path, site="") == expected
        csv = {"format": "csv", "period": "30d"}
        shared_csv = await anonymous.get(f"{link}/api/v1/stats/pages", params=csv)
        rest_csv = await client.get("/api/v1/stats/pages", params={**csv, "site": "acme.test"}, headers=token)
        assert (
            shared_csv.status_code == 200 and shared_csv.text == rest_csv.text and "/pricing" in rest_csv.text
        )
        goals = await api(anonymous, f"{link}/dashboard/api/goals")
        assert [g["name"] for g in goals["data"]["goals"]] == ["Pricing"]
        counted = await anonymous.get(f"{link}/api/v1/stats/overview")
        assert counted.headers["x-ratelimit-limit"] == "600"  # the link's own bucket (session limit)
        for closed in ("/api/v1/experiments", "/api/v1/export", "/api/v1/goals", "/api/v1/chat/status"):
            refused = await anonymous.get(link + closed)
            assert refused.status_code == 404 and refused.json()["code"] == "not_found", closed
        assert (await anonymous.get("/api/v1/stats/overview")).status_code == 401  # no session came of it
        assert (await anonymous.get("/dashboard/settings/sites")).status_code == 303


async def test_a_revoked_link_answers_like_one_that_never_was(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User, traffic: str, stranger: Stranger
) -> None:
    await sign_in(client)
    link = await create_link(client)
    with app.state.services.db.sync.begin() as conn:
        share_id = next(
            s for s in conn.exec_driver_sql("SELECT id FROM share_links WHERE label='Investors'").scalars()
        )
    theirs = await post(client, "sharing/revoke", {"share": stranger.share})
    nobody = await post(client, "sharing/revoke", {"share": "01HZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert theirs.status_code == nobody.status_code == 404 and theirs.text == nobody.text
    async with fresh(app) as anonymous:
        assert (await anonymous.get(f"/share/{stranger.share_secret}")).status_code == 200  # still live
        assert (await post(client, "sharing/revoke", {"share": share_id})).status_code == 303
        never = "/share/" + "x" * 43
        html = {"Accept": "text/html"}
        gone, unknown = await anonymous.get(link, headers=html), await anonymous.get(never, headers=html)
        assert gone.status_code == unknown.status_code == 404
        assert gone.text.replace(link[:20], "") == unknown.text.replace(never[:20], "")
        assert "acme" not in gone.text
        data = await anonymous.get(f"{link}/api/v1/stats/overview")
        none = await anonymous.get(f"{never}/api/v1/stats/overview")
        assert data.status_code == none.status_code == 404 and data.json() == none.json()


async def test_a_password_protected_link(app: Starlette, client: httpx2.AsyncClient, traffic: str) -> None:
    await sign_in(client)
    short = await post(client, "sharing", {"site": "acme.test", "label": "x", "password": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.text
    link = await create_link(client, password=PASSWORD)
    async with fresh(app) as anonymous:
        form = await anonymous.get(link)
        assert form.status_code == 200 and "has a password" in form.text
        assert "acme" not in form.text and "Investors" not in form.text
        assert (await anonymous.get(f"{link}/api/v1/stats/overview")).status_code == 401
        token = form.text.split('name="csrf" value="')[1].split('"')[0]
        wrong = await anonymous.post(link, data={"csrf": token, "password": PASSWORD + "x"})
        assert wrong.status_code == 401 and "Wrong password." in wrong.text
        assert "acme" not in wrong.text and "visitors" not in wrong.text
        assert (await anonymous.get(f"{link}/api/v1/stats/overview")).status_code == 401
        token = wrong.text.split('name="csrf" value="')[1].split('"')[0]
        right = await anonymous.post(link, data={"csrf": token, "password": PASSWORD})
        assert right.status_code == 303 and right.headers["location"] == link
        assert f"Path={link}" in right.headers["set-cookie"]
        assert '"sites": ["acme.test"]' in (await anonymous.get(link)).text
        assert (await anonymous.get(f"{link}/api/v1/stats/overview")).status_code == 200
