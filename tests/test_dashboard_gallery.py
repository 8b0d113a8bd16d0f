"""Issue 17, the screens the report tests do not photograph, at 1440x900 and 390x844 in light and
dark: a new site's onboarding, the HTML 404 page and the AI chat with an answer (the scripted fake
Messages API), each checked with axe-core (no serious or critical violation), fitting the screen,
and the phone's top bar on one row. Screenshots: tests/artifacts/gallery-{device}-{scheme}-{screen}.png
(the traffic, commerce and experiments tabs are reports-*, segments segments-*, settings and the
share view admin-*)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page

from analytics_mcp.config import Settings
from axe_support import axe_violations
from chat_support import API_KEY, fake
from dashboard_support import ARTIFACTS, Seeded, browser_context, seeded, sign_in, watch
from factories import make_site
from fake_anthropic import FakeAnthropic, ToolCall, Turn
from test_dashboard_phone import fits_the_screen

__all__ = ["fake", "seeded"]  # fixtures, used by name
pytestmark = pytest.mark.backends("sqlite")
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
NEW_SITE = "new.acme.test"


@pytest.fixture
async def settings(settings: Settings, fake: FakeAnthropic) -> AsyncIterator[Settings]:
    """The suite's settings with the AI chat on, talking to the fake Messages API."""
    settings.anthropic_api_key = API_KEY
    settings.anthropic_base_url = fake.base_url
    settings.anthropic_model = "claude-test-model"
    yield settings


async def one_row_top_bar(page: Page, where: str) -> None:
    """Every visible item of the top bar sits on one line (the phone's used to wrap 'Sign out')."""
    tops = await page.eval_on_selector_all(
        ".topbar > *",
        "els => els.filter(e => e.offsetParent).map(e => Math.round(e.getBoundingClientRect().top))",
    )
    heights = await page.eval_on_selector(".topbar", "bar => bar.getBoundingClientRect().height")
    assert heights < 70 and tops, f"{where}: the top bar wraps ({heights}px, item tops {tops})"


async def photograph(page: Page, where: str, problems: dict[str, list[str]]) -> None:
    await fits_the_screen(page, where)
    await page.screenshot(path=str(ARTIFACTS / f"gallery-{where}.png"), full_page=True)
    problems[where] = await axe_violations(page)


async def chat_answer(page: Page, fake: FakeAnthropic) -> None:
    fake.push(
        Turn(text="Let me look.", tools=[ToolCall("analytics-overview", {"period": "7d"})]),
        Turn(text=["Your traffic this week: **", "steady**, with most visitors on `/pricing`."]),
    )
    await page.click("#ai-button")
    await page.fill("#chat-input", "How was my traffic this week?")
    await page.click("#chat-send")
    await page.locator("#chat-messages .msg-assistant .msg-meta").last.wait_for(timeout=15_000)


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_onboarding_404_and_chat_are_photographed_and_pass_axe(
    seeded: Seeded, fake: FakeAnthropic, scheme: str
) -> None:
    make_site(seeded.app.state.services, domain=NEW_SITE)
    problems: dict[str, list[str]] = {}
    ARTIFACTS.mkdir(exist_ok=True)
    for device, (width, height) in VIEWPORTS.items():
        async with browser_context(width, height) as ctx:
            page = await ctx.new_page()
            await page.emulate_media(color_scheme=scheme)
            watch(page, seeded.errors)
            await sign_in(page, seeded.base, f"/dashboard?site={NEW_SITE}")
            await page.wait_for_selector("#onboarding:not([hidden])", timeout=10_000)
            await one_row_top_bar(page, f"{device}-{scheme}-onboarding")
            await photograph(page, f"{device}-{scheme}-onboarding", problems)

            before = len(seeded.errors)
            answer = await page.goto(seeded.base + "/nope")
            assert answer is not None and answer.status == 404
            del seeded.errors[before:]  # the console's own line about the 404 asked for
            await photograph(page, f"{device}-{scheme}-404", problems)

            await page.goto(seeded.base + "/dashboard?period=7d")
            await page.wait_for_selector("#kpis .kpi-value[data-value]")
            await one_row_top_bar(page, f"{device}-{scheme}-traffic")
            await chat_answer(page, fake)
            await photograph(page, f"{device}-{scheme}-chat", problems)
    found = {where: rules for where, rules in problems.items() if rules}
    (ARTIFACTS / f"gallery-axe-{scheme}.json").write_text(json.dumps(found, indent=1))
    assert not found, found
    assert not seeded.errors, seeded.errors
