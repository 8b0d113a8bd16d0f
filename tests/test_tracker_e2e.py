"""End to end: a page in headless Chromium loads /js/script.js from the real app on uvicorn, and its
events land in the database through the real POST /api/event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events, visits
from browser import keep_on_loopback, launch_browser, serve, wait_for
from factories import CHROME_WIN, make_site

PAGE = """<!doctype html><html><head><title>Shop</title>
<script defer data-domain="acme.test" src="{api}/js/script.js"></script></head>
<body><h1>Welcome</h1>
<a id="out" href="https://elsewhere.example/offer">Partner</a>
<a id="pdf" href="/files/price-list.pdf">Price list</a>
<button id="spa" onclick="history.pushState({{}}, '', '/pricing?utm_source=x')">Pricing</button>
</body></html>"""


def stored(services: Services) -> list[Any]:
    with services.db.sync.connect() as conn:
        return conn.execute(select(events).order_by(events.c.ts, events.c.id)).all()


async def test_tracker_events_reach_the_database(live_server: tuple[str, Starlette]) -> None:
    api, app = live_server
    services: Services = app.state.services
    make_site(services)

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.format(api=api))

    site = Starlette(routes=[Route("/", page), Route("/files/price-list.pdf", page)])
    async with serve(site) as origin, launch_browser() as browser:
        # Headless Chromium says "HeadlessChrome", which the pipeline rightly drops as a bot.
        context = await browser.new_context(user_agent=CHROME_WIN)
        blocked: list[str] = []
        await keep_on_loopback(context, blocked)
        tab = await context.new_page()
        await tab.goto(origin.replace("127.0.0.1", "localhost") + "/")
        await wait_for(lambda: len(stored(services)) >= 1, what="the first pageview")
        await tab.click("#spa")
        await wait_for(lambda: sum(e.name == "pageview" for e in stored(services)) >= 2, what="SPA pageview")
        await tab.click("#out")
        await tab.click("#pdf", modifiers=["Alt"])  # Alt-click downloads without leaving the page
        await wait_for(
            lambda: {"Outbound Link: Click", "File Download"} <= {e.name for e in stored(services)}
        )
        await tab.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        assert await context.cookies() == []
        await context.close()

    rows = stored(services)
    names = [e.name for e in rows]
    assert names.count("pageview") == 2
    pageviews = [e.pathname for e in rows if e.name == "pageview"]
    assert pageviews == ["/", "/pricing"]
    outbound = next(e for e in rows if e.name == "Outbound Link: Click")
    assert "elsewhere.example/offer" in outbound.props
    download = next(e for e in rows if e.name == "File Download")
    assert "price-list.pdf" in download.props
    with services.db.sync.connect() as conn:
        [visit] = conn.execute(select(visits)).all()
    assert visit.pageviews == 2 and visit.interactions == 2  # one visit: clicks are interactive
    assert (visit.browser, visit.device_type, visit.entry_path) == ("Chrome", "desktop", "/")
    assert all(url.startswith("https://elsewhere.example") for url in blocked)
