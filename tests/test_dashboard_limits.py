# ruff: noqa: F811  (the fixture imported from test_dashboard_auth is redefined as a parameter)
"""Issue 17 without a browser: a dashboard session's requests count against a limit of their own
(not an API token's 60/minute), browsers get an HTML 404 page (JSON stays for /api/), and the demo
banner says whether the AI chat is on."""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.demo.banner import DemoAccess, render_banner
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from factories import make_token
from test_dashboard_auth import owner, signed_in  # noqa: F401  (owner is a fixture)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
OVERVIEW = "/api/v1/stats/overview"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_dashboard_session_has_its_own_limit(
    app: Starlette, client: httpx2.AsyncClient, owner: accounts.User
) -> None:
    services: Services = app.state.services
    assert services.settings.rate_limit == "60/minute"
    token = make_token(services)
    await signed_in(client)
    # 70 of the dashboard's requests in one minute (the routes a view reads): none refused.
    paths = (OVERVIEW, "/api/v1/stats/pages", "/dashboard/api/channels", "/dashboard/api/goals")
    answers = [await client.get(paths[n % len(paths)], params={"period": "24h"}) for n in range(70)]
    assert [r.status_code for r in answers] == [200] * 70
    assert answers[-1].headers["x-ratelimit-limit"] == "600"
    assert answers[-1].headers["x-ratelimit-remaining"] == "530"
    # The tenant's API token still has its whole 60, and no more.
    by_token = [await client.get(OVERVIEW, headers=bearer(token)) for _ in range(61)]
    assert [r.status_code for r in by_token] == [200] * 60 + [429]
    assert by_token[0].headers["x-ratelimit-remaining"] == "59"
    assert by_token[-1].headers["x-ratelimit-limit"] == "60" and "retry-after" in by_token[-1].headers
    # ... and the session is not held back by the token being over its limit.
    assert (await client.get(OVERVIEW)).status_code == 200


async def test_the_session_limit_is_configurable_and_per_session(
    app: Starlette, owner: accounts.User
) -> None:
    app.state.services.settings.dashboard_rate_limit = "5/minute"

    def session_client() -> httpx2.AsyncClient:
        transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 50000))
        return httpx2.AsyncClient(transport=transport, base_url="http://testserver")

    async with session_client() as first, session_client() as second:
        await signed_in(first)
        await signed_in(second)
        statuses = [(await first.get(OVERVIEW)).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = await first.get(OVERVIEW)
        assert refused.headers["x-ratelimit-limit"] == "5" and int(refused.headers["retry-after"]) >= 1
        # Another sign-in of the same user is another session, with its own count.
        assert (await second.get(OVERVIEW)).status_code == 200


async def test_browsers_get_an_html_404_page(client: httpx2.AsyncClient) -> None:
    page = await client.get("/nope", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/dashboard"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    escaped = await client.get("/<script>x</script>", headers={"Accept": BROWSER_ACCEPT})
    assert escaped.status_code == 404 and "<script>x" not in escaped.text
    assert "&lt;script&gt;x&lt;/script&gt;" in escaped.text
    missing_static = await client.get("/dashboard/static/nope.js", headers={"Accept": BROWSER_ACCEPT})
    assert missing_static.status_code == 404 and "Page not found" in missing_static.text


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/api/v1/nope", BROWSER_ACCEPT),  # an API path stays JSON, even for a browser
        ("/api/nope", BROWSER_ACCEPT),
        ("/dashboard/api/nope", BROWSER_ACCEPT),
        ("/nope", "application/json"),  # a program asking for JSON gets JSON
        ("/nope", "*/*"),  # curl's default
    ],
)
async def test_api_paths_and_programs_keep_the_json_404(
    client: httpx2.AsyncClient, path: str, accept: str
) -> None:
    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "Resource not found.", "code": "not_found"}


def access(chat: bool) -> DemoAccess:
    return DemoAccess("http://127.0.0.1:8000", "demo@x", "pw", "tok", "sqlite:///d.db", "/bin/am", chat=chat)


def test_demo_banner_says_whether_the_ai_chat_is_on() -> None:
    off = render_banner(access(chat=False))
    assert "AI chat:    off (ANTHROPIC_API_KEY is not set)" in off
    assert "ANTHROPIC_API_KEY=sk-ant-... make demo" in off
    on = render_banner(access(chat=True))
    assert "AI chat:    on (ANTHROPIC_API_KEY is set)" in on and "sk-ant-" not in on
