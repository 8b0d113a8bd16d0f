"""`db copy`: move an install to other databases (SQLite to PostgreSQL, one PostgreSQL to
another, or back to a file), resumably, with every table's rows counted on both sides at the
end. The copy machinery is storage/copy_tables.py and storage/copy_state.py."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import inspect

from analytics_mcp.cli_commands.common import CliError, emit, group_parser
from analytics_mcp.cli_commands.copy_checks import (
    check_not_source,
    check_source_url,
    check_target_url,
    quiet_source,
    reachable,
)
from analytics_mcp.cli_commands.copy_report import count_tables, counts_json, print_counts
from analytics_mcp.cli_commands.progress import TableBar
from analytics_mcp.config import Settings
from analytics_mcp.storage.copy_state import (
    TableProgress,
    count_rows,
    drop_progress,
    read_progress,
    same_database,
    start_progress,
    target_problem,
)
from analytics_mcp.storage.copy_tables import DEFAULT_BATCH, Route, copy_table, fix_sequences, plan_routes
from analytics_mcp.storage.db import Database, distinct_databases, open_databases
from analytics_mcp.storage.roles import Role
from analytics_mcp.storage.schema import metadata

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers

DESCRIPTION = (
    "Copy every table of this install (the databases ANALYTICS_DB_URL and ANALYTICS_EVENTS_URL "
    "name; by default the SQLite file in ANALYTICS_DATA_DIR) to the database --to names, e.g. "
    "postgresql://analytics:PASSWORD@db.internal/analytics, migrating it first. With --events-to "
    "the events tables go to that database instead. Stop the server first: the copy reads a "
    "stopped install (events still in its spool are stored first, and the spool stays locked "
    "while the copy runs). Rows keep their ids, PostgreSQL sequences are set past them. An "
    "interrupted copy (Ctrl-C, kill, a lost connection) goes on where it stopped when run again "
    "with the same arguments, never copying a row twice. A target that holds any other data is "
    "refused. At the end every table's rows are counted in source and target: the table goes to "
    "stderr, one JSON line to stdout; exit status 1 if any count differs."
)


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "db", "Copy the install's data to other databases.")
    copy = group.add_parser(
        "copy",
        help="Copy every table to another database (resumable, counts verified).",
        description=DESCRIPTION,
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="Target database: postgresql://... or sqlite:///..."
    )
    copy.add_argument("--events-to", metavar="URL", help="Another target database for the events tables.")
    copy.add_argument(
        "--batch-size", type=_batch_size, default=DEFAULT_BATCH, help=f"Rows per chunk ({DEFAULT_BATCH})."
    )
    mode = copy.add_mutually_exclusive_group()
    mode.add_argument(
        "--verify-only", action="store_true", help="Only count every table's rows on both sides and compare."
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="Check source and targets, print what would be copied; write nothing.",
    )
    copy.set_defaults(func=db_copy)


def _batch_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 100000")
    return int(value)


@contextmanager
def _opened(urls: dict[Role, str]) -> Iterator[dict[Role, Database]]:
    accounts, events = open_databases(urls["accounts"], urls["events"])
    try:
        yield {"accounts": accounts, "events": events}
    finally:
        for db in distinct_databases(accounts, events):
            db.sync.dispose()
            db.reader.dispose()


def db_copy(args: argparse.Namespace, settings: Settings) -> int:
    source_urls: dict[Role, str] = {"accounts": settings.database_url, "events": settings.events_database_url}
    check_target_url("--to", args.to)
    if args.events_to is not None:
        check_target_url("--events-to", args.events_to)
    events_to = args.events_to if args.events_to and not same_database(args.to, args.events_to) else None
    target_urls: dict[Role, str] = {"accounts": args.to, "events": events_to or args.to}
    flags: dict[Role, str] = {"accounts": "--to", "events": "--events-to" if events_to else "--to"}
    for role in ("accounts", "events"):
        check_not_source(flags[role], target_urls[role], list(source_urls.values()))
    check_source_url("ANALYTICS_DB_URL", source_urls["accounts"])
    check_source_url("ANALYTICS_EVENTS_URL", source_urls["events"])
    writing = not (args.verify_only or args.dry_run)
    with _opened(source_urls) as sources, _opened(target_urls) as targets:
        for db in distinct_databases(sources["accounts"], sources["events"]):
            reachable("source", db, migrate=writing)
        target_flags = {id(targets[role]): flags[role] for role in ("accounts", "events")}
        for db in distinct_databases(targets["accounts"], targets["events"]):
            reachable(target_flags[id(db)], db, migrate=writing)
        routes = plan_routes(sources, targets)
        if args.verify_only:
            return _verify(routes, target_flags)
        if args.dry_run:
            return _dry_run(routes, target_flags)
        for db in _targets(routes):
            _refuse_if_taken(routes, db, target_flags)
        with quiet_source(settings, sources["events"]):
            for db in _targets(routes):
                start_progress(db)
            started = time.monotonic()
            copied = _copy_all(routes, args.batch_size)
            seconds = time.monotonic() - started
            sequences = sum(fix_sequences(db) for db in _targets(routes))
        return _finish(routes, copied, seconds, sequences)


def _targets(routes: list[Route]) -> list[Database]:
    return list({id(route.target): route.target for route in routes}.values())


def _refuse_if_taken(routes: list[Route], db: Database, flags: dict[int, str]) -> None:
    """A target holding other data than a partial copy of these sources is refused."""
    sources = {route.table.name: route.source_label for route in routes if route.target is db}
    with db.sync.connect() as conn:
        problem = target_problem(conn, sources)
    if problem is not None:
        hint = "; --verify-only compares a finished copy with its source" if "already" in problem else ""
        raise CliError(flags[id(db)], problem + hint)


def _copy_all(routes: list[Route], batch: int) -> int:
    copied = 0
    for route in routes:
        with route.target.sync.connect() as conn:
            saved = (read_progress(conn) or {}).get(route.table.name)
        progress = saved or TableProgress(route.source_label)
        with route.source.reader.connect() as conn:
            total = count_rows(conn, route.table)
        before = progress.rows
        bar = TableBar(route.table.name, total, before)
        try:
            copy_table(route, progress, batch, bar.add)
        except KeyboardInterrupt:
            bar.close()
            print("stopped: the same command goes on from here", file=sys.stderr, flush=True)
            raise
        bar.close()
        copied += progress.rows - before
    return copied


def _finish(routes: list[Route], copied: int, seconds: float, sequences: int) -> int:
    counts = count_tables(routes)
    print_counts(counts)
    verified = all(count.matches for count in counts)
    if verified:
        for db in _targets(routes):
            drop_progress(db)  # done: a later run finds a full database, not a copy under way
    else:
        print(
            "was the source written to during the copy? Stop its server, empty the target, copy again",
            file=sys.stderr,
            flush=True,
        )
    emit(
        {
            "verified": verified,
            "copied_rows": copied,
            "seconds": round(seconds, 3),
            "rows_per_second": round(copied / seconds) if seconds > 0 else 0,
            "sequences_set": sequences,
            "tables": counts_json(counts),
        }
    )
    return 0 if verified else 1


def _require_schema(routes: list[Route], flags: dict[int, str]) -> None:
    for db in _targets(routes):
        with db.sync.connect() as conn:
            missing = [
                table.name for table in metadata.sorted_tables if not inspect(conn).has_table(table.name)
            ]
        if missing:
            raise CliError(
                flags[id(db)], f"has no analytics-mcp tables ({missing[0]}, ...): nothing was copied there"
            )


def _verify(routes: list[Route], flags: dict[int, str]) -> int:
    _require_schema(routes, flags)
    counts = count_tables(routes)
    print_counts(counts)
    verified = all(count.matches for count in counts)
    emit({"verified": verified, "tables": counts_json(counts)})
    return 0 if verified else 1


def _dry_run(routes: list[Route], flags: dict[int, str]) -> int:
    """What a run would do: its refusals, then the rows each table would copy."""
    for db in _targets(routes):
        _refuse_if_taken(routes, db, flags)  # a database without tables passes: it is empty
    plan, to_copy = [], 0
    for route in routes:
        with route.source.reader.connect() as conn:
            total = count_rows(conn, route.table)
        with route.target.sync.connect() as conn:
            saved = (read_progress(conn) or {}).get(route.table.name)
        before = saved.rows if saved else 0
        to_copy += total - before
        plan.append(
            {"table": route.table.name, "database": route.role, "source_rows": total, "copied_before": before}
        )
    emit({"dry_run": True, "rows_to_copy": to_copy, "tables": plan})
    return 0
