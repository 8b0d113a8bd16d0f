"""Streamable HTTP at /mcp/analytics inside the real app: the SDK client through the ASGI app and
against a real uvicorn (both protocol eras), bearer auth (401/403 with WWW-Authenticate), Host and
Origin checks (421/403), tenancy from the token, and the other routes left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.tools import TOOL_NAMES
from factories import make_site, make_token

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

PATH = "/mcp/analytics"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """As conftest's, plus the ASGI test host (the default allow-list is loopback only)."""
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        ingest_process=False,
        allowed_hosts=["testserver", "127.0.0.1:*"],
        allowed_origins=["http://testserver", "http://127.0.0.1:*"],
        _env_file=None,
    )


def services_of(app: Starlette) -> Services:
    services = app.state.services
    assert isinstance(services, Services)
    return services


def seed(app: Starlette) -> dict[str, str]:
    """Two tenants with a site and a read token each, plus special tokens of acme."""
    svc = services_of(app)
    make_site(svc, "acme", "acme.test")
    make_site(svc, "rival", "rival-secret.test")
    make_site(svc, "small", "small.test", plan="starter")
    revoked = make_token(svc, "acme")
    with svc.db.sync.begin() as conn:
        token = accounts.verify_token(conn, revoked)
        assert token is not None
        accounts.revoke_token(conn, token.id)
    return {
        "acme": make_token(svc, "acme"),
        "admin": make_token(svc, "acme", scopes=("admin",)),
        "ingest": make_token(svc, "acme", scopes=("ingest",)),
        "revoked": revoked,
        "small": make_token(svc, "small"),
    }


def asgi_http(app: Starlette, token: str | None = None, **headers: str) -> httpx2.AsyncClient:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://testserver", headers=headers
    )


@asynccontextmanager
async def mcp_client(http: httpx2.AsyncClient, url: str, mode: str) -> AsyncIterator[Client]:
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def exercise(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == list(TOOL_NAMES)
    assert all(t.annotations and t.annotations.read_only_hint for t in tools)
    result = await client.call_tool("list-sites", {"tenant": "acme"})
    assert not result.is_error, result
    assert result.structured_content == {
        "tenant": "acme",
        "name": "acme",
        "plan": "business",
        "timezone": "UTC",
        "sites": [{"domain": "acme.test", "timezone": "UTC", "currency": "EUR"}],
        "truncated": False,
    }
    assert (await client.call_tool("list-sites", {})).structured_content == result.structured_content
    foreign = await client.call_tool("list-sites", {"tenant": "rival"})
    assert foreign.is_error and "rival-secret" not in str(foreign)
    assert foreign.content[0].text.endswith(
        "tenant 'rival' not found or not accessible with this token; this token reads tenant 'acme' "
        "(omit tenant to use it)"
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_through_the_asgi_app(app: Starlette, mode: str) -> None:
    tokens = seed(app)
    for token in (tokens["acme"], tokens["admin"]):
        async with mcp_client(asgi_http(app, token), f"http://testserver{PATH}", mode) as client:
            await exercise(client)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_client_against_uvicorn(live_server: tuple[str, Starlette], mode: str) -> None:
    base, app = live_server
    tokens = seed(app)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens['acme']}"})
    async with mcp_client(http, base + PATH, mode) as client:
        await exercise(client)


async def post(app: Starlette, token: str | None, **headers: str) -> httpx2.Response:
    async with asgi_http(app, token, **JSON_HEADERS, **headers) as http:
        return await http.post(PATH, json=LIST_TOOLS)


def assert_challenge(response: httpx2.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert f'error="{error}"' in response.headers["www-authenticate"]
    assert response.json()["error"] == error


async def test_missing_bad_and_revoked_tokens_get_401(app: Starlette) -> None:
    tokens = seed(app)
    for token in (None, "amcp_not-a-real-token", "x" * 300, tokens["revoked"]):
        assert_challenge(await post(app, token), 401, "invalid_token")
    async with asgi_http(app, **JSON_HEADERS, Authorization="Basic dXNlcjpwYXNz") as http:
        assert_challenge(await http.post(PATH, json=LIST_TOOLS), 401, "invalid_token")


async def test_token_without_read_scope_gets_403(app: Starlette) -> None:
    tokens = seed(app)
    assert_challenge(await post(app, tokens["ingest"]), 403, "insufficient_scope")


async def test_valid_token_lists_tools_with_raw_json_rpc(app: Starlette) -> None:
    tokens = seed(app)
    response = await post(app, tokens["acme"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert [t["name"] for t in response.json()["result"]["tools"]] == list(TOOL_NAMES)


async def test_foreign_origin_403_and_bad_host_421(app: Starlette) -> None:
    tokens = seed(app)
    assert (await post(app, tokens["acme"], Origin="http://testserver")).status_code == 200
    assert (await post(app, tokens["acme"], Origin="https://evil.example")).status_code == 403
    response = await post(app, tokens["acme"], Host="evil.example")
    assert response.status_code == 421
    # No token: auth answers first, so nothing about the endpoint leaks to a foreign page.
    assert (await post(app, None, Origin="https://evil.example")).status_code == 401


async def test_plan_below_pro_gets_a_clear_error(app: Starlette) -> None:
    tokens = seed(app)
    async with mcp_client(asgi_http(app, tokens["small"]), f"http://testserver{PATH}", "auto") as client:
        result = await client.call_tool("analytics-overview", {"tenant": "small"})
    assert result.is_error
    assert result.content[0].text.endswith(
        "MCP access needs the pro plan or above; tenant 'small' is on 'starter'"
    )


async def test_only_the_mcp_route_is_wrapped(app: Starlette) -> None:
    seed(app)
    async with asgi_http(app) as http:
        assert (await http.get("/api/health")).status_code == 200
        api = await http.get("/api/v1/stats/overview")
        assert api.status_code == 401 and "message" in api.json()  # the REST API's own error shape
        event: dict[str, Any] = {"name": "pageview", "url": "https://acme.test/", "domain": "acme.test"}
        tracked = await http.post(
            "/api/event", json=event, headers={"User-Agent": "Mozilla/5.0 Firefox/125.0"}
        )
        assert tracked.status_code == 202
        slash = await http.post(PATH + "/", json=LIST_TOOLS)  # the router's usual slash redirect
        assert slash.status_code == 307 and slash.headers["location"].endswith(PATH)
