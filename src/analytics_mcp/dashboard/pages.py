"""Sign-in, sign-out and the dashboard shell (the numbers are fetched by its script from /api/v1)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from analytics_mcp.dashboard.security import LOGIN_COOKIE, clear_cookie, set_cookie
from analytics_mcp.dashboard.state import dashboard_state, services_of
from analytics_mcp.dashboard.views import charts_available, page
from analytics_mcp.http_api import csrf
from analytics_mcp.http_api.auth import MANAGER_ROLES, SESSION_COOKIE, current_session, session_csrf
from analytics_mcp.http_api.oauth_provider import CONSENT_PATH
from analytics_mcp.http_api.sign_in import check_password
from analytics_mcp.http_api.tracker import client_ip
from analytics_mcp.storage.account_rules import FEATURE_PLANS, plan_allows
from analytics_mcp.storage.accounts import list_sites
from analytics_mcp.storage.sessions import SESSION_TTL_S, DashboardSession, create_session, revoke_session

HOME = "/dashboard"
BAD_LOGIN = "Wrong email or password."  # one message for both: no user enumeration
EXPIRED_FORM = "Your sign-in form expired. Please try again."
MAX_FORM_FIELD = 1024
FIELD_CSRF = csrf.FIELD


def safe_next(raw: object) -> str:
    """Only a dashboard path of ours, or the OAuth consent page: never another host (`//evil`,
    `/\\evil`) after sign-in."""
    value = raw if isinstance(raw, str) else ""
    if value.startswith((HOME, CONSENT_PATH)) and "\\" not in value and not value.startswith("//"):
        return value[:2000]
    return HOME


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FORM_FIELD] if isinstance(value, str) else ""


def login_form(
    request: Request, *, status: int = 200, error: str | None = None, email: str = "", next_url: str = HOME
) -> Response:
    """The sign-in form with a fresh signed double-submit CSRF pair."""
    nonce, token = csrf.new_login_pair(dashboard_state(request.app).secret)
    response = page("login.html", status, csrf=token, error=error, email=email, next=next_url)
    set_cookie(response, request, services_of(request).settings, LOGIN_COOKIE, nonce, max_age=3600)
    return response


async def login_get(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if await current_session(request, services_of(request)) is not None:
        return RedirectResponse(next_url, status_code=303)
    return login_form(request, next_url=next_url)


async def login_post(request: Request) -> Response:
    services, state = services_of(request), dashboard_state(request.app)
    async with request.form(max_files=0, max_fields=10) as form:
        email, password = _field(form, "email").strip(), _field(form, "password")
        next_url, submitted = safe_next(_field(form, "next")), _field(form, FIELD_CSRF)
    if not csrf.login_ok(state.secret, request.cookies.get(LOGIN_COOKIE), submitted):
        return login_form(request, status=403, error=EXPIRED_FORM, email=email, next_url=next_url)
    ip = client_ip(request, services.settings)
    wait = await state.throttle.reserve(email, ip)  # counted before argon2 runs, atomically
    if wait is not None:
        minutes = max(1, round(wait / 60))
        message = f"Too many sign-in attempts. Try again in about {minutes} min."
        response = login_form(request, status=429, error=message, email=email, next_url=next_url)
        response.headers["Retry-After"] = str(wait)
        return response
    token = await run_in_threadpool(_sign_in, request, email, password)
    if token is None:
        return login_form(request, status=401, error=BAD_LOGIN, email=email, next_url=next_url)
    await state.throttle.succeeded(email, ip)
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(response, request, services.settings, SESSION_COOKIE, token, max_age=SESSION_TTL_S)
    clear_cookie(response, request, services.settings, LOGIN_COOKIE)
    return response


def _sign_in(request: Request, email: str, password: str) -> str | None:
    # In a worker thread: argon2 takes ~0.5 s of CPU, not for the event loop, and outside any
    # write transaction (see `http_api.sign_in.login_engine`).
    db = services_of(request).db
    user = check_password(request.app, db, email, password)
    if user is None:
        return None
    with db.sync.begin() as conn:
        return create_session(conn, user)


async def logout(request: Request) -> Response:
    """POST only, with the session's CSRF token (a cross-site page must not sign people out)."""
    services = services_of(request)
    session = await current_session(request, services)
    async with request.form(max_files=0, max_fields=10) as form:
        submitted = _field(form, FIELD_CSRF) or request.headers.get(csrf.HEADER)
    if session is not None:
        if not csrf.matches(session_csrf(request, session), submitted):
            return page("login.html", 403, csrf="", error=EXPIRED_FORM, email="", next=HOME)
        await run_in_threadpool(_revoke, request, session.token)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response, request, services.settings, SESSION_COOKIE)
    return response


def _revoke(request: Request, token: str) -> None:
    with services_of(request).db.sync.begin() as conn:
        revoke_session(conn, token)


async def dashboard(request: Request) -> Response:
    session = await current_session(request, services_of(request))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    async with services_of(request).db.aio.connect() as conn:
        sites = await conn.run_sync(lambda sync: list_sites(sync, session.tenant.id))
    token = session_csrf(request, session)
    boot = _boot(session, [site.domain for site in sites], token)
    return page(
        "dashboard.html",
        boot=boot,
        csrf=token,
        email=session.user.email,
        tenant_name=session.tenant.name,
        charts_available=boot["charts"],
        can_manage=session.user.role in MANAGER_ROLES,
    )


def _boot(session: DashboardSession, domains: list[str], token: str) -> dict[str, object]:
    """What the script needs before its first request; no tracker data in here."""
    tenant = session.tenant
    chat_ok = plan_allows(tenant.plan, "chat")
    lowest = FEATURE_PLANS["chat"].capitalize()
    refusal = f"The AI chat needs the {lowest} plan or above (yours: {tenant.plan})."
    return {
        "csrf": token,
        "email": session.user.email,
        "tenant": {"slug": tenant.slug, "name": tenant.name, "plan": tenant.plan},
        "sites": domains,
        "charts": charts_available(),
        "chat": {
            "enabled": chat_ok,
            "reason": None if chat_ok else refusal,
        },
    }


async def root(_request: Request) -> Response:
    return RedirectResponse(HOME, status_code=303)
