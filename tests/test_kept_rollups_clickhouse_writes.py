"""Kept rollups on ClickHouse stay exact while the ClickHouse writer changes the rows under them
(rollups/clickhouse_kept.py), on chDB in process through the real writer: after each
change to an already kept day (a late event, a pageview rewritten by its engagement report, a frame
stored again after a crash, a batch left pending by a crash) every rollup-answered report answers
what ClickHouse's raw rows answer, and a day is stamped only when nothing is pending.
Times are relative to the test's start (never read from the clock in the code under test).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from analytics_mcp import engine
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.clickhouse_rollups import ClickHouseRollups
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.kept_rollups_schema import rollup_stamps
from analytics_mcp.storage.schema import tenants
from analytics_mcp.timeutil import DAY_MS
from test_platform_event_counts_clickhouse import DAY3, NOW, Spool, _event, _installed

REPORTS = ("overview", "timeseries", "top_pages", "hour_of_day", "devices", "referrers", "entry_pages")


async def _query(services: Services, filters: str | None = None) -> engine.Query:
    with services.db.sync.connect() as conn:
        slug = conn.execute(select(tenants.c.slug)).scalar_one()
        tenant = accounts.get_tenant(conn, slug)
    assert tenant is not None
    first = datetime.fromtimestamp((DAY3 - 2 * DAY_MS) / 1000, UTC).date()
    return await engine.query_for_tenant(
        services.db,
        tenant,
        now=datetime.fromtimestamp(NOW / 1000, UTC),
        date_from=first.isoformat(),
        date_to=(first + timedelta(days=4)).isoformat(),
        filters=filters,
    )


async def _same_as_raw(services: Services, house: ClickHouseEvents) -> None:
    query = await _query(services)
    raw = open_clickhouse(house.url)  # no kept rollups: the raw rows answer
    assert isinstance(source_for(house, query), ClickHouseRollups)
    for name in REPORTS:
        fn = getattr(engine, name)
        assert (await fn(house, query)).model_dump() == (await fn(raw, query)).model_dump(), name
    await services.db.aio.dispose()  # one event loop per asyncio.run


def _stamped(services: Services) -> int:
    with services.db.sync.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rollup_stamps)).scalar_one())


async def test_kept_days_follow_late_rewritten_resent_and_pending_rows(tmp_path: Path) -> None:
    services, house, spool = _installed(tmp_path, "kept_writes")
    try:
        await _changes(services, house, spool)
    finally:
        spool.spool.close()


async def _changes(services: Services, house: ClickHouseEvents, spool: Spool) -> None:
    at = DAY3 + 10 * 3_600_000
    spool.store([_event("pageview", at + i, f"10.0.0.{i}", "/a", f"a{i}") for i in range(4)]
                + [_event("pageview", DAY3 + DAY_MS + 600_000, "10.0.0.9", "/n", "n0")])  # fmt: skip
    await _same_as_raw(services, house)
    assert _stamped(services) > 0  # the days are kept
    # A late event just before the next day's visit: in the day already kept.
    spool.store([_event("pageview", DAY3 + DAY_MS - 600_000, "10.0.0.9", "/late", "late")])
    await _same_as_raw(services, house)
    # Engagement reports rewrite the kept day's pageviews (their time on page).
    spool.store([_event("engagement", at + 90_000 + i, f"10.0.0.{i}", "/a", f"e{i}", engagement_ms=5_000)
                 for i in range(4)])  # fmt: skip
    await _same_as_raw(services, house)
    # A frame stored again after a crash between its inserts.
    spool.store([_event("pageview", at + 120_000 + i, f"10.0.1.{i}", "/c", f"c{i}") for i in range(3)],
                crash_after="events")  # fmt: skip
    await _same_as_raw(services, house)
    # A batch left pending by a crash (its events stored, its visits not: the raw store's numbers
    # mix both then): the days are computed from what is stored, and not stamped while it is
    # pending; once it is stored again, they are kept again and answer as the raw rows do.
    pending = [_event("pageview", at + 200_000, "10.0.2.1", "/p", "p0")]
    spool.store(pending, crash_after="events", replay=False)
    stamped = _stamped(services)
    query = await _query(services)
    await engine.overview(house, query)
    await services.db.aio.dispose()
    assert _stamped(services) < stamped  # the recomputed days were written without their stamps
    # The server is back: the pending batch is stored again, then one more.
    spool.store([_event("pageview", at + 300_000, "10.0.2.2", "/q", "q0")])
    await _same_as_raw(services, house)
    assert _stamped(services) >= stamped
