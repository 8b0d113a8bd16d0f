# ruff: noqa: F811  (the fixtures imported from dashboard_support are redefined as parameters)
"""The chart's granularity in real Chromium: the Hours / Days / Weeks / Months buttons offer what
the period allows, a click puts `interval` in the URL (reload keeps it), and the chart, its CSV link
and its previous-period line read the API in that interval: the page's timeseries answer equals
GET /api/v1/stats/timeseries with the same interval. Screenshot: tests/artifacts/chart-weeks.png."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import BrowserContext, Page, Response

from dashboard_support import (  # noqa: F401  (context and seeded are fixtures)
    ARTIFACTS,
    Seeded,
    context,
    seeded,
    sign_in,
    watch,
)

SERIES = "/api/v1/stats/timeseries"


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def is_series(response: Response) -> bool:
    return urlsplit(response.url).path == SERIES


async def buttons(page: Page) -> dict[str, bool]:
    """The offered buckets and which one is pressed ({} when the picker is hidden)."""
    if await page.is_hidden("#interval-picker"):
        return {}
    found = await page.eval_on_selector_all(
        "#interval-picker button", "els => els.map(b => [b.dataset.interval, b.ariaPressed === 'true'])"
    )
    return dict(found)


async def click_for_series(page: Page, selector: str) -> list[dict[str, Any]]:
    """Click, and collect the view's timeseries requests (current and previous period) until the
    chart is drawn again: [{query, rows}]."""
    seen: list[Response] = []

    def collect(response: Response) -> None:
        if is_series(response):
            seen.append(response)

    page.on("response", collect)
    await page.click(selector)
    await page.wait_for_selector("#main-chart canvas")
    await page.wait_for_selector("#main-chart .u-legend :text('previous period')")
    page.remove_listener("response", collect)
    return [{"query": query_of(r.url), "rows": (await r.json())["data"]} for r in seen]


async def test_switching_the_charts_granularity(seeded: Seeded, context: BrowserContext) -> None:
    page = await context.new_page()
    watch(page, seeded.errors)
    await sign_in(page, seeded.base, "/dashboard?period=90d")
    await page.wait_for_selector("#main-chart canvas")
    assert await buttons(page) == {"day": True, "week": False, "month": False}

    answers = await click_for_series(page, '#interval-picker [data-interval="week"]')
    assert query_of(page.url)["interval"] == "week"
    assert await buttons(page) == {"day": False, "week": True, "month": False}
    current = [a for a in answers if a["query"].get("period") == "90d"]
    previous = [a for a in answers if "from" in a["query"]]
    assert current and previous and all(a["query"]["interval"] == "week" for a in answers)
    assert current[-1]["rows"] == await seeded.api(SERIES, period="90d", interval="week")
    assert len(current[-1]["rows"]) in (13, 14, 15)  # 90 days: 13 whole weeks, the ends cut
    href = await page.get_attribute("#main-chart-card .csv-link", "href") or ""
    assert query_of(href)["interval"] == "week" and query_of(href)["format"] == "csv"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "chart-weeks.png"))

    answers = await click_for_series(page, '#interval-picker [data-interval="month"]')
    months = [a["rows"] for a in answers if a["query"].get("period") == "90d"][-1]
    assert months == await seeded.api(SERIES, period="90d", interval="month")
    assert all(row["date"].endswith("-01") for row in months) and 3 <= len(months) <= 4

    await page.reload()  # the URL holds the choice
    await page.wait_for_selector("#main-chart canvas")
    assert await buttons(page) == {"day": False, "week": False, "month": True}

    # 7d offers hours and days (a month is not offered: the chart shows days, the URL drops it).
    await page.click('.period[data-period="7d"]')
    await page.wait_for_url("**period=7d**")
    await page.wait_for_selector("#main-chart canvas")
    assert await buttons(page) == {"hour": False, "day": True}
    assert "interval" not in query_of(page.url)
    answers = await click_for_series(page, '#interval-picker [data-interval="hour"]')
    hours = [a["rows"] for a in answers if a["query"].get("period") == "7d"][-1]
    assert len(hours) in (167, 168, 169) and "T" in hours[0]["date"]  # 7 local days (a DST day: 23 or 25)
    await page.click('.period[data-period="24h"]')
    await page.wait_for_url("**period=24h**")
    await page.wait_for_selector("#main-chart canvas")
    assert await buttons(page) == {}  # 24h has hours only
    assert not seeded.errors, seeded.errors
