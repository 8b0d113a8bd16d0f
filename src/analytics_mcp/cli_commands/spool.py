"""`spool`: the ingestion spool (docs/ingestion.md): how far the writer is, and frames set aside
because they could not be stored."""

from __future__ import annotations

import argparse
import dataclasses
from contextlib import closing
from typing import TYPE_CHECKING

from analytics_mcp.cli_commands.common import CliError, emit, group_parser, migrated_databases
from analytics_mcp.config import Settings
from analytics_mcp.ingest.spool.frames import SpoolError, segment_starts, spool_name, spooled_end, take_lock
from analytics_mcp.storage.db import separate_accounts

if TYPE_CHECKING:
    from analytics_mcp.cli_commands.common import Subparsers


def register(sub: Subparsers) -> None:
    group = group_parser(sub, "spool", "Inspect the ingestion spool and store frames set aside.")
    status = group.add_parser(
        "status",
        help="Print the spool's state as JSON.",
        description="One JSON line: the spool directory, the position the database has stored, "
        "the bytes spooled and not yet stored, segment files, and frames set aside in failed/.",
    )
    status.set_defaults(func=spool_status)
    retry = group.add_parser(
        "store-failed",
        help="Store the frames set aside in failed/ (server stopped); prints a JSON summary.",
        description="A frame that failed to store three times is kept in <spool>/failed/ and "
        "skipped, so ingestion goes on. Once the cause is fixed, this stores each such frame in "
        "its own transaction and deletes its file; events already stored are skipped, so it is "
        "safe to run again. Refuses while a server holds the spool. Exits 1 if a frame still fails.",
    )
    retry.set_defaults(func=spool_store_failed)


def spool_status(_args: argparse.Namespace, settings: Settings) -> int:
    # Imported here, as in spool_store_failed: the spooler's and storing's modules bring the
    # ingestion pipeline (~0.13 s of start-up), which every other command would pay for nothing.
    from analytics_mcp.ingest.spool.spooler import spool_directory
    from analytics_mcp.ingest.spool.storing import failed_frames, stored_position

    with migrated_databases(settings) as (_accounts, db):
        directory = spool_directory(db, settings.data_dir)
        with db.sync.connect() as conn:
            position = stored_position(conn, spool_name(directory)) if directory.exists() else 0
    exists = directory.exists()
    end = spooled_end(directory) if exists else position
    emit(
        {
            "directory": str(directory),
            "stored_position": position,
            "unstored_bytes": max(0, end - position),
            "segments": len(segment_starts(directory)) if exists else 0,
            "failed_frames": len(failed_frames(directory)) if exists else 0,
        }
    )
    return 0


def spool_store_failed(_args: argparse.Namespace, settings: Settings) -> int:
    from analytics_mcp.ingest.spool.spooler import spool_directory
    from analytics_mcp.ingest.spool.storing import failed_frames, store_failed

    with migrated_databases(settings) as (accounts, db):
        directory = spool_directory(db, settings.data_dir)
        if not failed_frames(directory):
            emit(dataclasses.asdict(store_failed(db, directory)))
            return 0
        try:
            lock = take_lock(directory)
        except SpoolError as exc:
            raise CliError("spool", "a running server holds it; stop the server first") from exc
        with closing(lock):
            summary = store_failed(db, directory, separate_accounts(accounts, db))
    emit(dataclasses.asdict(summary))
    return 1 if summary.still_failing else 0
