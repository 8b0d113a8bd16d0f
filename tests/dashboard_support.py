"""Shared by the dashboard's browser tests: two seeded sites (pages, sources, campaigns, devices,
languages, purchases, tracker-sent XSS payloads and a long page path), a signed-in owner, a headless
Chromium context kept on loopback, and helpers that wait for the page to show the REST API's
numbers. Import fixtures from here into a test module (pytest finds them by name)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Dialog, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from starlette.applications import Starlette

from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from browser import keep_on_loopback, launch_browser
from conftest import pin_reports
from factories import CHROME_WIN, FIREFOX_LINUX, SAFARI_IPHONE, event, make_site, make_token

ARTIFACTS = Path(__file__).parent / "artifacts"
EMAIL, PASSWORD = "owner@acme.test", "dashboard password 1"
# A normal desktop Chrome: "HeadlessChrome" would be dropped as a bot by the tracker endpoint.
CHROME_UA = CHROME_WIN
XSS_PATH = "/<img src=x onerror=window.__xss=1>"
XSS_REF = 'https://"><script>window.__xss=1</script>.example/'
XSS_CAMPAIGN = "<svg onload=window.__xss=1>"
XSS_EVENT = '"><script>window.__xss=1</script>'
# A real-looking long path: on a phone it must be readable whole, never cut to "/pr…".
LONG_PATH = "/products/outdoor-furniture/garden-benches/solid-oak-three-seater-bench-with-armrests"
KPIS = ("visitors", "visits", "pageviews", "bounce_rate", "avg_duration")


def when(days_ago: int, minute: int = 0) -> str:
    now = datetime.now(UTC)
    moment = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    moment += timedelta(hours=9, minutes=minute)
    if moment > now:  # before 09:10 UTC today's events would be in the future: keep them in order, just past
        moment = now - timedelta(seconds=5 * (10 - minute))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def traffic() -> list[dict[str, Any]]:
    """Two sites over ~40 days: pages, sources, campaigns, devices, languages, purchases, payloads."""
    out: list[dict[str, Any]] = []
    uas = (CHROME_WIN, SAFARI_IPHONE, FIREFOX_LINUX)
    refs = ("https://www.google.com/", "https://twitter.com/x", None, XSS_REF)
    for n in range(60):
        days, ip, ua = n % 40, f"198.51.100.{n + 1}", uas[n % 3]
        ref = refs[n % 4]
        lang = ("en-US", "de-DE", "fr")[n % 3]
        first = "/?utm_source=newsletter&utm_medium=email&utm_campaign=" + (
            "spring" if n % 5 else XSS_CAMPAIGN
        )
        path = first if n % 2 else ("/pricing" if n % 3 else XSS_PATH)
        visit = dict(ip=ip, ua=ua, language=lang)
        out.append(event(when(days, 0), path, referrer=ref, **visit))
        if n % 3 == 0:
            out.append(event(when(days, 1), "/pricing", **visit))
        if n % 6 == 1:
            out.append(event(when(days % 7, 4), LONG_PATH, **visit))
        if n % 4 == 0:
            out.append(event(when(days, 2), "/signup", **visit))
            out.append(event(when(days, 3), "/signup", name=XSS_EVENT, **visit))
        if n % 5 == 0:
            shop = dict(visit, domain="shop.acme.test")
            items = [
                {"item_id": "sku-1", "item_name": "Walnut desk <b>XL</b>", "price": 120.0, "quantity": 1}
            ]
            out.append(event(when(days, 5), "/product", name="view_item", items=items, **shop))
            out.append(event(when(days, 6), "/cart", name="add_to_cart", items=items, **shop))
            if n % 10 == 0:
                out.append(event(when(days, 7), "/checkout", name="begin_checkout", items=items, **shop))
                out.append(
                    event(
                        when(days, 8),
                        "/done",
                        name="purchase",
                        transaction_id=f"tx-{n}",
                        revenue={"amount": 120.0, "currency": "EUR"},
                        items=items,
                        **shop,
                    )
                )
    return out


@dataclass
class Seeded:
    base: str
    app: Starlette
    token: str
    errors: list[str] = field(default_factory=list)

    async def api(self, path: str, **params: str) -> Any:
        # 30 s, not httpx's 5: these reads check numbers, not speed (one timed out at load 5-14).
        async with httpx2.AsyncClient(base_url=self.base, timeout=30) as http:
            response = await http.get(path, params=params, headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture
async def seeded(live_server: tuple[str, Starlette], monkeypatch: pytest.MonkeyPatch) -> Seeded:
    base, app = live_server
    services: Services = app.state.services
    make_site(services)
    make_site(services, domain="shop.acme.test")
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, EMAIL, "acme", PASSWORD)
        accounts.add_goal(conn, "acme.test", "Signup page", path="/signup")
        accounts.add_goal(conn, "acme.test", "<i>Signup event</i>", event=XSS_EVENT)
    summary = ingest_events(services.ingestor, traffic())
    assert summary.rejected == 0 and summary.accepted > 100, summary
    pin_reports(monkeypatch, datetime.now(UTC))  # the page's numbers and the API's: one window
    services.settings.rate_limit = "10000/minute"  # the test reads the API a lot, alongside the page
    return Seeded(base, app, make_token(services, scopes=("read", "ingest")))


@asynccontextmanager
async def browser_context(width: int = 1360, height: int = 1000) -> AsyncIterator[BrowserContext]:
    """A desktop Chrome of this viewport in UTC that may reach only loopback."""
    async with launch_browser() as browser:
        ctx = await browser.new_context(
            user_agent=CHROME_UA, viewport={"width": width, "height": height}, timezone_id="UTC"
        )
        blocked: list[str] = []
        await keep_on_loopback(ctx, blocked)
        yield ctx
        await ctx.close()
    assert not blocked, f"the dashboard tried to reach outside hosts: {blocked}"


@pytest.fixture
async def context() -> AsyncIterator[BrowserContext]:
    async with browser_context() as ctx:
        yield ctx


def watch(page: Page, problems: list[str]) -> None:
    """Record dialogs (an XSS would alert), page errors and console errors/CSP violations."""

    async def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))


async def sign_in(page: Page, base: str, path: str = "/dashboard") -> None:
    await page.goto(base + path)
    assert "/login" in page.url
    await page.fill("#email", EMAIL)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard**")


async def kpis_equal(page: Page, expected: dict[str, Any], grid: str = "#kpis") -> None:
    """Wait until every KPI tile shows the API's value (data-value is the raw number)."""
    want = {key: expected[key] for key in KPIS}
    try:
        await page.wait_for_function(
            """([grid, want]) => Object.entries(want).every(([key, value]) => {
                 const tile = document.querySelector(`${grid} .kpi[data-metric="${key}"] .kpi-value`);
                 return tile?.dataset.value === String(value);
               })""",
            arg=[grid, want],
            timeout=10_000,
        )
    except PlaywrightTimeout:
        shown = await page.eval_on_selector_all(
            f"{grid} .kpi",
            "tiles => tiles.map(t => [t.dataset.metric, t.querySelector('.kpi-value').dataset.value])",
        )
        raise AssertionError(f"KPI tiles {shown} never matched the API's {want} ({page.url})") from None


async def kpi_text(page: Page, key: str) -> str:
    return (await page.text_content(f'#kpis .kpi[data-metric="{key}"] .kpi-value')) or ""


async def no_xss(page: Page, problems: list[str]) -> None:
    assert await page.evaluate("() => window.__xss") is None
    # The country map is the one svg there: ours (worldmap.js), never one from tracked text.
    injected = "#view-traffic img, #view-traffic script, #view-traffic svg:not(.world-map)"
    assert await page.locator(injected).count() == 0
    assert not problems, problems
