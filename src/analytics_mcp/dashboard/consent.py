"""The OAuth consent page (GET/POST /oauth/consent): where /authorize sends the browser.

A signed-in dashboard user (else: the sign-in page first, which comes back here) sees which client
asks, where the answer goes and what it may do, and allows or denies. Allowing issues a code bound
to the user's tenant and to the scopes their role may grant (viewers: read; owners and admins:
read and admin), then redirects to the client's registered redirect URI with `code`, `state` and
`iss` (RFC 9207). The form carries the session's CSRF token; the request key is single-use and
expires in 10 minutes. The page's CSP lets its form redirect only to the client's redirect URI.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from analytics_mcp.dashboard.security import CSP
from analytics_mcp.dashboard.state import services_of
from analytics_mcp.dashboard.views import page
from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.auth import current_session, session_csrf
from analytics_mcp.http_api.oauth_provider import CONSENT_PATH
from analytics_mcp.http_api.oauth_routes import OAuthServer
from analytics_mcp.storage import oauth
from analytics_mcp.storage.sessions import DashboardSession

MEANINGS = {
    oauth.READ: "Read this tenant's analytics through the MCP tools",
    oauth.ADMIN: "Manage this tenant (admin scope)",
}
GONE = "This authorization request expired or was already answered. Start again from your client."
EXPIRED_FORM = "Your form expired. Start again from your client."


def _server(request: Request) -> OAuthServer:
    server: OAuthServer = request.app.state.oauth
    return server


def _sign_in_first(key: str) -> Response:
    target = f"{CONSENT_PATH}?request={quote(key, safe='')}"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _problem(message: str, status: int) -> Response:
    return page("consent.html", status, error=message, client_name="a client")


def _form_action(redirect_uri: str) -> str:
    """The CSP source allowing the form's redirect: the origin for http(s), else the scheme."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def granted(session: DashboardSession, pending: oauth.Authorization) -> tuple[str, ...]:
    """What the user may grant of what was asked; read always (admin implies it anyway)."""
    allowed = oauth.grantable(session.user.role)
    return tuple(s for s in oauth.SCOPES if s == oauth.READ or (s in pending.scopes and s in allowed))


async def _load(request: Request, key: str) -> tuple[DashboardSession | None, oauth.Authorization | None]:
    services = services_of(request)
    session = await current_session(request, services)
    async with services.db.aio.connect() as conn:
        pending = await conn.run_sync(lambda sync: oauth.load_request(sync, key))
    return session, pending


async def consent_get(request: Request) -> Response:
    key = request.query_params.get("request", "")[:100]
    session, pending = await _load(request, key)
    if session is None:
        return _sign_in_first(key)
    if pending is None:
        return _problem(GONE, 400)
    client = await _server(request).provider.get_client(pending.client_id)
    scopes = granted(session, pending)
    withheld = [s for s in pending.scopes if s not in scopes]
    response = page(
        "consent.html",
        client_name=(client.client_name if client else None) or pending.client_id,
        email=session.user.email,
        tenant_name=session.tenant.name,
        role=session.user.role,
        scopes=[(s, MEANINGS[s]) for s in scopes],
        withheld=", ".join(withheld),
        redirect_origin=_form_action(pending.redirect_uri),
        csrf=session_csrf(request, session),
        request_key=key,
    )
    policy = CSP.replace("form-action 'self'", f"form-action 'self' {_form_action(pending.redirect_uri)}")
    response.headers["Content-Security-Policy"] = policy
    return response


async def consent_post(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=10) as form:
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
    key = fields.get("request", "")[:100]
    session, pending = await _load(request, key)
    if session is None:
        return _sign_in_first(key)
    if not csrf.matches(session_csrf(request, session), fields.get(csrf.FIELD)):
        return _problem(EXPIRED_FORM, 403)
    if pending is None:
        return _problem(GONE, 400)
    server, db = _server(request), services_of(request).db
    answer: dict[str, str | None] = {"state": pending.state, "iss": server.issuer}
    if fields.get("decision") == "approve":
        scopes = granted(session, pending)
        user, tenant = session.user.id, session.tenant.id
        async with db.aio.begin() as conn:
            code = await conn.run_sync(lambda sync: oauth.approve(sync, key, user, tenant, scopes))
        if code is None:
            return _problem(GONE, 400)
        answer["code"] = code
    else:
        async with db.aio.begin() as conn:
            await conn.run_sync(lambda sync: oauth.deny(sync, key))
        answer["error"] = "access_denied"
    return RedirectResponse(construct_redirect_uri(pending.redirect_uri, **answer), status_code=303)
