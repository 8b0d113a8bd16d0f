"""The durable write path: one writer thread, group commit.

Requests put their events on a queue and wait. The writer takes everything queued (up to a
batch bound), processes it in ONE transaction, commits, and only then wakes the requests, so a
202 always means committed. While one commit is in flight the next batch gathers, which is what
lets one process sustain thousands of durable events per second on SQLite.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from analytics_mcp.config import Settings
from analytics_mcp.ingest import enrich
from analytics_mcp.ingest.model import Outcome, PendingEvent
from analytics_mcp.ingest.process import BatchProcessor
from analytics_mcp.ingest.writer_process import WriterProcess, WriterProcessError, WriterProcessGone
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
    future: asyncio.Future[list[Outcome]] | concurrent.futures.Future[list[Outcome]]
    loop: asyncio.AbstractEventLoop | None  # None: a thread waits on a concurrent future


_STOP = object()
_IN_FLIGHT = 2  # batches queued at the writer process, so it never waits for the next one


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
        self._receiver: threading.Thread | None = None
        self._in_flight: deque[list[_Job]] = deque()  # sent to the child, oldest first
        self._slots = threading.Semaphore(_IN_FLIGHT)
        self._child_gone = False

    @property
    def healthy(self) -> bool:
        """False once the writer process died: every write answers 503 until a restart."""
        return not self._child_gone

    async def start(self) -> None:
        if self._thread is None:
            await asyncio.to_thread(enrich.warm_up)  # builds the UA parser before the first event
            if self._use_process:
                await self._start_child()
            self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self._thread.start()

    async def _start_child(self) -> None:
        try:
            self._child = await asyncio.to_thread(WriterProcess, self._db.url)
        except (WriterProcessError, OSError) as exc:  # still ingest, on one core
            log.warning("writer process unavailable (%s); writing in a thread", exc)
            return
        self._child_gone = False
        self._receiver = threading.Thread(target=self._receive, name="ingest-receiver", daemon=True)
        self._receiver.start()

    async def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._child is not None:
            await asyncio.to_thread(self._stop_child)

    def _stop_child(self) -> None:
        for _ in range(_IN_FLIGHT):  # every sent batch answered
            self._slots.acquire()
        child, self._child = self._child, None
        assert child is not None
        child.stop()
        if self._receiver is not None:
            self._receiver.join()
            self._receiver = None
        for _ in range(_IN_FLIGHT):
            self._slots.release()

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
        """Synchronous write (CLI import, demo, benchmarks): in the caller's thread, or through
        the writer process while it runs."""
        if self._child is None:
            with self._lock:
                return self._commit(events)
        future: concurrent.futures.Future[list[Outcome]] = concurrent.futures.Future()
        with self._pending_lock:
            self._pending += len(events)
        self._queue.put(_Job(events, future, None))
        return future.result()

    def _commit(self, events: list[PendingEvent]) -> list[Outcome]:
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
        if self._child is not None:
            self._send(jobs)
            return
        events = [event for job in jobs for event in job.events]
        try:
            with self._lock:
                outcomes = self._commit(events)
        except Exception as exc:
            log.exception("ingestion batch of %d events failed", len(events))
            self._settle(jobs, None, IngestUnavailable(f"storage error: {type(exc).__name__}"))
            return
        self._settle(jobs, outcomes, None)

    def _send(self, jobs: list[_Job]) -> None:
        """Hand a batch to the writer process; `_receive` settles it once it is committed."""
        self._slots.acquire()
        with self._pending_lock:
            gone = self._child_gone
            if not gone:
                self._in_flight.append(jobs)
        if gone:
            self._slots.release()
            self._settle(jobs, None, IngestUnavailable("storage error: the writer process is gone"))
            return
        try:
            self._child.send([event for job in jobs for event in job.events])  # type: ignore[union-attr]
        except WriterProcessError:
            self._fail_in_flight()

    def _receive(self) -> None:
        """Settle the batches in the order the writer process answers them."""
        while True:
            try:
                outcomes, error = self._child.receive(), None  # type: ignore[union-attr]
            except WriterProcessGone:
                self._fail_in_flight()
                return
            except WriterProcessError as exc:
                log.error("ingestion batch failed in the writer process: %s", exc)
                outcomes, error = None, IngestUnavailable("storage error: the batch was rolled back")
            with self._pending_lock:
                jobs = self._in_flight.popleft()
            self._settle(jobs, outcomes, error)
            self._slots.release()

    def _fail_in_flight(self) -> None:
        """The writer process is gone: every batch sent and not answered gets a 503."""
        with self._pending_lock:
            self._child_gone = True
            lost = list(self._in_flight)
            self._in_flight.clear()
        if lost:
            log.error("the writer process is gone; %d batches answered 503", len(lost))
        for jobs in lost:
            self._settle(jobs, None, IngestUnavailable("storage error: the writer process is gone"))
            self._slots.release()

    def _settle(self, jobs: list[_Job], outcomes: list[Outcome] | None, error: Exception | None) -> None:
        # One wake-up per event loop, not per job: each call_soon_threadsafe writes to the loop's
        # self-pipe, which at thousands of events per second is a real cost.
        by_loop: dict[asyncio.AbstractEventLoop | None, list[tuple[Any, Any]]] = {}
        offset = 0
        for job in jobs:
            count = len(job.events)
            value = error if error is not None else outcomes[offset : offset + count]  # type: ignore[index]
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
