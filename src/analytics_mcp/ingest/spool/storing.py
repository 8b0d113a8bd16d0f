"""Storing spooled frames into the database (the writer process's work, and at start-up without
it): a few thousand events per transaction, the spool position (`ingest_spool`) moved in the same
transaction as the rows. A frame that cannot be stored is set aside in `failed/`, and
`store_failed` stores such frames later.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, select, text

from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.event import PreparedEvent
from analytics_mcp.ingest.spool.codec import decode
from analytics_mcp.ingest.spool.frames import SpoolReader, sync_directory
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.schema import ingest_spool

log = logging.getLogger("analytics_mcp.ingest")

TRANSACTION_BYTES = 2 * 1024 * 1024  # frames stored per transaction (a few thousand events)
_SET_POSITION = text(
    "INSERT INTO ingest_spool (name, position) VALUES (:name, :position) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)


class Unavailable(Exception):
    """The database did not answer: the writer waits and retries, it never sets the frame aside."""


class SqlFrames:
    """The writer's frame store over the SQL events database (writer_process.FrameStore)."""

    gather = None  # each transaction stores what is spooled

    def __init__(self, url: str, spool_dir: str, accounts_url: str | None) -> None:
        from analytics_mcp.storage.db import open_database

        self.db = open_database(url)
        self.accounts = open_database(accounts_url) if accounts_url else None
        self.processor = BatchProcessor.reading_sites_from(self.accounts)
        self.reader = SpoolReader(Path(spool_dir))

    def position(self) -> int:
        with self.db.sync.begin() as conn:
            return stored_position(conn, self.reader.name)

    def store(self, position: int, stop: int, max_bytes: int) -> tuple[int, int]:
        return store_frames(self.db, self.processor, self.reader, position, stop, max_bytes=max_bytes)

    def quarantine(self, position: int, stop: int) -> int:
        return quarantine(self.db, self.reader, position, stop)

    def close(self) -> None:
        self.db.sync.dispose()
        if self.accounts is not None:
            self.accounts.sync.dispose()


def stored_position(conn: Connection, name: str) -> int:
    """How far the spool `name` is stored (0: nothing yet)."""
    found = conn.execute(select(ingest_spool.c.position).where(ingest_spool.c.name == name)).scalar()
    return int(found or 0)


def _set_position(conn: Connection, name: str, position: int) -> None:
    conn.execute(_SET_POSITION, {"name": name, "position": position})


def store_frames(
    db: Database, processor: BatchProcessor, reader: SpoolReader, position: int, stop: int, *, max_bytes: int
) -> tuple[int, int]:
    """Store the frames after `position` (up to `stop`, about max_bytes of them) in one
    transaction: (the new position, how many events)."""
    try:
        with db.sync.begin() as conn:
            live: list[PreparedEvent] = []
            end = position
            for end, payload in reader.frames(position, stop, max_bytes):  # noqa: B007 - last end kept
                live.extend(decode(payload, conn, processor.sites))
            if end == position:
                return position, 0
            # A key is spooled once, but a frame can be re-sent (a crash between commit and
            # release): what is stored already is skipped, never a reason to fail the frame.
            processor.store(conn, processor.unstored(conn, live))
            _set_position(conn, reader.name, end)
    except Exception:
        processor.forget_cached_state()
        raise
    return end, len(live)


def durable_write(path: Path, payload: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(payload)
        os.fsync(handle.fileno())
    sync_directory(path.parent)


def quarantine(db: Database, reader: SpoolReader, position: int, stop: int) -> int:
    """Set aside the frame at `position` that cannot be stored (kept in `failed/`, never lost) and
    move past it: the position after it."""
    end, payload = next(iter(reader.frames(position, stop, 1)))
    failed: Path = reader.directory / "failed"
    failed.mkdir(exist_ok=True)
    durable_write(failed / f"{position:020d}.frame", payload)  # before the position moves past it
    with db.sync.begin() as conn:
        _set_position(conn, reader.name, end)
    log.error("spool frame at %d could not be stored; kept in %s", position, failed)
    return end


@dataclass
class FailedFrames:
    """What `store_failed` did with the frames kept in `failed/`."""

    frames: int = 0
    stored_events: int = 0
    already_stored: int = 0
    still_failing: list[str] = field(default_factory=list)


def failed_frames(directory: Path) -> list[Path]:
    return sorted((directory / "failed").glob("*.frame"))


def store_failed(db: Database, directory: Path, accounts: Database | None = None) -> FailedFrames:
    """Store the frames that were set aside (once their cause is fixed), each in its own
    transaction; a stored frame's file is deleted, a failing one is kept and named. Events
    stored since (a retry that got through) are skipped, so this can run any number of times."""
    processor = BatchProcessor.reading_sites_from(accounts)
    summary = FailedFrames()
    for path in failed_frames(directory):
        summary.frames += 1
        try:
            with db.sync.begin() as conn:
                live = decode(path.read_bytes(), conn, processor.sites)
                new = processor.unstored(conn, live)
                processor.store(conn, new)
        except Exception as exc:  # kept for the next try; the others still go ahead
            processor.forget_cached_state()
            summary.still_failing.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        path.unlink()
        summary.stored_events += len(new)
        summary.already_stored += len(live) - len(new)
    return summary


def drain_all(db: Database, processor: BatchProcessor, reader: SpoolReader, stop: int) -> int:
    """Store everything up to `stop` (start-up without the writer process): the new position."""
    with db.sync.connect() as conn:
        position = stored_position(conn, reader.name)
    while position < stop:
        moved, _count = store_frames(db, processor, reader, position, stop, max_bytes=TRANSACTION_BYTES)
        if moved == position:  # nothing readable up to stop
            break
        position = moved
    return position
