"""The durable write path: one writer thread, group commit.

Requests put their events on a queue and wait. The writer takes everything queued (up to a
batch bound), processes it in ONE transaction, commits, and only then wakes the requests, so a
202 always means committed. While one commit is in flight the next batch gathers, which is what
lets one process sustain thousands of durable events per second on SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from analytics_mcp.config import Settings
from analytics_mcp.ingest import enrich
from analytics_mcp.ingest.model import Outcome, PendingEvent
from analytics_mcp.ingest.process import BatchProcessor
from analytics_mcp.ingest.writer_process import WriterProcess
from analytics_mcp.storage.db import Database

log = logging.getLogger("analytics_mcp.ingest")


class IngestUnavailable(Exception):
    """Overload or storage failure: the caller answers 503 with Retry-After, never 202."""

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Job:
    events: list[PendingEvent]
    future: asyncio.Future[list[Outcome]]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class Ingestor:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._max_batch = settings.ingest_max_batch
        self._queue_limit = settings.ingest_queue_limit
        self.processor = BatchProcessor()
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._lock = threading.Lock()  # one writer at a time in this process
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._use_process = settings.ingest_process and not db.is_in_memory
        self._child: WriterProcess | None = None

    async def start(self) -> None:
        if self._thread is None:
            await asyncio.to_thread(enrich.warm_up)  # builds the UA parser before the first event
            if self._use_process:
                self._child = await asyncio.to_thread(WriterProcess, self._db.url)
            self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._child is not None:
            child, self._child = self._child, None
            await asyncio.to_thread(child.stop)

    async def submit(self, events: list[PendingEvent]) -> list[Outcome]:
        """Store events durably; returns one outcome per event once they are committed."""
        if not events:
            return []
        if self._thread is None:
            raise IngestUnavailable("ingestion is not running")
        with self._pending_lock:
            if self._pending + len(events) > self._queue_limit:
                raise IngestUnavailable("too many events waiting to be written", retry_after=2)
            self._pending += len(events)
        loop = asyncio.get_running_loop()
        job = _Job(events, loop.create_future(), loop)
        self._queue.put(job)
        return await job.future

    def write_now(self, events: list[PendingEvent]) -> list[Outcome]:
        """Synchronous write in the caller's thread (CLI import, demo, benchmarks)."""
        with self._lock:
            return self._commit(events)

    def _commit(self, events: list[PendingEvent]) -> list[Outcome]:
        if self._child is not None:
            return self._child.write(events)
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
            size = len(first.events)  # type: ignore[union-attr]
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
                size += len(job.events)  # type: ignore[union-attr]
            self._write_jobs(jobs)  # type: ignore[arg-type]
            if stop_after:
                return

    def _write_jobs(self, jobs: list[_Job]) -> None:
        events = [event for job in jobs for event in job.events]
        try:
            with self._lock:
                outcomes = self._commit(events)
        except Exception as exc:
            log.exception("ingestion batch of %d events failed", len(events))
            self._settle(jobs, None, IngestUnavailable(f"storage error: {type(exc).__name__}"))
            return
        self._settle(jobs, outcomes, None)

    def _settle(self, jobs: list[_Job], outcomes: list[Outcome] | None, error: Exception | None) -> None:
        # One wake-up per event loop, not per job: each call_soon_threadsafe writes to the loop's
        # self-pipe, which at thousands of events per second is a real cost.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[Outcome]], Any]]] = {}
        offset = 0
        for job in jobs:
            count = len(job.events)
            value = error if error is not None else outcomes[offset : offset + count]  # type: ignore[index]
            by_loop.setdefault(job.loop, []).append((job.future, value))
            offset += count
        with self._pending_lock:
            self._pending -= offset
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_resolve_all, settled)


def _resolve_all(settled: list[tuple[asyncio.Future[list[Outcome]], Any]]) -> None:
    for future, value in settled:
        if future.done():
            continue
        if isinstance(value, Exception):
            future.set_exception(value)
        else:
            future.set_result(value)
