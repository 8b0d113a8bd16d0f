"""`analytics-mcp events copy --to clickhouse://... | chdb:///...`: the install's events tables
(events, visits, goal completions, e-commerce items, A/B event rows) copied from its SQL events
database into ClickHouse, which is migrated first. Resumable, a progress bar per table, every
table's rows counted on both sides at the end (exit status 1 if any differs). The machinery is
storage/clickhouse/copy.py."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from sqlalchemy import inspect

from analytics_mcp.cli_commands.common import CliError, emit, group_parser
from analytics_mcp.cli_commands.copy_checks import check_source_url, quiet_source, reachable
from analytics_mcp.cli_commands.copy_report import TableCount, counts_json, print_counts
from analytics_mcp.cli_commands.progress import TableBar
from analytics_mcp.config import Settings
from analytics_mcp.rollups.clickhouse_kept_write import clear_stamps
from analytics_mcp.storage.clickhouse import ClickHouseEvents, is_clickhouse_url, open_clickhouse
from analytics_mcp.storage.clickhouse.copy import (
    DEFAULT_BATCH,
    copy_events_table,
    count_source,
    count_tables,
    count_target,
    source_tables,
)
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from analytics_mcp.storage.db import Database, open_database
from analytics_mcp.storage.kept_rollups_schema import rollup_stamps

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers

DESCRIPTION = (
    "Copy the events of this install (the SQL database ANALYTICS_EVENTS_URL names, by default the "
    "SQLite file in ANALYTICS_DATA_DIR) into ClickHouse: --to clickhouse://user:password@host:8123/db, "
    "clickhouses://... (TLS) or chdb:///abs/path (the embedded engine). The ClickHouse schema is "
    "migrated first. Accounts stay where they are. Stop the server first (events still in its spool "
    "are stored first). An interrupted copy goes on where it stopped when run again; a row is never "
    "counted twice. At the end every table's rows are counted on both sides: the table goes to "
    "stderr, one JSON line to stdout; exit status 1 if any count differs."
)


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "events", "The events database: copy it into ClickHouse.")
    copy = group.add_parser(
        "copy",
        help="Copy the events tables into ClickHouse (resumable, counts verified).",
        description=DESCRIPTION,
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="clickhouse://..., clickhouses://... or chdb:///..."
    )
    copy.add_argument(
        "--batch-size", type=_batch_size, default=DEFAULT_BATCH, help=f"Rows per chunk ({DEFAULT_BATCH})."
    )
    copy.set_defaults(func=events_copy)


def _batch_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 1000000")
    return int(value)


def _target(url: str) -> ClickHouseEvents:
    if not is_clickhouse_url(url):
        raise CliError("--to", "not a ClickHouse URL (use clickhouse://, clickhouses:// or chdb:///abs/path)")
    try:
        target = open_clickhouse(url)
        upgrade_clickhouse(target)
    except Exception as exc:  # connection, TLS, authentication: one line naming the target
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError("--to", f"cannot use {url.split('@')[-1]}: {reason}") from None
    return target


def events_copy(args: argparse.Namespace, settings: Settings) -> int:
    source_url = settings.events_database_url
    if is_clickhouse_url(source_url):
        raise CliError(
            "ANALYTICS_EVENTS_URL", "already names ClickHouse: point it at the SQL events database"
        )
    check_source_url("ANALYTICS_EVENTS_URL", source_url)
    target = _target(args.to)
    source = open_database(source_url)
    try:
        reachable("source", source, migrate=True)
        with quiet_source(settings, source):
            started = time.monotonic()
            copied = _copy_all(source, target, args.batch_size)
            seconds = time.monotonic() - started
        _forget_kept_rollups(settings.database_url)
        return _finish(source, target, copied, seconds)
    finally:
        source.sync.dispose()
        source.reader.dispose()
        target.close()


def _forget_kept_rollups(accounts_url: str) -> None:
    """Copied rows carry version 0, below the stamps of rollups kept from ClickHouse events
    (docs/rollups.md "Kept rollups on ClickHouse"): forget the stamps, every day is computed again."""
    accounts = open_database(accounts_url)
    try:
        with accounts.sync.connect() as conn:
            present = inspect(conn).has_table(rollup_stamps.name)
        if present:
            clear_stamps(accounts)
    finally:
        accounts.sync.dispose()
        accounts.reader.dispose()


def _copy_all(source: Database, target: ClickHouseEvents, batch: int) -> int:
    copied = 0
    with source.reader.connect() as conn:
        for table, key in source_tables():
            bar = TableBar(table.name, count_source(conn, table), count_target(target, table.name))
            try:
                rows = copy_events_table(conn, target, table, key, batch, bar.add)
            except KeyboardInterrupt:
                bar.close()
                print("stopped: the same command goes on from here", file=sys.stderr, flush=True)
                raise
            bar.close()
            copied += rows
    return copied


def _finish(source: Database, target: ClickHouseEvents, copied: int, seconds: float) -> int:
    with source.reader.connect() as conn:
        counts = [TableCount(name, "events", rows, held) for name, rows, held in count_tables(conn, target)]
    print_counts(counts)
    verified = all(count.matches for count in counts)
    if not verified:
        print("was the source written to during the copy? Stop its server and copy again", file=sys.stderr)
    emit(
        {
            "verified": verified,
            "copied_rows": copied,
            "seconds": round(seconds, 3),
            "rows_per_second": round(copied / seconds) if seconds > 0 else 0,
            "tables": counts_json(counts),
        }
    )
    return 0 if verified else 1
