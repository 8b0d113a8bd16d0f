"""`bench/engine.py --db URL`: the same engine cells on a PostgreSQL database holding the same rows.

The rows get there with `analytics-mcp db copy --to URL` from the cached SQLite data set (ids kept,
every table's rows counted on both sides), then `VACUUM ANALYZE` (what autovacuum would have done
on a settled database: statistics for the planner, the visibility map for index-only scans). A
database that already holds a finished copy (`db copy --verify-only` passes) is used as is. Both
the accounts and the events tables are in that one database, as in docs/deploy.md's "one server
on PostgreSQL". Each cell's answer is compared with the engine's answer on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import psycopg
from sqlalchemy import text

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from engine_data import BenchData
from engine_explain import captured_statements
from engine_run import Cell, Options, log
from engine_stores import store_phase

PLAN_LINES = 40  # per statement


def pg_settings(data: BenchData, url: str) -> Settings:
    return Settings(data_dir=data.directory, db_url=url, events_url=url, _env_file=None)


def _cli(data: BenchData, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANALYTICS_DB_URL", "ANALYTICS_EVENTS_URL")}
    env["ANALYTICS_DATA_DIR"] = str(data.directory)
    command = [sys.executable, "-m", "analytics_mcp.cli", *arguments]
    return subprocess.run(command, env=env, text=True, stdout=subprocess.PIPE, check=False)


def ensure_copy(data: BenchData, url: str, fresh: bool) -> float | None:
    """Copy the data set to `url` unless it already holds it. Returns the copy's seconds (None when
    the database was used as is)."""
    if not fresh and _cli(data, "db", "copy", "--to", url, "--verify-only").returncode == 0:
        log(f"{url} already holds this data set (db copy --verify-only): using it as is")
        return None
    log(f"copying {data.db_path} to {url} (analytics-mcp db copy)")
    started = time.perf_counter()
    copied = _cli(data, "db", "copy", "--to", url)
    if copied.returncode != 0:
        sys.exit(f"db copy --to {url} failed (status {copied.returncode}): {copied.stdout[-2000:]}")
    seconds = time.perf_counter() - started
    log(f"  copied in {seconds:.0f} s: {copied.stdout.strip()[:300]}")
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        log(f"  VACUUM ANALYZE in {time.perf_counter() - began:.0f} s")
    return seconds


async def pg_phase(settings: Settings, cells: list[Cell], opts: Options) -> None:
    """Every cell again on the PostgreSQL events database, timed the same way, its answer compared
    with the SQLite one."""
    services = Services.build(settings, migrate=False)
    try:
        await store_phase("postgresql", services.events_db, cells, opts)
    finally:
        await services.close()


def pg_ratio(cell: Cell) -> float:
    return cell.pg.p50_ms / cell.engine.p50_ms if cell.pg and cell.engine.samples else 0.0


async def explain_pg(settings: Settings, cells: list[Cell], count: int) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement of the `count` cells where PostgreSQL is
    slowest relative to SQLite."""
    worst = sorted((c for c in cells if c.pg), key=pg_ratio, reverse=True)[:count]
    services = Services.build(settings, migrate=False)
    try:
        for cell in worst:
            assert cell.pg is not None
            where = f"{cell.case.name} / {cell.scope} / {cell.period}"
            print(
                f"\n### PostgreSQL EXPLAIN ANALYZE: {where} (postgresql {cell.pg.p50_ms:.1f} ms, "
                f"sqlite {cell.engine.p50_ms:.1f} ms)"
            )
            statements = await captured_statements(settings, cell)
            print(f"-- {len(statements)} statements in one call")
            for index, (statement, parameters) in enumerate(statements, start=1):
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                print(f"-- statement {index}: {' '.join(statement.split())[:300]}")
                for line in _plan(services, statement, parameters)[:PLAN_LINES]:
                    print(f"  {line}")
    finally:
        await services.close()


def _plan(services: Services, statement: str, parameters: Any) -> list[str]:
    with services.events_db.sync.connect() as conn:
        conn.execute(text("SELECT 1"))  # the connection's set-up statements, not in the plan
        rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
    return [str(row[0]) for row in rows]
