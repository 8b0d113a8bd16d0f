"""The dashboard's static assets: no HTML sinks in our scripts, nothing inline for the CSP to
refuse, the pinned chart library served from our origin, and a clear message when it is missing."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from analytics_mcp.dashboard import views
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from factories import make_site

DASHBOARD = Path(views.__file__).parent
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\('style'"
)
INLINE = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_our_scripts_never_parse_data_as_html() -> None:
    scripts = sorted((DASHBOARD / "static" / "js").rglob("*.js"))
    assert len(scripts) >= 10
    for script in scripts:
        for number, line in enumerate(script.read_text().splitlines(), start=1):
            assert not SINKS.search(line), f"{script.name}:{number}: {line.strip()}"


def test_templates_have_nothing_inline() -> None:
    for template in (DASHBOARD / "templates").glob("*.html"):
        assert not INLINE.search(template.read_text()), template.name


@pytest.fixture
async def signed_in(app: Starlette, client: httpx2.AsyncClient) -> httpx2.AsyncClient:
    services: Services = app.state.services
    make_site(services)
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, "viewer@acme.test", "acme", "viewer password", role="viewer")
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    data = {"email": "viewer@acme.test", "password": "viewer password", "csrf": token[1]}
    assert (await client.post("/login", data=data)).status_code == 303
    return client


async def test_the_chart_library_is_served_from_our_origin(signed_in: httpx2.AsyncClient) -> None:
    page = await signed_in.get("/dashboard")
    assert '"charts": true' in page.text, "run `make setup` (it installs the pinned uPlot)"
    assert '<link rel="stylesheet" href="/dashboard/static/vendor/uPlot.min.css">' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    script = await signed_in.get("/dashboard/static/vendor/uPlot.esm.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test_a_missing_chart_library_is_reported_not_fatal(
    signed_in: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "VENDOR_FILES", ("vendor/not-installed.js",))
    page = await signed_in.get("/dashboard")
    assert page.status_code == 200
    assert '"charts": false' in page.text
    assert "uPlot.min.css" not in page.text
    script = (DASHBOARD / "static" / "js" / "main.js").read_text()
    assert "Charts are unavailable" in script and "make setup" in script


async def test_plan_gating_is_in_the_page(app: Starlette, signed_in: httpx2.AsyncClient) -> None:
    page = await signed_in.get("/dashboard")
    assert '"enabled": true' in page.text  # business plan (the factories' default)
    services: Services = app.state.services
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, "small", plan="starter")
        accounts.create_user(conn, "small@small.test", "small", "small password")
    signed_in.cookies.clear()
    login = await signed_in.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert token is not None
    data = {"email": "small@small.test", "password": "small password", "csrf": token[1]}
    assert (await signed_in.post("/login", data=data)).status_code == 303
    page = await signed_in.get("/dashboard")
    assert '"enabled": false' in page.text and "Pro plan or above (yours: starter)" in page.text
