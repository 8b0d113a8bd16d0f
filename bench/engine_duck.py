"""The DuckDB reference for bench/engine.py: the same rows, copied from the SQLite file, and the
same questions as plain SQL written from the definitions in DESIGN.md.

The sqlite scanner extension would need the network, so tables are copied through CSV chunks
(sqlite3 -> csv module -> DuckDB `read_csv`), NULLs written as \\N.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
import time
from pathlib import Path

import duckdb

CHUNK_ROWS = 1_000_000
NULL = "\\N"

# Columns the reference questions read (the wide free-text columns, props and hostname, are not copied).
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "events": (
        ("id", "BIGINT"), ("site_id", "INTEGER"), ("visit_id", "BIGINT"), ("visitor_id", "BIGINT"),
        ("ts", "BIGINT"), ("name", "VARCHAR"), ("pathname", "VARCHAR"), ("interactive", "INTEGER"),
        ("engaged_ms", "INTEGER"), ("gap_ms", "INTEGER"), ("revenue", "DOUBLE"), ("currency", "VARCHAR"),
        ("transaction_id", "VARCHAR"),
    ),
    "visits": (
        ("id", "BIGINT"), ("site_id", "INTEGER"), ("visitor_id", "BIGINT"), ("started_at", "BIGINT"),
        ("ended_at", "BIGINT"), ("pageviews", "INTEGER"), ("events", "INTEGER"),
        ("interactions", "INTEGER"), ("entry_path", "VARCHAR"), ("exit_path", "VARCHAR"),
        ("source", "VARCHAR"), ("referrer", "VARCHAR"), ("channel", "VARCHAR"),
        ("utm_source", "VARCHAR"), ("utm_medium", "VARCHAR"), ("utm_campaign", "VARCHAR"),
        ("device_type", "VARCHAR"), ("browser", "VARCHAR"), ("os", "VARCHAR"), ("language", "VARCHAR"),
    ),
    "goal_completions": (
        ("id", "BIGINT"), ("goal_id", "VARCHAR"), ("site_id", "INTEGER"), ("visitor_id", "BIGINT"),
        ("visit_id", "BIGINT"), ("event_id", "BIGINT"), ("ts", "BIGINT"),
    ),
    "ecommerce_items": (
        ("id", "BIGINT"), ("event_id", "BIGINT"), ("site_id", "INTEGER"), ("ts", "BIGINT"),
        ("event_name", "VARCHAR"), ("item_id", "VARCHAR"), ("item_name", "VARCHAR"), ("price", "DOUBLE"),
        ("quantity", "INTEGER"), ("currency", "VARCHAR"),
    ),
}  # fmt: skip


def load(sqlite_path: Path, duck_path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB file holding the SQLite tables (rows in id order, as stored)."""
    for stale in (duck_path, duck_path.with_suffix(duck_path.suffix + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(duck_path))
    con.execute("SET TimeZone = 'UTC'")
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    tmp = duck_path.with_suffix(".chunk.csv")
    try:
        for table, columns in TABLES.items():
            started = time.perf_counter()
            rows = _copy_table(source, con, table, columns, tmp)
            elapsed = time.perf_counter() - started
            print(f"  duckdb: {table}: {rows:,} rows in {elapsed:.1f} s", file=sys.stderr, flush=True)
    finally:
        source.close()
        tmp.unlink(missing_ok=True)
    con.execute("CHECKPOINT")
    return con


def _copy_table(
    source: sqlite3.Connection,
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[tuple[str, str], ...],
    tmp: Path,
) -> int:
    con.execute(f"CREATE TABLE {table} ({', '.join(f'{n} {t}' for n, t in columns)})")
    selected = ", ".join(f"coalesce({name}, '{NULL}')" for name, _ in columns)
    types = "{" + ", ".join(f"'{n}': '{t}'" for n, t in columns) + "}"
    cursor = source.execute(f"SELECT {selected} FROM {table} ORDER BY id")
    total = 0
    while True:
        rows = cursor.fetchmany(CHUNK_ROWS)
        if not rows:
            return total
        with tmp.open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
        con.execute(
            f"INSERT INTO {table} SELECT * FROM read_csv(?, header = false, nullstr = '{NULL}', "
            f"columns = {types}, quote = '\"', escape = '\"', auto_detect = false)",
            [str(tmp)],
        )
        total += len(rows)
