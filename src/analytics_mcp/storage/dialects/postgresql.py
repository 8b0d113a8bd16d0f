"""PostgreSQL: bigint `/` truncates like SQLite's, so the same expression works."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, UnaryExpression, cast, collate, literal

NAME = "postgresql"


def int_div(value: ColumnElement[Any], divisor: int) -> ColumnElement[int]:
    return cast(value, BigInteger) // literal(divisor, BigInteger)


def ascending(text: ColumnElement[Any]) -> UnaryExpression[Any]:
    # The database's collation is the locale's (not code point order) and ASC puts NULL last.
    return collate(text, "C").asc().nulls_first()
