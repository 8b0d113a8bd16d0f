"""Streamable HTTP at /mcp/analytics: a plain Route (exact path: no 307 to a trailing slash) to the
SDK's ASGI endpoint, with bearer auth wrapped around this route only, so /api/v1 (its own auth)
and the public tracker endpoint are untouched.

Per request: AuthenticationMiddleware verifies `Authorization: Bearer <our API token>` (or an
OAuth access token issued for this endpoint, tools/oauth_resource.py) through `ApiTokenVerifier`
-> AuthContextMiddleware puts it where `get_access_token()` finds it -> RequireAuthMiddleware
answers 401 (+ WWW-Authenticate with `resource_metadata`) without a live token and 403 without the
read scope -> `HostOriginGuard` checks Host and Origin exactly (421 / 403; the SDK's own check
matches prefixes, so it is off) -> `PostOnly` answers 405 to any method but POST -> the SDK
checks Content-Type and serves the call.
Stateless with JSON responses, so any replica can answer any request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Token, verify_token
from analytics_mcp.storage.db import Database
from analytics_mcp.tools.access import ADMIN_SCOPE, READ_SCOPE
from analytics_mcp.tools.hosts import HostOriginGuard
from analytics_mcp.tools.oauth_resource import (
    MCP_PATH,  # re-exported: where the endpoint is
    is_oauth_token,
    oauth_enabled,
    resource_metadata_url,
    resource_of,
    verify_oauth_token,
)
from analytics_mcp.tools.post_only import PostOnly
from analytics_mcp.tools.server import build_mcp_server

MAX_TOKEN_LENGTH = 256  # longer is never one of ours: refuse without touching the database


def token_scopes(token: Token) -> list[str]:
    """Our token scopes as the SDK checks them: admin implies read, as on /api/v1."""
    return sorted(token.scopes | ({READ_SCOPE} if ADMIN_SCOPE in token.scopes else set()))


class ApiTokenVerifier:
    """The SDK's TokenVerifier protocol over our API tokens. Subject = tenant id (tools.access);
    client_id = token id, so sessions are bound to the token that opened them. With `resource`
    (OAuth on), OAuth access tokens issued for that resource are accepted too."""

    def __init__(self, db: Database, resource: str | None = None) -> None:
        self.db = db
        self.resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        plaintext = token.strip()
        if not plaintext or len(plaintext) > MAX_TOKEN_LENGTH:
            return None
        if is_oauth_token(plaintext):
            resource = self.resource
            if resource is None:
                return None
            async with self.db.aio.connect() as reader:
                return await reader.run_sync(lambda sync: verify_oauth_token(sync, plaintext, resource))
        # begin(): verify_token touches last_used_at (at most once a minute per token).
        async with self.db.aio.begin() as conn:
            found = await conn.run_sync(lambda sync: verify_token(sync, plaintext))
        if found is None:
            return None
        return AccessToken(
            token=plaintext, client_id=found.id, subject=str(found.tenant.id), scopes=token_scopes(found)
        )


def session_manager(server: MCPServer[Any]) -> StreamableHTTPSessionManager:
    """A fresh session manager for this server (the returned sub-app is not used: we route to the
    manager ourselves). Its `run()` belongs in the app lifespan and can be entered once. The SDK's
    Host/Origin check is off: it matches prefixes (with `127.0.0.1:*` allowed it let in
    `127.0.0.1:1.evil.example`); `HostOriginGuard` checks exactly, before the SDK sees a request."""
    off = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    server.streamable_http_app(stateless_http=True, json_response=True, transport_security=off)
    return server.session_manager


def mcp_endpoint(manager: StreamableHTTPSessionManager, db: Database, settings: Settings) -> ASGIApp:
    """Host/Origin allow-lists: ANALYTICS_ALLOWED_HOSTS and ANALYTICS_ALLOWED_ORIGINS (set them
    behind a proxy with a real host name; "host:*" allows any port)."""
    sdk = PostOnly(StreamableHTTPASGIApp(manager))  # stateless: no GET stream to offer
    guarded = HostOriginGuard(sdk, settings.allowed_hosts, settings.allowed_origins)
    oauth = oauth_enabled(settings)
    metadata = resource_metadata_url(settings) if oauth else None
    inner = RequireAuthMiddleware(guarded, required_scopes=[READ_SCOPE], resource_metadata_url=metadata)
    verifier = ApiTokenVerifier(db, resource_of(settings) if oauth else None)
    return AuthenticationMiddleware(AuthContextMiddleware(inner), backend=BearerAuthBackend(verifier))


def mcp_route(manager: StreamableHTTPSessionManager, services: Services) -> Route:
    return Route(MCP_PATH, mcp_endpoint(manager, services.db, services.settings), name="mcp")


@dataclass(frozen=True, slots=True)
class McpEndpoint:
    """What app.py needs: the route, the manager to run in the lifespan, the server (for chat)."""

    server: MCPServer[Services]
    manager: StreamableHTTPSessionManager
    route: Route

    @classmethod
    def build(cls, services: Services) -> McpEndpoint:
        server = build_mcp_server(services)
        manager = session_manager(server)
        return cls(server=server, manager=manager, route=mcp_route(manager, services))
