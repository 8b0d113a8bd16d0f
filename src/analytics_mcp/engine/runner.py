"""Runs compiled statements on the async engine: one connection per engine call, no caching (every
answer reads the current data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable, Row

from analytics_mcp.storage.db import Database
from analytics_mcp.storage.dialects import Dialect, dialect_named

AnyRow = Row[*tuple[Any, ...]]
"""A result row of any width: unpacks into as many names as its statement selects."""


def dialect_of(db: Database) -> Dialect:
    return dialect_named(db.sync.dialect.name)


async def fetch(db: Database, *statements: Executable) -> list[Sequence[AnyRow]]:
    """All rows of each statement, in order, read on one connection."""
    async with db.aio.connect() as conn:
        return [(await conn.execute(stmt)).all() for stmt in statements]
