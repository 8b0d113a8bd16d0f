"""One export page as a stream of bytes: read a chunk, shape it, encode it, send it, repeat.

Memory stays flat whatever the page size: at most one chunk of rows is alive at a time (plus the
next one being read), and the response's send() waits for the client, so a slow reader slows the
reads instead of filling a buffer. Each chunk is its own short read on a pooled connection: a
slow client holds no connection and no read snapshot between chunks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Select

from analytics_mcp.export import queries
from analytics_mcp.export.encode import Formatter
from analytics_mcp.export.queries import Position
from analytics_mcp.export.rows import Shaped, Shaper
from analytics_mcp.export.tables import Table
from analytics_mcp.export.writers import Format, writer_for
from analytics_mcp.storage.account_types import Goal
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


async def export_stream(db: Database, job: ExportJob) -> AsyncIterator[bytes]:
    writer = writer_for(job.format, job.table)
    header = writer.header()
    if header:
        yield header
    shaper = Shaper(Formatter(job.session_key), job.domains, writer.tail)
    async for rows in _shaped(db, job, shaper):
        while body := writer.rows(islice(rows, ROWS_PER_WRITE)):  # empty: the chunk is done
            yield body


@dataclass(frozen=True, slots=True)
class Source:
    """How a paged table is read and shaped: its keyset statement, what else a chunk needs from
    the same connection (visits, items), and the Shaper method that makes its rows."""

    statement: Callable[[list[int]], Select[Any]]
    extra: Callable[[Shaper, Connection, list[Any]], Any]
    shape: Callable[[Shaper, list[Any], Any], Iterator[Shaped]]


def _items(_shaper: Shaper, conn: Connection, rows: list[Any]) -> Any:
    return queries.items_of(conn, [row[1] for row in rows])


def _nothing(_shaper: Shaper, _conn: Connection, _rows: list[Any]) -> None:
    return None


SOURCES = {
    "pageviews": Source(queries.pageviews_sql, Shaper.visits_of, Shaper.pageviews),
    "goal_completions": Source(queries.completions_sql, _nothing, Shaper.goal_completions),
    "ecommerce_events": Source(queries.ecommerce_sql, _items, Shaper.ecommerce_events),
}
Chunk = tuple[list[Any], Any]


async def _shaped(db: Database, job: ExportJob, shaper: Shaper) -> AsyncIterator[Iterator[Shaped]]:
    if not job.site_ids:
        return
    if job.table.name == "goals":
        yield shaper.goals(job.goals)
        return
    source = SOURCES[job.table.name]
    async for rows, extra in _chunks(db, job, source, shaper):
        yield source.shape(shaper, rows, extra)


async def _chunks(db: Database, job: ExportJob, source: Source, shaper: Shaper) -> AsyncIterator[Chunk]:
    """Raw rows in (ts, id) order, CHUNK_ROWS at a time, up to job.limit, each chunk with what
    `source.extra` reads for it. The next chunk is read while the current one is sent."""
    query = queries.RawQuery(source.statement(job.site_ids), db.aio.dialect)

    def reader(after: Position, size: int) -> Callable[[Connection], Chunk]:
        def run(conn: Connection) -> Chunk:
            rows = queries.chunk(conn, query, after, job.start_ms, job.end_ms, size)
            return rows, source.extra(shaper, conn, rows)

        return run

    def start(after: Position, size: int) -> asyncio.Future[Chunk]:
        return asyncio.ensure_future(read(db, reader(after, size)))

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
