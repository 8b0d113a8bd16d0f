"""Dashboard sign-in, sessions, CSRF, throttling and headers, through the in-process ASGI client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from sqlalchemy import Connection, update
from starlette.applications import Starlette

from analytics_mcp.dashboard.security import LOGIN_COOKIE
from analytics_mcp.dashboard.state import DashboardState
from analytics_mcp.http_api import sign_in
from analytics_mcp.http_api.auth import SESSION_COOKIE
from analytics_mcp.http_api.login_throttle import LoginThrottle
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.schema import users
from factories import SAFARI_IPHONE, event, make_site, make_token

pytestmark = pytest.mark.backends()

EMAIL, PASSWORD = "owner@acme.test", "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
BOOT_CSRF = re.compile(r'"csrf": "([0-9a-f]+)"')


@pytest.fixture
def owner(app: Starlette) -> accounts.User:
    services: Services = app.state.services
    make_site(services)
    make_site(services, domain="blog.acme.test")
    with services.db.sync.begin() as conn:
        return accounts.create_user(conn, EMAIL, "acme", PASSWORD)


async def form_token(client: httpx2.AsyncClient) -> str:
    page = await client.get("/login")
    assert page.status_code == 200
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    return match.group(1)


async def login(
    client: httpx2.AsyncClient, email: str = EMAIL, password: str = PASSWORD, **extra: str
) -> httpx2.Response:
    token = await form_token(client)
    data = {"email": email, "password": password, "csrf": token, **extra}
    return await client.post("/login", data=data)


async def signed_in(client: httpx2.AsyncClient) -> str:
    """Sign in; returns the dashboard's CSRF token."""
    response = await login(client)
    assert response.status_code == 303, response.text
    page = await client.get("/dashboard")
    assert page.status_code == 200
    match = BOOT_CSRF.search(page.text)
    assert match is not None
    return match.group(1)


def day(ago: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=ago)).isoformat()


