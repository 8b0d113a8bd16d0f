"""Kept rollups on ClickHouse (rollups/clickhouse_kept.py): the rows ClickHouse computes
for every local day equal, row for row, the rollup rows the SQL ingestion writer keeps for the same
traffic (tests/differential_traffic.py: two tenants east and west of UTC, DST changes, visits
across local midnight, late and resent events, goals, purchases in two currencies), and the engine
answers from them as SQLite does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from analytics_mcp.config import Settings
from analytics_mcp.engine.store import rollups_answer
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.clickhouse_rollups import ClickHouseRollups
from analytics_mcp.rollups.clickhouse_kept import bring_current
from analytics_mcp.rollups.keys import day_number, local_day
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.db import Database, distinct_databases, open_database
from analytics_mcp.storage.migrate import upgrade
from analytics_mcp.storage.schema import rollup_daily, rollup_visitors, sites
from analytics_mcp.storage.schema import tenants as tenants_table
from clickhouse_support import chdb_url
from copy_support import empty_database
from differential_traffic import add_accounts, generate, ingest, seed_salts, tenants
from pg_server import PostgresServer
from test_differential_backends import CASES, EXTRA_ARGUMENTS, _ask, reports
from test_differential_clickhouse import run_cli


@dataclass
class Kept:
    services: Services  # SQLite: accounts and events, rollups by the ingestion writer
    clickhouse: ClickHouseEvents  # the same rows, by `events copy`
    kept: Database  # another SQLite database: the rollups ClickHouse computed
    zones: dict[int, ZoneInfo]
    tenants: dict[str, Tenant]

    def reading_kept(self) -> ClickHouseEvents:
        """The ClickHouse events with their kept rollups in `kept` (as Services sets them)."""
        events = open_clickhouse(self.clickhouse.url)
        events.rollups = self.kept
        return events


def site_zones(db: Database) -> dict[int, ZoneInfo]:
    with db.sync.connect() as conn:
        rows = conn.execute(
            select(sites.c.id, sites.c.timezone, tenants_table.c.timezone).join(
                tenants_table, tenants_table.c.id == sites.c.tenant_id
            )
        )
        return {site_id: ZoneInfo(own or tenant) for site_id, own, tenant in rows}


def all_days(services: Services, zones: dict[int, ZoneInfo]) -> dict[int, tuple[ZoneInfo, set[int]]]:
    """Every local day of each site from its first to its last event, and 5 days past it."""
    with services.events_db.sync.connect() as conn:
        bounds = dict(
            (site_id, (low, high))
            for site_id, low, high in conn.exec_driver_sql(
                "SELECT site_id, min(ts), max(ts) FROM events GROUP BY site_id"
            )
        )
    return {
        site_id: (
            zone,
            set(range(local_day(zone, bounds[site_id][0]) - 1, local_day(zone, bounds[site_id][1]) + 5)),
        )
        for site_id, zone in zones.items()
        if site_id in bounds
    }


# The five local days around each daylight-saving change of a site's zone (differential_traffic.py:
# Los Angeles on March 8 and November 1, Berlin on March 29 and October 25; Tokyo, which has none,
# five days of October). The tests of writing at once compute these days only: the test of every
# day (test_kept_rows_equal_the_writers_rows) has the rows right, they have the writes settle; these
# days still hold 23- and 25-hour days, visits across local midnight, late and resent events, goals
# and purchases in both currencies, on every site.
DST_SPANS = {
    "America/Los_Angeles": (date(2026, 3, 6), date(2026, 10, 30)),
    "Europe/Berlin": (date(2026, 3, 27), date(2026, 10, 23)),
    "Asia/Tokyo": (date(2026, 10, 23),),
}


def dst_days(services: Services, zones: dict[int, ZoneInfo]) -> dict[int, tuple[ZoneInfo, set[int]]]:
    """all_days' days of each site that lie in its zone's DST_SPANS."""
    picked = {
        site_id: (zone, {day_number(first) + k for first in DST_SPANS[zone.key] for k in range(5)} & days)
        for site_id, (zone, days) in all_days(services, zones).items()
    }
    assert all(len(days) >= 5 for _, days in picked.values())  # each site has traffic on them
    return picked


def _of_days(
    rows: dict[tuple[Any, ...], Any], wanted: dict[int, tuple[ZoneInfo, set[int]]]
) -> dict[Any, Any]:
    """The rows (keyed site_id, dim, day, ...) of the wanted days."""
    return {key: row for key, row in rows.items() if key[2] in wanted.get(key[0], (None, set()))[1]}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    yield from kept_pair(tmp_path_factory, "kept_rollups")


def kept_pair(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[Kept]:
    """The traffic in SQLite and copied into chDB's `database` (one per test module: chDB runs one
    engine per process, and each module's traffic has its own goal ids)."""
    root = tmp_path_factory.mktemp("kept-rollups-ch")
    data_dir = root / "data"
    settings = Settings(data_dir=data_dir, secret_key="t", ingest_process=False, _env_file=None)
    services = Services.build(settings)
    kept = open_database(f"sqlite:///{Path(root) / 'kept.db'}")
    upgrade(kept.sync)
    try:
        add_accounts(services)
        seed_salts(services)
        ingest(services, generate())
        url = chdb_url(database)
        code, _out, err = run_cli(data_dir, "events", "copy", "--to", url, "--batch-size", "5000")
        assert code == 0, err
        yield Kept(services, open_clickhouse(url), kept, site_zones(services.db), tenants(services))
    finally:
        for db in (*distinct_databases(services.db, services.events_db), kept):
            db.sync.dispose()
            db.reader.dispose()


