"""What `db copy` makes sure of before it copies: URLs it can use, a source that exists and is
not the target, targets it can reach, and a stopped source whose spool holds nothing unstored
(stored first, as a server would at start-up) and stays locked while the copy runs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from analytics_mcp.cli_commands.common import CliError
from analytics_mcp.config import Settings
from analytics_mcp.ingest.spool.frames import SpoolError, spool_name, spooled_end, take_lock
from analytics_mcp.storage.copy_state import database_label, same_database
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.migrate import upgrade

URL_FORMS = "sqlite:///path/analytics.db or postgresql://user:password@host:5432/database"


def check_target_url(flag: str, url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CliError(flag, f"not a database URL (use {URL_FORMS})") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise CliError(flag, f"unsupported database {backend!r} (use {URL_FORMS})")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise CliError(flag, "an in-memory database would be gone when the copy ends; name a file")


def check_source_url(variable: str, url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path in (None, "", ":memory:") or not Path(str(path)).is_file():
            raise CliError(
                variable,
                f"{database_label(url)}: no such database file (point ANALYTICS_DATA_DIR or "
                "ANALYTICS_DB_URL at the install to copy)",
            )


def check_not_source(flag: str, target: str, sources: list[str]) -> None:
    for source in sources:
        if same_database(target, source):
            raise CliError(flag, f"is the source database ({database_label(source)})")


def reachable(flag: str, db: Database, *, migrate: bool) -> None:
    """Connect (and migrate) a database, a failure to reach it told in one line naming it."""
    try:
        if migrate:
            upgrade(db.sync)
        else:
            with db.sync.connect():
                pass
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise CliError(flag, f"cannot use {database_label(db.url)}: {reason}") from None


def _unstored(db: Database, directory: Path) -> int:
    from analytics_mcp.ingest.spool.storing import stored_position  # see quiet_source

    with db.reader.connect() as conn:
        position = stored_position(conn, spool_name(directory))
    return max(0, spooled_end(directory) - position)


def _lock(directory: Path) -> closing[BinaryIO]:
    try:
        return closing(take_lock(directory))
    except SpoolError:
        raise CliError(
            "source",
            f"a running server holds the spool {directory}: stop it first (db copy reads a stopped install)",
        ) from None


def _store_leftovers(settings: Settings) -> None:
    """What a server does at start-up and on stop: store every spooled event."""
    from analytics_mcp.services import Services

    services = Services.build(settings)

    async def start_and_stop() -> None:
        await services.start()
        await services.close()

    asyncio.run(start_and_stop())


@contextmanager
def quiet_source(settings: Settings, events: Database) -> Iterator[None]:
    """The source's spool fully stored and locked until the copy ends, so no server can start on
    it meanwhile. Frames set aside in failed/ are not stored: they are named on stderr."""
    # Imported here: the spooler's and storing's modules bring the ingestion pipeline (~0.13 s of
    # start-up), which every other command's process would pay for nothing.
    from analytics_mcp.ingest.spool.spooler import spool_directory
    from analytics_mcp.ingest.spool.storing import failed_frames

    directory = spool_directory(events, settings.data_dir)
    if not directory.exists():
        yield
        return
    with _lock(directory):
        unstored = _unstored(events, directory)
    if unstored:
        print(f"storing {unstored:,} spooled bytes of events first", file=sys.stderr, flush=True)
        _store_leftovers(settings)
    with _lock(directory):
        unstored = _unstored(events, directory)
        if unstored:
            raise CliError(
                "source",
                f"the spool {directory} still holds {unstored:,} bytes of events not stored: start "
                "the server once, stop it, and check `analytics-mcp spool status`",
            )
        failed = failed_frames(directory)
        if failed:
            print(
                f"warning: {len(failed)} frame(s) set aside in {directory / 'failed'} are not copied: "
                "`analytics-mcp spool store-failed` stores them (before the copy, or after it with "
                "the new database and the files moved to the new spool's failed/)",
                file=sys.stderr,
                flush=True,
            )
        yield
