"""The writer process: stores spooled frames into the database on its own core.

The server appends prepared batches to the spool (ingest/spool.py) and tells this process how far
the spool is durable; it stores the frames in order, a few thousand events per transaction, and
answers each commit with the new position. A listener thread takes the server's notices, so the
pipe never fills while a transaction runs. A frame that fails three times on its own is set aside
(`failed/`) so one bad frame cannot stop ingestion.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

log = logging.getLogger("analytics_mcp.ingest")
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 120  # a graceful stop stores the whole backlog first
_ATTEMPTS = 3
_NICENESS = 10
_MAX_BACKOFF_S = 5.0


class WriterProcessError(Exception):
    """The writer process failed to start or to store."""


class WriterProcessGone(WriterProcessError):
    """The writer process is gone: nothing more will be stored until a restart."""


class _Target:
    """How far the spool is durable, as the server last said, and whether to stop there."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._goal = 0
        self._stopping = False

    def raise_to(self, goal: int, *, stop: bool = False) -> None:
        with self._cond:
            self._goal = max(self._goal, goal)
            self._stopping = self._stopping or stop
            self._cond.notify()

    def next(self, position: int) -> tuple[int, bool]:
        with self._cond:
            self._cond.wait_for(lambda: self._goal > position or self._stopping)
            return self._goal, self._stopping

    def more(self, position: int, gather: Gather) -> tuple[int, bool]:
        """`next`, then waiting for gather.bytes past `position` (or a stop) while frames keep
        coming: up to gather.seconds, and no longer than gather.quiet after the last new frame, so
        the end of a burst is stored at once instead of after the whole wait."""
        with self._cond:
            deadline = time.monotonic() + gather.seconds
            seen, seen_at = self._goal, time.monotonic()
            while self._goal - position < gather.bytes and not self._stopping:
                now = time.monotonic()
                if self._goal != seen:
                    seen, seen_at = self._goal, now
                wake = min(deadline, seen_at + gather.quiet)
                if now >= wake:
                    break
                self._cond.wait(timeout=wake - now)
            return self._goal, self._stopping


@dataclass(frozen=True, slots=True)
class Gather:
    """A store that wants few large batches (ClickHouse: each insert is a part per table, merged
    later): after a batch of at least `busy` events (frames arrive fast), the writer waits up to
    `seconds` for `bytes` of frames before the next batch, but stops waiting once no new frame has
    come for `quiet` seconds (the burst is over: waiting longer only delays it). After a smaller
    batch it stores at once, so a lone request is stored as soon as before."""

    busy: int
    bytes: int
    seconds: float
    quiet: float


def _listen(pipe: Connection, target: _Target) -> None:
    while True:
        try:
            kind, goal = pipe.recv()
        except (EOFError, OSError):  # the server is gone: store what is durable, then stop
            target.raise_to(0, stop=True)
            return
        target.raise_to(goal, stop=kind == "stop")
        if kind == "stop":
            return


class FrameStore(Protocol):
    """Where the writer stores frames: the SQL events database (spool/storing.py) or ClickHouse
    (ingest/clickhouse/frames.py). `gather`: None stores what is spooled at once."""

    @property
    def gather(self) -> Gather | None: ...

    def position(self) -> int: ...

    def store(self, position: int, stop: int, max_bytes: int) -> tuple[int, int]: ...

    def quarantine(self, position: int, stop: int) -> int: ...

    def close(self) -> None: ...


def _serve(open_store: Callable[[], FrameStore], pipe: Connection, in_thread: bool = False) -> None:
    from analytics_mcp.heap import tune_collector
    from analytics_mcp.ingest import enrich
    from analytics_mcp.ingest.spool.storing import TRANSACTION_BYTES, Unavailable

    if not in_thread:
        # Acknowledging comes first: under load the HTTP process gets the CPU and this one
        # stores the backlog in the gaps (the spool holds it durably meanwhile).
        os.nice(_NICENESS)
    store = open_store()
    if not in_thread:
        enrich.warm_up()
        tune_collector()
    position = store.position()
    target = _Target()
    pipe.send(("ready", position))
    threading.Thread(target=_listen, args=(pipe, target), name="spool-listener", daemon=True).start()
    failures = 0
    waiting = 0  # consecutive attempts while the database was unreachable
    count = 0  # events of the last batch stored
    while True:
        goal, stopping = target.next(position)
        if goal <= position:
            break
        if store.gather is not None and count >= store.gather.busy and not stopping:
            goal, stopping = target.more(position, store.gather)
        limit = TRANSACTION_BYTES if failures == 0 else 1  # after a failure, one frame at a time
        try:
            moved, count = store.store(position, goal, max_bytes=limit)
        except Unavailable as exc:  # never a reason to set a frame aside: wait and retry
            waiting += 1
            pipe.send(("error", f"database unavailable (retrying): {exc}"))
            if stopping and waiting > _ATTEMPTS:
                break  # what is left stays in the spool for the next start
            time.sleep(min(_MAX_BACKOFF_S, 0.1 * 2**waiting))
            continue
        except Exception as exc:
            failures += 1
            pipe.send(("error", f"{type(exc).__name__}: {exc}"))
            if failures <= _ATTEMPTS:
                time.sleep(0.1 * failures)
                continue
            moved, count, failures = store.quarantine(position, goal), 0, 0
        else:
            failures = waiting = 0
        if moved == position:  # the spool has nothing readable before the goal
            pipe.send(("error", f"spool unreadable between {position} and {goal}"))
            if stopping:
                break
            time.sleep(1)
            continue
        position = moved
        pipe.send(("stored", (position, count)))
    store.close()


