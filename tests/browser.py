"""Helpers for tests that drive a real headless Chromium (Debian's package, never `playwright install`).

Import from tests as `from browser import ...` (pytest puts `tests/` on sys.path). Kept out of
conftest.py so only browser tests pay for Playwright.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from playwright.async_api import Browser, BrowserContext, Route, async_playwright
from starlette.types import ASGIApp

from clock_plugin import FAKETIME_ENV
from servers import uvicorn_on_loopback

T = TypeVar("T")

# Every `async_playwright()` starts Playwright's Node.js driver (~0.4 s of CPU, mostly compiling
# its JavaScript), once per browser test. Node keeps the compiled code in this directory and the
# next drivers, of this run or a later one, load it: ~0.3 s. Keyed by Node's version and the
# files' contents, so an upgrade only adds entries. Only Node reads the variable.
os.environ.setdefault(
    "NODE_COMPILE_CACHE", str(Path(tempfile.gettempdir()) / "analytics-mcp-node-compile-cache")
)

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


# What Playwright 1.65's `chromium.launch(headless=True)` adds to a command line (read from one),
# given to the shared Chromium below so that it runs as a launched one did.
PLAYWRIGHT_SWITCHES = [
    *("--disable-field-trial-config", "--disable-background-networking"),
    *("--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"),
    *(
        "--disable-back-forward-cache",
        "--disable-breakpad",
        "--disable-component-extensions-with-background-pages",
    ),
    *("--disable-component-update", "--no-default-browser-check", "--disable-default-apps"),
    *("--disable-dev-shm-usage", "--disable-edgeupdater", "--disable-extensions"),
    "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,"
    "AimEnabled,PreconnectToSearch,msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion",
    "--enable-features=CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies",
    *("--allow-pre-commit-input", "--disable-hang-monitor", "--disable-ipc-flooding-protection"),
    *("--disable-popup-blocking", "--disable-prompt-on-repost", "--disable-renderer-backgrounding"),
    *(
        "--disable-updater-scheduler",
        "--force-color-profile=srgb",
        "--metrics-recording-only",
        "--no-first-run",
    ),
    *("--password-store=basic", "--use-mock-keychain", "--no-service-autorun"),
    *("--disable-search-engine-choice-screen", "--unsafely-disable-devtools-self-xss-warnings"),
    *("--enable-unsafe-swiftshader", "--edge-skip-compat-layer-relaunch", "--disable-stack-profiler"),
    *("--disable-infobars", "--disable-sync", "--do-not-de-elevate", "--headless", "--hide-scrollbars"),
    "--mute-audio",
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4",
    "--no-startup-window",
]
STARTUP_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


class SharedChromium:
    """One headless Chromium per test process, which every test's Playwright reaches over CDP:
    starting a browser cost each browser test ~2 s of wall time (more under load). A test gets
    browser contexts of its own (cookies, storage, cache, routes, viewport); `launch_browser`'s
    `close` closes those and disconnects. Chromium picks its debugging port itself (written to
    DevToolsActivePort in its profile), so no other program can hold it. It keeps the real clock
    under libfaketime, as Playwright's driver does (see clock_plugin)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.profile: tempfile.TemporaryDirectory[str] | None = None
        self.endpoint = ""

    def url(self) -> str:
        """The CDP endpoint, after (re)starting Chromium if it is not running."""
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.start()
        return self.endpoint

    def start(self) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="analytics-chromium-")
        env = {k: v for k, v in os.environ.items() if k not in FAKETIME_ENV}
        command = [chromium_path(), *PLAYWRIGHT_SWITCHES, *CHROMIUM_ARGS]
        command += [f"--user-data-dir={self.profile.name}", "--remote-debugging-port=0"]
        # Ended with this process even if it dies without atexit (started from the main thread:
        # the signal follows the thread that started it).
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self.endpoint = f"http://127.0.0.1:{self._port(Path(self.profile.name) / 'DevToolsActivePort')}"

    def _port(self, active: Path) -> int:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, "Chromium exited on start"
            lines = active.read_text().splitlines() if active.exists() else []
            if len(lines) >= 2:  # written whole once it listens: port, then the browser's path
                return int(lines[0])
            time.sleep(0.02)
        raise RuntimeError(f"Chromium did not listen within {STARTUP_SECONDS} s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.profile is not None:
            self.profile.cleanup()
            self.profile = None


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


SHARED = SharedChromium()
atexit.register(SHARED.stop)


@contextlib.asynccontextmanager
async def launch_browser() -> AsyncIterator[Browser]:
    """This process's headless Chromium, connected for the duration of the block; contexts made in
    the block are closed at its end."""
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(SHARED.url())
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
