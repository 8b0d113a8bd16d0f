"""One export page as a stream of bytes: read a chunk, shape it, encode it, send it, repeat.

Memory stays flat whatever the page size: at most one chunk of rows is alive at a time (plus the
next one being read), and the response's send() waits for the client, so a slow reader slows the
reads instead of filling a buffer. Each chunk is its own short read on a pooled connection: a
slow client holds no connection and no read snapshot between chunks.

The events may be in SQL (`queries.py`, on a pooled connection) or in ClickHouse
(`clickhouse_queries.py`, in a worker thread): both give the same rows, shaped and written alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Select

from analytics_mcp.export import queries
from analytics_mcp.export.clickhouse_queries import ClickHouseExportReads
from analytics_mcp.export.encode import Formatter
from analytics_mcp.export.queries import ItemsByEvent, Position
from analytics_mcp.export.rows import Shaped, Shaper, VisitReads
from analytics_mcp.export.tables import Table
from analytics_mcp.export.writers import Format, writer_for
from analytics_mcp.storage.account_types import Goal
from analytics_mcp.storage.clickhouse import ClickHouseEvents, EventsDatabase
from analytics_mcp.storage.db import Database

CHUNK_ROWS = 5000  # rows per read
# Rows per response write: ~100 KB, under malloc's mmap threshold, so the buffers come from (and go
# back to) the heap instead of fresh pages for every write; page faults are dear, in a VM most.
ROWS_PER_WRITE = 200
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExportJob:
    """One validated export request: what to read, from where, and how to write it."""

    table: Table
    domains: Mapping[int, str]  # site id -> domain, for the sites being exported
    start_ms: int
    end_ms: int
    after: Position
    limit: int
    format: Format
    session_key: bytes
    goals: tuple[Goal, ...] = ()  # the goals export: read from the accounts database at the edge

    @property
    def site_ids(self) -> list[int]:
        return sorted(self.domains)


async def read(db: Database, fn: Callable[[Connection], T]) -> T:
    """Run one sync read on a pooled async connection (tests wrap this to pause a stream)."""
    async with db.aio.connect() as conn:
        return await conn.run_sync(fn)


async def export_stream(db: EventsDatabase, job: ExportJob) -> AsyncIterator[bytes]:
    writer = writer_for(job.format, job.table)
    header = writer.header()
    if header:
        yield header
    shaper = Shaper(Formatter(job.session_key), job.domains, writer.tail)
    async for rows in _shaped(db, job, shaper):
        while body := writer.rows(islice(rows, ROWS_PER_WRITE)):  # empty: the chunk is done
            yield body


class RowReads(VisitReads, Protocol):
    """What a chunk needs besides its own rows: SQL's on the chunk's connection, or ClickHouse's."""

    def items_of(self, rows: Sequence[tuple[Any, ...]]) -> ItemsByEvent:
        """The products of these e-commerce rows ((ts, id, ...)), by event id."""
        ...


@dataclass(frozen=True, slots=True)
class Source:
    """How a paged table is read and shaped: its keyset statement (SQL), what else a chunk needs
    (visits, items), and the Shaper method that makes its rows."""

    statement: Callable[[list[int]], Select[Any]]
    extra: Callable[[Shaper, RowReads, list[Any]], Any]
    shape: Callable[[Shaper, list[Any], Any], Iterator[Shaped]]


def _items(_shaper: Shaper, reads: RowReads, rows: list[Any]) -> Any:
    return reads.items_of(rows)


def _nothing(_shaper: Shaper, _reads: RowReads, _rows: list[Any]) -> None:
    return None


SOURCES = {
    "pageviews": Source(queries.pageviews_sql, Shaper.visits_of, Shaper.pageviews),
    "goal_completions": Source(queries.completions_sql, _nothing, Shaper.goal_completions),
    "ecommerce_events": Source(queries.ecommerce_sql, _items, Shaper.ecommerce_events),
}
Chunk = tuple[list[Any], Any]
ReadChunk = Callable[[Position, int], Awaitable[Chunk]]


async def _shaped(db: EventsDatabase, job: ExportJob, shaper: Shaper) -> AsyncIterator[Iterator[Shaped]]:
    if not job.site_ids:
        return
    if job.table.name == "goals":
        yield shaper.goals(job.goals)
        return
    source = SOURCES[job.table.name]
    read_chunk = (
        _clickhouse_reader(db, job, source, shaper)
        if isinstance(db, ClickHouseEvents)
        else _sql_reader(db, job, source, shaper)
    )
    async for rows, extra in _chunks(read_chunk, job):
        yield source.shape(shaper, rows, extra)


def _sql_reader(db: Database, job: ExportJob, source: Source, shaper: Shaper) -> ReadChunk:
    """A chunk and its extra reads on one pooled connection."""
    query = queries.RawQuery(source.statement(job.site_ids), db.aio.dialect)

    async def read_chunk(after: Position, size: int) -> Chunk:
        def run(conn: Connection) -> Chunk:
            rows = queries.chunk(conn, query, after, job.start_ms, job.end_ms, size)
            return rows, source.extra(shaper, queries.SqlReads(conn), rows)

        return await read(db, run)

    return read_chunk


def _clickhouse_reader(events: ClickHouseEvents, job: ExportJob, source: Source, shaper: Shaper) -> ReadChunk:
    """A chunk and its extra reads from ClickHouse, in a worker thread (the client is sync)."""
    reads = ClickHouseExportReads(events, job.site_ids)

    def run(after: Position, size: int) -> Chunk:
        rows = reads.chunk(job.table.name, after, job.start_ms, job.end_ms, size)
        return rows, source.extra(shaper, reads, rows)

    async def read_chunk(after: Position, size: int) -> Chunk:
        return await asyncio.to_thread(run, after, size)

    return read_chunk


async def _chunks(read_chunk: ReadChunk, job: ExportJob) -> AsyncIterator[Chunk]:
    """Raw rows in (ts, id) order, CHUNK_ROWS at a time, up to job.limit, each chunk with what
    its source's `extra` reads for it. The next chunk is read while the current one is sent."""

    def start(after: Position, size: int) -> asyncio.Future[Chunk]:
        return asyncio.ensure_future(read_chunk(after, size))

    remaining = job.limit
    requested = min(CHUNK_ROWS, remaining)
    pending: asyncio.Future[Chunk] | None = start(job.after, requested)
    try:
        while pending is not None:
            rows, more = await pending
            pending = None
            remaining -= len(rows)
            if len(rows) == requested and remaining > 0:  # a short chunk is the range's end
                requested = min(CHUNK_ROWS, remaining)
                pending = start(Position(rows[-1][0], rows[-1][1]), requested)
            if rows:
                yield rows, more
    finally:
        if pending is not None:
            pending.cancel()
