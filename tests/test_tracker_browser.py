"""The tracker script (`/js/script.js`) in a real headless Chromium.

A small Starlette app on a real uvicorn serves the script, a few test pages and a recording
`POST /api/event`. Pages are opened as http://localhost:<port> while the script and the API live on
http://127.0.0.1:<port>, so the beacons are cross-origin, as on a real site. Every request that is
not for loopback is answered locally by Playwright (see `keep_on_loopback`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

import analytics_mcp
from browser import keep_on_loopback, launch_browser, serve, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one browser for the module

SCRIPT = Path(analytics_mcp.__file__).parent / "ingest" / "static" / "script.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
Event = dict[str, Any]

# Runs before any page script: records every touch of storage, cookies and typical fingerprinting
# APIs in window.__touched, and every beacon body (in send order) in window.__beacons.
SPY = """
(() => {
  const touched = [], beacons = [];
  Object.defineProperty(window, '__touched', {value: touched});
  Object.defineProperty(window, '__beacons', {value: beacons});
  const spy = (obj, prop, label) => {
    const d = Object.getOwnPropertyDescriptor(obj, prop);
    if (!d) return false;
    const w = {configurable: true, enumerable: d.enumerable};
    if (typeof d.value === 'function') {
      w.writable = true;
      w.value = function (...a) { touched.push(label); return d.value.apply(this, a); };
    }
    if (d.get) w.get = function () { touched.push(label + ' (get)'); return d.get.call(this); };
    if (d.set) w.set = function (v) { touched.push(label + ' (set)'); return d.set.call(this, v); };
    Object.defineProperty(obj, prop, w);
    return true;
  };
  for (const m of ['getItem', 'setItem', 'removeItem', 'clear', 'key'])
    spy(Storage.prototype, m, 'Storage.' + m);
  spy(Document.prototype, 'cookie', 'document.cookie');
  for (const p of ['localStorage', 'sessionStorage', 'indexedDB', 'cookieStore', 'caches'])
    spy(window, p, p) || spy(Window.prototype, p, p);
  spy(HTMLCanvasElement.prototype, 'getContext', 'canvas.getContext');
  spy(HTMLCanvasElement.prototype, 'toDataURL', 'canvas.toDataURL');
  for (const p of ['width', 'height', 'colorDepth']) spy(Screen.prototype, p, 'screen.' + p);
  for (const p of ['plugins', 'hardwareConcurrency', 'deviceMemory', 'userAgentData'])
    spy(Navigator.prototype, p, 'navigator.' + p);
  const beacon = Navigator.prototype.sendBeacon;
  Navigator.prototype.sendBeacon = function (url, body) {
    beacons.push(body);
    return beacon.call(this, url, body);
  };
})();
"""

QUEUE_STUB = """<script>
window.analytics = window.analytics ||
  function () { (window.analytics.q = window.analytics.q || []).push(arguments) };
analytics('Queued Event', {props: {source: 'queue'}});
</script>"""

HOME = """<!doctype html><html><head><meta charset="utf-8"><title>Tracker test: home</title>
{queue}
<script defer data-domain="shop.test" src="{script}"></script>
<style>body {{ font: 16px sans-serif; margin: 2em; }} a, button {{ display: block; margin: .5em 0; }}</style>
</head><body>
<h1>Tracker test page</h1>
<a id="outbound" href="http://example.invalid/landing?ref=home">Partner site (outbound)</a>
<a id="pdf" href="/files/report.pdf?token=secret">Annual report (PDF)</a>
<a id="export" href="/export" download>Export (download attribute)</a>
<a id="internal" href="/about">About us (internal, not an event)</a>
<button id="signup" data-analytics-event="Signup" data-analytics-prop-plan="pro"
  data-analytics-prop-cta="hero">Sign up <b id="inner">now</b></button>
<form id="newsletter" action="/thanks" method="get" data-analytics-event="Newsletter">
  <input name="id" value="shadows form.id"><input name="email" value="a@b.test">
  <button id="subscribe">Subscribe</button>
</form>
<div style="height: 3000px"></div>
</body></html>"""

SPA = """<!doctype html><html><head><meta charset="utf-8"><title>SPA</title>
<script defer data-domain="shop.test" src="{script}"></script>
</head><body style="margin: 0"><div style="height: 4000px">SPA</div></body></html>"""

HASH = """<!doctype html><html><head><meta charset="utf-8"><title>Hash routing</title>
<script defer data-domain="shop.test" data-hash="true" src="{script}"></script>
</head><body><h1>Hash router</h1></body></html>"""

NOT_FOUND = """<!doctype html><html><head><meta charset="utf-8"><title>Not found</title>
<meta name="analytics:404" content="true">
<script defer data-domain="shop.test" src="{script}"></script>
</head><body><h1>Page not found</h1></body></html>"""

PLAIN = """<!doctype html><html><head><meta charset="utf-8"><title>Plain</title>
<script defer data-domain="shop.test" src="{script}"></script></head><body>plain</body></html>"""


@dataclass
class Recorder:
    """What reached the test server's /api/event."""

    events: list[Event] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, content-type)

    def named(self, name: str, **match: Any) -> list[Event]:
        return [e for e in self.events if e["name"] == name and all(e.get(k) == v for k, v in match.items())]


