"""The authorization server's endpoints, from the SDK's handlers (mcp.server.auth.handlers) over
`AnalyticsOAuthProvider`: metadata (RFC 8414) at /.well-known/oauth-authorization-server,
/authorize, /token, /register (RFC 7591) and /revoke (RFC 7009), plus the protected resource
metadata of /mcp/analytics (tools/oauth_resource.py). Built only when `oauth_enabled` (an https
ANALYTICS_PUBLIC_URL, or a loopback address).

Client secrets are stored hashed, so client authentication is `HashedSecretAuthenticator`: the
SDK's rules (client_secret_post, client_secret_basic or none, as registered), checked against the
SHA-256 of the secret instead of the secret.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.routes import build_metadata, cors_middleware
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from analytics_mcp.http_api.body_limit import MAX_FORM_BYTES, BodyLimit
from analytics_mcp.http_api.framework import MAX_BODY_BYTES
from analytics_mcp.http_api.oauth_provider import AnalyticsOAuthProvider
from analytics_mcp.services import Services
from analytics_mcp.storage.account_tokens import token_hash
from analytics_mcp.storage.oauth import SCOPES
from analytics_mcp.tools.oauth_resource import (
    URL,
    issuer_of,
    oauth_enabled,
    protected_resource_routes,
    resource_of,
)

METADATA_PATH = "/.well-known/oauth-authorization-server"


def _basic_credentials(header: str, client_id: str) -> str:
    """The secret of `Authorization: Basic base64(id:secret)` (RFC 6749 §2.3.1, form-encoded parts)."""
    try:
        decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise AuthenticationError("Invalid Basic authentication header") from None
    basic_id, sep, secret = decoded.partition(":")
    if not sep or unquote(basic_id) != client_id:
        raise AuthenticationError("Client ID mismatch in Basic auth")
    return unquote(secret)


def _presented_secret(request: Request, form: FormData, method: str | None, client_id: str) -> str | None:
    header = request.headers.get("Authorization", "")
    if method == "client_secret_basic":
        if not header.startswith("Basic "):
            raise AuthenticationError("Missing or invalid Basic authentication in Authorization header")
        return _basic_credentials(header, client_id)
    if method == "client_secret_post":
        value = form.get("client_secret")
        return value if isinstance(value, str) else None
    if method == "none":
        return None
    raise AuthenticationError(f"Unsupported auth method: {method}")


class HashedSecretAuthenticator(ClientAuthenticator):
    def __init__(self, provider: AnalyticsOAuthProvider) -> None:
        super().__init__(provider)
        self.store = provider

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        found = await self.store.client_record(client_id)
        if found is None:
            raise AuthenticationError("Invalid client_id")
        client, secret_hash = found
        presented = _presented_secret(request, form, client.token_endpoint_auth_method, client_id)
        if secret_hash is None:
            if client.token_endpoint_auth_method != "none":
                raise AuthenticationError("Client is registered for a secret but has none")
            return client
        if not presented or not hmac.compare_digest(token_hash(presented), secret_hash):
            raise AuthenticationError("Invalid client_secret")
        return client


@dataclass(frozen=True, slots=True)
class OAuthServer:
    """What the consent page needs: the provider, the issuer (RFC 9207 `iss`), our resource."""

    provider: AnalyticsOAuthProvider
    issuer: str
    resource: str


def _client_facing(path: str, handler: object, methods: list[str], limit: int = MAX_FORM_BYTES) -> Route:
    """A route clients call from anywhere (CORS, as the SDK's), its body bounded while read
    (413 in our JSON error shape) like every other route."""
    middleware = [
        Middleware(
            CORSMiddleware, allow_origins="*", allow_methods=methods, allow_headers=["mcp-protocol-version"]
        ),
        Middleware(BodyLimit, limit=limit),
    ]
    return Route(path, handler, methods=methods, middleware=middleware)  # type: ignore[arg-type]


def oauth_server(services: Services) -> OAuthServer | None:
    settings = services.settings
    if not oauth_enabled(settings):
        return None
    issuer, resource = issuer_of(settings), resource_of(settings)
    return OAuthServer(AnalyticsOAuthProvider(services.db, issuer, resource), issuer, resource)


def oauth_routes(server: OAuthServer | None, services: Services) -> list[BaseRoute]:
    """Every OAuth route, or none when OAuth is off."""
    if server is None:
        return []
    provider, authenticator = server.provider, HashedSecretAuthenticator(server.provider)
    registration = ClientRegistrationOptions(
        enabled=True, valid_scopes=list(SCOPES), default_scopes=list(SCOPES)
    )
    metadata = build_metadata(
        URL.validate_python(server.issuer), None, registration, RevocationOptions(enabled=True)
    )
    metadata.authorization_response_iss_parameter_supported = True  # the consent page sends `iss`
    metadata.token_endpoint_auth_methods_supported = ["client_secret_post", "client_secret_basic", "none"]
    post = ["POST", "OPTIONS"]
    return [
        Route(
            METADATA_PATH,
            cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        Route(
            "/authorize",
            AuthorizationHandler(provider).handle,
            methods=["GET", "POST"],
            middleware=[Middleware(BodyLimit, limit=MAX_FORM_BYTES)],
        ),
        _client_facing("/token", TokenHandler(provider, authenticator).handle, post),
        _client_facing("/register", RegistrationHandler(provider, registration).handle, post, MAX_BODY_BYTES),
        _client_facing("/revoke", RevocationHandler(provider, authenticator).handle, post),
        *protected_resource_routes(services.settings),
    ]
