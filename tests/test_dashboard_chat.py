"""The chat panel in a real headless Chromium: the real /api/v1/chat (real `anthropic` client) against
the scripted fake Messages API. A question streams back text, "used tool" chips, a chart and tables;
Markdown is rendered without raw HTML or remote images; tracker payloads stay text. Screenshot:
tests/artifacts/chat.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.async_api import BrowserContext, Page, Request
from starlette.applications import Starlette

from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.storage import accounts
from browser import keep_on_loopback, launch_browser
from chat_support import ago, fake, seed, services_of, settings
from factories import CHROME_WIN, event
from fake_anthropic import FakeAnthropic, ToolCall, Turn

__all__ = ["fake", "settings"]  # fixtures from chat_support, used here by name

ARTIFACTS = Path(__file__).parent / "artifacts"
EMAIL, PASSWORD = "chat@acme.test", "chat password 123"
XSS_PATH = "/<img src=x onerror=window.__xss=1>"
ANSWER = [
    "Here is **your traffic** for the last 7 days.\n\n",
    "- Top page: `/`\n- Read the [docs](https://example.com/docs) or [this](javascript:window.__xss=1)\n\n",
    "<img src=x onerror=window.__xss=1> ![chart](https://evil.example/x.png)\n",
]


@pytest.fixture
async def signed_in(live_server: tuple[str, Starlette]) -> AsyncIterator[tuple[str, Page]]:
    base, app = live_server
    services = services_of(app)
    seed(services)
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, EMAIL, "acme", PASSWORD)
    payloads = [event(ago(1 + i / 10), XSS_PATH, ip=f"198.51.100.{50 + i}") for i in range(3)]
    assert ingest_events(services.ingestor, payloads).accepted == 3
    async with launch_browser() as browser:
        context: BrowserContext = await browser.new_context(
            user_agent=CHROME_WIN, viewport={"width": 1360, "height": 900}
        )
        blocked: list[str] = []
        await keep_on_loopback(context, blocked)
        page = await context.new_page()
        await page.goto(base + "/login")
        await page.fill("#email", EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector('#kpis .kpi[data-metric="visitors"]')
        yield base, page
        await context.close()
    assert not blocked, blocked  # no remote image or anything else left the machine


def chat_bodies(page: Page) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/api/v1/chat") and request.method == "POST":
            bodies.append(orjson.loads(request.post_data or "{}"))
            assert request.headers.get("x-csrf-token")

    page.on("request", record)
    return bodies


async def ask(page: Page, question: str) -> None:
    await page.fill("#chat-input", question)
    await page.click("#chat-send")


async def test_chat_panel_streams_an_answer_with_charts(
    signed_in: tuple[str, Page], fake: FakeAnthropic
) -> None:
    _base, page = signed_in
    problems: list[str] = []
    page.on("dialog", lambda dialog: problems.append(dialog.message))
    page.on("pageerror", lambda error: problems.append(str(error)))
    bodies = chat_bodies(page)
    fake.push(
        Turn(
            text="Let me look.",
            tools=[
                ToolCall("analytics-overview", {"period": "7d"}),
                ToolCall("daily-breakdown", {"period": "7d"}),
                ToolCall("top-pages", {"period": "7d"}),
            ],
        ),
        Turn(text=ANSWER),
    )
    await page.click("#ai-button")
    await ask(page, "How was my traffic this week?")
    answer = page.locator("#chat-messages .msg-assistant").last
    await answer.locator(".msg-meta").wait_for()  # the `done` event arrived
    assert await answer.locator(".tool-chip.done").count() == 3
    await answer.locator(".chat-chart canvas").first.wait_for()
    assert await answer.locator(".mini-kpi").count() >= 4
    assert await answer.locator(f'.tool-table td:text-is("{XSS_PATH}")').count() == 1
    assert await answer.locator("strong:text-is('your traffic')").count() == 1
    link = answer.locator('a[href="https://example.com/docs"]')
    assert await link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert await answer.locator("a").count() == 1  # the javascript: link stayed text
    assert await page.locator("#chat-panel img, #chat-panel script").count() == 0
    assert "<img src=x onerror=window.__xss=1>" in (await answer.locator(".md").last.text_content() or "")
    assert await page.evaluate("() => window.__xss") is None
    assert bodies[0]["conversation_id"] is None and bodies[0]["message"] == "How was my traffic this week?"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "chat.png"))
    await page.eval_on_selector("#chat-messages", "list => { list.scrollTop = 0; }")
    await page.locator("#chat-panel").screenshot(path=str(ARTIFACTS / "chat-top.png"))

    # A follow-up continues the conversation; "New chat" starts another.
    fake.push(Turn(text="Still the same."))
    await ask(page, "And yesterday?")
    await page.locator("#chat-messages .msg-assistant .msg-meta").nth(1).wait_for()
    assert isinstance(bodies[1]["conversation_id"], str) and bodies[1]["conversation_id"]
    assert len(fake.requests[-1]["messages"]) > 1  # the server resumed the earlier turns
    await page.click("#chat-new")
    fake.push(Turn(text="Fresh start."))
    await ask(page, "Hello again")
    await page.locator("#chat-messages .msg-assistant .msg-meta").first.wait_for()
    assert bodies[2]["conversation_id"] is None
    assert not problems, problems


async def test_chat_panel_shows_why_it_is_unavailable(
    signed_in: tuple[str, Page], live_server: tuple[str, Starlette]
) -> None:
    _base, page = signed_in
    _, app = live_server
    services_of(app).settings.anthropic_api_key = None  # the server has no key
    await page.click("#ai-button")
    await page.wait_for_selector("#chat-locked")
    assert "ANTHROPIC_API_KEY" in (await page.text_content("#chat-locked") or "")
    assert await page.is_disabled("#chat-input")
