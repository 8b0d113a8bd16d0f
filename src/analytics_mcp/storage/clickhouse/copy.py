"""`analytics-mcp events copy`: the events tables of an install's SQL events database copied into
ClickHouse, in id order and in chunks. Resumable without bookkeeping: each table goes on after the
largest id ClickHouse already holds (a chunk is one insert, stored whole or not at all), and a
chunk sent twice is stored once (its deduplication token, then the id in the sort key). At the end
every table's rows are counted on both sides."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.schema import COPIED_TABLES, TIME_COLUMNS
from analytics_mcp.storage.schema import metadata

DEFAULT_BATCH = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VERSIONED = frozenset({"visits", "events"})  # ReplacingMergeTree(version): copied rows are version 0


def as_datetime(ms: int) -> datetime:
    """Epoch ms as an aware UTC datetime, exactly (no float on the way)."""
    return _EPOCH + timedelta(milliseconds=ms)


def source_tables() -> list[tuple[Table, str]]:
    return [(metadata.tables[name], key) for name, key in COPIED_TABLES]


def copied_up_to(conn: Connection, events: ClickHouseEvents, table: Table, key: str) -> int | None:
    """Where to go on: the largest id ClickHouse holds in `table` when every source row up to it is
    there too, else None (from the start). A chunk spanning months is stored as one part per month,
    so a killed insert can leave a later id in without an earlier one; copying again from the start
    sends the same chunks, which store only what is missing."""
    rows = events.rows(f"SELECT count(), max({key}) FROM {events.table(table.name)}")
    if not rows or not rows[0][0]:
        return None
    top = int(rows[0][1])
    held = events.rows(
        f"SELECT count() FROM {events.table(table.name)} FINAL WHERE {key} <= {{top:Int64}}", {"top": top}
    )
    wanted = conn.execute(select(func.count()).select_from(table).where(table.c[key] <= top)).scalar_one()
    return top if int(held[0][0]) == int(wanted) else None


def count_source(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def count_target(events: ClickHouseEvents, table: str) -> int:
    return int(events.rows(f"SELECT count() FROM {events.table(table)} FINAL")[0][0])


def _converted(table: Table, rows: Sequence[Any]) -> tuple[list[str], list[list[Any]]]:
    names = [column.name for column in table.columns]
    times = [i for i, name in enumerate(names) if name in TIME_COLUMNS]
    out = []
    for row in rows:
        values = list(row)
        for i in times:
            values[i] = as_datetime(values[i])
        out.append(values)
    if table.name in VERSIONED:
        names.append("version")
        for values in out:
            values.append(0)
    return names, out


def copy_events_table(
    conn: Connection,
    events: ClickHouseEvents,
    table: Table,
    key: str,
    batch: int,
    on_rows: Callable[[int], None],
) -> int:
    """Copy the rows of `table` after the largest id already in ClickHouse; rows copied."""
    after = copied_up_to(conn, events, table, key)
    column = table.c[key]
    copied = 0
    while True:
        stmt = select(table).order_by(column).limit(batch)
        if after is not None:
            stmt = stmt.where(column > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return copied
        names, values = _converted(table, rows)
        first, last = rows[0]._mapping[key], rows[-1]._mapping[key]
        events.insert(table.name, values, names, token=f"copy:{table.name}:{first}:{last}")
        after = last
        copied += len(rows)
        on_rows(len(rows))
        if len(rows) < batch:
            return copied


def count_tables(conn: Connection, events: ClickHouseEvents) -> list[tuple[str, int, int]]:
    """(table, rows in the source, rows in ClickHouse) of every copied table."""
    return [
        (table.name, count_source(conn, table), count_target(events, table.name))
        for table, _key in source_tables()
    ]