def _serve_thread(open_store: Callable[[], FrameStore], pipe: Connection) -> None:
    try:
        _serve(open_store, pipe, in_thread=True)
    except Exception:
        log.exception("the writer thread failed")
    finally:
        pipe.close()  # the server's receiver sees the writer gone


class _Notices:
    """The server's notices to the writer process, merged: only the latest durable position
    matters, and sending must never block a request (the pipe fills when the writer stalls)."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe
        self._cond = threading.Condition()
        self._goal = 0
        self._sent = 0
        self._stop_at: int | None = None
        self.broken = False
        self._thread = threading.Thread(target=self._send, name="spool-notices", daemon=True)
        self._thread.start()

    def raise_to(self, goal: int) -> None:
        with self._cond:
            self._goal = max(self._goal, goal)
            self._cond.notify()

    def stop_at(self, goal: int, timeout: float) -> None:
        """The last notice: store up to `goal`, then exit. Waits until it is sent."""
        with self._cond:
            self._stop_at = goal
            self._cond.notify()
        self._thread.join(timeout)

    def _send(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._goal > self._sent or self._stop_at is not None)
                goal, stop_at = self._goal, self._stop_at
            try:
                if stop_at is not None:
                    self._pipe.send(("stop", max(goal, stop_at)))
                    return
                self._pipe.send(("spooled", goal))
            except (EOFError, OSError):  # the writer process is gone
                self.broken = True
                return
            self._sent = goal


class WriterProcess:
    """The server's handle on the writer process."""

    def __init__(self, open_store: Callable[[], FrameStore], *, in_thread: bool = False) -> None:
        """`open_store` runs in the writer (picklable for a process); `in_thread`: a thread of
        this process instead (chDB's engine can be open in one process only)."""
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._pipe, child_end = context.Pipe()
        self._process: Any
        if in_thread:
            self._process = threading.Thread(
                target=_serve_thread, args=(open_store, child_end), name="ingest-writer", daemon=True
            )
            self._process.start()
        else:
            self._process = context.Process(
                target=_serve, args=(open_store, child_end), name="ingest-writer", daemon=True
            )
            self._process.start()
            child_end.close()
        try:
            if not self._pipe.poll(_START_TIMEOUT_S):
                raise WriterProcessGone("the writer process did not start")
            _ready, self.position = self._pipe.recv()
        except (EOFError, OSError) as exc:
            raise WriterProcessGone("the writer process failed to start") from exc
        self._notices = _Notices(self._pipe)

    def notify(self, durable_end: int) -> None:
        """The spool is durable up to here: store it (returns at once)."""
        if self._notices.broken:
            raise WriterProcessGone("the writer process is gone")
        self._notices.raise_to(durable_end)

    def receive(self) -> tuple[str, Any]:
        """("stored", (position, events)) or ("error", message); blocks without the GIL."""
        try:
            message: tuple[str, Any] = self._pipe.recv()  # the writer process sends (kind, payload) pairs
            return message
        except (EOFError, OSError) as exc:
            raise WriterProcessGone("the writer process is gone") from exc

    def stop(self, durable_end: int) -> None:
        """Store everything up to durable_end, then exit (what is left stays in the spool)."""
        self._notices.stop_at(durable_end, timeout=_STOP_TIMEOUT_S)
        self._process.join(timeout=_STOP_TIMEOUT_S)
        if self._process.is_alive() and not isinstance(self._process, threading.Thread):
            log.error("the writer process did not stop; terminating it (the spool keeps the rest)")
            self._process.terminate()
            self._process.join(timeout=10)

    def close(self) -> None:
        self._pipe.close()
