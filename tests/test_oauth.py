"""OAuth 2.1 for remote connectors over HTTP (the SDK's handlers over our provider, in the real
app): discovery, dynamic registration, the authorization code flow with PKCE through the consent
form, token exchange, a tool call with the official client, refresh rotation, revocation, and the
refusals: another resource, a wrong PKCE verifier, a used code, a replayed refresh token, a
missing CSRF token. The browser run of the same flow is tests/test_oauth_browser.py."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select
from starlette.applications import Starlette

from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage import oauth
from analytics_mcp.storage.oauth_schema import oauth_clients
from analytics_mcp.storage.schema import users
from conftest import hold_lifespan
from factories import make_site, make_token
from oauth_support import CALLBACK, answer, authorized_code, consent_page, exchange, pkce, register, sign_in

pytestmark = pytest.mark.backends("sqlite", "postgresql")

BASE = "http://127.0.0.1:8000"
MCP = BASE + "/mcp/analytics"


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None) -> Iterator[Settings]:
    yield Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        ingest_process=False,
        db_url=db_url,
        public_url=BASE,
        _env_file=None,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    stop, task = await hold_lifespan(application)
    make_site(application.state.services, "acme", "acme.test")
    yield application
    stop.set()
    await task


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


async def list_sites(app: Starlette, token: str) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE, headers=headers)
    async with http, Client(streamable_http_client(MCP, http_client=http)) as client:
        result = await client.call_tool("list-sites", {"tenant": "acme"})
    assert not result.is_error, result
    assert result.structured_content is not None
    return result.structured_content


async def mcp_status(http: httpx2.AsyncClient, token: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    return (await http.post("/mcp/analytics", json=body, headers=headers)).status_code


async def test_discovery(http: httpx2.AsyncClient) -> None:
    unauthorized = await http.post("/mcp/analytics", json={})
    assert unauthorized.status_code == 401
    metadata_url = BASE + "/.well-known/oauth-protected-resource/mcp/analytics"
    assert f'resource_metadata="{metadata_url}"' in unauthorized.headers["www-authenticate"]
    for path in (
        "/.well-known/oauth-protected-resource/mcp/analytics",
        "/.well-known/oauth-protected-resource",
    ):
        resource = (await http.get(path)).json()
        assert resource["resource"] == MCP
        assert resource["authorization_servers"] == [BASE]
        assert resource["scopes_supported"] == ["read", "admin"]
    server = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert server["issuer"] == BASE
    assert {
        key: server[key] for key in ("authorization_endpoint", "token_endpoint", "registration_endpoint")
    } == {
        "authorization_endpoint": BASE + "/authorize",
        "token_endpoint": BASE + "/token",
        "registration_endpoint": BASE + "/register",
    }
    assert server["revocation_endpoint"] == BASE + "/revoke"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["grant_types_supported"] == ["authorization_code", "refresh_token"]


async def test_dynamic_registration(app: Starlette, http: httpx2.AsyncClient) -> None:
    client = await register(http, redirect="https://claude.ai/api/mcp/auth_callback")
    with services_of(app).db.sync.connect() as conn:
        row = conn.execute(oauth_clients.select().where(oauth_clients.c.client_id == client.client_id)).one()
    assert row.secret_hash == hashlib.sha256(client.client_secret.encode()).hexdigest()
    assert client.client_secret not in row.info
    for bad in ("http://evil.example/callback", "javascript:alert(1)"):
        refused = await http.post("/register", json={"redirect_uris": [bad]})
        assert refused.status_code == 400 and refused.json()["error"] in (
            "invalid_redirect_uri",
            "invalid_client_metadata",
        )


async def test_code_flow_tool_call_refresh_and_revocation(app: Starlette, http: httpx2.AsyncClient) -> None:
    sign_in(services_of(app), http, "owner@acme.test")
    client = await register(http)
    verifier, challenge = pkce()
    code = await authorized_code(http, client, challenge, scope="read", resource=MCP)
    tokens = await exchange(http, client, code, verifier)
    assert tokens.status_code == 200, tokens.text
    first = tokens.json()
    assert first["token_type"] == "Bearer" and first["scope"] == "read" and first["expires_in"] == 3600
    assert (await list_sites(app, first["access_token"]))["tenant"] == "acme"

    # Refresh: a new pair; the old access and refresh tokens stop working.
    refreshed = await http.post(
        "/token", data=client.form(grant_type="refresh_token", refresh_token=first["refresh_token"])
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert (
        second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    )
    assert await mcp_status(http, first["access_token"]) == 401
    assert await mcp_status(http, second["access_token"]) == 200

    # Revocation (RFC 7009) of the refresh token revokes the grant, access token included.
    revoked = await http.post("/revoke", data=client.form(token=second["refresh_token"]))
    assert revoked.status_code == 200
    assert await mcp_status(http, second["access_token"]) == 401
    again = await http.post(
        "/token", data=client.form(grant_type="refresh_token", refresh_token=second["refresh_token"])
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_replayed_refresh_token_revokes_the_grant(app: Starlette, http: httpx2.AsyncClient) -> None:
    sign_in(services_of(app), http, "owner@acme.test")
    client = await register(http)
    verifier, challenge = pkce()
    first = (await exchange(http, client, await authorized_code(http, client, challenge), verifier)).json()
    second = (
        await http.post(
            "/token", data=client.form(grant_type="refresh_token", refresh_token=first["refresh_token"])
        )
    ).json()
    replay = await http.post(
        "/token", data=client.form(grant_type="refresh_token", refresh_token=first["refresh_token"])
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert await mcp_status(http, second["access_token"]) == 401  # the thief's replay cost the grant


async def test_pkce_verifier_mismatch_refused(app: Starlette, http: httpx2.AsyncClient) -> None:
    sign_in(services_of(app), http, "owner@acme.test")
    client = await register(http)
    _verifier, challenge = pkce()
    code = await authorized_code(http, client, challenge)
    wrong = await exchange(http, client, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json() == {
        "error": "invalid_grant",
        "error_description": "incorrect code_verifier",
    }


async def test_used_code_refused_and_its_tokens_revoked(app: Starlette, http: httpx2.AsyncClient) -> None:
    sign_in(services_of(app), http, "owner@acme.test")
    client = await register(http)
    verifier, challenge = pkce()
    code = await authorized_code(http, client, challenge)
    first = await exchange(http, client, code, verifier)
    assert first.status_code == 200
    second = await exchange(http, client, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert await mcp_status(http, first.json()["access_token"]) == 401


async def test_another_resource_refused(app: Starlette, http: httpx2.AsyncClient) -> None:
    sign_in(services_of(app), http, "owner@acme.test")
    client = await register(http)
    _verifier, challenge = pkce()
    query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "state": "s"}
    query |= {"code_challenge": challenge, "resource": "https://other.example/mcp"}
    refused = await http.get("/authorize", params=query)
    assert refused.status_code == 302 and "error=invalid_target" in refused.headers["location"]

    # A token of ours issued for another resource (say, before the public URL changed): refused.
    services = services_of(app)
    with services.db.sync.begin() as conn:
        owner, tenant = conn.execute(select(users.c.id, users.c.tenant_id)).one()
        elsewhere = "https://other.example/mcp/analytics"
        grant = oauth.GrantToken(
            "access", "grant-1", client.client_id, owner, tenant, ("read",), elsewhere, 0
        )
        access, _refresh = oauth.issue_tokens(conn, grant)
        same, _refresh = oauth.issue_tokens(conn, replace(grant, grant_id="grant-2", resource=MCP))
    assert await mcp_status(http, access) == 401
    assert await mcp_status(http, same) == 200


async def test_consent_needs_csrf_denies_and_viewers_get_read(
    app: Starlette, http: httpx2.AsyncClient
) -> None:
    sign_in(services_of(app), http, "viewer@acme.test", role="viewer")
    client = await register(http)
    _verifier, challenge = pkce()
    html = await consent_page(http, client, challenge, scope="read admin")
    assert 'data-scope="read"' in html and 'data-scope="admin"' not in html and "consent-withheld" in html
    forged = await http.post("/oauth/consent", data={"request": "x", "decision": "approve"})
    assert forged.status_code == 403
    denied = await answer(http, html, decision="deny")
    assert denied == {"state": "state-123", "iss": BASE, "error": "access_denied"}


async def test_api_tokens_keep_working(app: Starlette, http: httpx2.AsyncClient) -> None:
    token = make_token(services_of(app), "acme")
    assert (await list_sites(app, token))["tenant"] == "acme"
