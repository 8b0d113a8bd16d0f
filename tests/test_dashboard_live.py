# ruff: noqa: F811  (the fixtures imported from dashboard_support are redefined as parameters)
"""Issue 17 items 4-5 in a real Chromium: the realtime card ("N current visitors") follows the
site and never shows another site's number, the dark theme (screenshot), a new site's onboarding
that switches to the numbers when its first pageview arrives through the tracker, and goals
labelled by their site under "All sites", a click leading to the goal's site and page."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import BrowserContext, Page, Route
from starlette import routing
from starlette.applications import Starlette
from starlette.responses import HTMLResponse

from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from browser import serve
from conftest import pin_reports
from dashboard_support import (  # noqa: F401  (context and seeded are fixtures)
    ARTIFACTS,
    Seeded,
    browser_context,
    context,
    seeded,
    sign_in,
)
from factories import event, make_site


def services_of(seeded: Seeded) -> Services:
    services: Services = seeded.app.state.services
    return services


def just_now(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def realtime_shown(page: Page, value: str) -> None:
    await page.wait_for_function(
        "v => document.querySelector('#realtime')?.dataset.value === v", arg=value, timeout=10_000
    )


async def test_realtime_card_follows_the_site(
    seeded: Seeded, context: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC) + timedelta(minutes=1)
    pin_reports(monkeypatch, now)  # the window ends a minute after these events, for page and test
    visitors = [event(just_now(1), "/now", ip=f"203.0.113.{n}") for n in range(1, 4)]
    visitors.append(event(just_now(2), "/shop-now", domain="shop.acme.test", ip="203.0.113.9"))
    ingest_events(services_of(seeded).ingestor, visitors)
    acme = await seeded.api("/api/v1/stats/realtime", site="acme.test")
    shop = await seeded.api("/api/v1/stats/realtime", site="shop.acme.test")
    assert acme["visitors"] >= 3 and shop["visitors"] >= 1 and acme["visitors"] != shop["visitors"]

    page = await context.new_page()
    await sign_in(page, seeded.base, "/dashboard?site=acme.test")
    await realtime_shown(page, str(acme["visitors"]))
    label = await page.text_content("#realtime") or ""
    assert label.strip().endswith("current visitors") and await page.locator("#realtime .pulse").count() == 1

    release = asyncio.Event()

    async def hold(route: Route) -> None:  # shop's realtime answers only once released
        await release.wait()
        with contextlib.suppress(Exception):
            await route.continue_()

    await page.route(lambda url: "/stats/realtime" in url and "site=shop.acme.test" in url, hold)
    await page.select_option("#site-select", "shop.acme.test")
    await page.wait_for_url("**site=shop.acme.test**")
    await realtime_shown(page, "")  # a placeholder while shop's number loads, never acme's
    assert (await page.text_content("#realtime .realtime-count")) == "–"
    release.set()
    await realtime_shown(page, str(shop["visitors"]))
    await page.screenshot(path=str(ARTIFACTS / "dashboard-realtime.png"))


async def test_dark_mode(seeded: Seeded) -> None:
    async with browser_context() as ctx:
        page = await ctx.new_page()
        await page.emulate_media(color_scheme="dark")
        await sign_in(page, seeded.base, "/dashboard?period=30d")
        await page.wait_for_selector("#main-chart .uplot")
        await page.wait_for_selector("#kpis .kpi-value:not(.skeleton)")
        await page.wait_for_selector("#card-pages table.bars")
        background = await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        card = await page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
        text = await page.evaluate("getComputedStyle(document.querySelector('.kpi-value')).color")
        assert (background, card, text) == ("rgb(15, 17, 23)", "rgb(24, 27, 36)", "rgb(229, 231, 235)")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-dark.png"), full_page=True)


async def test_a_new_site_shows_onboarding_until_its_first_pageview(
    seeded: Seeded, context: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = services_of(seeded)
    make_site(services, domain="new.acme.test")
    pin_reports(monkeypatch, datetime.now(UTC) + timedelta(minutes=2))  # the pageview below is "now"
    page = await context.new_page()
    await sign_in(page, seeded.base, "/dashboard?site=new.acme.test")
    await page.wait_for_selector("#onboarding:not([hidden])", timeout=10_000)
    snippet = await page.text_content("#onboarding pre") or ""
    assert 'data-domain="new.acme.test"' in snippet and f"{seeded.base}/js/script.js" in snippet
    text = await page.text_content("#onboarding") or ""
    assert "Waiting for the first pageview" in text and "dropped as bots" in text
    assert await page.is_hidden("#kpis")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-onboarding.png"), full_page=True)

    # The site's own page with the snippet as shown, served on loopback: its tracker fires the pageview.
    html = f"<!doctype html><html><head><title>New site</title>{snippet}</head><body>Hello</body></html>"
    site_app = Starlette(routes=[routing.Route("/hello", lambda _request: HTMLResponse(html))])
    async with serve(site_app) as site_base:
        site = await context.new_page()
        async with site.expect_request(f"{seeded.base}/api/event") as beacon:
            await site.goto(f"{site_base}/hello")
        assert '"name":"pageview"' in ((await beacon.value).post_data or "")
    await page.wait_for_selector("#onboarding", state="hidden", timeout=15_000)
    await page.wait_for_function(
        "() => document.querySelector('#kpis .kpi[data-metric=pageviews] .kpi-value')?.dataset.value === '1'",
        timeout=10_000,
    )
    await realtime_shown(page, "1")


async def test_goals_under_all_sites_name_their_site_and_lead_to_it(
    seeded: Seeded, context: BrowserContext
) -> None:
    with services_of(seeded).db.sync.begin() as conn:
        accounts.add_goal(conn, "acme.test", "Purchase", path="/pricing")
        accounts.add_goal(conn, "shop.acme.test", "Purchase", event="purchase")
    page = await context.new_page()
    await sign_in(page, seeded.base)
    rows = page.locator("#card-goals tbody tr", has_text="Purchase")
    await rows.first.wait_for()
    tags = sorted(await rows.locator(".row-site").all_text_contents())
    assert tags == ["acme.test", "shop.acme.test"]

    await rows.filter(has_text="shop.acme.test").locator(".row-link").click()
    await page.wait_for_url("**site=shop.acme.test**")
    assert "f=" not in page.url  # an event goal: the filter grammar has no event, its site only
    await page.wait_for_selector("#card-goals tbody tr")
    assert await page.locator("#card-goals .row-site").count() == 0  # one site: no labels

    await page.select_option("#site-select", "")
    await rows.first.wait_for()
    await rows.filter(has_text="acme.test").filter(has_not_text="shop.").locator(".row-link").click()
    await page.wait_for_url("**site=acme.test**")
    assert "f=page%3D%3D%2Fpricing" in page.url
    await page.wait_for_selector('.chip[data-dimension="page"]')
