"""Kept subsets on ClickHouse (engine/store/clickhouse_subsets.py, rollups/clickhouse_subsets.py):
for queries filtered on visit attributes (is, is not, contains, two at once, the exit page that
changes as a visit grows) or on pages (is, is not, contains, two page filters, a page and a visit
filter: pageviews and their visitors are the matching pageviews', visits those with one), on the
differential traffic (tests/differential_traffic.py: three zones, DST days, visits across
midnight, late and resent events, goals, two currencies), every report function answers from the
kept subset as SQLite and ClickHouse's raw rows do. The first read answers raw and keeps the
subset in the background; the next one reads it. A late event into a kept subset's day is seen; a
subset unread for EVICT_DAYS is dropped with its rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from analytics_mcp import engine
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.clickhouse_subsets import ClickHouseSubsetRollups
from analytics_mcp.engine.store.rollup_store import Rollups
from analytics_mcp.rollups.clickhouse_subsets import EVICT_DAYS, evict, idle
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.kept_rollups_schema import rollup_stamps, rollup_subsets
from analytics_mcp.storage.schema import rollup_daily, rollup_visitors
from test_differential_backends import EXTRA_ARGUMENTS, NOW, PERIODS, _ask, reports
from test_kept_rollups_clickhouse import Kept, kept_pair
from test_kept_rollups_clickhouse_writes import _query
from test_platform_event_counts_clickhouse import DAY3, _event, _installed

SUBSET_FILTERS = (
    "source==google",
    "source!=direct",
    "device==mobile",
    "country!=US;device==desktop",
    "utm_campaign==fall;entry_page!=/a",
    "browser==Firefox|Safari;language~DE",
    "referrer~ycombinator|example;exit_page!=/signup",
    "exit_page==/signup",
    "page==/pricing",
    "page!=/",
    "page~BLOG",
    "page~CAFÉ;page!=/Über",
    "page~blog;source==direct|google",
)
SITES = (("east", "berlin.test", 4), ("east", "tokyo.test", 10), ("west", "la.test", 4))
SUBSET_PERIODS = (PERIODS[2], PERIODS[4], PERIODS[5], PERIODS[9])  # 30d, 25 h, 23 h, weeks
CASES = tuple(
    (*SITES[(i + k) % len(SITES)], SUBSET_PERIODS[(i + k) % len(SUBSET_PERIODS)], f)
    for i, f in enumerate(SUBSET_FILTERS)
    for k in range(2)
)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    yield from kept_pair(tmp_path_factory, "kept_subsets")  # its own chDB database


@pytest.fixture
async def both(pair: Kept) -> Iterator[Kept]:
    yield pair
    for db in (pair.services.db, pair.kept):
        await db.aio.dispose()  # one event loop per test


async def _subset_read(both: Kept, events: ClickHouseEvents, case: Any) -> engine.Query:
    """The case's query, its subset kept: a store over `events` (both.reading_kept()) reads the
    subset's rollups. A subset not kept yet (the module's first test to ask, or after the eviction
    test) is kept as a dashboard keeps it: a first read (this check: raw, the subset registered
    only), a second (raw, keeping it in the background), the background's end. Once kept, the
    other tests only check it still is (the module's traffic does not change): 26 report tests
    asked each case twice more before."""
    query = await _ask(both, case)  # type: ignore[arg-type]
    assert isinstance(source_for(events, query), ClickHouseSubsetRollups), case
    if not await _reads_subset(events, query):
        await engine.overview(events, query)
        idle()
        assert await _reads_subset(events, query), case
    return query


async def _reads_subset(events: ClickHouseEvents, query: engine.Query) -> bool:
    """Whether a new store of the query reads its kept subset's rollups (not the raw rows)."""
    store = ClickHouseSubsetRollups(events, events.rollups, query)  # type: ignore[arg-type]
    return isinstance(await store._ready(), Rollups)


@pytest.mark.parametrize("name", sorted(reports()))
async def test_every_report_answers_from_kept_subsets_as_sqlite_and_raw_clickhouse(
    both: Kept, name: str
) -> None:
    fn, events, raw = reports()[name], both.reading_kept(), open_clickhouse(both.clickhouse.url)
    compared = 0
    differences: list[str] = []
    for number, case in enumerate(CASES):
        query = await _subset_read(both, events, case)
        extras = EXTRA_ARGUMENTS[name](both.services, query, number) if name in EXTRA_ARGUMENTS else [()]
        for extra in extras:
            sqlite_dump = (await fn(both.services.events_db, query, *extra)).model_dump()
            kept_dump = (await fn(events, query, *extra)).model_dump()
            raw_dump = (await fn(raw, query, *extra)).model_dump()
            compared += 1
            if not sqlite_dump == kept_dump == raw_dump:
                differences.append(
                    f"{case} {extra}:\n  sqlite {sqlite_dump}\n  kept   {kept_dump}\n  raw {raw_dump}"
                )
    assert compared
    assert not differences, f"{len(differences)} of {compared} differ; first:\n" + "\n".join(differences[:3])


def _count(both: Kept, table: Any, column: Any) -> int:
    """Rows of a subset (key below 0) in one of the kept tables."""
    with both.kept.sync.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(column < 0)).scalar_one())


