"""Issue 16 (1, 2, 7) with the official client, in-process (both protocol eras), over Streamable
HTTP and over stdio: closed input schemas and unknown arguments named, one-line validation
messages, `filters` on every report tool, `tenant` optional (the token's tenant, named in every
answer), unknown tools as JSON-RPC -32602, the REST rate limit shared by MCP tool calls, GET on the
endpoint 405, and the same capabilities from `server/discover` and `initialize`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.engine import PERIODS
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Tenant
from analytics_mcp.storage.ratelimit import RateLimiter
from analytics_mcp.tools import TOOL_NAMES
from factories import make_site, make_token
from test_mcp_http import asgi_http
from test_mcp_server import acme, connect, error_text, mode, server

__all__ = ["acme", "mode", "server"]  # fixtures shared with test_mcp_server

pytestmark = pytest.mark.backends("sqlite")

# Site reports; not list-sites, the A/B results or the customer segments (no site, no filters).
REPORTS = [n for n in TOOL_NAMES if n not in ("list-sites", "ab-test-results", "segments", "segment-overlap")]
RANGED = [n for n in REPORTS if n != "realtime"]  # realtime has no range: it names its `sites`
SITES = ["acme.test", "shop.acme.test"]
ONE_LINE_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("top-pages", {"period": "1y"}, f"period: must be one of {', '.join(PERIODS)}"),
    ("top-pages", {"limit": 0}, "limit: must be between 1 and 100"),
    ("campaigns", {"limit": 101}, "limit: must be between 1 and 100"),
    ("languages", {"limit": "many"}, "limit: must be an integer between 1 and 100"),
    ("goals", {"recent": 21}, "recent: must be between 0 and 20"),
    ("daily-breakdown", {"from": "2026-13-45", "to": "2026-12-01"}, "from: must be a valid date as"),
    ("hourly-breakdown", {"from": 20260101, "to": "2026-01-02"}, "from: must be a valid date as YYYY-MM-DD"),
    ("analytics-overview", {"from": "2026-03-02", "to": "2026-03-01"}, "from: must not be after to"),
    ("list-sites", {"tenant": ""}, "tenant: must not be empty"),
    ("top-pages", {"domain": 7}, "domain: must be a string"),
    ("top-pages", {"filters": ["page==/"]}, "filters: must be a string"),
    ("top-pages", {"filters": "plan==pro"}, "filters: unknown dimension 'plan'; use one of page, entry_page"),
    ("goals", {"filters": "page"}, "filters: cannot parse 'page': use dimension==value, != or ~"),
]  # fmt: skip


async def test_every_schema_is_closed_and_unknown_arguments_are_named(
    server: MCPServer[Services], acme: Tenant, mode: str
) -> None:
    async with connect(server, acme, mode) as client:
        for tool in (await client.list_tools()).tools:
            assert tool.input_schema["additionalProperties"] is False, tool.name
            accepted = ", ".join(tool.input_schema["properties"])
            text = error_text(await client.call_tool(tool.name, {"filter": "page==/"}))
            assert (
                text == f"Error executing tool {tool.name}: unknown argument 'filter'; accepted: {accepted}"
            )
            text = error_text(await client.call_tool(tool.name, {"tenant": "acme", "x": 1, "y": 2}))
            assert text.endswith(f"unknown arguments 'x', 'y'; accepted: {accepted}"), text
        accepted = (await client.list_tools()).tools[2].input_schema["properties"]
        assert list(accepted) == ["tenant", "period", "domain", "from", "to", "limit", "filters"]


@pytest.mark.parametrize(("name", "arguments", "message"), ONE_LINE_ERRORS)
async def test_validation_errors_are_one_line(
    server: MCPServer[Services], acme: Tenant, name: str, arguments: dict[str, Any], message: str
) -> None:
    async with connect(server, acme, "auto") as client:
        text = error_text(await client.call_tool(name, arguments))
    assert text.startswith(f"Error executing tool {name}: {message}"), text
    assert "\n" not in text and "pydantic" not in text and "validation error" not in text.lower()


async def test_every_report_tool_takes_filters(server: MCPServer[Services], acme: Tenant, mode: str) -> None:
    async with connect(server, acme, mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "filters" not in tools["list-sites"].input_schema["properties"]
        for name in REPORTS:
            described = tools[name].input_schema["properties"]["filters"]["description"]
            for example in ("page==/pricing", "source==google;device==mobile", "utm_campaign~spring"):
                assert example in described, name
            result = await client.call_tool(name, {"filters": "page==/pricing;source==google|bing"})
            assert not result.is_error, (name, result)
            bad = error_text(await client.call_tool(name, {"filters": "source=google"}))
            assert bad == f"Error executing tool {name}: filters: cannot parse 'source=google': use " + (
                "dimension==value, != or ~"
            )


async def test_tenant_is_optional_and_every_answer_names_tenant_and_sites(
    server: MCPServer[Services], acme: Tenant, mode: str
) -> None:
    async with connect(server, acme, mode) as client:
        listed = await client.call_tool("list-sites", {})
        assert not listed.is_error and listed.structured_content is not None
        assert listed.structured_content["tenant"] == "acme"
        assert [site["domain"] for site in listed.structured_content["sites"]] == SITES
        for name in REPORTS:
            result = await client.call_tool(name, {})
            assert not result.is_error and result.structured_content is not None, (name, result)
            data = result.structured_content
            read = data["range"]["sites"] if name in RANGED else data["sites"]
            assert (data["tenant"], read) == ("acme", SITES), name
            header = result.content[0].text.splitlines()[0]  # type: ignore[union-attr]
            assert f"{name} - tenant acme - acme.test, shop.acme.test" in header, header
            one = (await client.call_tool(name, {"domain": "shop.acme.test"})).structured_content
            assert one and (one["range"] if name in RANGED else one)["sites"] == ["shop.acme.test"]
        ab = error_text(await client.call_tool("ab-test-results", {}))
        assert "not found or not accessible" not in ab  # past the tenant: no experiment yet


async def test_unknown_tool_is_invalid_params(server: MCPServer[Services], acme: Tenant, mode: str) -> None:
    async with connect(server, acme, mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("top_pages", {})
    assert raised.value.error.code == -32602
    assert raised.value.error.message.startswith("unknown tool 'top_pages'; tools: list-sites, ")


async def test_discover_and_initialize_advertise_the_same_capabilities(
    server: MCPServer[Services], acme: Tenant
) -> None:
    seen = {}
    for era in ("auto", "legacy"):
        async with connect(server, acme, era) as client:
            seen[era] = (client.protocol_version, client.server_capabilities.model_dump(exclude_none=True))
    assert seen["auto"][0] == "2026-07-28" and seen["legacy"][0] == "2025-11-25"  # discover / initialize
    assert seen["auto"][1] == seen["legacy"][1]
    assert {"tools", "resources", "prompts"} <= set(seen["auto"][1])


# Over Streamable HTTP: the real app, its REST limiter and the bearer token.


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's, with the ASGI test host allowed (the default allow-list is loopback only)."""
    return settings.model_copy(update={"allowed_hosts": ["testserver"], "allowed_origins": []})


