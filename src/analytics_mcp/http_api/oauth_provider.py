"""The built-in OAuth 2.1 authorization server for remote MCP connectors: the SDK's
`OAuthAuthorizationServerProvider` over our accounts database (`storage/oauth.py`).

The SDK's handlers (`http_api/oauth_routes.py`) parse and validate each request - PKCE S256, the
redirect URI against the client's registered ones, scopes against the client's, code expiry, client
authentication - and call this provider for storage and policy: a request must name our MCP
endpoint as its resource (RFC 8707) or none (then it is bound to it); /authorize stores the request
and sends the browser to the consent page (`dashboard/consent.py`), where a signed-in user approves
it for their tenant; codes and refresh tokens are single-use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl
from sqlalchemy import Connection

from analytics_mcp.storage import oauth
from analytics_mcp.storage.db import Database
from analytics_mcp.tools.oauth_resource import same_resource

T = TypeVar("T")
CONSENT_PATH = "/oauth/consent"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
BAD_SCHEMES = ("javascript", "data", "file", "vbscript", "about", "blob")


class GrantCode(AuthorizationCode):
    user_id: int
    tenant_id: int
    grant_id: str


class GrantRefreshToken(RefreshToken):
    grant_id: str
    user_id: int
    tenant_id: int


class GrantAccessToken(AccessToken):
    grant_id: str


def _bound(found: oauth.GrantToken, token: str) -> dict[str, Any]:
    """The SDK token fields of a stored token: its client, scopes, expiry, resource and tenant."""
    return {
        "token": token,
        "client_id": found.client_id,
        "scopes": list(found.scopes),
        "expires_at": found.expires_ms // 1000,
        "resource": found.resource,
        "subject": str(found.tenant_id),
        "grant_id": found.grant_id,
    }


def redirect_uri_ok(uri: AnyUrl) -> bool:
    """OAuth 2.1 §2.3.1: https, http on a loopback host, or a private-use scheme (native apps)."""
    parts = urlsplit(str(uri))
    if parts.fragment or parts.scheme in BAD_SCHEMES:
        return False
    return parts.scheme != "http" or (parts.hostname or "") in LOOPBACK


class AnalyticsOAuthProvider(
    OAuthAuthorizationServerProvider[GrantCode, GrantRefreshToken, GrantAccessToken]
):
    """The SDK's provider protocol, subclassed for its defaults (the identity-assertion grant: refused)."""

    def __init__(self, db: Database, issuer: str, resource: str) -> None:
        self.db, self.issuer, self.resource = db, issuer, resource

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        async with self.db.aio.begin() as conn:
            return await conn.run_sync(fn)

    # -- clients (RFC 7591) ------------------------------------------------------------------------

    async def client_record(self, client_id: str) -> tuple[OAuthClientInformationFull, str | None] | None:
        """The client and its secret's hash (None: a public client)."""
        async with self.db.aio.connect() as conn:
            found = await conn.run_sync(lambda sync: oauth.load_client(sync, client_id))
        if found is None:
            return None
        return OAuthClientInformationFull.model_validate_json(found[0]), found[1]

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        found = await self.client_record(client_id)
        return found[0] if found else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if not all(redirect_uri_ok(uri) for uri in client_info.redirect_uris or []):
            raise RegistrationError(
                "invalid_redirect_uri", "redirect URIs must be https, loopback http or an app scheme"
            )
        if not set(client_info.grant_types) <= {"authorization_code", "refresh_token"}:
            raise RegistrationError(
                "invalid_client_metadata", "grant_types: authorization_code, refresh_token"
            )
        info = client_info.model_copy(update={"client_secret": None}).model_dump_json(exclude_none=True)
        secret = client_info.client_secret
        await self._write(lambda conn: oauth.register_client(conn, client_info.client_id, secret, info))

    # -- authorization -----------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and not same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"this server issues tokens for {self.resource} only")
        request = oauth.Authorization(
            client_id=client.client_id,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_explicit=params.redirect_uri_provided_explicitly,
            code_challenge=params.code_challenge,
            scopes=tuple(params.scopes or [oauth.READ]),
            resource=self.resource,
            state=params.state,
            user_id=None,
            tenant_id=None,
            grant_id=None,
            expires_ms=0,
        )
        key = await self._write(lambda conn: oauth.create_request(conn, request))
        return f"{CONSENT_PATH}?{urlencode({'request': key})}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GrantCode | None:
        found = await self._write(lambda conn: oauth.load_code(conn, authorization_code))
        if found is None or found.user_id is None or found.tenant_id is None or found.grant_id is None:
            return None
        return GrantCode(
            code=authorization_code,
            scopes=list(found.scopes),
            expires_at=found.expires_ms / 1000,
            client_id=found.client_id,
            code_challenge=found.code_challenge,
            redirect_uri=AnyUrl(found.redirect_uri),
            redirect_uri_provided_explicitly=found.redirect_uri_explicit,
            resource=found.resource,
            subject=str(found.tenant_id),
            user_id=found.user_id,
            tenant_id=found.tenant_id,
            grant_id=found.grant_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GrantCode
    ) -> OAuthToken:
        code = authorization_code
        grant = oauth.GrantToken(
            "access",
            code.grant_id,
            client.client_id,
            code.user_id,
            code.tenant_id,
            tuple(code.scopes),
            self.resource,
            0,
        )

        def exchange(conn: Connection) -> tuple[str, str] | None:
            if not oauth.use_code(conn, code.code):
                oauth.revoke_grant(conn, code.grant_id)
                return None
            return oauth.issue_tokens(conn, grant)

        return self._token(await self._write(exchange), grant.scopes, "authorization code was already used")

    # -- refresh (rotated) and access tokens -------------------------------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantRefreshToken | None:
        found = await self._write(lambda conn: oauth.load_token(conn, refresh_token, "refresh"))
        if found is None:
            return None
        return GrantRefreshToken(
            **_bound(found, refresh_token), user_id=found.user_id, tenant_id=found.tenant_id
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GrantRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        old = refresh_token
        grant = oauth.GrantToken(
            "access",
            old.grant_id,
            client.client_id,
            old.user_id,
            old.tenant_id,
            tuple(scopes),
            old.resource or self.resource,
            0,
        )

        def rotate(conn: Connection) -> tuple[str, str] | None:
            return oauth.issue_tokens(conn, grant) if oauth.rotate(conn, old.token) else None

        return self._token(await self._write(rotate), grant.scopes, "refresh token was already used")

    def _token(self, pair: tuple[str, str] | None, scopes: tuple[str, ...], refused: str) -> OAuthToken:
        if pair is None:
            raise TokenError("invalid_grant", refused)
        return OAuthToken(
            access_token=pair[0], expires_in=oauth.ACCESS_TTL_S, scope=" ".join(scopes), refresh_token=pair[1]
        )

    async def load_access_token(self, token: str) -> GrantAccessToken | None:
        found = await self._write(lambda conn: oauth.load_token(conn, token, "access"))
        if found is None:
            return None
        return GrantAccessToken(**_bound(found, token))

    async def revoke_token(self, token: GrantAccessToken | GrantRefreshToken) -> None:
        """Revoking either token revokes the grant: its access and refresh tokens alike."""
        await self._write(lambda conn: oauth.revoke_grant(conn, token.grant_id))
