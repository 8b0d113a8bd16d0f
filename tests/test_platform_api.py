"""The /api/analytics/ endpoints of seed 001, ops side (issue 15): overview, activations (success
rate over the last 30 logs, the 5 newest logs), copilot (30 UTC days, empty days left out), JWT
access from POST /api/auth/token, and tenant isolation with marker strings. Hand-computed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.http_api import platform_analytics
from analytics_mcp.http_api.auth import app_secret
from analytics_mcp.http_api.login_throttle import LoginThrottle
from analytics_mcp.http_api.sign_in import sign_in_state
from analytics_mcp.platform import jwt_auth
from analytics_mcp.platform.activations import add_activation
from analytics_mcp.platform.reports_ops import success_rate
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from factories import event, make_site, make_token
from platform_support import add_chat_request, add_logs, add_segment, snapshot, subscribe

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")
PASSWORD = "correct horse battery"
MARKER = "zz-other-tenant-marker"
NOW = datetime(2026, 5, 31, 18, 0, tzinfo=UTC)


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_analytics, "analytics_now", lambda: NOW)


@dataclass(frozen=True)
class World:
    services: Services
    tenant: accounts.Tenant
    other: accounts.Tenant
    token: str  # a read token of `tenant`


@pytest.fixture
def world(app: Starlette, pinned: None) -> World:
    """Tenant acme (the caller) and tenant other, with "now" pinned."""
    services = services_of(app)
    tenant, _ = make_site(services)
    other, _ = make_site(services, "other", "other.test")
    return World(services, tenant, other, make_token(services))


def test_success_rate_rounds_half_up_and_is_null_without_logs() -> None:
    assert success_rate([]) is None
    assert success_rate(["success", "error", "success"]) == 67  # 66.7
    assert success_rate(["success", "error"]) == 50
    assert success_rate(["success"] * 29 + ["error"]) == 97  # 96.7
    assert success_rate(["success"] + ["error"] * 7) == 13  # 12.5 -> 13


def make_activation(
    services: Services, tenant_id: int, segment_id: int, url: str = "https://hooks.example/x"
) -> int:
    with services.db.sync.begin() as conn:
        return add_activation(
            conn, tenant_id, segment_id, "webhook", url=url, secret="0123456789abcdef0123"
        ).id


async def test_activations_success_rate_over_the_last_30_logs(
    world: World, client: httpx2.AsyncClient
) -> None:
    services, tenant, other, token = world.services, world.tenant, world.other, world.token
    segment = add_segment(services, tenant.id, "High LTV Buyers", member_count=3482)
    exactly_30 = make_activation(services, tenant.id, segment)
    thirty_one = make_activation(services, tenant.id, segment)
    few = make_activation(services, tenant.id, segment)
    none = make_activation(services, tenant.id, segment)
    add_logs(services, exactly_30, ["error"] + ["success"] * 29)  # 29/30 = 96.7 -> 97
    add_logs(services, thirty_one, ["error"] + ["success"] * 30)  # the oldest error falls out: 100
    add_logs(services, few, ["success", "error", "success"])  # 2/3 -> 67
    other_segment = add_segment(services, other.id, MARKER)
    other_activation = make_activation(services, other.id, other_segment, url=f"https://{MARKER}.example/")
    add_logs(services, other_activation, ["error"], error=MARKER)

    body = (await client.get("/api/analytics/activations/", headers=auth(token))).json()
    assert [row["id"] for row in body] == [exactly_30, thirty_one, few, none]
    assert [row["success_rate"] for row in body] == [97, 100, 67, None]
    first = body[0]
    assert first["segment_id"] == segment and first["segment_name"] == "High LTV Buyers"
    assert first["connector_type"] == "webhook" and first["status"] == "active"
    # The 5 newest logs, newest first (add_logs numbers user_count by position).
    assert [log["user_count"] for log in first["sync_logs"]] == [29, 28, 27, 26, 25]
    assert first["sync_logs"][0] == {
        "status": "success", "user_count": 29, "error_message": "", "synced_at": "2026-05-02T10:29:00Z"
    }  # fmt: skip
    assert first["member_count"] == 29  # what the last successful sync sent
    assert body[3]["sync_logs"] == [] and body[3]["member_count"] == 0 and body[3]["last_synced_at"] is None
    assert MARKER not in str(body)


async def test_copilot_counts_30_utc_days_and_leaves_empty_days_out(
    world: World, client: httpx2.AsyncClient
) -> None:
    services, tenant, other, token = world.services, world.tenant, world.other, world.token
    today = NOW.date()
    edge = today - timedelta(days=29)  # the first of the 30 days
    add_chat_request(services, tenant.id, today - timedelta(days=30), "success")  # one day too old
    add_chat_request(services, tenant.id, edge, "success")
    add_chat_request(services, tenant.id, edge, "error")
    add_chat_request(services, tenant.id, today, "success")
    add_chat_request(services, tenant.id, today, "success")
    add_chat_request(services, tenant.id, today, "running")  # not finished: neither
    add_chat_request(services, tenant.id, today + timedelta(days=1), "success")  # after now
    add_chat_request(services, other.id, today, "error")
    body = (await client.get("/api/analytics/copilot/", headers=auth(token))).json()
    assert body == {
        "total": 4,
        "daily": [
            {"day": edge.isoformat(), "success": 1, "error": 1},
            {"day": today.isoformat(), "success": 2, "error": 0},
        ],
    }


async def test_overview(app: Starlette, client: httpx2.AsyncClient, pinned: None) -> None:
    services = services_of(app)
    tenant, site = make_site(services, timezone="Europe/Berlin")
    other, other_site = make_site(services, "other", "other.test")
    token = make_token(services)
    ingest = make_token(services, scopes=("ingest",))
    first, second = add_segment(services, tenant.id, "A"), add_segment(services, tenant.id, "B")
    gone = add_segment(services, tenant.id, "Gone", status="archived")
    snapshot(services, tenant.id, site.id, first, 20600, ["u1", "u2"])
    snapshot(services, tenant.id, site.id, first, 20601, ["u1", "u2", "u3"])  # A's latest: 3
    snapshot(services, tenant.id, site.id, second, 20601, ["u2", "u4"])  # u2 in both: counted once
    snapshot(services, tenant.id, site.id, gone, 20601, ["u5"])  # archived: not counted
    theirs = add_segment(services, other.id, MARKER)
    snapshot(services, other.id, other_site.id, theirs, 20601, ["z1", "z2", "z3"])
    # 30 days in Berlin ending May 31: May 2 00:00 CEST = May 1 22:00 UTC .. June 1 00:00 CEST.
    lines = [
        event("2026-05-01T22:00:00Z", "/in-first"),
        event("2026-05-01T21:59:59Z", "/too-early", ip="198.51.100.11"),
        event("2026-05-31T17:00:00Z", "/in-last", ip="198.51.100.12"),
    ]
    assert (await client.post("/api/v1/events", json=lines, headers=auth(ingest))).json()["data"][
        "accepted"
    ] == 3
    subscribe(services, tenant.id, "starter", date(2026, 5, 1), date(2026, 5, 31), ai_credits=100)
    add_chat_request(services, tenant.id, date(2026, 5, 3), "success")
    add_chat_request(services, other.id, date(2026, 5, 3), "success")
    body = (await client.get("/api/analytics/overview/", headers=auth(token))).json()
    assert body == {
        "segment_count": 2,
        "total_members": 4,  # u1, u2, u3, u4
        "events_30d": 2,
        "ai_credits_used": 1,
        "ai_credits_limit": 100,
    }


async def test_segments_and_overlap_routes(world: World, client: httpx2.AsyncClient) -> None:
    """The data side's reports through the seed's paths and field names."""
    services, tenant = world.services, world.tenant
    site_id = 1
    lone = add_segment(services, tenant.id, "High LTV Buyers")
    snapshot(services, tenant.id, site_id, lone, 20603, ["u1", "u2"])  # May 30 only: no trend yet
    body = (await client.get("/api/analytics/segments/", headers=auth(world.token))).json()
    assert [(s["id"], s["name"], s["trend"]) for s in body] == [(lone, "High LTV Buyers", [])]
    snapshot(services, tenant.id, site_id, lone, 20604, ["u1"])  # May 31, today
    body = (await client.get("/api/analytics/segments/", headers=auth(world.token))).json()
    assert body[0]["trend"] == [{"day": "2026-05-30", "count": 2}, {"day": "2026-05-31", "count": 1}]
    assert (await client.get("/api/analytics/overlap/", headers=auth(world.token))).json() == []


async def token_for(client: httpx2.AsyncClient, email: str, password: str = PASSWORD) -> httpx2.Response:
    return await client.post("/api/auth/token", json={"email": email, "password": password})


async def test_jwt_reads_the_users_tenant_only_and_expires(
    app: Starlette, client: httpx2.AsyncClient, pinned: None
) -> None:
    services = services_of(app)
    tenant, _ = make_site(services)
    other, _ = make_site(services, "other", "other.test")
    with services.db.sync.begin() as conn:
        user = accounts.create_user(conn, "owner@acme.test", "acme", PASSWORD)
        accounts.create_user(conn, "owner@other.test", "other", PASSWORD)
    subscribe(services, tenant.id, "starter", date(2026, 5, 1), date(2026, 5, 31))
    subscribe(services, other.id, "enterprise", date(2026, 5, 1), date(2026, 5, 31))
    add_segment(services, other.id, MARKER)

    issued = await token_for(client, "owner@acme.test")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    answer = issued.json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 900
    usage = await client.get("/api/analytics/usage/", headers=auth(answer["access_token"]))
    assert usage.status_code == 200 and usage.json()["plan_tier"] == "starter"  # not the other's
    for path in ("overview", "segments", "overlap", "activations", "copilot", "usage"):
        reply = await client.get(f"/api/analytics/{path}/", headers=auth(answer["access_token"]))
        assert reply.status_code in (200, 404) and MARKER not in reply.text
    # Only the analytics endpoints take a JWT.
    stats = await client.get("/api/v1/stats/overview", headers=auth(answer["access_token"]))
    assert stats.status_code == 401

    secret = app_secret(app)
    expired = jwt_auth.issue(secret, user.id, tenant.id, int(time.time()) - 901)
    refused = await client.get("/api/analytics/usage/", headers=auth(expired))
    assert refused.status_code == 401 and "expired" in refused.json()["message"]
    assert refused.headers["www-authenticate"].startswith("Bearer")
    # A token naming another tenant than the user's is refused like an unknown user.
    forged = jwt_auth.issue(secret, user.id, other.id, int(time.time()))
    assert (await client.get("/api/analytics/usage/", headers=auth(forged))).status_code == 401
    tampered = answer["access_token"][:-3] + ("aaa" if not answer["access_token"].endswith("aaa") else "bbb")
    assert (await client.get("/api/analytics/usage/", headers=auth(tampered))).status_code == 401
    wrong_key = jwt_auth.issue("another-server-secret", user.id, tenant.id, int(time.time()))
    assert (await client.get("/api/analytics/usage/", headers=auth(wrong_key))).status_code == 401


async def test_token_endpoint_refuses_and_throttles(app: Starlette, client: httpx2.AsyncClient) -> None:
    services = services_of(app)
    make_site(services)
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, "owner@acme.test", "acme", PASSWORD)
    app.state.sign_in = type(sign_in_state(app))(LoginThrottle(pair_limit="3 per 15 minutes"))
    wrong = await token_for(client, "owner@acme.test", "wrong password")
    unknown = await token_for(client, "nobody@acme.test", "wrong password")
    assert wrong.status_code == unknown.status_code == 401 and wrong.json() == unknown.json()
    assert (await client.post("/api/auth/token", json={"email": "x"})).status_code == 422
    assert (await client.post("/api/auth/token", content=b"{nope")).status_code == 400
    await token_for(client, "owner@acme.test", "wrong again")
    await token_for(client, "owner@acme.test", "wrong a third time")
    throttled = await token_for(client, "owner@acme.test")  # 4th attempt: over 3 per 15 minutes
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0


async def test_other_tenants_ids_and_data_never_show(world: World, client: httpx2.AsyncClient) -> None:
    """Each endpoint answers the caller's tenant; the other tenant's marker never appears, and
    without a subscription of its own the caller's usage is a 404 like any missing one."""
    services, tenant, other, token = world.services, world.tenant, world.other, world.token
    other_segment = add_segment(services, other.id, MARKER, member_count=7)
    add_logs(services, make_activation(services, other.id, other_segment), ["error"], error=MARKER)
    subscribe(services, other.id, "enterprise", date(2026, 5, 1), date(2026, 5, 31))
    add_chat_request(services, other.id, NOW.date(), "success")
    for path in ("overview", "activations", "copilot", "usage"):
        reply = await client.get(f"/api/analytics/{path}/", headers=auth(token))
        assert MARKER not in reply.text and "enterprise" not in reply.text
    assert (await client.get("/api/analytics/usage/", headers=auth(token))).status_code == 404
    assert (await client.get("/api/analytics/activations/", headers=auth(token))).json() == []
    overview = (await client.get("/api/analytics/overview/", headers=auth(token))).json()
    assert (
        overview["segment_count"] == 0 and overview["total_members"] == 0 and overview["ai_credits_used"] == 0
    )
    assert (await client.get("/api/analytics/copilot/", headers=auth(token))).json() == {
        "total": 0,
        "daily": [],
    }
    assert tenant.id != other.id


async def test_the_analytics_routes_have_their_openapi_document(client: httpx2.AsyncClient) -> None:
    document = (await client.get("/api/analytics/openapi.json")).json()
    assert document["servers"] == [{"url": "/api/analytics"}]
    assert {"/overview/", "/activations/", "/copilot/", "/usage/"} <= set(document["paths"])
    usage = document["paths"]["/usage/"]["get"]
    assert "404" in usage["responses"] and "200" in usage["responses"]
