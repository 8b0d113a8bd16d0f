"""Batched upserts on a table's primary key, straight to the driver (SQLite and PostgreSQL share
the ON CONFLICT syntax)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table


def _insert(conn: Connection, table: Table, columns: Sequence[str]) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _sql(conn: Connection, table: Table, columns: Sequence[str], assignments: str) -> str:
    keys = ", ".join(c.name for c in table.primary_key.columns)
    return f"{_insert(conn, table, columns)} ON CONFLICT ({keys}) DO UPDATE SET {assignments}"


def insert_rows(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Plain inserts of rows (all columns in table order), without per-row parameter processing."""
    conn.exec_driver_sql(_insert(conn, table, [c.name for c in table.columns]), list(rows))


def upsert_add(
    conn: Connection, table: Table, rows: Sequence[Sequence[Any]], columns: Sequence[str] | None = None
) -> None:
    """Insert rows (primary key first, then counters) or add their counters to the stored row."""
    names = list(columns or [c.name for c in table.columns])
    key_names = {c.name for c in table.primary_key.columns}
    counters = [c for c in names if c not in key_names]
    assignments = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in counters)
    conn.exec_driver_sql(_sql(conn, table, names, assignments), [tuple(r) for r in rows])


def upsert_set(
    conn: Connection, table: Table, rows: Sequence[Sequence[Any]], *, update: Sequence[str]
) -> None:
    """Insert rows (all columns in table order) or overwrite the `update` columns of the stored row."""
    names = [c.name for c in table.columns]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in update)
    conn.exec_driver_sql(_sql(conn, table, names, assignments), [tuple(r) for r in rows])
