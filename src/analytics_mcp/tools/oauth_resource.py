"""/mcp/analytics as an OAuth protected resource (RFC 9728), for remote connectors (claude.ai).

The resource is the endpoint's public URL (`Settings.base_url` + MCP_PATH); its metadata names our
built-in authorization server (`http_api/oauth.py`) and is served at the path-suffixed well-known
URL the 401's `resource_metadata` points to, and at the root one clients fall back to. An OAuth
access token is accepted here only if it was issued for this resource (its RFC 8707 `resource`),
for a tenant its user still belongs to.
"""

from __future__ import annotations

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware, validate_issuer_url
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl, ConfigDict, TypeAdapter, ValidationError
from sqlalchemy import Connection
from starlette.routing import Route

from analytics_mcp.config import Settings
from analytics_mcp.storage.oauth import ACCESS_PREFIX, ADMIN, READ, SCOPES, load_token

MCP_PATH = "/mcp/analytics"
WELL_KNOWN = "/.well-known/oauth-protected-resource"
# As the SDK's metadata models render URLs: an issuer without a path keeps no trailing slash.
URL = TypeAdapter(AnyHttpUrl, config=ConfigDict(url_preserve_empty_path=True))


def issuer_of(settings: Settings) -> str:
    """Our authorization server's issuer: the public origin."""
    return settings.base_url


def resource_of(settings: Settings) -> str:
    """The URL a user pastes into the client, and the audience of every token we accept."""
    return settings.base_url + MCP_PATH


def oauth_enabled(settings: Settings) -> bool:
    """OAuth needs an https issuer, or a loopback one (local tests); see ANALYTICS_PUBLIC_URL."""
    try:
        validate_issuer_url(URL.validate_python(issuer_of(settings)))
    except (ValueError, ValidationError):
        return False
    return True


def resource_metadata_url(settings: Settings) -> AnyHttpUrl:
    return build_resource_metadata_url(URL.validate_python(resource_of(settings)))


def same_resource(given: str | None, ours: str) -> bool:
    """Compared as URLs (host case, default port), a trailing slash aside, as the SDK compares."""
    try:
        return str(URL.validate_python(given or "")).removesuffix("/") == ours.removesuffix("/")
    except ValidationError:
        return False


def protected_resource_routes(settings: Settings) -> list[Route]:
    metadata = ProtectedResourceMetadata(
        resource=URL.validate_python(resource_of(settings)),
        authorization_servers=[URL.validate_python(issuer_of(settings))],
        scopes_supported=list(SCOPES),
        resource_name="analytics-mcp",
    )
    endpoint = cors_middleware(ProtectedResourceMetadataHandler(metadata).handle, ["GET", "OPTIONS"])
    return [
        Route(WELL_KNOWN + MCP_PATH, endpoint=endpoint, methods=["GET", "OPTIONS"]),
        Route(WELL_KNOWN, endpoint=endpoint, methods=["GET", "OPTIONS"]),
    ]


def is_oauth_token(plaintext: str) -> bool:
    return plaintext.startswith(ACCESS_PREFIX)


def verify_oauth_token(conn: Connection, plaintext: str, resource: str) -> AccessToken | None:
    """The SDK's AccessToken for a live OAuth access token issued for `resource`, else None.
    Subject = tenant id, as for API tokens (tools.access); admin implies read."""
    found = load_token(conn, plaintext, "access")
    if found is None or not same_resource(found.resource, resource):
        return None
    scopes = set(found.scopes) | ({READ} if ADMIN in found.scopes else set())
    return AccessToken(
        token=plaintext,
        client_id=found.client_id,
        subject=str(found.tenant_id),
        scopes=sorted(scopes),
        expires_at=found.expires_ms // 1000,
        resource=found.resource,
    )