def cookie_header(response: httpx2.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[0]


async def test_login_sets_a_session_cookie(client: httpx2.AsyncClient, owner: accounts.User) -> None:
    response = await login(client, next="/dashboard?period=30d")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard?period=30d"
    cookie = cookie_header(response, SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http here; see the https test
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert EMAIL in page.text


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    wrong = await login(client, password="not the password")
    unknown = await login(client, email="nobody@acme.test", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert "Wrong email or password." in unknown.text
    assert SESSION_COOKIE not in wrong.cookies and SESSION_COOKIE not in client.cookies


async def test_a_foreign_next_url_is_ignored(client: httpx2.AsyncClient, owner: accounts.User) -> None:
    response = await login(client, next="//evil.example/phish")
    assert response.headers["location"] == "/dashboard"


async def test_repeated_failures_are_throttled_per_email_and_address(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    for _ in range(5):
        assert (await login(client, password="guess")).status_code == 401
    throttled = await login(client)  # even the right password waits now, from this address
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60
    assert "Too many sign-in attempts" in throttled.text
    other = await login(client, email="other@acme.test", password="guess")
    assert other.status_code == 401  # another account from the same address is not blocked yet
    transport = httpx2.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await login(elsewhere)).status_code == 303  # the owner, from another address


async def test_failures_are_throttled_per_ip(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    # A smaller per-IP budget than production's 20 keeps this test fast (argon2 is slow on purpose).
    secret = app.state.services.settings.session_secret()
    app.state.dashboard = DashboardState(secret, LoginThrottle(ip_limit="4 per 15 minutes"))
    for n in range(4):
        assert (await login(client, email=f"user{n}@acme.test", password="guess")).status_code == 401
    throttled = await login(client)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1


async def test_login_without_csrf_is_refused(client: httpx2.AsyncClient, owner: accounts.User) -> None:
    await client.get("/login")
    missing = await client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    wrong = await client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf": "0" * 64})
    assert missing.status_code == wrong.status_code == 403
    client.cookies.delete(LOGIN_COOKIE)
    token = CSRF_FIELD.search((await client.get("/login")).text)
    client.cookies.delete(LOGIN_COOKIE)
    assert token is not None
    no_cookie = await client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf": token[1]})
    assert no_cookie.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.backends("sqlite")  # SQLite's single writer; PostgreSQL has no such lock
async def test_password_checks_do_not_hold_the_write_lock(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes ~0.5 s; ingestion must be able to write meanwhile (SQLite has one writer)."""
    services: Services = app.state.services
    writes: list[str] = []
    real = sign_in.authenticate_user

    def check_then_write(conn: Connection, email: str, password: str) -> accounts.User | None:
        user = real(conn, email, password)  # the reading connection is still open here
        with services.db.sync.begin() as other:
            other.exec_driver_sql("PRAGMA busy_timeout=200")
            other.execute(update(users).where(users.c.id == owner.id).values(role="owner"))
        writes.append(email)
        return user

    monkeypatch.setattr(sign_in, "authenticate_user", check_then_write)
    assert (await login(client)).status_code == 303
    assert writes == [EMAIL]


async def test_logout_needs_csrf_and_invalidates_the_session(
    client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    await signed_in(client)
    cookie = client.cookies[SESSION_COOKIE]
    forged = await client.post("/logout", data={"csrf": "nope"})
    assert forged.status_code == 403
    assert (await client.get("/api/v1/stats/overview")).status_code == 200  # still signed in
    token = BOOT_CSRF.search((await client.get("/dashboard")).text)
    assert token is not None
    out = await client.post("/logout", data={"csrf": token[1]})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # Replay the old cookie: the server has forgotten it.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    page = await client.get("/dashboard")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    api = await client.get("/api/v1/stats/overview")
    assert api.status_code == 401


async def test_session_reads_the_same_numbers_as_a_token(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    services: Services = app.state.services
    summary = ingest_events(
        services.ingestor,
        [
            event(f"{day(3)}T10:00:00Z", "/"),
            event(f"{day(3)}T10:01:00Z", "/pricing"),
            event(f"{day(3)}T11:00:00Z", "/", ip="198.51.100.20", ua=SAFARI_IPHONE),
            event(f"{day(2)}T09:00:00Z", "/about", domain="blog.acme.test", ip="198.51.100.30"),
        ],
    )
    assert summary.accepted == 4
    token = make_token(services)
    await signed_in(client)
    query = {"from": day(4), "to": day(1), "site": "acme.test", "filters": "page==/"}
    for path in ("/api/v1/stats/overview", "/api/v1/stats/pages", "/dashboard/api/channels"):
        by_session = await client.get(path, params=query)
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
        ) as other:
            by_token = await other.get(path, params=query, headers={"Authorization": f"Bearer {token}"})
        assert by_session.status_code == by_token.status_code == 200
        assert by_session.json() == by_token.json()
    overview = (await client.get("/api/v1/stats/overview", params=query)).json()["data"]
    assert overview["visitors"] == 2 and overview["pageviews"] == 2
    assert by_session.headers["x-ratelimit-limit"] == "600"  # the session's own limit, not a token's


async def test_session_state_changes_need_the_csrf_header(
    client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    csrf = await signed_in(client)
    no_header = await client.post("/api/v1/events", content=b"{}")
    assert no_header.status_code == 403
    assert "CSRF" in no_header.json()["message"]
    wrong = await client.post("/api/v1/events", content=b"{}", headers={"X-CSRF-Token": "f" * 64})
    assert wrong.status_code == 403 and "CSRF" in wrong.json()["message"]
    right = await client.post("/api/v1/events", content=b"{}", headers={"X-CSRF-Token": csrf})
    # Past CSRF an owner acts with read + admin scopes, so the body itself is judged next.
    assert right.status_code == 422


async def test_a_viewer_session_is_read_only(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    with app.state.services.db.sync.begin() as conn:
        accounts.create_user(conn, "viewer@acme.test", "acme", PASSWORD, role="viewer")
    assert (await login(client, email="viewer@acme.test")).status_code == 303
    page = await client.get("/dashboard")
    match = BOOT_CSRF.search(page.text)
    assert match is not None
    denied = await client.post("/api/v1/events", content=b"{}", headers={"X-CSRF-Token": match.group(1)})
    assert denied.status_code == 403 and "scope" in denied.json()["message"]
    assert (await client.get("/api/v1/metrics/summary")).status_code == 403


async def test_a_bad_bearer_token_does_not_fall_back_to_the_session(
    client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    await signed_in(client)
    response = await client.get("/api/v1/stats/overview", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


async def test_dashboard_requires_a_session(client: httpx2.AsyncClient) -> None:
    response = await client.get("/dashboard?period=30d")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard%3Fperiod%3D30d"
    assert (await client.get("/dashboard/api/goals")).status_code == 401


async def test_security_headers(client: httpx2.AsyncClient, owner: accounts.User) -> None:
    login_page = await client.get("/login")
    await signed_in(client)
    for response in (
        login_page,
        await client.get("/dashboard"),
        await client.get("/dashboard/static/js/main.js"),
    ):
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
    assert "<script>" not in (await client.get("/dashboard")).text  # no inline script at all


@pytest.mark.parametrize("trusted", [True, False])
async def test_secure_cookie_behind_an_https_proxy(
    app: Starlette, owner: accounts.User, trusted: bool
) -> None:
    settings = app.state.services.settings
    settings.trusted_proxies = ["203.0.113.0/24"] if trusted else []
    settings.__dict__.pop("trusted_networks", None)  # a cached_property
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 50000))
    headers = {"X-Forwarded-Proto": "https"}
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as c:
        page = await c.get("/login")
        nonce = page.cookies[LOGIN_COOKIE]  # a Secure cookie is not sent back over http: send it by hand
        token = CSRF_FIELD.search(page.text)
        assert token is not None
        data = {"email": EMAIL, "password": PASSWORD, "csrf": token[1]}
        c.cookies.clear()
        response = await c.post("/login", data=data, headers={"Cookie": f"{LOGIN_COOKIE}={nonce}"})
    assert response.status_code == 303
    assert ("secure" in cookie_header(page, LOGIN_COOKIE).lower()) is trusted
    assert ("secure" in cookie_header(response, SESSION_COOKIE).lower()) is trusted


async def test_secure_cookie_over_https(app: Starlette, owner: accounts.User) -> None:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="https://testserver") as c:
        response = await login(c)
    assert "secure" in cookie_header(response, SESSION_COOKIE).lower()
