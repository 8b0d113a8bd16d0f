"""The dashboard's Segments tab with the events in ClickHouse (chDB in process; issue 15), in real
Chromium against a real uvicorn, "now" pinned: the seeded tenant of
tests/test_dashboard_segments_browser.py (segments computed on four days, two overlapping, one
never computed, a webhook with sync logs, a subscription) and a rival tenant, with the memberships
in ClickHouse and the profiles in the accounts database. The tab shows what the segment reports,
/api/analytics/activations/ and /usage/ answer on this store, and /overview/ agrees with the
reports; events stored in ClickHouse (one written twice, an engagement report) count once in the
usage bar; the rival's marker strings never appear. Photographed at 1440x900
(tests/artifacts/segments-clickhouse.png)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analytics_mcp.config import Settings
from analytics_mcp.http_api import platform_analytics
from analytics_mcp.platform.reports import membership_totals
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from clickhouse_support import chdb_url
from conftest import serving
from dashboard_support import ARTIFACTS, EMAIL, PASSWORD, browser_context, sign_in, watch
from factories import make_site, make_token
from platform_support import subscribe
from test_dashboard_segments_browser import MARKER, NOW, analytics, open_tab, seed_tenant, shows_the_endpoints


def store_events(house: ClickHouseEvents, site_id: int, rival_site_id: int) -> None:
    """Events of May 2026 in ClickHouse, as the writer leaves them: 4 of the tenant's (one
    pageview written twice, with a later version; an engagement report, not an event of its own;
    one event of April, outside the period) and 2 of the rival's."""
    mine = [(1, "05-02 10:00:00", "pageview", 1), (1, "05-02 10:00:00", "pageview", 2),
            (2, "05-02 10:00:30", "engagement", 1), (3, "05-10 23:59:59", "signup", 1),
            (4, "05-31 17:00:00", "pageview", 1), (5, "05-01 00:00:00", "login", 1),
            (6, "04-30 23:59:59", "pageview", 1)]  # fmt: skip
    theirs = [(7, "05-03 10:00:00", "pageview", 1), (8, "05-04 10:00:00", "login", 1)]
    rows = [(site_id, *row) for row in mine] + [(rival_site_id, *row) for row in theirs]
    values = ", ".join(
        f"({i}, {site}, {i}, {i}, toDateTime64('2026-{at}', 3, 'UTC'), '{name}', 'a.test', '/', false, {v})"
        for site, i, at, name, v in rows
    )
    columns = "id, site_id, visit_id, visitor_id, ts, name, hostname, pathname, interactive, version"
    house.command(f"INSERT INTO {house.table('events')} ({columns}) VALUES {values}")


async def test_the_segments_tab_on_clickhouse_shows_the_endpoints_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform_analytics, "analytics_now", lambda: NOW)
    problems: list[str] = []  # the page's console errors and failed requests
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data", secret_key="test-secret", ingest_process=False,
        events_url=chdb_url("segments_tab"), _env_file=None,
    )  # fmt: skip
    async with serving(settings) as (base, app):
        services: Services = app.state.services
        assert isinstance(services.events_db, ClickHouseEvents)
        tenant, site = make_site(services)
        rival, rival_site = make_site(services, "rival", "rival.test")
        with services.db.sync.begin() as conn:
            accounts.create_user(conn, EMAIL, "acme", PASSWORD)
        token = make_token(services)
        activation = await seed_tenant(services, tenant, ("High LTV Buyers", "Newsletter subscribers"), "")
        await seed_tenant(services, rival, (MARKER, f"{MARKER} two"), "zz-rival-")
        subscribe(services, tenant.id, "starter", date(2026, 5, 1), date(2026, 5, 31), segments=3, users=20)
        subscribe(services, rival.id, "pro", date(2026, 5, 1), date(2026, 5, 31), segments=99)
        house = services.events_db
        store_events(house, site.id, rival_site.id)
        stored = house.rows(f"SELECT count() FROM {house.table('segment_days')} FINAL")[0][0]
        assert stored == 16  # 2 segments x 4 days x 2 tenants: the snapshots are in ClickHouse
        status, overview = await analytics(base, token, "overview")
        assert status == 200
        count, total = await membership_totals(services, tenant.id)
        assert (overview["segment_count"], overview["total_members"]) == (count, total) == (3, 5)
        assert (await analytics(base, token, "usage"))[1]["events"]["used"] == 4  # the tab shows it
        async with browser_context(1440, 900) as ctx:
            page = await ctx.new_page()
            watch(page, problems)
            await sign_in(page, base, "/dashboard?tab=segments")
            await open_tab(page, base)  # the tab's cards loaded
            await shows_the_endpoints(page, services, tenant.id, base, token, activation)
            content = await page.content()
            assert MARKER not in content and "zz-rival" not in content
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "segments-clickhouse.png"), full_page=True)
        assert not problems, problems
