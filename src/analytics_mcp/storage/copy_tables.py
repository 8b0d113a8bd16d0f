"""Copying every table of an install to other databases (`analytics-mcp db copy`): in foreign-key
order, each table in chunks read by keyset pagination on its primary key (composite keys compare
as row values, in the source's own order), so memory stays constant however big a table is; row
ids are kept. Each chunk is inserted (COPY into PostgreSQL, an executemany INSERT elsewhere) and
its progress saved in one target transaction (storage/copy_state.py), which makes a run that is
stopped anywhere resumable without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    Row,
    Select,
    Table,
    delete,
    false,
    func,
    literal,
    select,
    text,
    tuple_,
)

from analytics_mcp.storage.copy_state import SEEDED_TABLES, TableProgress, database_label, save_progress
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.roles import Role, role_of
from analytics_mcp.storage.schema import metadata

DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class Route:
    """Where one table comes from and goes to."""

    table: Table
    role: Role
    source: Database
    target: Database

    @property
    def source_label(self) -> str:
        return database_label(self.source.url)


def plan_routes(sources: dict[Role, Database], targets: dict[Role, Database]) -> list[Route]:
    """Every table of the schema from its role's source to its role's target: the accounts
    tables first, then the events tables, each in foreign-key order."""
    ordered = sorted(metadata.sorted_tables, key=lambda table: role_of(table.name) == "events")
    return [Route(t, role_of(t.name), sources[role_of(t.name)], targets[role_of(t.name)]) for t in ordered]


def key_columns(table: Table) -> list[Column[Any]]:
    keys = list(table.primary_key.columns)
    if not keys:
        raise ValueError(f"table {table.name!r} has no primary key: db copy cannot page through it")
    return keys


def page(table: Table, after: Sequence[Any] | None, limit: int) -> Select[Any]:
    """The next `limit` rows after the key `after` (None: from the start), in key order."""
    keys = key_columns(table)
    stmt = select(table).order_by(*keys).limit(limit)
    if after is None:
        return stmt
    bounds = [literal(value, column.type) for column, value in zip(keys, after, strict=True)]
    if len(keys) == 1:
        return stmt.where(keys[0] > bounds[0])
    return stmt.where(tuple_(*keys) > tuple_(*bounds))


def insert_chunk(conn: Connection, table: Table, rows: Sequence[Row[Any]]) -> None:
    """The rows into `table` in the connection's transaction: PostgreSQL through COPY (psycopg
    adapts each value as it would a parameter), elsewhere one executemany INSERT."""
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), [dict(row._mapping) for row in rows])
        return
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(column.name) for column in table.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copy_table(
    route: Route, progress: TableProgress, batch: int, on_rows: Callable[[int], None]
) -> TableProgress:
    """Copy the rows after `progress` (a fresh TableProgress: from the start), chunk by chunk,
    each chunk committed with its progress; `on_rows` hears each chunk's size."""
    table, keys = route.table, key_columns(route.table)
    with route.source.reader.connect() as src, route.target.sync.connect() as dst:
        while not progress.done:
            rows = src.execute(page(table, progress.last_key, batch)).all()
            with dst.begin():
                if rows and not progress.saved and table.name in SEEDED_TABLES:
                    dst.execute(delete(table))  # what a fresh migration put there: the source's instead
                if rows:
                    insert_chunk(dst, table, rows)
                    progress.last_key = [rows[-1]._mapping[column.name] for column in keys]
                    progress.rows += len(rows)
                progress.done = len(rows) < batch
                save_progress(dst, table.name, progress)
            if rows:
                on_rows(len(rows))
    return progress


def fix_sequences(db: Database) -> int:
    """PostgreSQL: every serial key's sequence set past the largest id copied, so the next row
    gets a fresh id (rows were inserted with their ids, which leaves sequences at 1). The number
    of sequences set; SQLite needs none (a new rowid is max + 1)."""
    if db.sync.dialect.name != "postgresql":
        return 0
    fixed = 0
    with db.sync.begin() as conn:
        for table in metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            if len(keys) != 1 or not isinstance(keys[0].type, Integer):
                continue
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": keys[0].name},
            ).scalar()
            if sequence is None:
                continue  # ids assigned by the writer (events, visits): no sequence
            top = select(func.coalesce(func.max(keys[0]), 0)).scalar_subquery()
            conn.execute(select(func.setval(literal(sequence), top + 1, false())))
            fixed += 1
    return fixed
