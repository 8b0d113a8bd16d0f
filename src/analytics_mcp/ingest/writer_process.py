"""The ingestion writer in a child process, so its Python work runs on another core than the
HTTP event loop (one process shares one GIL between them).

The parent's writer thread still gathers the group-commit batch; it sends the batch down a pipe
and blocks (without the GIL) until the child has committed it and sent the outcomes back, so a
202 still means committed. The child owns the only BatchProcessor (salts, fingerprints) while it
runs; every write of the parent goes through it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from analytics_mcp.ingest.model import Outcome, PendingEvent

log = logging.getLogger("analytics_mcp.ingest")
_START_TIMEOUT_S = 60


class WriterProcessError(Exception):
    """The child failed to write a batch (it rolled back)."""


class WriterProcessGone(WriterProcessError):
    """The child process is gone: nothing more will be written or answered."""


def _serve(url: str, pipe: Connection) -> None:
    """The child: write each batch it receives in one transaction, answer outcomes or an error."""
    from analytics_mcp.ingest import enrich
    from analytics_mcp.ingest.process import BatchProcessor
    from analytics_mcp.storage.db import open_database

    db = open_database(url)
    processor = BatchProcessor()
    enrich.warm_up()
    pipe.send(("ready", None))
    while True:
        events = pipe.recv()
        if events is None:
            break
        try:
            with db.sync.begin() as conn:
                reply: tuple[str, Any] = ("ok", processor.process(conn, events))
        except Exception as exc:  # reported to the parent, which answers 503
            processor.forget_cached_state()
            reply = ("error", f"{type(exc).__name__}: {exc}")
        pipe.send(reply)
    db.sync.dispose()


class WriterProcess:
    """A child process that writes batches: one thread sends, one receives."""

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(url, child_end), name="ingest-writer", daemon=True
        )
        self._process.start()
        child_end.close()
        if not self._pipe.poll(_START_TIMEOUT_S):
            raise WriterProcessGone("the writer process did not start")
        self._pipe.recv()

    def send(self, events: list[PendingEvent]) -> None:
        """Queue a batch; the child writes batches in the order they were sent."""
        try:
            self._pipe.send(events)
        except (EOFError, OSError) as exc:
            raise WriterProcessGone("the writer process is gone") from exc

    def receive(self) -> list[Outcome]:
        """The outcomes of the oldest batch not yet received (blocks without the GIL)."""
        try:
            status, value = self._pipe.recv()
        except (EOFError, OSError) as exc:
            raise WriterProcessGone("the writer process is gone") from exc
        if status != "ok":
            raise WriterProcessError(value)
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        with contextlib.suppress(EOFError, OSError):  # already gone: nothing to tell it
            self._pipe.send(None)
        self._process.join(timeout=30)
        if self._process.is_alive():
            log.error("the writer process did not stop; terminating it")
            self._process.terminate()
        self._pipe.close()
