"""`bench/engine.py --store clickhouse`: the same engine cells on an embedded ClickHouse (chDB)
holding the same rows.

The rows get there with the project's own `analytics-mcp events copy --to chdb://DIR/clickhouse`
from the cached SQLite data set (the ClickHouse migrations, then every events table in chunks, ids
kept, counts verified on both sides; an interrupted or finished copy goes on where it stopped, so a
second run only verifies). Accounts stay in the SQLite file. Then the engine answers every cell
through `ClickHouseStore`, in this process, as a server on chDB would.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import open_clickhouse
from analytics_mcp.storage.clickhouse.copy import count_target
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from analytics_mcp.storage.clickhouse.schema import COPIED_TABLES
from engine_data import BenchData
from engine_run import Cell, Options, log
from engine_stores import store_phase

DATABASE = "bench"


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
    is only verified), unless the counts show it complete. Returns its seconds."""
    if copy_is_complete(data):
        log(f"  {chdb_url(data)} holds every row of {data.db_path}: not copied again")
        return 0.0
    env = {k: v for k, v in os.environ.items() if k not in ("ANALYTICS_DB_URL", "ANALYTICS_EVENTS_URL")}
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


async def ch_phase(data: BenchData, cells: list[Cell], opts: Options) -> None:
    services = Services.build(ch_settings(data), migrate=False)
    try:
        await store_phase("clickhouse", services.events_db, cells, opts)
    finally:
        await services.close()
