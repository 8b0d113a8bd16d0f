"""Who is asking, for every authenticated HTTP route: a bearer API token (one hashed, indexed
lookup per request) or, without an Authorization header, a dashboard session cookie. Under
/api/analytics/ a bearer JWT from `POST /api/auth/token` is accepted too (platform/jwt_auth.py).

A signed-in user reads their own tenant like a `read` token (owners and admins also like an
`admin` one), so the dashboard's JavaScript calls the same REST routes, with the same numbers, as
any API client. Methods that change state also need the session's CSRF token in `X-CSRF-Token`:
the cookie alone rides along on cross-site requests. A session's requests count against a
limit of their own, keyed by the session (`session_rate_key`), never against an API token's.

`storage.accounts.verify_token` hashes the plaintext, finds the live token by its unique hash and
touches last_used_at itself (at most once a minute), so this module only parses the header and
turns the answer into 401/403.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, select
from starlette.applications import Starlette
from starlette.requests import Request

from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.errors import INSUFFICIENT_SCOPE, ApiError
from analytics_mcp.platform import jwt_auth
from analytics_mcp.services import Services
from analytics_mcp.storage.accounts import Token, get_tenant_by_id, verify_token
from analytics_mcp.storage.schema import users
from analytics_mcp.storage.sessions import DashboardSession, load_session, token_hash

REALM = "analytics"
SESSION_COOKIE = "amcp_session"
ADMIN_SCOPE = "admin"  # an admin token may do everything a read or ingest token may
MAX_TOKEN_LENGTH = 256  # longer is never one of ours: refuse without touching the database
MAX_JWT_LENGTH = 2048
JWT_PREFIX = "/api/analytics/"  # where a JWT is accepted besides API tokens


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
    if jwt_auth.looks_like_jwt(plaintext) and request.url.path.startswith(JWT_PREFIX):
        return await jwt_principal(request, services, plaintext)
    if len(plaintext) > MAX_TOKEN_LENGTH:
        raise unauthorized("Invalid or revoked API token.")
    async with services.db.aio.begin() as conn:
        token = await conn.run_sync(lambda sync_conn: verify_token(sync_conn, plaintext))
    if token is None:
        raise unauthorized("Invalid or revoked API token.")
    return token


async def jwt_principal(request: Request, services: Services, token: str) -> Token:
    """The principal of a live JWT whose user still belongs to the tenant it names (read scope)."""
    if len(token) > MAX_JWT_LENGTH:
        raise unauthorized("Invalid or expired token.")
    try:
        claims = jwt_auth.verify(app_secret(request.app), token, int(time.time()))
    except jwt_auth.InvalidToken as exc:
        raise unauthorized(f"Invalid or expired token ({exc}).") from None
    async with services.db.aio.begin() as conn:
        principal = await conn.run_sync(lambda sync: _jwt_token(sync, claims))
    if principal is None:
        raise unauthorized("Invalid or expired token (user not found).")
    return principal


def _jwt_token(conn: Connection, claims: jwt_auth.Claims) -> Token | None:
    query = select(users.c.email).where(users.c.id == claims.user_id, users.c.tenant_id == claims.tenant_id)
    email = conn.execute(query).scalar_one_or_none()
    tenant = get_tenant_by_id(conn, claims.tenant_id) if email is not None else None
    if tenant is None:
        return None
    return Token(
        id=f"jwt-user:{claims.user_id}",
        tenant=tenant,
        name=f"JWT of {email}",
        scopes=SESSION_SCOPES,
        prefix="jwt",
        created_at="",
        last_used_at=None,
        revoked_at=None,
    )


def has_scope(token: Token, scope: str) -> bool:
    return scope in token.scopes or ADMIN_SCOPE in token.scopes


def require_scope(token: Token, scope: str) -> None:
    if not has_scope(token, scope):
        raise ApiError(
            403,
            f"This API token lacks the '{scope}' scope.",
            headers=_challenge("insufficient_scope", scope=scope),
            code=INSUFFICIENT_SCOPE,
        )


# -- the dashboard session as a principal --------------------------------------------------------

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_SCOPES = frozenset({"read"})
# Owners and admins also manage the tenant (A/B reports, experiments), as an `admin` token would.
MANAGER_SCOPES = frozenset({"read", "admin"})
MANAGER_ROLES = frozenset({"owner", "admin"})


async def current_session(request: Request, services: Services) -> DashboardSession | None:
    """The live dashboard session of this request's cookie, else None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    async with services.db.aio.begin() as conn:
        return await conn.run_sync(lambda sync: load_session(sync, cookie))


def app_secret(app: Starlette) -> str:
    """The key every session CSRF token and sign-in form is signed with (one read per app)."""
    secret: str | None = getattr(app.state, "secret", None)
    if secret is None:
        secret = app.state.secret = app.state.services.settings.session_secret()
    return secret


def session_csrf(request: Request, session: DashboardSession) -> str:
    return csrf.session_token(app_secret(request.app), session.token)


def as_token(session: DashboardSession) -> Token:
    """A tenant-bound principal shaped like an API token (never stored): read for viewers, read and
    admin for owners and admins."""
    user = session.user
    return Token(
        id=f"session-user:{user.id}",
        tenant=session.tenant,
        name=f"dashboard session of {user.email}",
        scopes=MANAGER_SCOPES if user.role in MANAGER_ROLES else SESSION_SCOPES,
        prefix="session",
        created_at="",
        last_used_at=None,
        revoked_at=None,
    )


async def session_principal(request: Request, services: Services) -> Token | None:
    """The session's principal, None without a live session; 403 for a state-changing request
    without the right CSRF header. Sets `request.state.dashboard_user` (for chat logging) and the
    session's rate-limit key."""
    session = await current_session(request, services)
    if session is None:
        return None
    if request.method not in SAFE_METHODS and not csrf.matches(
        session_csrf(request, session), request.headers.get(csrf.HEADER)
    ):
        raise ApiError(403, "Missing or invalid CSRF token (send the X-CSRF-Token header).")
    request.state.dashboard_user = session.user
    request.state.dashboard_session_key = token_hash(session.token)
    return as_token(session)


def session_rate_key(request: Request) -> str | None:
    """The rate-limit key of the dashboard session this request was authenticated by (a hash of
    its token: the cookie itself never reaches the limiter's storage), else None."""
    key: str | None = getattr(request.state, "dashboard_session_key", None)
    return key
