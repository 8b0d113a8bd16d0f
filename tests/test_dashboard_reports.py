# ruff: noqa: F811  (the fixture imported from dashboard_support is redefined as a parameter)
"""Issue 17, the report views in Chromium: the filter bar (add, change, remove, reload, back: the
URL holds the filters and the numbers follow the API's), a card's CSV download equal to the API's
answer, what the tracker collects (custom events and their properties, outbound links, downloads,
404s, entry/exit pages, scroll depth, the country map), an honest comparison (a previous period
before the site's data says "new"; the previous period drawn on the chart), axe-core with no
serious or critical violation, and screenshots of every tab at 1440x900 and 390x844 in light and
dark (tests/artifacts/reports-*.png)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import BrowserContext, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from dashboard_support import (  # noqa: F401  (seeded and context are fixtures)
    ARTIFACTS,
    Seeded,
    browser_context,
    context,
    kpis_equal,
    seeded,
    sign_in,
    watch,
    when,
)
from factories import event

pytestmark = pytest.mark.backends("sqlite")
AXE = Path(__file__).parents[1] / "build/npm/node_modules/axe-core/axe.min.js"
OUT = "Outbound Link: Click"
BEHAVIOUR = [  # what the tracker sends beyond pageviews, from two countries (US and DE networks)
    event(when(2, 10), "/docs", ip="8.8.8.8"),
    event(when(2, 11), "/docs", ip="8.8.8.8", name="engagement", engagement_ms=30_000, scroll_depth=90),
    event(when(2, 12), "/docs", ip="8.8.8.8", name=OUT, props={"url": "https://github.com/acme"}),
    event(when(2, 13), "/docs", ip="8.8.8.8", name="File Download", props={"url": "https://acme.test/a.pdf"}),
    event(when(3, 10), "/old", ip="194.25.0.60"),
    event(when(3, 11), "/old", ip="194.25.0.60", name="404", props={"path": "/old"}, interactive=False),
    event(when(3, 12), "/old", ip="194.25.0.60", name=OUT, props={"url": "https://github.com/acme"}),
]


@pytest.fixture
def reports(seeded: Seeded) -> Seeded:
    services: Services = seeded.app.state.services
    summary = ingest_events(services.ingestor, BEHAVIOUR)
    assert summary.accepted == len(BEHAVIOUR), summary
    return seeded


async def open_view(context: BrowserContext, seeded: Seeded, query: str) -> Page:
    page = await context.new_page()
    watch(page, seeded.errors)
    await sign_in(page, seeded.base, f"/dashboard{query}")
    return page


def filters_in_url(page: Page) -> list[str]:
    return parse_qs(urlsplit(page.url).query).get("f", [])


async def overview(seeded: Seeded, **params: str) -> dict[str, Any]:
    data: dict[str, Any] = await seeded.api("/api/v1/stats/overview", period="30d", **params)
    return data


async def test_filter_bar_round_trip(context: BrowserContext, seeded: Seeded) -> None:
    page = await open_view(context, seeded, "?period=30d")
    await kpis_equal(page, await overview(seeded))
    # add
    await page.click("#add-filter")
    await page.select_option("#filter-dimension", "page")
    await page.select_option("#filter-operator", "contains")
    await page.fill("#filter-value", "pric")
    await page.click("#filter-form button[type=submit]")
    await page.wait_for_function("() => location.search.includes('f=')")
    assert filters_in_url(page) == ["page~pric"]
    await kpis_equal(page, await overview(seeded, filters="page~pric"))
    # change: the chip opens the form with its values
    await page.click(".chip-edit")
    assert await page.input_value("#filter-value") == "pric"
    await page.select_option("#filter-operator", "is_not")
    await page.fill("#filter-value", "/pricing")
    await page.click("#filter-form button[type=submit]")
    await page.wait_for_function("() => new URLSearchParams(location.search).get('f') === 'page!=/pricing'")
    await kpis_equal(page, await overview(seeded, filters="page!=/pricing"))
    # a second filter on another dimension, then reload: both chips and the numbers come back
    await page.click("#add-filter")
    await page.select_option("#filter-dimension", "language")
    await page.fill("#filter-value", "de")
    await page.click("#filter-form button[type=submit]")
    await page.wait_for_function("() => new URLSearchParams(location.search).getAll('f').length === 2")
    both = "page!=/pricing;language==de"
    await page.reload()
    assert filters_in_url(page) == ["page!=/pricing", "language==de"]
    assert await page.locator(".chip").count() == 2
    assert "is not" in (await page.text_content('.chip[data-dimension="page"]') or "")
    await kpis_equal(page, await overview(seeded, filters=both))
    # back goes to the one-filter view, remove leaves none
    await page.go_back()
    await page.wait_for_function("() => new URLSearchParams(location.search).getAll('f').length === 1")
    await kpis_equal(page, await overview(seeded, filters="page!=/pricing"))
    await page.click(".chip-remove")
    await page.wait_for_function("() => !location.search.includes('f=')")
    assert await page.locator(".chip").count() == 0
    await kpis_equal(page, await overview(seeded))
    assert not seeded.errors, seeded.errors


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_cells(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


async def download(page: Page, card: str) -> str:
    async with page.expect_download() as info:
        await page.click(f"#{card} .csv-link")
    path = await (await info.value).path()
    return Path(path).read_text(encoding="utf-8")


async def test_csv_download_equals_the_api_answer(context: BrowserContext, reports: Seeded) -> None:
    page = await open_view(context, reports, "?period=30d")
    await page.wait_for_selector("#card-pages table.bars")
    pages = await reports.api("/api/v1/stats/pages", period="30d", limit="10")
    assert rows_of(await download(page, "card-pages")) == as_cells(pages)
    await page.click('#card-pages .mini-tab[data-tab="entry_pages"]')
    await page.wait_for_selector("#card-pages table.bars")
    entry = await reports.api("/api/v1/stats/entry-pages", period="30d", limit="10")
    assert rows_of(await download(page, "card-pages")) == as_cells(entry)
    await page.click('#card-events .mini-tab[data-tab="outbound"]')
    await page.wait_for_selector("#card-events table.bars")
    props = await reports.api("/api/v1/stats/event-properties", period="30d", limit="10", event=OUT)
    values = [
        {"property": "url", "value": v["value"], "events": v["events"]}
        for v in props["properties"][0]["values"]
    ]
    assert rows_of(await download(page, "card-events")) == as_cells(values)
    series = await reports.api("/api/v1/stats/timeseries", period="30d")
    assert rows_of(await download(page, "main-chart-card")) == as_cells(series)
    await page.click('#report-tabs .tab[data-tab="commerce"]')
    await page.wait_for_selector("#card-products table.bars")
    products = await reports.api("/api/v1/stats/ecommerce/products", period="30d", limit="10")
    assert rows_of(await download(page, "card-products")) == as_cells(products)


async def cell_texts(page: Page, card: str) -> list[str]:
    await page.wait_for_selector(f"#{card} table.bars")
    return await page.eval_on_selector_all(
        f"#{card} td.name-cell .row-link, #{card} td.name-cell .row-name",
        "els => els.map(e => e.textContent)",
    )


async def test_everything_collected_is_shown(context: BrowserContext, reports: Seeded) -> None:
    page = await open_view(context, reports, "?period=30d")
    await page.wait_for_selector("#card-events table.bars")
    assert {OUT, "File Download", "404"} <= set(await cell_texts(page, "card-events"))
    await page.click(f'#card-events .row-link:text-is("{OUT}")')  # drill into its properties
    await page.wait_for_selector("#card-events .drill-head")
    assert await cell_texts(page, "card-events") == ["https://github.com/acme"]
    await page.click("#card-events .drill-head button")
    for tab, expected in (
        ("outbound", ["https://github.com/acme"]),
        ("downloads", ["https://acme.test/a.pdf"]),
        ("not_found", ["/old"]),
    ):
        await page.click(f'#card-events .mini-tab[data-tab="{tab}"]')
        await page.wait_for_selector(f'#card-events .mini-tab.active[data-tab="{tab}"]')
        assert await cell_texts(page, "card-events") == expected, tab
    await page.click('#card-pages .mini-tab[data-tab="scroll"]')
    await page.wait_for_selector("#card-pages td.num:text-is('90%')")
    await page.click('#card-pages .mini-tab[data-tab="exit_pages"]')
    await page.wait_for_function("() => document.querySelector('#card-pages th')?.textContent === 'Page'")
    assert "/old" in await cell_texts(page, "card-pages")
    # the map: the two countries shaded, a click filters by one
    await page.wait_for_selector("#card-countries svg.world-map")
    shaded = await page.eval_on_selector_all(
        "#card-countries path.land:not(.shade-0)", "ps => ps.map(p => p.dataset.country)"
    )
    assert set(shaded) == {"US", "DE"}, shaded
    await page.click('#card-countries path[data-country="DE"]')
    await page.wait_for_function("() => new URLSearchParams(location.search).get('f') === 'country==DE'")
    assert not reports.errors, reports.errors


async def test_a_previous_period_before_the_data_is_marked(context: BrowserContext, seeded: Seeded) -> None:
    # The seeded traffic spans 40 days: 90d's previous period (91-180 days ago) has none before it.
    page = await open_view(context, seeded, "?period=90d")
    await page.wait_for_function("() => document.querySelector('#kpis .kpi-change')?.textContent === 'new'")
    title = await page.get_attribute('#kpis .kpi[data-metric="visitors"] .kpi-change', "title")
    assert title and "starts before this site's first recorded visit" in title
    await page.wait_for_selector(
        "#main-chart .u-legend :text('Visitors, previous period (before the site’s data)')"
    )
    await page.click('#report-tabs .tab[data-tab="commerce"]')  # the shop's tiles say it too
    shop_new = "() => document.querySelector('#commerce-kpis .kpi-change')?.textContent === 'new'"
    await page.wait_for_function(shop_new)
    await page.click('#report-tabs .tab[data-tab="traffic"]')
    # 7d's previous period holds data and follows more data: real changes, and its line
    await page.click('.period[data-period="7d"]')
    await page.wait_for_selector("#main-chart .u-legend :text-is('Visitors, previous period')")
    changes = await page.eval_on_selector_all("#kpis .kpi-change", "els => els.map(e => e.textContent)")
    assert "new" not in changes and all(c and c != "…" for c in changes), changes
    assert not seeded.errors, seeded.errors


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
}"""
TABS = ("traffic", "commerce", "experiments")


