"""Bearer-token authentication for /api/v1: one hashed, indexed lookup per request.

Without an Authorization header, a dashboard session cookie is the alternative principal (see
`dashboard.principal`: read-only for the user's tenant; CSRF header on state-changing methods).

`storage.accounts.verify_token` hashes the plaintext, finds the live token by its unique hash and
touches last_used_at itself (at most once a minute), so this module only parses the header and
turns the answer into 401/403.
"""

from __future__ import annotations

from starlette.requests import Request

from analytics_mcp.dashboard.principal import session_principal
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Token, verify_token

REALM = "analytics"
ADMIN_SCOPE = "admin"  # an admin token may do everything a read or ingest token may
MAX_TOKEN_LENGTH = 256  # longer is never one of ours: refuse without touching the database


def _challenge(error: str, **extra: str) -> dict[str, str]:
    params = {"realm": REALM, "error": error, **extra}
    return {"WWW-Authenticate": "Bearer " + ", ".join(f'{key}="{value}"' for key, value in params.items())}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=_challenge("invalid_token"))


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>` (scheme case-insensitive), else None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


async def authenticate(request: Request, services: Services) -> Token:
    """The live token of this request, else its dashboard session; 401 with a Bearer challenge
    otherwise. A bad bearer token never falls back to the cookie."""
    plaintext = bearer_token(request)
    if plaintext is None:
        session = await session_principal(request, services)
        if session is not None:
            return session
        raise unauthorized("Missing API token.")
    if len(plaintext) > MAX_TOKEN_LENGTH:
        raise unauthorized("Invalid or revoked API token.")
    async with services.db.aio.begin() as conn:
        token = await conn.run_sync(lambda sync_conn: verify_token(sync_conn, plaintext))
    if token is None:
        raise unauthorized("Invalid or revoked API token.")
    return token


def has_scope(token: Token, scope: str) -> bool:
    return scope in token.scopes or ADMIN_SCOPE in token.scopes


def require_scope(token: Token, scope: str) -> None:
    if not has_scope(token, scope):
        raise ApiError(
            403,
            f"This API token lacks the '{scope}' scope.",
            headers=_challenge("insufficient_scope", scope=scope),
        )