def _rows(db: Database, table: Any, counters: tuple[str, ...]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    keys = [c for c in table.c if c.primary_key]
    with db.sync.connect() as conn:
        found = conn.execute(select(*keys, *(table.c[name] for name in counters)))
        return {tuple(row[: len(keys)]): tuple(row[len(keys) :]) for row in found if any(row[len(keys) :])}


def _differences(mine: dict[Any, Any], theirs: dict[Any, Any]) -> list[str]:
    out = []
    for key in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(key), theirs.get(key)
        if (
            a is None
            or b is None
            or not all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(a, b, strict=True))
        ):
            out.append(f"{key}: writer {b}, clickhouse {a}")
    return out


def test_kept_rows_equal_the_writers_rows(pair: Kept) -> None:
    filled = bring_current(pair.clickhouse, pair.kept, all_days(pair.services, pair.zones))
    assert filled.computed == filled.checked > 100 and filled.stamped == filled.computed
    for table in (rollup_daily, rollup_visitors):
        counters = tuple(c.name for c in table.c if not c.primary_key)
        mine, theirs = _rows(pair.kept, table, counters), _rows(pair.services.events_db, table, counters)
        differences = _differences(mine, theirs)
        assert not differences, f"{table.name}: {len(differences)} of {len(theirs)} differ:\n" + "\n".join(
            differences[:12]
        )
    again = bring_current(pair.clickhouse, pair.kept, all_days(pair.services, pair.zones))
    assert again.computed == 0  # every stamp holds


def test_two_servers_keep_the_same_days_at_once_on_postgresql(pair: Kept, postgres: PostgresServer) -> None:
    """Kept rows in a PostgreSQL accounts database, written by two servers computing the same days
    at the same time: no failure, no mixed rows (each run is one transaction; the loser of a
    primary-key race starts again), every row equal to the SQL writer's (of the DST_SPANS days)."""
    wanted = dst_days(pair.services, pair.zones)
    with empty_database(postgres, "kept_rollups") as url:
        kept = open_database(url)
        try:
            upgrade(kept.sync)
            servers = [open_clickhouse(pair.clickhouse.url) for _ in range(2)]  # a connection each
            with ThreadPoolExecutor(2) as pool:
                runs = list(pool.map(lambda events: bring_current(events, kept, wanted), servers))
            assert all(run.computed for run in runs)
            for table in (rollup_daily, rollup_visitors):
                counters = tuple(c.name for c in table.c if not c.primary_key)
                theirs = _of_days(_rows(pair.services.events_db, table, counters), wanted)
                assert not _differences(_rows(kept, table, counters), theirs), table.name
            assert bring_current(pair.clickhouse, kept, wanted).computed == 0
        finally:
            kept.sync.dispose()
            kept.reader.dispose()


def test_reads_at_once_in_one_server_compute_each_day_once(pair: Kept, tmp_path: Path) -> None:
    """The reports of one dashboard load ask for the same stale days at once: one computes them,
    the others wait and find them current (the DST_SPANS days)."""
    wanted = dst_days(pair.services, pair.zones)
    kept = open_database(f"sqlite:///{tmp_path / 'kept.db'}")
    try:
        upgrade(kept.sync)
        with ThreadPoolExecutor(3) as pool:
            runs = list(pool.map(lambda _: bring_current(pair.clickhouse, kept, wanted), range(3)))
        assert sorted(run.computed for run in runs) == [0, 0, runs[0].checked]
        counters = tuple(c.name for c in rollup_daily.c if not c.primary_key)
        writers = _of_days(_rows(pair.services.events_db, rollup_daily, counters), wanted)
        assert not _differences(_rows(kept, rollup_daily, counters), writers)
    finally:
        kept.sync.dispose()
        kept.reader.dispose()


@pytest.fixture
async def both(pair: Kept) -> Iterator[Kept]:
    yield pair
    for db in (pair.services.db, pair.kept):
        await db.aio.dispose()  # one event loop per test


@pytest.mark.parametrize("name", sorted(reports()))
async def test_the_engine_answers_from_kept_rollups_as_sqlite_does(both: Kept, name: str) -> None:
    """Every report function, for every case the rollups answer (no filter, whole days, site zone =
    query zone): SQLite (its writer's rollups) and ClickHouse (rollups kept from it) answer alike."""
    fn, events = reports()[name], both.reading_kept()
    compared = 0
    differences: list[str] = []
    for number, case in enumerate(CASES):
        query = await _ask(both, case)  # type: ignore[arg-type]
        if not rollups_answer(query):
            continue
        assert isinstance(source_for(events, query), ClickHouseRollups)
        extras = EXTRA_ARGUMENTS[name](both.services, query, number) if name in EXTRA_ARGUMENTS else [()]
        for extra in extras:
            sqlite_dump = (await fn(both.services.events_db, query, *extra)).model_dump()
            kept_dump = (await fn(events, query, *extra)).model_dump()
            compared += 1
            if sqlite_dump != kept_dump:
                differences.append(f"{case} {extra}:\n  sqlite {sqlite_dump}\n  kept   {kept_dump}")
    assert compared
    assert not differences, f"{len(differences)} of {compared} differ; first:\n" + "\n".join(differences[:3])
