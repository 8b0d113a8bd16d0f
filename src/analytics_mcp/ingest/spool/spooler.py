"""The server's side of spooled ingestion: prepare a batch, append it to the spool, fsync, and
let the writer process store it.

`write` decides every event's outcome before anything is acknowledged (drops, duplicates against
the database and against what is spooled and not yet stored), so the 202 and its counts are
exact; the receiver thread follows the writer process's commits, releases their dedup keys and
deletes stored segments.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from analytics_mcp.ingest.batch_processor import BatchProcessor, DedupKey
from analytics_mcp.ingest.event import ColumnBatch, Outcome, PendingEvent
from analytics_mcp.ingest.prepare_columns import prepare_frame
from analytics_mcp.ingest.spool import columns
from analytics_mcp.ingest.spool.codec import frame_keys
from analytics_mcp.ingest.spool.frames import SpoolError, SpoolReader, SpoolWriter, spool_name
from analytics_mcp.ingest.spool.handoff import FreshFrames
from analytics_mcp.ingest.spool.storing import drain_all, stored_position
from analytics_mcp.ingest.spool.writer_process import FrameStore, WriterProcess, WriterProcessGone
from analytics_mcp.storage.db import Database

log = logging.getLogger("analytics_mcp.ingest")


def spool_directory(db: Database, data_dir: Path) -> Path:
    """Next to a SQLite file (one spool per database), else in the data directory."""
    url = make_url(db.url)
    if db.is_sqlite and url.database and not db.is_in_memory:
        path = Path(url.database)
        return path.with_name(f"{path.name}-spool")
    return data_dir / "spool"


def replay_leftovers(db: Database, directory: Path, processor: BatchProcessor) -> None:
    """Without the writer process: store what an earlier run spooled and did not store, unless a
    running server owns the spool."""
    if not directory.exists():
        return
    with db.reader.connect() as conn:
        position = stored_position(conn, spool_name(directory))
    try:
        spool = SpoolWriter(directory, position)
    except SpoolError:
        return
    try:
        if spool.end > position:
            log.warning("storing %d spooled bytes left by an earlier run", spool.end - position)
            spool.retire(drain_all(db, processor, SpoolReader(directory), spool.end))
    finally:
        spool.close()


class UnsettledKeys:
    """Dedup keys of spooled events not yet stored, released frame by frame as the writer commits.
    Only the gather thread adds and reads; the receiver thread releases."""

    def __init__(self, on_release: Callable[[list[DedupKey]], None] | None = None) -> None:
        """`on_release`: told a frame's keys once they are stored, before they leave the set (the
        stored-key filter of chDB, ingest/clickhouse/key_filter.py)."""
        self._on_release = on_release
        self._keys: set[DedupKey] = set()
        self._frames: deque[tuple[int, list[DedupKey], int]] = deque()  # end, keys, events
        self._lock = threading.Lock()  # the event count changes in both threads
        self.events = 0

    @property
    def keys(self) -> set[DedupKey]:
        """The keys themselves (the gather thread intersects them with a batch's, in C)."""
        return self._keys

    def add(self, end: int, keys: list[DedupKey], events: int) -> None:
        self._keys.update(keys)
        with self._lock:
            self._frames.append((end, keys, events))
            self.events += events

    def release(self, position: int) -> None:
        with self._lock:
            while self._frames and self._frames[0][0] <= position:
                _end, keys, events = self._frames.popleft()
                if self._on_release is not None:
                    self._on_release(keys)
                self._keys.difference_update(keys)
                self.events -= events


def unsettled_since(
    directory: Path, position: int, end: int, on_release: Callable[[list[DedupKey]], None] | None = None
) -> UnsettledKeys:
    """The keys of every frame an earlier run spooled after the stored position: a retry of an
    acknowledged event must be a duplicate from the first request a restarted server answers."""
    unsettled = UnsettledKeys(on_release)
    for frame_end, payload in SpoolReader(directory).frames(position, end, max_bytes=1 << 62):
        keys, count = frame_keys(payload)
        unsettled.add(frame_end, keys, count)
    return unsettled


class Spooler:
    def __init__(
        self,
        db: Database,
        directory: Path,
        processor: BatchProcessor,
        open_store: Callable[[], FrameStore],
        position_of: Callable[[str], int] | None = None,
        in_thread: bool = False,
        handoff: FreshFrames | None = None,
        stored: Callable[[list[DedupKey]], None] | None = None,
    ) -> None:
        """`db`: where prepare reads (salts, and sites and events when they live there);
        `open_store`: the writer's frame store; `position_of`: the spool's stored position when
        it is not in `db` (ClickHouse); `in_thread`: the writer runs as a thread; `handoff`:
        where that thread takes the prepared events of the frames spooled here; `stored`: told
        each frame's dedup keys once the writer has stored it."""
        self._db = db
        self._processor = processor
        self._handoff = handoff
        if position_of is not None:
            start = position_of(spool_name(directory))
        else:
            with db.reader.connect() as conn:
                start = stored_position(conn, spool_name(directory))
        self._spool = SpoolWriter(directory, start)  # SpoolError: another server holds it
        try:
            self._child = WriterProcess(open_store, in_thread=in_thread)
        except Exception:
            self._spool.close()
            raise
        self._unsettled = unsettled_since(directory, start, self._spool.end, stored)
        self._stored = self._child.position
        self._cond = threading.Condition()
        self._closing = False
        self.gone = False
        self._receiver = threading.Thread(target=self._receive, name="spool-receiver", daemon=True)
        self._receiver.start()
        self._child.notify(self._spool.end)  # what an earlier run left unstored

    @property
    def backlog(self) -> int:
        """Events spooled and not yet stored."""
        return self._unsettled.events

    def write(self, events: Sequence[PendingEvent]) -> tuple[list[Outcome], int]:
        """Outcomes once the accepted events are durable, and the spool position that stores
        them (0: nothing to store)."""
        framed, outcomes, keys = self._prepare(events)
        if framed is None:
            return outcomes, 0
        end = self._spool.append(columns.pickled(framed))
        self._unsettled.add(end, keys, len(framed["site_id"]))
        if self._handoff is not None:  # before the notice: the writer reads no frame past its goal
            self._handoff.offer(end, framed)
        self._child.notify(end)
        return outcomes, end

    def _prepare(
        self, events: Sequence[PendingEvent]
    ) -> tuple[dict[str, Any] | None, list[Outcome], list[DedupKey]]:
        """The frame of the events to store (None: none), every event's outcome, their dedup keys.
        A plain batch whose every event is accepted goes straight to its frame, column by column
        (ingest/prepare_columns.py); any other is prepared event by event."""
        unsettled = self._unsettled.keys
        # begin(): a salt created here is committed (on SQLite each statement commits anyway).
        with self._db.reader.begin() as conn:
            if isinstance(events, ColumnBatch):
                fast = prepare_frame(self._processor, conn, events, unsettled)
                if fast is not None:
                    return fast
            live, outcomes, keys = self._processor.prepare_keyed(conn, events, unsettled)
        return (columns.frame(live, events) if live else None), outcomes, keys

    def wait_stored(self, position: int) -> None:
        """Block until the writer process has stored the spool up to `position`."""
        with self._cond:
            self._cond.wait_for(lambda: self._stored >= position or self.gone)
            if self._stored < position:
                raise WriterProcessGone("the writer process is gone")

    def _receive(self) -> None:
        while True:
            try:
                kind, value = self._child.receive()
            except WriterProcessGone:
                if not self._closing:
                    log.error("the writer process is gone; ingestion answers 503 until a restart")
                with self._cond:
                    self.gone = True
                    self._cond.notify_all()
                return
            if kind == "error":
                log.error("storing spooled events failed (retrying): %s", value)
                continue
            position, _count = value
            self._unsettled.release(position)
            with self._cond:
                self._stored = position
                self._cond.notify_all()
            self._spool.retire(position)

    def close(self) -> None:
        """Store everything spooled (the writer process drains before it exits), then stop."""
        self._closing = True
        self._child.stop(self._spool.end)
        self._receiver.join()
        self._child.close()
        self._spool.close()