async def settle(page: Page, where: str) -> None:
    """Wait until nothing on the page is loading (no placeholder left)."""
    busy = "[aria-busy=true], .skeleton, .skeleton-line, .kpi-change.pending"
    try:
        visible = f"[...document.querySelectorAll('{busy}')].filter(e => e.offsetParent !== null)"
        await page.wait_for_function(f"() => !{visible}.length", timeout=15_000)
    except PlaywrightTimeout:
        left = await page.evaluate(f"() => {visible}.map(e => e.closest('[id]')?.id)")
        raise AssertionError(f"{where}: still loading {left}") from None


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_tab_passes_axe_and_is_photographed(reports: Seeded, scheme: str) -> None:
    assert AXE.exists(), "axe-core is missing: run `make vendor`"
    problems: dict[str, list[str]] = {}
    for device, (width, height) in {"desktop": (1440, 900), "phone": (390, 844)}.items():
        async with browser_context(width, height) as ctx:
            page = await ctx.new_page()
            await page.emulate_media(color_scheme=scheme)
            watch(page, reports.errors)
            await sign_in(page, reports.base, "/dashboard?period=30d")
            for tab in TABS:
                await page.click(f'#report-tabs .tab[data-tab="{tab}"]')
                await settle(page, f"{device}/{scheme}/{tab}")
                await page.screenshot(
                    path=str(ARTIFACTS / f"reports-{device}-{scheme}-{tab}.png"), full_page=True
                )
                if not await page.evaluate("() => 'axe' in window"):  # CDP evaluation: not under the CSP
                    await page.evaluate(AXE.read_text(encoding="utf-8"))
                found = await page.evaluate(AXE_RUN)
                if found:
                    problems[f"{device}/{tab}"] = found
    (ARTIFACTS / f"reports-axe-{scheme}.json").write_text(json.dumps(problems, indent=1))
    assert not problems, problems
    assert not reports.errors, reports.errors
