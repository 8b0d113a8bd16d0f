"""`/js/metrics.js` in a real headless Chromium against the real app on uvicorn: it fetches the
running experiment, assigns a variant and keeps it in localStorage, and its page_view and clicks
reach `POST /api/v1/metrics/track` cross-origin (CORS preflight included) and are stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ab_support import experiment
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import experiment_events
from browser import keep_on_loopback, launch_browser, serve, wait_for
from factories import CHROME_WIN, make_site

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>A/B page</title>
<script defer src="{api}/js/metrics.js" data-site="acme.test"></script></head><body>
<button id="cta" onclick="abMetrics.track('click', {{element_id: 'hero-cta'}})">Go</button>
</body></html>"""


def site(api: str) -> Starlette:
    """The customer's site: one page, on its own server (a page Playwright fulfils itself counts
    as public address space, and Chromium then refuses its requests to loopback)."""

    async def landing(_request: Request) -> Response:
        return HTMLResponse(PAGE.format(api=api))

    return Starlette(routes=[Route("/landing", landing)])


def rows(services: Services) -> list[Any]:
    with services.db.sync.connect() as conn:
        stmt = select(experiment_events.c.type, experiment_events.c.variant_id, experiment_events.c.element)
        return list(conn.execute(stmt.order_by(experiment_events.c.event_id)))


async def test_script_assigns_keeps_and_tracks(live_server: tuple[str, Starlette]) -> None:
    api, app = live_server
    services: Services = app.state.services
    make_site(services)
    exp = experiment(services, variants=(("control", 1), ("variant-a", 1)))
    async with serve(site(api)) as site_url, launch_browser() as browser:
        page_url = site_url.replace("127.0.0.1", "localhost") + "/landing"  # another origin than the API
        context = await browser.new_context(user_agent=CHROME_WIN)
        blocked: list[str] = []
        await keep_on_loopback(context, blocked)
        page = await context.new_page()
        await page.goto(page_url)
        await wait_for(lambda: rows(services), what="the page_view")
        variant_id = int(await page.evaluate("localStorage.getItem('variant_id')"))
        slug = await page.evaluate("document.documentElement.dataset.variant")
        assert (variant_id, slug) in {(v.id, v.slug) for v in exp.variants}
        assert (await page.evaluate("localStorage.getItem('visitor_id')")).startswith("vis_")
        await page.click("#cta")
        await wait_for(lambda: len(rows(services)) == 2, what="the click")
        assert rows(services) == [("page_view", variant_id, None), ("click", variant_id, "hero-cta")]
        await page.reload()
        await page.evaluate("abMetrics.ready")
        assert int(await page.evaluate("localStorage.getItem('variant_id')")) == variant_id  # kept
        await context.close()
    assert blocked == []
