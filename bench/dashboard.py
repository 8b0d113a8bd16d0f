"""Dashboard speed in a real Chromium, measured in the page with the Performance API: how long the
Traffic view takes to show its numbers after a navigation (the KPI tiles and the chart:
performance.mark 'traffic-numbers' in js/traffic.js; first contentful paint beside it), and how
long a period switch takes from the click to the new numbers, and to every card ('traffic-complete').

    python bench/dashboard.py --data-dir DIR [--runs 5]

DIR holds an `analytics-mcp demo` database (ANALYTICS_DATA_DIR of `analytics-mcp demo --no-serve`).
The server is `analytics-mcp serve` in its own process on loopback; the browser signs in as the
demo user. Printed: median and max of each figure in ms (targets: numbers under 1000 ms after a
navigation, a period switch under 300 ms), then the server's CPU time over the runs and the load
average. Not a test: the figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' server start and Chromium launch

from playwright.async_api import Page  # noqa: E402

from analytics_mcp.demo.run import DEFAULT_PASSWORD, EMAIL  # noqa: E402
from browser import keep_on_loopback, launch_browser  # noqa: E402
from servers import start_listening  # noqa: E402

PERIODS = ("7d", "30d", "90d", "12m")
MARKS = "() => performance.getEntriesByType('mark').filter(m => m.name.startsWith('traffic-')).length"


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#email", EMAIL)
    await page.fill("#password", os.environ.get("ANALYTICS_PASSWORD") or DEFAULT_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard**")


async def load_times(page: Page, url: str) -> tuple[float, float, float]:
    """(first contentful paint, numbers shown, every card) in ms after the navigation starts."""
    await page.goto(url)
    await page.wait_for_function(
        "() => performance.getEntriesByName('traffic-complete').length", timeout=60_000
    )
    return await page.evaluate(
        """() => [performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
                  performance.getEntriesByName('traffic-numbers')[0].startTime,
                  performance.getEntriesByName('traffic-complete')[0].startTime]"""
    )


async def switch_times(page: Page, period: str) -> tuple[float, float]:
    """(numbers, every card) in ms after a click on `period`."""
    before = await page.evaluate(MARKS)
    started = await page.evaluate(
        """(period) => { const t = performance.now();
                         document.querySelector(`[data-period='${period}']`).click(); return t; }""",
        period,
    )
    await page.wait_for_function(f"() => ({MARKS[6:]}) >= {before + 2}", timeout=60_000)
    return await page.evaluate(
        """(t) => { const all = performance.getEntriesByType('mark');
                    const last = (name) => all.filter(m => m.name === name).at(-1).startTime - t;
                    return [last('traffic-numbers'), last('traffic-complete')]; }""",
        started,
    )


def summary(name: str, values: list[float], target: float | None = None) -> str:
    goal = f" (target < {target:.0f} ms)" if target else ""
    return f"{name:<38} median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms{goal}"


async def measure(base: str, runs: int) -> None:
    async with launch_browser() as browser:
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC")
        blocked: list[str] = []
        await keep_on_loopback(context, blocked)
        page = await context.new_page()
        await sign_in(page, base)
        loads = [await load_times(page, f"{base}/dashboard?period=30d") for _ in range(runs)]
        switches = [await switch_times(page, p) for _ in range(runs) for p in PERIODS]
        await context.close()
    print(f"Traffic view on {base}, {runs} runs, Chromium 1440x900")
    print(summary("navigation: first contentful paint", [x[0] for x in loads]))
    print(summary("navigation: tiles and chart (30d)", [x[1] for x in loads], 1000))
    print(summary("navigation: every card (30d)", [x[2] for x in loads]))
    print(summary("period switch: tiles and chart", [x[0] for x in switches], 300))
    print(summary("period switch: every card", [x[1] for x in switches]))
    for period in PERIODS:
        own = [x[0] for x, p in zip(switches, PERIODS * runs, strict=True) if p == period]
        print(summary(f"  switch to {period}: tiles and chart", own))


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True, type=Path, help="an `analytics-mcp demo` data directory")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "ANALYTICS_DATA_DIR": str(args.data_dir.resolve())}
    serve = [sys.executable, "-m", "analytics_mcp.cli", "serve", "--host", "127.0.0.1", "--port"]
    # A first start migrates the demo database (minutes on a loaded machine): a long wait to listen.
    log = args.data_dir / "bench-server.log"
    server, port = start_listening(lambda p: [*serve, str(p)], env=env, output=log, timeout=600)
    try:
        load, cpu = os.getloadavg()[0], server_cpu_s(server.pid)
        asyncio.run(measure(f"http://127.0.0.1:{port}", args.runs))
        print(
            f"server CPU during the runs {server_cpu_s(server.pid) - cpu:.1f} s (user+system); "
            f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