def site_app(rec: Recorder) -> Starlette:
    def page(template: str, status: int = 200, queue: str = "") -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            # The script (and so the default API) lives on the other origin: 127.0.0.1 vs localhost.
            script = f"http://127.0.0.1:{request.url.port}/js/script.js"
            return HTMLResponse(template.format(script=script, queue=queue), status_code=status)

        return endpoint

    async def event(request: Request) -> Response:
        rec.requests.append((request.method, request.headers.get("content-type", "")))
        cors = {"Access-Control-Allow-Origin": "*"}
        if request.method == "OPTIONS":  # a preflight: the tracker must never cause one
            return Response(status_code=204, headers=cors)
        rec.events.append(json.loads(await request.body()))
        return Response(status_code=202, headers=cors)

    def script(_request: Request) -> Response:
        return FileResponse(SCRIPT, media_type="text/javascript")

    def no_content(_request: Request) -> Response:
        return Response(status_code=204)  # a 204 cancels the navigation: the page stays put

    return Starlette(
        routes=[
            Route("/", page(HOME, queue=QUEUE_STUB)),
            Route("/app", page(SPA)),
            Route("/hash", page(HASH)),
            Route("/missing", page(NOT_FOUND, status=404)),
            Route("/plain", page(PLAIN)),
            Route("/js/script.js", script),
            Route("/api/event", event, methods=["POST", "OPTIONS"]),
            Route("/files/{name}", no_content),
            Route("/export", no_content),
            Route("/thanks", no_content),
            Route("/about", no_content),
        ]
    )


@dataclass
class Site:
    base: str  # the pages' origin (localhost); the script and API are on 127.0.0.1
    rec: Recorder


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launch_browser() as b:
        yield b


@pytest_asyncio.fixture(loop_scope="module")
async def site() -> AsyncIterator[Site]:
    # A fresh server (and port) per test: late beacons from the previous test's pages, sent when
    # its context closed, cannot reach this one.
    rec = Recorder()
    async with serve(site_app(rec)) as url:
        yield Site(base=url.replace("127.0.0.1", "localhost"), rec=rec)


@dataclass
class Tab:
    context: BrowserContext
    page: Page
    blocked: list[str]  # non-loopback URLs the page tried to reach


@pytest_asyncio.fixture(loop_scope="module")
async def tab(browser: Browser) -> AsyncIterator[Tab]:
    context = await browser.new_context(locale="de-AT", viewport={"width": 800, "height": 600})
    blocked: list[str] = []
    await keep_on_loopback(context, blocked)
    await context.add_init_script(SPY)
    page = await context.new_page()
    yield Tab(context, page, blocked)
    await context.close()


async def assert_private(tab: Tab) -> None:
    """No storage, cookie or fingerprinting API was touched, and nothing was stored."""
    assert await tab.page.evaluate("window.__touched") == []
    assert await tab.page.evaluate("[document.cookie, localStorage.length, sessionStorage.length]") == [
        "",
        0,
        0,
    ]
    assert await tab.context.cookies() == []


async def beacons_sent(page: Page) -> list[Event]:
    """The bodies the page handed to sendBeacon, in the order it sent them."""
    texts = await page.evaluate("Promise.all(window.__beacons.map(b => b.text()))")
    return [json.loads(t) for t in texts]


