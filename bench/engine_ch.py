"""`bench/engine.py --store clickhouse`: the same engine cells on an embedded ClickHouse (chDB)
holding the same rows.

The rows get there with the project's own `analytics-mcp events copy --to chdb://DIR/clickhouse`
from the cached SQLite data set (the ClickHouse migrations, then every events table in chunks, ids
kept, counts verified on both sides; an interrupted or finished copy goes on where it stopped, so a
second run only verifies). Accounts stay in the SQLite file. Then the engine answers every cell
through `source_for`, in this process, as a server on chDB would: the rollups kept from ClickHouse
for the cells they answer (kept in their own SQLite file here, filled for every day first and timed
apart), `ClickHouseStore` for the others; `--ch-raw` reads the raw rows for every cell.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from analytics_mcp.config import Settings
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.clickhouse_subsets import ClickHouseSubsetRollups
from analytics_mcp.rollups.clickhouse_kept import bring_current
from analytics_mcp.rollups.clickhouse_subsets import evict, idle, paused
from analytics_mcp.rollups.keys import local_day
from analytics_mcp.rollups.rebuild import site_zones
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.copy import count_target
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from analytics_mcp.storage.clickhouse.schema import COPIED_TABLES
from analytics_mcp.storage.db import Database, open_database
from analytics_mcp.storage.migrate import upgrade
from engine_data import BenchData, load_dir
from engine_run import Cell, Options, log
from engine_stores import store_phase

DATABASE = "bench"
KEPT_FILE = "clickhouse-kept-rollups.db"


def chdb_url(data: BenchData) -> str:
    return f"chdb://{data.directory.resolve() / 'clickhouse'}?database={DATABASE}"


def ch_settings(data: BenchData) -> Settings:
    return Settings(data_dir=data.directory, events_url=chdb_url(data), _env_file=None)  # type: ignore[call-arg]


def copy_is_complete(data: BenchData) -> bool:
    """Whether chDB already holds every row of the SQLite data set (the copy's own count check);
    its ClickHouse migrations are applied first. Read-only on the SQLite file, so a data set whose
    SQL schema was extended by hand (indexes built for a bench) is not migrated by `events copy`."""
    events = open_clickhouse(chdb_url(data))
    upgrade_clickhouse(events)
    with sqlite3.connect(f"file:{data.db_path}?mode=ro", uri=True) as conn:
        for table, _key in COPIED_TABLES:
            held = count_target(events, table)
            if conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] != held:
                return False
    return True


def ensure_copy(data: BenchData) -> float:
    """`analytics-mcp events copy` into the data set's chDB directory (resumable: a finished copy
    is only verified), unless the counts show it complete. Returns its seconds. The counts are
    read in a child process: chDB's engine lives as long as the process that opened it and locks
    its directory, so a copy started after an in-process check could not open it."""
    checked = subprocess.run([sys.executable, __file__, str(data.directory)], env=_bench_env())
    if checked.returncode == 0:
        log(f"  {chdb_url(data)} holds every row of {data.db_path}: not copied again")
        return 0.0
    env = _bench_env()
    env["ANALYTICS_DATA_DIR"] = str(data.directory)
    command = [sys.executable, "-m", "analytics_mcp.cli", "events", "copy", "--to", chdb_url(data)]
    log(f"copying the events of {data.db_path} to {chdb_url(data)} (analytics-mcp events copy)")
    started = time.perf_counter()
    copied = subprocess.run([*command, "--batch-size", "200000"], env=env, text=True, stdout=subprocess.PIPE)
    if copied.returncode != 0:
        sys.exit(f"events copy failed (status {copied.returncode}): {copied.stdout[-2000:]}")
    seconds = time.perf_counter() - started
    log(f"  copy done in {seconds:.0f} s: {copied.stdout.strip()[:300]}")
    return seconds


def _bench_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("ANALYTICS_DB_URL", "ANALYTICS_EVENTS_URL")}


async def ch_phase(data: BenchData, cells: list[Cell], opts: Options, kept: bool = True) -> None:
    """The cells on chDB; with `kept`, rollup-answered cells read the rollups kept from ClickHouse
    (docs/rollups.md "Kept rollups on ClickHouse"), filled for every day first and timed apart."""
    services = Services.build(ch_settings(data), migrate=False)
    events = services.events_db
    assert isinstance(events, ClickHouseEvents)
    rollups = kept_database(data) if kept else None
    try:
        events.rollups = rollups
        if rollups is not None:
            fill_kept(services, events, rollups)
            await fill_subsets(events, rollups, cells)
        else:
            log("  kept rollups off (--ch-raw): every cell reads ClickHouse's raw rows")
        await store_phase("clickhouse", events, cells, opts)
    finally:
        await services.close()
        if rollups is not None:
            await rollups.dispose()


async def fill_subsets(events: ClickHouseEvents, kept: Database, cells: list[Cell]) -> None:
    """Keep the subsets the filtered cells will read (docs/rollups.md "Kept subsets"), from none:
    first each such cell's cold read (the subset not kept: the stamp check, then the raw rows; the
    background thread held meanwhile), then the background computation of every subset, timed
    apart. The timed reads below come after it."""
    dropped = evict(kept, 10**9)  # every subset: each run starts cold
    log(f"  kept subsets: {dropped} dropped; cold first reads (subset not kept yet: raw rows):")
    with paused():
        for cell in cells:
            if not isinstance(source_for(events, cell.query), ClickHouseSubsetRollups):
                continue
            cpu, wall = time.process_time(), time.perf_counter()
            await cell.case.run(events, cell.query)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            log(f"    cold {cell.label}: {wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU")
        cpu, wall = time.process_time(), time.perf_counter()
    idle()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    log(f"  kept subsets computed in the background thread: {wall:.1f} s wall, {cpu:.1f} s CPU")


def kept_database(data: BenchData) -> Database:
    """The kept rollups' own SQLite file: the accounts file (analytics.db) holds the SQL writer's
    rollups, the reference the SQLite cells read, which the bench leaves untouched."""
    db = open_database(f"sqlite:///{data.directory.resolve() / KEPT_FILE}")
    upgrade(db.sync)
    return db


def fill_kept(services: Services, events: ClickHouseEvents, kept: Database) -> None:
    """Bring every day of every site current (the one-time fill on first use), then check them all
    again (every stamp holds: the per-read check's cost over the whole data set)."""
    with services.db.sync.connect() as conn:
        zones = site_zones(conn, None)
    bounds = {
        int(site): (int(low), int(high))
        for site, low, high in events.rows(
            f"SELECT site_id, toUnixTimestamp64Milli(min(ts)), toUnixTimestamp64Milli(max(ts)) "
            f"FROM {events.table('events')} GROUP BY site_id"
        )
    }
    # Every day with data, and the 100 before it: a 90-day cell's comparison range is before the data.
    wanted = {
        site: (zone, set(range(local_day(zone, bounds[site][0]) - 100, local_day(zone, bounds[site][1]) + 1)))
        for site, zone in zones.items()
        if site in bounds
    }
    for label in ("fill", "check"):
        cpu, wall = time.process_time(), time.perf_counter()
        filled = bring_current(events, kept, wanted)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        log(
            f"  kept rollups {label}: {filled.checked} site-days checked, {filled.computed} computed "
            f"({len(filled.runs)} runs), {filled.stamped} stamped: {wall:.1f} s wall, {cpu:.1f} s CPU"
        )
    log("  the timed ClickHouse reads below come after this fill (each read checks its days' stamps)")


if __name__ == "__main__":
    # python bench/engine_ch.py DATA_DIR: exit 0 when chDB holds every row (ensure_copy's check).
    sys.exit(0 if copy_is_complete(load_dir(Path(sys.argv[1]))) else 1)
