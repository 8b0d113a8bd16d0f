# ruff: noqa: F811  (the fixtures imported from dashboard_support are redefined as parameters)
"""The chart's granularity in real Chromium: the Hours / Days / Weeks / Months buttons offer what
the period allows, a click puts `interval` in the URL (reload keeps it), and the chart, its CSV link
and its previous-period line read the API in that interval: the page's timeseries answer equals
GET /api/v1/stats/timeseries with the same interval. Week and month buckets are ticked at their
own starts (Mondays, 1sts). The E-commerce revenue chart has the same picker and reads
/stats/ecommerce/revenue-timeseries in the chosen interval. Screenshots:
tests/artifacts/chart-weeks.png, chart-months.png, revenue-weeks.png."""

from __future__ import annotations

from datetime import date
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
REVENUE = "/api/v1/stats/ecommerce/revenue-timeseries"


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def is_series(response: Response) -> bool:
    return urlsplit(response.url).path == SERIES


async def ticks(page: Page, chart: str, interval: str) -> list[date]:
    """The days the chart's x axis is labelled at (charts.js puts them in data-ticks) once the
    chart of `interval` is drawn (a week's ticks are never all 1sts, a month's always)."""
    firsts = "true" if interval == "month" else "false"
    await page.wait_for_function(
        f"""() => {{
            const days = (document.querySelector('{chart}')?.dataset.ticks ?? '').split(' ').filter(Boolean);
            return days.length > 1 && days.every((day) => day.endsWith('-01')) === {firsts};
        }}"""
    )
    listed = await page.get_attribute(chart, "data-ticks") or ""
    return [date.fromisoformat(day) for day in listed.split()]


async def buttons(page: Page, picker: str = "#interval-picker") -> dict[str, bool]:
    """The offered buckets and which one is pressed ({} when the picker is hidden)."""
    if await page.is_hidden(picker):
        return {}
    found = await page.eval_on_selector_all(
        f"{picker} button", "els => els.map(b => [b.dataset.interval, b.ariaPressed === 'true'])"
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
    weeks = await ticks(page, "#main-chart", "week")
    assert len(weeks) >= 4 and all(day.weekday() == 0 for day in weeks), weeks
    assert {str(day) for day in weeks} <= {row["date"] for row in current[-1]["rows"]}
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "chart-weeks.png"))

    answers = await click_for_series(page, '#interval-picker [data-interval="month"]')
    months = [a["rows"] for a in answers if a["query"].get("period") == "90d"][-1]
    assert months == await seeded.api(SERIES, period="90d", interval="month")
    assert all(row["date"].endswith("-01") for row in months) and 3 <= len(months) <= 4
    assert [str(day) for day in await ticks(page, "#main-chart", "month")] == [row["date"] for row in months]
    await page.screenshot(path=str(ARTIFACTS / "chart-months.png"))

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


async def test_the_revenue_chart_has_the_same_buckets(seeded: Seeded, context: BrowserContext) -> None:
    page = await context.new_page()
    watch(page, seeded.errors)
    await sign_in(page, seeded.base, "/dashboard?period=90d&tab=commerce")
    await page.wait_for_selector("#revenue-chart canvas")
    assert await buttons(page, "#revenue-interval-picker") == {"day": True, "week": False, "month": False}
    async with page.expect_response(lambda r: urlsplit(r.url).path == REVENUE) as answer:
        await page.click('#revenue-interval-picker [data-interval="week"]')
    response = await answer.value
    assert query_of(response.url)["interval"] == "week" and query_of(page.url)["interval"] == "week"
    rows = (await response.json())["data"]
    assert rows == await seeded.api(REVENUE, period="90d", interval="week")
    assert sum(row["revenue"] for row in rows) > 0
    assert all(date.fromisoformat(row["date"]).weekday() == 0 for row in rows)
    weeks = await ticks(page, "#revenue-chart", "week")
    assert len(weeks) >= 4 and {str(day) for day in weeks} <= {row["date"] for row in rows}
    href = await page.get_attribute("#revenue-chart-card .csv-link", "href") or ""
    assert query_of(href)["interval"] == "week" and query_of(href)["format"] == "csv"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "revenue-weeks.png"))
    # The traffic chart reads the same choice.
    await page.click('.tab[data-tab="traffic"]')
    await page.wait_for_selector("#main-chart canvas")
    assert await buttons(page) == {"day": False, "week": True, "month": False}
    assert not seeded.errors, seeded.errors
