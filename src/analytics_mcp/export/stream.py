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
from typing import Any, TypeVar

from sqlalchemy import Connection, Select

from analytics_mcp.export import queries
from analytics_mcp.export.encode import Formatter
from analytics_mcp.export.queries import Position
from analytics_mcp.export.rows import Shaped, Shaper
from analytics_mcp.export.tables import Table
from analytics_mcp.export.writers import Format, writer_for
from analytics_mcp.storage.accounts import list_goals
from analytics_mcp.storage.db import Database

CHUNK_ROWS = 2000
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
        body = writer.rows(rows)
        if body:  # an empty chunk would end a chunked response early
            yield body


async def _shaped(db: Database, job: ExportJob, shaper: Shaper) -> AsyncIterator[Iterator[Shaped]]:
    if not job.site_ids:
        return
    name = job.table.name
    if name == "goals":
        goals = await read(db, lambda conn: list_goals(conn, job.site_ids))
        yield shaper.goals(goals)
        return
    extra: Callable[[Connection, list[Any]], Any] = {
        "pageviews": shaper.visits_of,
        "ecommerce_events": lambda conn, rows: queries.items_of(conn, [row[1] for row in rows]),
    }.get(name, lambda _conn, _rows: None)
    async for rows, more in _chunks(db, job, extra):
        if name == "pageviews":
            yield shaper.pageviews(rows, more)
        elif name == "goal_completions":
            yield shaper.goal_completions(rows)
        else:
            yield shaper.ecommerce_events(rows, more)


_STATEMENTS: dict[str, Callable[[list[int]], Select[Any]]] = {
    "pageviews": queries.pageviews_sql,
    "goal_completions": queries.completions_sql,
    "ecommerce_events": queries.ecommerce_sql,
}
Chunk = tuple[list[Any], Any]


async def _chunks(
    db: Database, job: ExportJob, extra: Callable[[Connection, list[Any]], Any]
) -> AsyncIterator[Chunk]:
    """Raw rows in (ts, id) order, CHUNK_ROWS at a time, up to job.limit, each with what
    `extra` reads for them on the same connection (visits, items). The next chunk is read while
    the current one is shaped and sent."""
    query = queries.RawQuery(_STATEMENTS[job.table.name](job.site_ids), db.aio.dialect)

    def reader(after: Position, size: int) -> Callable[[Connection], Chunk]:
        def run(conn: Connection) -> Chunk:
            rows = queries.chunk(conn, query, after, job.start_ms, job.end_ms, size)
            return rows, extra(conn, rows)

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
