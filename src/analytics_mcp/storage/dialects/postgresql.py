"""PostgreSQL: bigint `/` truncates like SQLite's, so the same expression works."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, literal

NAME = "postgresql"


def int_div(value: ColumnElement[Any], divisor: int) -> ColumnElement[int]:
    return cast(value, BigInteger) // literal(divisor, BigInteger)