async def test_pageview_clicks_forms_and_custom_events(site: Site, tab: Tab) -> None:
    rec, page = site.rec, tab.page
    await page.goto(
        site.base + "/?utm_source=newsletter&utm_campaign=spring", referer="https://news.example/item?id=1"
    )

    pageview = (await wait_for(lambda: rec.named("pageview"), what="first pageview"))[0]
    assert pageview == {
        "name": "pageview",
        "url": site.base + "/?utm_source=newsletter&utm_campaign=spring",
        "domain": "shop.test",
        "referrer": "https://news.example/item?id=1",
        "language": "de-AT",
        "event_id": pageview["event_id"],
    }
    # The call queued by the stub before the script loaded is replayed, after the pageview.
    queued = (await wait_for(lambda: rec.named("Queued Event"), what="queued event"))[0]
    assert queued["props"] == {"source": "queue"}
    assert queued["referrer"] == "https://news.example/item?id=1"
    assert [e["name"] for e in await beacons_sent(page)] == ["pageview", "Queued Event"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", pageview["event_id"]
    )

    await page.click("#outbound")
    out = await wait_for(lambda: rec.named("Outbound Link: Click"), what="outbound click")
    assert out[0]["props"] == {"url": "http://example.invalid/landing?ref=home"}
    assert page.url.startswith(site.base)  # the 204 from keep_on_loopback kept us here

    await page.click("#pdf")
    await page.click("#export")
    downloads = await wait_for(lambda: len(rec.named("File Download")) == 2 and rec.named("File Download"))
    # The query string (often a signed token) is left out of download URLs.
    assert sorted(d["props"]["url"] for d in downloads) == [
        site.base + "/export",
        site.base + "/files/report.pdf",
    ]

    await page.click("#internal")  # same-site link: neither outbound nor a download
    await page.click("#inner")  # inside the tagged button
    signup = await wait_for(lambda: rec.named("Signup"), what="data-analytics-event click")
    assert signup[0]["props"] == {"plan": "pro", "cta": "hero"}

    await page.click("#subscribe")
    form = await wait_for(lambda: rec.named("Form: Submission"), what="form submission")
    assert form[0]["props"] == {"path": "/", "form": "newsletter"}
    assert (await wait_for(lambda: rec.named("Newsletter"), what="tagged form"))[0].get("props") is None

    called = await page.evaluate(
        """() => new Promise(resolve => analytics('Trial Started', {
             props: {plan: 'pro', seats: 3}, revenue: {amount: 12.5, currency: 'EUR'},
             interactive: false, callback: () => resolve(true)}))"""
    )
    assert called is True
    trial = (await wait_for(lambda: rec.named("Trial Started"), what="custom event"))[0]
    assert trial["props"] == {"plan": "pro", "seats": 3}
    assert trial["revenue"] == {"amount": 12.5, "currency": "EUR"}
    assert trial["interactive"] is False

    items = [{"item_id": "SKU-1", "item_name": "Mug", "price": 9.5, "quantity": 2}]
    await page.evaluate(
        "items => analytics('purchase', {revenue: {amount: 19, currency: 'EUR'}, transaction_id: 'T-1',"
        " items})",
        items,
    )
    purchase = (await wait_for(lambda: rec.named("purchase"), what="purchase"))[0]
    assert purchase["transaction_id"] == "T-1"
    assert purchase["items"] == items
    assert "interactive" not in purchase  # the server's default applies

    ids = [e["event_id"] for e in rec.events]
    assert len(ids) == len(set(ids)) == 10
    assert rec.named("engagement") == []  # still on the page, still visible
    assert set(rec.requests) == {("POST", "text/plain")}  # simple requests, never a preflight
    assert tab.blocked == ["http://example.invalid/landing?ref=home"]
    await assert_private(tab)

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "tracker.png")


async def test_spa_navigation_and_engagement(site: Site, tab: Tab) -> None:
    rec, page = site.rec, tab.page
    await page.goto(site.base + "/app")
    await wait_for(lambda: rec.named("pageview"), what="first pageview")

    # Scroll down: (1800 + 600) / 4000 = 60% of the page has been seen.
    await page.evaluate("window.scrollTo(0, 1800)")
    await page.wait_for_function("window.scrollY === 1800")
    await page.evaluate("history.pushState({}, '', '/app/settings?tab=1')")
    second = await wait_for(
        lambda: rec.named("pageview", url=site.base + "/app/settings?tab=1"), what="SPA pageview"
    )
    assert second[0]["referrer"] is None  # only the first pageview has the document's referrer

    await page.evaluate("history.pushState({}, '', '/app/settings?tab=2')")  # same path: not a new page
    await page.go_back()  # popstate to ?tab=1: still the same path
    await page.go_back()  # popstate to /app: a new pageview
    await wait_for(lambda: len(rec.named("pageview")) == 3, what="pageview after popstate")

    await page.wait_for_timeout(20)  # some visible time on the page, so its engagement is > 0 ms
    # Hidden tab (headless pages are always visible, so fake the state), then leaving the page.
    await page.evaluate(
        """() => {
             Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
             document.dispatchEvent(new Event('visibilitychange'));
           }"""
    )
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # hidden again: no new time
    await page.evaluate(
        "delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange'))"
    )
    await page.wait_for_timeout(30)  # let some visible time pass on the page before leaving it
    sent = await beacons_sent(page)  # before leaving: __beacons goes with the page
    await page.goto(site.base + "/plain")
    await wait_for(lambda: len(rec.named("engagement")) == 4, what="engagement events")

    # Order as sent: each engagement closes the page before the next pageview.
    assert [(e["name"], e["url"].removeprefix(site.base)) for e in sent] == [
        ("pageview", "/app"),
        ("engagement", "/app"),
        ("pageview", "/app/settings?tab=1"),
        ("engagement", "/app/settings?tab=1"),
        ("pageview", "/app"),
        ("engagement", "/app"),  # tab hidden
    ]
    engagements = rec.named("engagement")
    assert all(isinstance(e["engagement_ms"], int) and e["engagement_ms"] > 0 for e in engagements)
    assert all(isinstance(e["scroll_depth"], int) and 0 <= e["scroll_depth"] <= 100 for e in engagements)
    app_views = rec.named("engagement", url=site.base + "/app")  # first view, tab hidden, pagehide
    assert max(e["scroll_depth"] for e in app_views) == 60
    assert app_views[-1]["engagement_ms"] >= 30  # the pagehide report: only the time since the last one
    assert len({e["event_id"] for e in rec.events}) == len(rec.events)
    assert tab.blocked == []


