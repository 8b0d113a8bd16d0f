# ruff: noqa: F811  (the fixtures imported from dashboard_support are redefined as parameters)
"""The dashboard in a real headless Chromium against a real uvicorn: sign in, the KPI numbers equal
the REST API's, period / site / filter changes, URL state, e-commerce, and tracker-sent XSS payloads
shown as text with no script run. Screenshots go to tests/artifacts/dashboard-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import BrowserContext

from dashboard_support import (  # noqa: F401  (context and seeded are fixtures)
    ARTIFACTS,
    XSS_PATH,
    Seeded,
    context,
    kpi_text,
    kpis_equal,
    no_xss,
    seeded,
    sign_in,
    watch,
)


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
    custom = await seeded.api("/api/v1/stats/overview", **{"from": start, "to": end})
    await kpis_equal(page, custom)
    assert await page.text_content("#range-label") == f"{start} – {end}"
    # A range from the URL (a reload, a shared link) fills the From/To boxes.
    await page.reload()
    await kpis_equal(page, custom)
    assert await page.is_visible("#custom-range")
    assert (await page.input_value("#custom-from"), await page.input_value("#custom-to")) == (start, end)

    # 24h: hourly buckets.
    await page.click('[data-period="24h"]')
    await page.wait_for_url("**period=24h**")
    await kpis_equal(page, await seeded.api("/api/v1/stats/overview", period="24h"))
    await page.wait_for_selector("#main-chart canvas")
    assert await page.evaluate("() => window.__xss") is None
    assert not problems, problems
