"""The dashboard session as an /api/v1 principal (used by `http_api.auth.authenticate`).

A signed-in user reads their own tenant like a `read` token, so the dashboard's JavaScript calls
the same REST routes, with the same numbers, as any API client. Methods that change state also need
the session's CSRF token in `X-CSRF-Token`: the cookie alone rides along on cross-site requests.
The rate limit is keyed by the user (the token id below), whichever browser tab is asking.
"""

from __future__ import annotations

from starlette.requests import Request

from analytics_mcp.dashboard import csrf
from analytics_mcp.dashboard.security import SESSION_COOKIE
from analytics_mcp.dashboard.sessions import DashboardSession, load_session
from analytics_mcp.dashboard.state import dashboard_state
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Token

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


def session_csrf(request: Request, session: DashboardSession) -> str:
    return csrf.session_token(dashboard_state(request.app).secret, session.token)


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
    without the right CSRF header. Sets `request.state.dashboard_user` (for chat logging)."""
    session = await current_session(request, services)
    if session is None:
        return None
    if request.method not in SAFE_METHODS and not csrf.matches(
        session_csrf(request, session), request.headers.get(csrf.HEADER)
    ):
        raise ApiError(403, "Missing or invalid CSRF token (send the X-CSRF-Token header).")
    request.state.dashboard_user = session.user
    return as_token(session)