async def test_404_and_hash_routing(site: Site, tab: Tab) -> None:
    rec, page = site.rec, tab.page
    await page.goto(site.base + "/missing?from=old-link")
    missing = await wait_for(lambda: rec.named("404"), what="404 event")
    assert missing[0]["props"] == {"path": "/missing"}
    assert missing[0]["interactive"] is False
    assert missing[0]["url"] == site.base + "/missing?from=old-link"

    await page.goto(site.base + "/hash#/start")
    await wait_for(lambda: rec.named("pageview", url=site.base + "/hash#/start"), what="hash pageview")
    await page.evaluate("location.hash = '#/pricing'")
    routed = await wait_for(
        lambda: rec.named("pageview", url=site.base + "/hash#/pricing"), what="hash route"
    )
    assert routed[0]["hash"] is True
    assert "hash" not in rec.named("pageview", url=site.base + "/missing?from=old-link")[0]
    await assert_private(tab)


async def test_fetch_fallback_and_opt_out(site: Site, tab: Tab) -> None:
    rec, page = site.rec, tab.page
    await page.add_init_script("delete Navigator.prototype.sendBeacon")
    await page.goto(site.base + "/plain")
    await wait_for(lambda: rec.named("pageview"), what="pageview via fetch")
    assert rec.requests == [("POST", "text/plain")]  # a keepalive fetch, no preflight

    # Opted out: nothing is sent, but callbacks still run so pages waiting on them go on.
    await page.evaluate("window.__analyticsDisabled = true")
    assert (
        await page.evaluate("() => new Promise(r => analytics('Ignored', {callback: () => r(true)}))") is True
    )
    await page.evaluate("analytics('Also ignored')")
    await page.evaluate("window.__analyticsDisabled = false; analytics('Counted')")
    await wait_for(lambda: rec.named("Counted"), what="event after opting in again")
    assert [e["name"] for e in rec.events] == ["pageview", "Counted"]
    await assert_private(tab)


async def test_identify_sends_the_customer_id_with_later_events_and_stores_nothing(
    site: Site, tab: Tab
) -> None:
    """analytics.identify (docs/platform.md): an `identify` event with the id and traits, then the
    id on this page's later events; kept in memory only (no cookie, no storage)."""
    rec, page = site.rec, tab.page
    await page.goto(site.base + "/plain")
    await wait_for(lambda: rec.named("pageview"), what="pageview")
    await page.evaluate("analytics.identify('customer-42', {plan: 'pro', ltv: 120})")
    identify = (await wait_for(lambda: rec.named("identify"), what="identify"))[0]
    assert (identify["user_id"], identify["traits"]) == ("customer-42", {"plan": "pro", "ltv": 120})
    await page.evaluate("analytics('Upgrade', {props: {to: 'team'}})")
    upgrade = (await wait_for(lambda: rec.named("Upgrade"), what="identified event"))[0]
    assert upgrade["user_id"] == "customer-42" and "traits" not in upgrade
    assert "user_id" not in rec.named("pageview")[0]  # sent before identify
    await page.evaluate("analytics.identify('')")  # not an id: nothing sent
    await assert_private(tab)
    await page.goto(site.base + "/plain")  # a new page knows nobody until the site says so again
    pageviews = await wait_for(lambda: len(rec.named("pageview")) == 2 and rec.named("pageview"))
    assert "user_id" not in pageviews[1] and len(rec.named("identify")) == 1
