"""A remote connector's whole OAuth flow, as claude.ai runs it, with the official `mcp` client:
its OAuthClientProvider gets a 401 from /mcp/analytics, discovers the protected resource and
authorization server metadata, registers itself (RFC 7591), and sends a headless Chromium to
/authorize; the browser signs in on the real dashboard login page and approves on the consent
page; the client takes the code from its loopback callback, exchanges it with its PKCE verifier and
calls a tool with the access token. Everything on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from playwright.async_api import Page
from pydantic import AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.storage import accounts
from browser import launch_browser
from conftest import hold_lifespan
from factories import make_site
from servers import uvicorn_on_loopback

EMAIL, PASSWORD = "owner@acme.test", "dashboard password 1"
ARTIFACTS = Path(__file__).parent / "artifacts"


class MemoryStorage:
    """The client's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Later:
    """An ASGI app served before it is built: the app needs the port uvicorn got (its public URL)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """The app on a real uvicorn at 127.0.0.1, its base URL as ANALYTICS_PUBLIC_URL."""
    later = Later()
    async with uvicorn_on_loopback(later, lifespan="off") as base:
        settings = Settings(  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            secret_key="test-secret",
            ingest_process=False,
            public_url=base,
            _env_file=None,
        )
        app = create_app(settings)
        stop, task = await hold_lifespan(app)
        make_site(app.state.services, "acme", "acme.test")
        with app.state.services.db.sync.begin() as conn:
            accounts.create_user(conn, EMAIL, "acme", PASSWORD)
        later.app = app
        yield base
        stop.set()
        await task


@asynccontextmanager
async def callback_server() -> AsyncIterator[tuple[str, asyncio.Queue[dict[str, str]]]]:
    """The connector's loopback redirect URI; yields (its URL, the queries it received)."""
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def callback(request: Request) -> PlainTextResponse:
        await received.put(dict(request.query_params))
        return PlainTextResponse("Connected. You can close this window.")

    async def no_icon(_request: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/callback", callback), Route("/favicon.ico", no_icon)]
    async with uvicorn_on_loopback(Starlette(routes=routes)) as base:
        yield base + "/callback", received


async def sign_in_and_approve(page: Page, url: str) -> None:
    """What the user does after the client opened the authorization URL."""
    await page.goto(url)  # /authorize -> /oauth/consent -> /login?next=... (not signed in yet)
    await page.wait_for_url("**/login?next=**")
    await page.fill("#email", EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/oauth/consent?request=**")
    assert await page.text_content("#client-name") == "Claude test connector"
    assert await page.text_content("#consent-tenant") == "acme"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "oauth-consent.png"))
    await page.click("#approve")


async def test_connector_flow_in_chromium(server: str) -> None:
    mcp_url = server + "/mcp/analytics"
    storage = MemoryStorage()
    async with callback_server() as (redirect_uri, received), launch_browser() as browser:
        page = await browser.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

        async def callback_handler() -> AuthorizationCodeResult:
            query = await asyncio.wait_for(received.get(), timeout=30)
            return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

        metadata = OAuthClientMetadata(
            redirect_uris=[AnyUrl(redirect_uri)], client_name="Claude test connector"
        )
        provider = OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=metadata,
            storage=storage,
            redirect_handler=lambda url: sign_in_and_approve(page, url),
            callback_handler=callback_handler,
        )
        http = httpx2.AsyncClient(auth=provider)
        async with http, Client(streamable_http_client(mcp_url, http_client=http)) as client:
            result = await client.call_tool("list-sites", {"tenant": "acme"})
        assert not problems, problems
    assert not result.is_error, result
    assert result.structured_content is not None and result.structured_content["tenant"] == "acme"
    assert storage.client is not None and storage.client.client_secret  # registered dynamically
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert storage.tokens.access_token.startswith("amcpo_at_")
    assert set((storage.tokens.scope or "").split()) == {"read", "admin"}  # an owner grants both
