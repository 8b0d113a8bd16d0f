"""What `analytics-mcp db copy` keeps in a target database while it copies, and whether a target
may receive a copy at all.

A target holds a `db_copy_progress` table while a copy is under way: per copied table the
source it comes from, the primary key of the last row copied (JSON) and the rows copied so far.
It is written in the same transaction as each chunk of rows, so after a crash or Ctrl-C the
target holds exactly the chunks the table says, and the next run goes on after that key. The
table is dropped once a copy's counts are verified.

A target may receive a copy when it holds no rows (except those a fresh migration seeds:
`plans`), or when its progress table says it is a partial copy of the same source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import make_url

from analytics_mcp.storage.db import Database
from analytics_mcp.storage.schema import metadata

PROGRESS = Table(
    "db_copy_progress",
    MetaData(),
    Column("table_name", String(64), primary_key=True),
    Column("source", String(2000), nullable=False),  # database_label of the source
    Column("last_key", Text, nullable=True),  # JSON array: the primary key of the last row copied
    Column("rows", BigInteger, nullable=False),
    Column("done", Boolean, nullable=False),
)

# Tables a fresh migration fills: their rows are replaced by the source's, not a sign of data.
SEEDED_TABLES = frozenset({"plans"})


@dataclass
class TableProgress:
    source: str
    last_key: list[Any] | None = None
    rows: int = 0
    done: bool = False
    saved: bool = False  # a row exists in PROGRESS


def database_label(url: str) -> str:
    """The URL as shown and as a copy's source is remembered: password hidden, a SQLite path
    made absolute."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(str(parsed.database)).resolve()))
    return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)


def same_database(first: str, second: str) -> bool:
    """Do two URLs name one database (user, password and driver aside)?"""
    a, b = make_url(first), make_url(second)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return database_label(first) == database_label(second)
    return (a.host or "localhost", a.port or 5432, a.database) == (
        b.host or "localhost",
        b.port or 5432,
        b.database,
    )


def read_progress(conn: Connection) -> dict[str, TableProgress] | None:
    """The progress of a copy under way, per table; None when the target has no progress table."""
    if not inspect(conn).has_table(PROGRESS.name):
        return None
    found: dict[str, TableProgress] = {}
    for row in conn.execute(select(PROGRESS)):
        key = json.loads(row.last_key) if row.last_key is not None else None
        found[row.table_name] = TableProgress(row.source, key, int(row.rows), bool(row.done), saved=True)
    return found


def save_progress(conn: Connection, table: str, progress: TableProgress) -> None:
    values = {
        "source": progress.source,
        "last_key": None if progress.last_key is None else json.dumps(progress.last_key),
        "rows": progress.rows,
        "done": progress.done,
    }
    if progress.saved:
        conn.execute(PROGRESS.update().where(PROGRESS.c.table_name == table).values(values))
    else:
        conn.execute(PROGRESS.insert().values(table_name=table, **values))
        progress.saved = True


def start_progress(db: Database) -> None:
    with db.sync.begin() as conn:
        PROGRESS.create(conn, checkfirst=True)


def drop_progress(db: Database) -> None:
    with db.sync.begin() as conn:
        PROGRESS.drop(conn, checkfirst=True)


def count_rows(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def target_problem(conn: Connection, sources: Mapping[str, str]) -> str | None:
    """Why the target behind `conn` may not receive the tables of `sources` (table -> the label
    of the database it comes from), or None when it may: it is empty, or a partial copy of these
    sources. Tables it does not receive must stay empty."""
    progress = read_progress(conn) or {}
    existing = set(inspect(conn).get_table_names())
    for table in metadata.sorted_tables:
        state = progress.get(table.name)
        if state is not None and table.name in sources:
            if state.source != sources[table.name]:
                return f"holds a partial copy of another database ({state.source})"
            continue
        if table.name in SEEDED_TABLES or table.name not in existing:
            continue
        rows = count_rows(conn, table)
        if rows:
            return (
                f"already holds data ({table.name}: {rows:,} rows) and is not a partial copy of this source"
            )
    return None
