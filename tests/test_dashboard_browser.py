"""The dashboard in a real headless Chromium against a real uvicorn: sign in, the KPI numbers equal
the REST API's, period / site / filter changes, URL state, e-commerce, and tracker-sent XSS payloads
shown as text with no script run. Screenshots go to tests/artifacts/dashboard-*.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
        async with httpx2.AsyncClient(base_url=self.base) as http:
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


@pytest.fixture
async def context() -> AsyncIterator[BrowserContext]:
    async with launch_browser() as browser:
        ctx = await browser.new_context(
            user_agent=CHROME_UA, viewport={"width": 1360, "height": 1000}, timezone_id="UTC"
        )
        blocked: list[str] = []
        await keep_on_loopback(ctx, blocked)
        yield ctx
        await ctx.close()
    assert not blocked, f"the dashboard tried to reach outside hosts: {blocked}"


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
    assert await page.locator("#view-traffic img, #view-traffic script, #view-traffic svg").count() == 0
    assert not problems, problems


async def test_dashboard_numbers_controls_and_xss(seeded: Seeded, context: BrowserContext) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = await context.new_page()
    problems: list[str] = []
    watch(page, problems)
    await page.goto(seeded.base + "/login")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-login.png"))
    await sign_in(page, seeded.base)

    # Default view (7d, all sites): the tiles show the REST API's numbers, formatted.
    overview = await seeded.api("/api/v1/stats/overview", period="7d")
    await kpis_equal(page, overview)
    assert await kpi_text(page, "visitors") == f"{overview['visitors']:,}"
    assert await kpi_text(page, "bounce_rate") == f"{overview['bounce_rate']:.1f}%"
    await page.wait_for_selector("#main-chart canvas")
    await page.wait_for_selector("#card-pages tbody tr")

    # Period: 30d.
    await page.click('[data-period="30d"]')
    await page.wait_for_url("**period=30d**")
    await kpis_equal(page, await seeded.api("/api/v1/stats/overview", period="30d"))

    # Site: only acme.test.
    await page.select_option("#site-select", "acme.test")
    await page.wait_for_url("**site=acme.test**")
    site_30d = await seeded.api("/api/v1/stats/overview", period="30d", site="acme.test")
    await kpis_equal(page, site_30d)

    # The payloads are rows like any other, shown as text.
    await page.wait_for_selector(f'#card-pages .row-link[title="Filter by {XSS_PATH}"]')
    await page.click('#card-sources [data-tab="campaigns"]')
    await page.wait_for_selector("#card-sources .row-link >> text=<svg onload=window.__xss=1>")
    await page.click('#card-sources [data-tab="sources"]')
    await page.wait_for_selector("#card-sources tbody tr")
    await page.wait_for_selector("#card-goals tbody tr >> text=<i>Signup event</i>")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-traffic.png"), full_page=True)

    # Click a row: the page filter shows as a chip and every number follows it.
    await page.click('#card-pages .row-link[title="Filter by /pricing"]')
    await page.wait_for_selector('.chip[data-dimension="page"]')
    filtered = await seeded.api(
        "/api/v1/stats/overview", period="30d", site="acme.test", filters="page==/pricing"
    )
    assert filtered["pageviews"] != site_30d["pageviews"]
    await kpis_equal(page, filtered)
    assert "f=page%3D%3D%2Fpricing" in page.url
    await page.click('.chip[data-dimension="page"] .chip-remove')
    await kpis_equal(page, site_30d)

    # A click on the XSS path row filters by it too (a value no filter syntax would survive).
    await page.click(f'#card-pages .row-link[title="Filter by {XSS_PATH}"]')
    await page.wait_for_selector(f'.chip-value[title="{XSS_PATH}"]')
    xss_filtered = await seeded.api(
        "/api/v1/stats/overview",
        period="30d",
        site="acme.test",
        filters=f'[{{"dimension":"page","operator":"is","values":["{XSS_PATH}"]}}]',
    )
    await kpis_equal(page, xss_filtered)

    # Add a device filter from the devices card; then reload: the URL restores the whole view.
    await page.click('#card-devices .row-link[title="Filter by desktop"]')
    await page.wait_for_selector('.chip[data-dimension="device"]')
    await page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)
    await page.reload()
    await page.wait_for_selector('.chip[data-dimension="device"]')
    assert await page.locator(".chip").count() == 2
    assert await page.input_value("#site-select") == "acme.test"
    await no_xss(page, problems)

    # Remove the chips; back to the site's numbers.
    await page.click('.chip[data-dimension="device"] .chip-remove')
    await page.click('.chip[data-dimension="page"] .chip-remove')
    await kpis_equal(page, site_30d)
    await no_xss(page, problems)


async def test_dashboard_ecommerce_and_custom_range(seeded: Seeded, context: BrowserContext) -> None:
    page = await context.new_page()
    problems: list[str] = []
    watch(page, problems)
    await sign_in(page, seeded.base, "/dashboard?period=90d&tab=commerce")
    expected = await seeded.api("/api/v1/stats/ecommerce/overview", period="90d")
    assert expected["transactions"] > 0
    await page.wait_for_function(
        """(n) => document.querySelector('#commerce-kpis .kpi[data-metric="transactions"] .kpi-value')
                  ?.dataset.value === String(n)""",
        arg=expected["transactions"],
    )
    revenue = await page.text_content('#commerce-kpis .kpi[data-metric="revenue"] .kpi-value')
    assert revenue == f"€{expected['revenue']:,.2f}"
    await page.wait_for_selector("#revenue-chart canvas")
    await page.wait_for_selector('#card-funnel [data-step="purchase"]')
    await page.wait_for_selector("#card-products tbody tr >> text=Walnut desk <b>XL</b>")
    await page.wait_for_selector("#card-revenue-sources tbody tr")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-commerce.png"), full_page=True)

    # Custom range on the traffic tab.
    await page.click('[data-tab="traffic"]')
    start = (datetime.now(UTC).date() - timedelta(days=20)).isoformat()
    end = (datetime.now(UTC).date() - timedelta(days=5)).isoformat()
    await page.click('[data-period="custom"]')
    await page.fill("#custom-from", start)
    await page.fill("#custom-to", end)
    await page.click("#custom-range button[type=submit]")
    await page.wait_for_url("**period=custom**")
    await kpis_equal(page, await seeded.api("/api/v1/stats/overview", **{"from": start, "to": end}))
    assert await page.text_content("#range-label") == f"{start} – {end}"

    # 24h: hourly buckets.
    await page.click('[data-period="24h"]')
    await page.wait_for_url("**period=24h**")
    await kpis_equal(page, await seeded.api("/api/v1/stats/overview", period="24h"))
    await page.wait_for_selector("#main-chart canvas")
    assert await page.evaluate("() => window.__xss") is None
    assert not problems, problems