@asynccontextmanager
async def over_http(
    app: Starlette, token: str, mode: str
) -> AsyncIterator[tuple[Client, httpx2.AsyncClient]]:
    async with (
        asgi_http(app, token) as http,
        Client(
            streamable_http_client("http://testserver/mcp/analytics", http_client=http), mode=mode
        ) as client,
    ):
        yield client, http


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_inputs_tenant_and_unknown_tool(app: Starlette, mode: str) -> None:
    services: Services = app.state.services
    make_site(services, "acme", "acme.test")
    make_site(services, "rival", "rival-secret.test")
    async with over_http(app, make_token(services, "acme"), mode) as (client, _http):
        pages = await client.call_tool("top-pages", {"filters": "source==google", "limit": 5})
        assert not pages.is_error and pages.structured_content is not None
        assert (pages.structured_content["tenant"], pages.structured_content["range"]["sites"]) == (
            "acme",
            ["acme.test"],
        )
        text = error_text(await client.call_tool("top-pages", {"filter": "source==google"}))
        assert "unknown argument 'filter'; accepted: tenant, period, domain, from, to, limit, filters" in text
        text = error_text(await client.call_tool("top-pages", {"period": "1y"}))
        assert text.endswith(f"period: must be one of {', '.join(PERIODS)}")
        text = error_text(await client.call_tool("list-sites", {"tenant": "rival"}))
        assert text.endswith("this token reads tenant 'acme' (omit tenant to use it)")
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no-such-tool", {})
        assert raised.value.error.code == -32602


