"""The share link's page: the dashboard shell in read-only mode (its script reads through the
link's own API base; no settings, no chat, no other sites, no sign-out), or first a password form
when the link has one. An unknown or revoked link is the HTML 404 page, and a wrong password
says only that: nothing of the site, its tenant or its numbers."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from analytics_mcp.dashboard.security import HEADERS, LOGIN_COOKIE, clear_cookie, set_cookie
from analytics_mcp.dashboard.share.access import OpenLink, open_link, remember_unlock, unlocked
from analytics_mcp.dashboard.state import dashboard_state, services_of
from analytics_mcp.dashboard.views import charts_available, page
from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.tracker import client_ip
from analytics_mcp.storage.passwords import password_matches

WRONG = "Wrong password."
EXPIRED = "The form expired. Please try again."
MAX_PASSWORD = 1024


def _gone(request: Request) -> Response:
    response = page("not_found.html", 404, path=request.url.path[:20] + "…")
    response.headers.update({**HEADERS, "Cache-Control": "no-store"})
    return response


def password_form(request: Request, status: int = 200, error: str | None = None) -> Response:
    nonce, token = csrf.new_login_pair(dashboard_state(request.app).secret)
    response = page("share_password.html", status, csrf=token, error=error)
    set_cookie(response, request, services_of(request).settings, LOGIN_COOKIE, nonce, max_age=3600)
    return response


def boot(opened: OpenLink) -> dict[str, object]:
    """What the dashboard script needs: one site, its API base, and no chat."""
    return {
        "csrf": "",
        "email": "",
        "tenant": {"slug": "", "name": opened.link.label, "plan": ""},
        "sites": [opened.link.domain],
        "charts": charts_available(),
        "chat": {"enabled": False, "reason": "The AI chat is not part of a shared dashboard."},
        "share": {"base": opened.base, "label": opened.link.label},
    }


async def share_page(request: Request) -> Response:
    opened = await open_link(request)
    if opened is None:
        return _gone(request)
    if not unlocked(request, opened):
        return password_form(request)
    config = boot(opened)
    return page(
        "dashboard.html",
        boot=config,
        share=config["share"],
        domain=opened.link.domain,
        tenant_name=opened.link.label,
        charts_available=config["charts"],
        csrf="",
        email="",
    )


async def share_unlock(request: Request) -> Response:
    opened = await open_link(request)
    if opened is None:
        return _gone(request)
    async with request.form(max_files=0, max_fields=5) as form:
        password, submitted = form.get("password"), form.get(csrf.FIELD)
    password = password[:MAX_PASSWORD] if isinstance(password, str) else ""
    state = dashboard_state(request.app)
    if not csrf.login_ok(
        state.secret, request.cookies.get(LOGIN_COOKIE), submitted if isinstance(submitted, str) else None
    ):
        return password_form(request, 403, EXPIRED)
    wait = await state.throttle.reserve(
        f"share:{opened.link.id}", client_ip(request, services_of(request).settings)
    )
    if wait is not None:
        response = password_form(
            request, 429, f"Too many attempts. Try again in about {max(1, round(wait / 60))} min."
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if not await run_in_threadpool(password_matches, opened.link.password_hash, password):
        return password_form(request, 401, WRONG)
    response = RedirectResponse(opened.base, status_code=303)
    remember_unlock(response, request, opened)
    clear_cookie(response, request, services_of(request).settings, LOGIN_COOKIE)
    return response
