# ruff: noqa: F811  (the fixture imported from dashboard_support is redefined as a parameter)
"""Issue 17, phones: every tab of the dashboard at 390x844 (and at 1440x900) fits the screen (no
sideways page scroll), a long page path and a product name are readable whole (never cut to
"/pr…"), on a phone each name sits above its numbers, and the wide experiment table scrolls inside
its card. Screenshots: tests/artifacts/dashboard-{phone,desktop}-{traffic,commerce,experiments}.png."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page

from analytics_mcp.services import Services
from dashboard_support import (  # noqa: F401  (seeded is a fixture)
    ARTIFACTS,
    LONG_PATH,
    Seeded,
    browser_context,
    kpis_equal,
    seeded,
    sign_in,
    watch,
)
from test_dashboard_experiments import seed as seed_experiment

VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}
PRODUCT = "Walnut desk <b>XL</b>"


async def fits_the_screen(page: Page, where: str) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], f"{where}: the page scrolls sideways {widths}"
    overflowing = await page.eval_on_selector_all(
        ".card, .kpi",
        "els => els.filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.id)",
    )
    assert not overflowing, f"{where}: cards past the right edge: {overflowing}"


async def readable_whole(name: Locator, text: str, width: int) -> None:
    """The name shows all its characters: not clipped, not ellipsed, inside the screen."""
    assert await name.text_content() == text
    box = await name.evaluate(
        """el => ({clipped: el.scrollWidth > el.clientWidth + 1 || el.closest('td').scrollWidth >
                   el.closest('td').clientWidth + 1, ellipsis: getComputedStyle(el).textOverflow,
                   right: el.getBoundingClientRect().right})"""
    )
    assert not box["clipped"] and box["ellipsis"] != "ellipsis" and box["right"] <= width, box


async def name_above_numbers(name: Locator) -> None:
    gap = await name.evaluate(
        """el => { const row = el.closest('tr');
                   return row.querySelector('td.num').getBoundingClientRect().top
                          - row.querySelector('td.name-cell').getBoundingClientRect().bottom; }"""
    )
    assert gap >= -0.5, f"the numbers overlap the name's line ({gap}px)"


@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_every_tab_fits_and_names_read_whole(seeded: Seeded, device: str) -> None:
    width, height = VIEWPORTS[device]
    services: Services = seeded.app.state.services
    await seed_experiment(seeded.base, services)
    ARTIFACTS.mkdir(exist_ok=True)
    async with browser_context(width, height) as context:
        page = await context.new_page()
        problems: list[str] = []
        watch(page, problems)
        await sign_in(page, seeded.base)
        await kpis_equal(page, await seeded.api("/api/v1/stats/overview", period="7d"))
        long_path = page.locator(f'#card-pages .row-link[title="Filter by {LONG_PATH}"]')
        await long_path.wait_for()
        await page.wait_for_selector("#card-goals tbody tr")
        await page.wait_for_selector("#main-chart canvas")
        await fits_the_screen(page, "traffic")
        await readable_whole(long_path, LONG_PATH, width)
        if device == "phone":
            await name_above_numbers(long_path)
        await page.screenshot(path=str(ARTIFACTS / f"dashboard-{device}-traffic.png"), full_page=True)

        await page.click('#report-tabs [data-tab="commerce"]')
        product = page.locator("#card-products .row-name", has_text=PRODUCT)
        await product.wait_for()
        await page.wait_for_selector('#card-funnel [data-step="purchase"]')
        await fits_the_screen(page, "commerce")
        await readable_whole(product, PRODUCT, width)
        await page.screenshot(path=str(ARTIFACTS / f"dashboard-{device}-commerce.png"), full_page=True)

        await page.click('#report-tabs [data-tab="experiments"]')
        await page.wait_for_selector("#card-variants tbody tr")
        await page.wait_for_selector("#experiment-views-chart canvas")
        await fits_the_screen(page, "experiments")
        scroller = await page.eval_on_selector(
            "#card-variants .table-scroll", "el => [el.scrollWidth, el.clientWidth]"
        )
        if device == "phone":  # eight columns do not fit 390 px: they scroll inside the card
            assert scroller[0] > scroller[1], scroller
        else:
            assert scroller[0] <= scroller[1], scroller
        await page.screenshot(path=str(ARTIFACTS / f"dashboard-{device}-experiments.png"), full_page=True)
        assert not problems, problems