async def test_http_discover_and_initialize_agree(app: Starlette) -> None:
    services: Services = app.state.services
    make_site(services, "acme", "acme.test")
    token = make_token(services, "acme")
    seen = {}
    for era in ("auto", "legacy"):
        async with over_http(app, token, era) as (client, _http):
            seen[era] = client.server_capabilities.model_dump(exclude_none=True)
    assert seen["auto"] == seen["legacy"] and seen["auto"]["tools"] == {"list_changed": False}


async def test_rest_and_mcp_share_the_token_rate_limit(app: Starlette) -> None:
    services: Services = app.state.services
    make_site(services, "acme", "acme.test")
    token, other = make_token(services, "acme"), make_token(services, "acme")
    app.state.rate_limiter = RateLimiter("6/minute")  # what `limiter_for` hands REST and the gate
    async with over_http(app, token, "legacy") as (client, http):
        for _ in range(3):
            assert (await http.get("/api/v1/stats/overview")).status_code == 200
        for _ in range(3):  # 4, 5, 6 of 6/minute
            assert not (await client.call_tool("list-sites", {})).is_error
        text = error_text(await client.call_tool("analytics-overview", {}))
        assert text.startswith("Error executing tool analytics-overview: rate limited: retry in ")
        wait = int(text.removesuffix(" s").rsplit(" ", 1)[1])
        assert 1 <= wait <= 60
        refused = await http.get("/api/v1/stats/overview")
        assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
    async with over_http(app, other, "auto") as (client, _http):  # another token: its own bucket
        assert not (await client.call_tool("list-sites", {})).is_error


async def test_get_and_delete_on_the_endpoint_are_405(app: Starlette) -> None:
    services: Services = app.state.services
    make_site(services, "acme", "acme.test")
    token = make_token(services, "acme")
    async with asgi_http(app, token) as http:
        for headers in (
            {"Accept": "text/event-stream"},
            {"Accept": "text/event-stream", "Mcp-Protocol-Version": "2025-11-25"},
        ):
            response = await http.get("/mcp/analytics", headers=headers)
            assert response.status_code == 405 and response.headers["Allow"] == "POST"
            assert response.json()["error"]["code"] == -32600
        assert (await http.delete("/mcp/analytics")).status_code == 405
    async with asgi_http(app, None) as anonymous:
        assert (await anonymous.get("/mcp/analytics")).status_code == 401  # auth answers first


# Over stdio: the subprocess with its own limiter for the pinned token.


async def test_stdio_inputs_tenant_and_rate_limit(services: Services, settings: Settings) -> None:
    make_site(services, "acme", "acme.test")
    env = {
        "ANALYTICS_DB_URL": settings.database_url,
        "ANALYTICS_DATA_DIR": str(settings.data_dir),
        "ANALYTICS_TOKEN": make_token(services, "acme"),
        "ANALYTICS_RATE_LIMIT": "4/minute",
    }
    command = StdioServerParameters(command=sys.executable, args=["-m", "analytics_mcp.cli", "mcp"], env=env)
    async with Client(command) as client:
        listed = await client.call_tool("list-sites", {})
        assert listed.structured_content and listed.structured_content["tenant"] == "acme"
        text = error_text(await client.call_tool("daily-breakdown", {"tenant": "acme", "filter": "x"}))
        assert "unknown argument 'filter'; accepted: tenant, period, domain, from, to, filters" in text
        assert not (await client.call_tool("daily-breakdown", {"filters": "device==desktop"})).is_error
        with pytest.raises(MCPError) as raised:
            await client.call_tool("nope", {})
        assert raised.value.error.code == -32602  # the 4th call counted too
        text = error_text(await client.call_tool("list-sites", {}))
        assert "rate limited: retry in " in text
