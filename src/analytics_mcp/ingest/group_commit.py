"""The durable write path: group commit.

Requests put their events on a queue and wait. One gather thread takes everything queued (up to
a batch bound) and makes it durable in one step, and only then wakes the requests, so a 202
always means durable. Two ways, one outcome logic (`BatchProcessor`):

- with the writer process (the default for a database file): the batch is prepared here (drops,
  identity, dedup), appended to the spool and fsynced; the writer process stores the spool into
  the database on another core (ingest/spooler.py);
- otherwise (in-memory databases, tests, or when the process cannot start): the batch is prepared
  and stored in one database transaction by the gather thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from analytics_mcp.config import Settings
from analytics_mcp.ingest import enrich, geo
from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.clickhouse.frames import ClickHouseFrames, ClickHouseWriter, open_clickhouse_frames
from analytics_mcp.ingest.clickhouse.key_filter import FilteredKeys, StoredKeyFilter
from analytics_mcp.ingest.clickhouse.reads import ClickHouseKeys
from analytics_mcp.ingest.clickhouse.state import stored_position
from analytics_mcp.ingest.event import Outcome, PendingEvent, joined_batches
from analytics_mcp.ingest.quota import clickhouse_counter
from analytics_mcp.ingest.spool.frames import SpoolError
from analytics_mcp.ingest.spool.handoff import FreshFrames
from analytics_mcp.ingest.spool.spooler import Spooler, replay_leftovers, spool_directory
from analytics_mcp.ingest.spool.storing import SqlFrames
from analytics_mcp.ingest.spool.writer_process import FrameStore, WriterProcessError
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.endpoint import Credential, Endpoint
from analytics_mcp.storage.db import Database

log = logging.getLogger("analytics_mcp.ingest")


class IngestUnavailable(Exception):
    """Overload or storage failure: the caller answers 503 with Retry-After, never 202."""

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Job:
    events: Sequence[PendingEvent]
    future: asyncio.Future[list[Outcome]] | concurrent.futures.Future[list[Outcome]]
    loop: asyncio.AbstractEventLoop | None  # None: a thread waits on a concurrent future
    spooled_to: int = 0  # the spool position that stores this job's events (0: none)


class _Stop(enum.Enum):
    """The writer queue's stop marker: an enum member, so `is _STOP` tells it from a job."""

    STOP = enum.auto()


_STOP: Final = _Stop.STOP


