"""Spooled frames stored into ClickHouse exactly once (the writer's work when the events database
is ClickHouse).

A batch is frames [position, batch_end) of one spool. Under the single-writer lock the writer
plans it (a version above every earlier one, the first free ids), computes its rows from what
was stored before that version, records the plan in `ingest_spool`, inserts every table with
the token `<spool>:<position>-<batch_end>:<table>`, then records the position. A crash anywhere
leaves the plan: the same batch is stored again, computes the same rows and every insert that
already happened stores nothing (the tables' non_replicated_deduplication_window).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.exceptions import OperationalError
from sqlalchemy import Connection

from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.clickhouse import batch, state
from analytics_mcp.ingest.clickhouse.reads import ClickHouseKeys
from analytics_mcp.ingest.event import Outcome, PreparedEvent
from analytics_mcp.ingest.sites import SiteRegistry
from analytics_mcp.ingest.spool import codec, columns
from analytics_mcp.ingest.spool.frame_events import framed_events
from analytics_mcp.ingest.spool.frames import SpoolReader
from analytics_mcp.ingest.spool.handoff import FreshFrames
from analytics_mcp.ingest.spool.storing import Unavailable, durable_write
from analytics_mcp.ingest.spool.writer_process import Gather
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.db import Database, lock_event_writers

log = logging.getLogger("analytics_mcp.ingest")
ALL = 1 << 62
# Spooled frames per batch: about 60,000 batch-API events (a column frame takes ~68 bytes an
# event). With 16 MB (~245,000 events since frames shrank) a burst was stored in one batch after
# the last request, its whole cost after the acknowledgements; batches of ~60,000 store during the
# burst. bench/ingest.py, alternated (2026-12-08 03:08-03:11): stored 75-85k -> 83-100k events/s,
# acknowledged 137-155k -> 113-132k.
BATCH_BYTES = 4 * 1024 * 1024
# Under sustained load (a batch of 20,000 events or more), wait up to a second for a full batch:
# ClickHouse's advice is about one insert a second, each insert is a part of every table (parts
# are merged in the background), and a batch's lookups cost the same for 10 rows as for 10,000.
# bench/ingest.py (200,000 events, 4 clients): 7-8 batches -> 4, CPU an event 31.0/28.1 -> 26.4/23.1 us.
# A pause of 0.1 s in the frames ends the wait (requests of 10,000 events come every ~0.09 s at
# 110,000 events/s): a burst's last frames were stored up to a second late, 56-64k -> 71-73k
# events/s stored in the same bench (docs/engine-performance.md, 2026-12-07 19:00).
GATHER = Gather(busy=20_000, bytes=BATCH_BYTES, seconds=1.0, quiet=0.1)
# A batch's end, its events, and the columns of its frames (spool/columns.py `frame`) when they
# hold exactly those events (None: a frame of the previous kind, or one with a deleted site's).
Gathered = tuple[int, Sequence[PreparedEvent], list[dict[str, Any]] | None]


class ClickHouseUnavailable(Unavailable):
    """ClickHouse did not answer: retry later, never set the frame aside."""


@contextlib.contextmanager
def writer_lock(accounts: Database, data_dir: Path) -> Iterator[None]:
    """One ClickHouse writer at a time: PostgreSQL's advisory lock when the accounts database is
    PostgreSQL (shared by every server), else a file lock in the data directory (servers sharing
    a SQLite accounts file run on one machine)."""
    if not accounts.is_sqlite:
        with accounts.sync.begin() as conn:
            lock_event_writers(conn)
            yield
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "clickhouse-writer.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class ClickHouseWriter:
    """Stores prepared events into ClickHouse: spooled frames (`store`) or, without the spool,
    a batch at once (`store_now`)."""

    def __init__(
        self, events: ClickHouseEvents, accounts: Database, data_dir: Path, sole_writer: bool = False
    ) -> None:
        """`sole_writer`: `events` is a chDB engine reached over the server's loopback endpoint
        (ingest/group_commit.py), so no other server stores events into it (see `recheck`)."""
        self.events = events
        self.sole_writer = sole_writer or events.embedded
        self.accounts = accounts
        self.data_dir = data_dir
        self.processor = BatchProcessor.reading_sites_from(None)  # sites: on the accounts connection
        self.after_insert: Callable[[str], None] = lambda _table: None  # tests: a crash mid-batch
        self._wrote: state.Plan | None = None  # the last row this writer wrote (see `_known`)

    def store_now(self, live: list[PreparedEvent]) -> list[Outcome]:
        """Without the spool (nothing acknowledged yet): one batch, under the name "direct"."""
        return self.store_batch("direct", None, lambda _stop: (0, live, None))[1]

    def store_batch(
        self, name: str, position: int | None, frames: Callable[[int], Gathered]
    ) -> tuple[int, list[Outcome]]:
        """Store the batch after `position` of spool `name`; `frames(stop)` reads the frames up
        to stop (ALL: as many as the writer takes). The batch's end and the outcomes. Position
        None: not a spool, the events `frames` gives are one new batch (no plan is resumed)."""
        try:
            with writer_lock(self.accounts, self.data_dir):
                return self._store_batch(name, position, frames)
        except Exception as exc:
            self.processor.forget_cached_state()
            self._wrote = None
            # clickhouse-connect raises OperationalError for transport failures (a timed-out or
            # dropped request): the server may answer a ping yet the insert did not go through,
            # which is no reason to set the frame aside as poison.
            if isinstance(exc, OperationalError) or not self._reachable():
                raise ClickHouseUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise

    def _store_batch(
        self, name: str, position: int | None, frames: Callable[[int], Gathered]
    ) -> tuple[int, list[Outcome]]:
        known = self._known(name)
        last = known if known is not None else state.latest(self.events, name)
        if position is None:  # a new batch after whatever was planned
            position = last.batch_end if last is not None else 0
            _end, live, framed = frames(ALL)
            end, planned = position + 1, None
        else:
            planned = last if last is not None and not last.stored and last.position == position else None
            end, live, framed = frames(planned.batch_end if planned is not None else ALL)
        if end == position:
            return position, []
        if planned is not None:
            version, bases = planned.version, planned.bases
        elif known is not None:  # state.next_free's answer: nothing was planned after `known`
            version, bases = known.version + 1, dict(known.ends)
        else:
            version, bases = state.next_free(self.events)
        new = self._unstored(live, version) if self.recheck(name) else live
        rows = batch.compute(self.events, new, bases, version, frames=framed if new is live else None)
        plan = state.Plan(name, position, end, version, bases, rows.ends)
        self._wrote = None
        if planned is None:
            state.write(self.events, plan)
        elif planned.ends != rows.ends:
            log.error("batch %s:%d-%d computed other ids than planned", name, position, end)
        batch.insert(self.events, rows, lambda table: f"{name}:{position}-{end}:{table}", self.after_insert)
        if rows.profiles:  # profiles live in the accounts database; writing them again is harmless
            with self.accounts.sync.begin() as conn:
                rows.profiles.write(conn)
            self.after_insert("profiles")
        state.write(self.events, plan.done())
        self._wrote = plan.done() if planned is None else None  # a resumed plan: read it again
        if new is live:  # nothing rechecked (chDB's spooled frames): the outcomes are in order
            return end, rows.outcomes
        by_index = {item.index: outcome for item, outcome in zip(new, rows.outcomes, strict=True)}
        return end, [by_index.get(item.index, Outcome("duplicate")) for item in live]

    def _known(self, name: str) -> state.Plan | None:
        """The sole writer's last row (stored) when it is of spool `name` and still the newest in
        ingest_spool: then it is `state.latest(name)`, and the next version and first free ids
        follow from it (every id of the tables was planned; `events copy` cannot open the chDB
        this process holds). One look at the highest seq instead of those two reads (the largest
        scans every table's ids); any other writer's row since (the direct writer, a quarantined
        frame, a writer process after a thread) makes it read them."""
        wrote = self._wrote
        if not self.sole_writer or wrote is None or wrote.name != name:
            return None
        return wrote if state.newest_seq(self.events) == wrote.seq else None

    def recheck(self, name: str) -> bool:
        """Whether the batch's event ids are looked up again before storing. Not for spooled
        frames on chDB: its engine is this process's alone, so no other server stores events,
        and prepare's lookup (which never answers "none stored" on an error there) with the
        spool's unsettled keys already decided every duplicate; a re-sent frame is kept out by
        its plan and tokens. The same for a writer process over the server's chDB."""
        return not (self.sole_writer and name != "direct")

    def _unstored(self, live: Sequence[PreparedEvent], version: int) -> list[PreparedEvent]:
        self.processor.stored_keys = ClickHouseKeys(self.events, before_version=version)
        with self.accounts.reader.connect() as conn:
            return self.processor.unstored(conn, list(live))

    def _reachable(self) -> bool:
        try:
            return bool(self.events.client.ping())
        except Exception:
            return False

    def cleanup_salts(self) -> None:
        with self.accounts.sync.begin() as conn:
            self.processor.salts.cleanup(conn)


def _events(
    loaded: list[dict[str, Any] | list[tuple[Any, ...]]], conn: Connection, sites: SiteRegistry
) -> tuple[Sequence[PreparedEvent], list[dict[str, Any]] | None]:
    """A batch's events from its frames, and the frames' columns when they hold exactly those
    events: read on demand from column frames whose sites are all still there (the common case);
    else decoded, a deleted site's events left out."""
    if loaded and all(isinstance(frame, dict) for frame in loaded):
        framed = [frame for frame in loaded if isinstance(frame, dict)]
        lazy = framed_events(framed, columns.sites_now(framed, conn, sites))
        if lazy is not None:
            return lazy, framed
    live: list[PreparedEvent] = []
    kept: list[dict[str, Any]] | None = []
    for frame in loaded:
        events, columns_of = codec.decode_loaded(frame, conn, sites, start=len(live))
        live += events
        if kept is not None and columns_of is not None and len(events) == len(columns_of["site_id"]):
            kept.append(columns_of)
        else:
            kept = None
    return live, kept


def _warm_up() -> None:
    """clickhouse-connect imports pandas on a process's first insert (0.4 s of CPU, measured at load
    5): at the writer's start instead of inside the first batch of events."""
    from clickhouse_connect.driver import options

    _ = options.pd


class ClickHouseFrames:
    """The writer loop's frame store over ClickHouse (writer_process.FrameStore)."""

    gather = GATHER

    def __init__(self, writer: ClickHouseWriter, directory: Path, handoff: FreshFrames | None = None) -> None:
        """`handoff`: the prepared events of frames the server spooled in this process (a thread)."""
        _warm_up()
        self.writer = writer
        self.reader = SpoolReader(directory)
        self.handoff = handoff

    def position(self) -> int:
        for attempt in range(60):  # ClickHouse may still be starting
            try:
                return state.stored_position(self.writer.events, self.reader.name)
            except Exception:
                if attempt == 59:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    def store(self, position: int, stop: int, max_bytes: int) -> tuple[int, int]:
        # ClickHouse wants few large inserts (each is a part, and a batch's lookups cost the same
        # for 10 rows as for 10,000); after a failure the loop asks for one frame (max_bytes 1).
        max_bytes = max_bytes if max_bytes <= 1 else max(max_bytes, BATCH_BYTES)

        def frames(planned_end: int) -> Gathered:
            bound, size = (planned_end, ALL) if planned_end != ALL else (stop, max_bytes)
            loaded: list[dict[str, Any] | list[tuple[Any, ...]]] = []
            end = position
            for end, payload in self.reader.frames(position, bound, size):
                handed = self.handoff.take(end) if self.handoff is not None else None
                loaded.append(handed if handed is not None else codec.load(payload))
            with self.writer.accounts.reader.connect() as conn:
                return (end, *_events(loaded, conn, self.writer.processor.sites))

        end, outcomes = self.writer.store_batch(self.reader.name, position, frames)
        self.writer.cleanup_salts()
        return end, len(outcomes)

    def quarantine(self, position: int, stop: int) -> int:
        end, payload = next(iter(self.reader.frames(position, stop, 1)))
        failed = self.reader.directory / "failed"
        failed.mkdir(exist_ok=True)
        durable_write(failed / f"{position:020d}.frame", payload)
        with writer_lock(self.writer.accounts, self.writer.data_dir):
            version, free = state.next_free(self.writer.events)
            plan = state.Plan(self.reader.name, position, end, version, free, free)
            state.write(self.writer.events, plan.done())
        log.error("spool frame at %d could not be stored; kept in %s", position, failed)
        return end

    def close(self) -> None:
        self.writer.events.close()


def open_clickhouse_frames(
    events_url: str, accounts_url: str, spool_dir: str, data_dir: str, loopback: bool = False
) -> ClickHouseFrames:
    """The writer process's store (opened there: picklable arguments only). `loopback`:
    `events_url` is the server's loopback endpoint over its chDB (storage/clickhouse/endpoint.py):
    the only writer there, and nothing gained by compressing bodies."""
    from analytics_mcp.storage.clickhouse import open_clickhouse
    from analytics_mcp.storage.db import open_database

    events, accounts = open_clickhouse(events_url, compress=not loopback), open_database(accounts_url)
    writer = ClickHouseWriter(events, accounts, Path(data_dir), sole_writer=loopback)
    return ClickHouseFrames(writer, Path(spool_dir))