async def test_unread_subsets_are_evicted_with_their_rows(both: Kept) -> None:
    await _subset_read(both, both.reading_kept(), CASES[0])
    today = int(NOW.timestamp()) // 86_400  # the queries' own "now": the day the subset was read
    assert _count(both, rollup_daily, rollup_daily.c.site_id) > 0
    assert evict(both.kept, today + EVICT_DAYS) == 0  # read within EVICT_DAYS: kept
    assert evict(both.kept, today + EVICT_DAYS + 1) > 0
    for table in (rollup_daily, rollup_visitors, rollup_stamps):
        assert _count(both, table, table.c.site_id) == 0, table.name
    assert _count(both, rollup_subsets, -rollup_subsets.c.id) == 0


@pytest.mark.parametrize("filters", ["entry_page==/a", "page==/late"])
async def test_a_late_event_into_a_kept_subset_day_is_seen(tmp_path: Path, filters: str) -> None:
    """Through the real chDB writer: a subset kept, then a late event of a visit into one of its
    days (a passing visit's; for the page filter, the pageview that makes the visit pass); the
    next reads (raw, then the subset recomputed) count it."""
    services, house, spool = _installed(tmp_path, f"kept_subset_late_{filters[0]}")
    try:
        at = DAY3 + 10 * 3_600_000
        spool.store([_event("pageview", at + i, f"10.0.0.{i}", "/a", f"a{i}") for i in range(4)])
        query = await _query(services, filters)
        assert isinstance(source_for(house, query), ClickHouseSubsetRollups)
        before = (await engine.overview(house, query)).model_dump()
        idle()
        assert _stamped_keys(services) == set()  # asked once: registered, nothing computed
        assert (await engine.overview(house, query)).model_dump() == before
        idle()
        assert _stamped_keys(services)  # asked again: kept by the background thread
        spool.store([_event("pageview", at + 60_000, "10.0.0.1", "/late", "late")])  # visit a1 goes on
        raw = (await engine.overview(open_clickhouse(house.url), query)).model_dump()
        assert raw["pageviews"] == before["pageviews"] + 1
        for _ in range(2):  # raw while the subset is computed again, then the subset
            assert (await engine.overview(house, query)).model_dump() == raw
            idle()
        stamps = _stamped_keys(services)
        assert stamps and all(key < 0 for key in stamps)  # only the subset's days are kept
        await services.db.aio.dispose()
    finally:
        spool.spool.close()


def _stamped_keys(services: Services) -> set[int]:
    with services.db.sync.connect() as conn:
        return {int(key) for key in conn.execute(select(rollup_stamps.c.site_id)).scalars()}
