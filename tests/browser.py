"""Helpers for tests that drive a real headless Chromium (Debian's package, never `playwright install`).

Import from tests as `from browser import ...` (pytest puts `tests/` on sys.path). Kept out of
conftest.py so only browser tests pay for Playwright.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from playwright.async_api import Browser, BrowserContext, Route, async_playwright
from starlette.types import ASGIApp

from servers import uvicorn_on_loopback

T = TypeVar("T")

# Without the background-networking flags Chromium keeps calling home, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Every URL that is not on the loopback interface.
NOT_LOOPBACK = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)(:\d+)?/)")


def chromium_path() -> str:
    """The system Chromium; a missing browser is a failure, not a skip (CI installs it)."""
    path = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    if path is None:
        raise RuntimeError("Chromium not found: install Debian's package (apt-get install -y chromium)")
    return path


@contextlib.asynccontextmanager
async def launch_browser() -> AsyncIterator[Browser]:
    """A headless Chromium for the duration of the block."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def keep_on_loopback(context: BrowserContext, blocked: list[str]) -> None:
    """Answer every non-loopback request in `context` with an empty 204, recording its URL in `blocked`.

    A 204 also cancels a navigation, so clicking an outbound link leaves the page where it is.
    """

    async def answer(route: Route) -> None:
        blocked.append(route.request.url)
        await route.fulfill(status=204)

    await context.route(NOT_LOOPBACK, answer)


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Run `app` on a real uvicorn at 127.0.0.1:<free port>; yields its base URL (no trailing slash)."""
    async with uvicorn_on_loopback(app, lifespan="off") as base:
        yield base


async def wait_for(probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