class Ingestor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        accounts: Database | None = None,
        clickhouse: ClickHouseEvents | None = None,
    ) -> None:
        """`db`: the events database; `accounts`: the accounts database when it is another one
        (storage/roles.py: sites and goals are read there). With `clickhouse` (the events
        database), `db` is the accounts database: salts, sites and goals (docs/ingestion.md)."""
        self._db = db
        self._accounts_url = accounts.url if accounts is not None else None
        self._max_batch = settings.ingest_max_batch
        self._queue_limit = settings.ingest_queue_limit
        self._spool_limit = settings.ingest_spool_limit
        self._data_dir = settings.data_dir
        self._spool_dir = spool_directory(db, settings.data_dir)
        self._use_process = settings.ingest_process and not db.is_in_memory
        self.processor = BatchProcessor.reading_sites_from(accounts)
        self._clickhouse = clickhouse
        self._chdb_writer = settings.chdb_writer
        self._endpoint: Endpoint | None = None  # chDB served to the writer process
        self._direct: ClickHouseWriter | None = None
        # chDB: this process stores every event, so it can know every stored key (key_filter.py)
        self._stored_keys: StoredKeyFilter | None = None
        if clickhouse is not None:
            self._spool_dir = settings.data_dir / "clickhouse-spool"
            self._use_process = True  # the spool, with the writer in a process or a thread
            self.processor.stored_keys = ClickHouseKeys(clickhouse)
            if clickhouse.embedded:
                self._stored_keys = StoredKeyFilter()
                self.processor.stored_keys = FilteredKeys(ClickHouseKeys(clickhouse), self._stored_keys)
            self.processor.quota.count_events = clickhouse_counter(clickhouse)
            self._direct = ClickHouseWriter(clickhouse, db, settings.data_dir)
        self._queue: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()  # one direct writer at a time in this process
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._spooler: Spooler | None = None

    @property
    def healthy(self) -> bool:
        """False once the writer process died: every write answers 503 until a restart."""
        return self._spooler is None or not self._spooler.gone

    async def start(self) -> None:
        if self._thread is None:
            await asyncio.to_thread(enrich.warm_up)  # builds the UA parser before the first event
            await asyncio.to_thread(geo.warm_up)  # opens the IP-to-country database
            if self._use_process:
                await asyncio.to_thread(self._start_spooler)
            if self._stored_keys is not None and self._clickhouse is not None:  # after the spool feeds it
                self._stored_keys.load_in_background(self._clickhouse)
            if self._spooler is None and self._clickhouse is None:  # ClickHouse: at the next start
                await asyncio.to_thread(replay_leftovers, self._db, self._spool_dir, self.processor)
            self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self._thread.start()

    def _start_spooler(self) -> None:
        try:
            self._spooler = self._new_spooler()
        except (SpoolError, WriterProcessError, OSError) as exc:  # still ingest, on one core
            self._close_endpoint()
            log.warning("spooled ingestion unavailable (%s); writing in a thread", exc)

    def _new_spooler(self) -> Spooler:
        ch, directory = self._clickhouse, self._spool_dir
        if ch is None:
            open_sql = partial(SqlFrames, self._db.url, str(directory), self._accounts_url)
            return Spooler(self._db, directory, self.processor, open_sql)
        # An in-memory accounts database is seen by this process only: then the writer is a
        # thread here. chDB's engine is open in this process only: the writer is a thread too, or
        # a process that reaches the engine through the loopback endpoint served here.
        handoff = None
        in_thread = self._db.is_in_memory or (ch.embedded and self._chdb_writer == "thread")
        if in_thread:
            writer, handoff = ClickHouseWriter(ch, self._db, self._data_dir), FreshFrames()
            open_store: Callable[[], FrameStore] = partial(ClickHouseFrames, writer, directory, handoff)
        else:
            events_url, loopback = ch.url, False
            if ch.embedded:  # the credential goes to the child through its pipe: never argv, never a log
                self._endpoint = Endpoint(ch, Credential.fresh())
                events_url, loopback = self._endpoint.url(), True
            args = (events_url, self._db.url, str(directory), str(self._data_dir), loopback)
            open_store = partial(open_clickhouse_frames, *args)
        position_of = partial(stored_position, ch)
        stored = self._stored_keys.add if self._stored_keys is not None else None
        return Spooler(
            self._db, directory, self.processor, open_store, position_of, in_thread, handoff, stored
        )

    async def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._spooler is not None:
            spooler, self._spooler = self._spooler, None
            await asyncio.to_thread(spooler.close)  # the writer drains the backlog first
        self._close_endpoint()

    def _close_endpoint(self) -> None:
        if self._endpoint is not None:
            endpoint, self._endpoint = self._endpoint, None
            endpoint.close()

    def _admit(self, count: int) -> None:
        if self._thread is None:
            raise IngestUnavailable("ingestion is not running")
        spooler = self._spooler
        if spooler is not None and spooler.gone:
            raise IngestUnavailable("storage error: the writer process is gone")
        if spooler is not None and spooler.backlog >= self._spool_limit:
            raise IngestUnavailable("the writer is behind; events are not being accepted", retry_after=5)
        with self._pending_lock:
            if self._pending + count > self._queue_limit:
                raise IngestUnavailable("too many events waiting to be written", retry_after=2)
            self._pending += count

    async def submit(self, events: Sequence[PendingEvent]) -> list[Outcome]:
        """Store events durably; returns one outcome per event once they are durable."""
        if not events:
            return []
        self._admit(len(events))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Outcome]] = loop.create_future()
        self._queue.put(_Job(events, future, loop))
        return await future

    def write_now(self, events: Sequence[PendingEvent]) -> list[Outcome]:
        """Synchronous write (CLI import, demo, benchmarks); returns once the events are in the
        database (not only in the spool), so the caller can read them."""
        if self._thread is None:
            with self._lock:
                return self._commit(events)
        self._admit(len(events))
        job = _Job(events, concurrent.futures.Future(), None)
        self._queue.put(job)
        outcomes = job.future.result()
        if self._spooler is not None and job.spooled_to:
            try:
                self._spooler.wait_stored(job.spooled_to)
            except WriterProcessError as exc:
                raise IngestUnavailable(f"storage error: {exc}") from exc
        return outcomes

    def _commit(self, events: Sequence[PendingEvent]) -> list[Outcome]:
        if self._direct is not None:  # ClickHouse: prepare, then one batch stored before the answer
            with self._db.reader.begin() as conn:
                live, outcomes, keys = self.processor.prepare_keyed(conn, events)
            for item, outcome in zip(live, self._direct.store_now(live), strict=True):
                outcomes[item.index] = outcome
            if self._stored_keys is not None:
                self._stored_keys.add(keys)
            return outcomes
        try:
            with self._db.sync.begin() as conn:
                return self.processor.process(conn, events)
        except Exception:
            self.processor.forget_cached_state()
            raise

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = [first]
            size = len(first.events)
            stop_after = False
            while size < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop_after = True
                    break
                jobs.append(job)
                size += len(job.events)
            self._write_jobs(jobs)
            if stop_after:
                return

    def _write_jobs(self, jobs: list[_Job]) -> None:
        # A ColumnBatch's columns reach prepare and the spool frame (joined for several requests).
        events = jobs[0].events if len(jobs) == 1 else joined_batches([job.events for job in jobs])
        try:
            if self._spooler is not None:
                outcomes, end = self._spooler.write(events)
                for job in jobs:
                    job.spooled_to = end
            else:
                with self._lock:
                    outcomes = self._commit(events)
        except Exception as exc:
            log.exception("ingestion batch of %d events failed", len(events))
            self._settle(jobs, IngestUnavailable(f"storage error: {type(exc).__name__}"))
            return
        self._settle(jobs, outcomes)

    def _settle(self, jobs: list[_Job], result: list[Outcome] | Exception) -> None:
        """Resolve each job's future: with its slice of the batch's outcomes, or with the error."""
        # One wake-up per event loop, not per job: each call_soon_threadsafe writes to the loop's
        # self-pipe, which at thousands of events per second is a real cost.
        by_loop: dict[asyncio.AbstractEventLoop | None, list[tuple[Any, Any]]] = {}
        offset = 0
        for job in jobs:
            count = len(job.events)
            value = result if isinstance(result, Exception) else result[offset : offset + count]
            by_loop.setdefault(job.loop, []).append((job.future, value))
            offset += count
        with self._pending_lock:
            self._pending -= offset
        for loop, settled in by_loop.items():
            if loop is None:
                _resolve_all(settled)  # concurrent futures: safe from this thread
            else:
                loop.call_soon_threadsafe(_resolve_all, settled)


def _resolve_all(settled: list[tuple[Any, Any]]) -> None:
    for future, value in settled:
        if future.done():
            continue
        if isinstance(value, Exception):
            future.set_exception(value)
        else:
            future.set_result(value)
