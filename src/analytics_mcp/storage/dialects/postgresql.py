"""PostgreSQL: bigint `/` truncates like SQLite's, so the same expression works."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, UnaryExpression, cast, collate, func, literal

NAME = "postgresql"


def int_div(value: ColumnElement[Any], divisor: int) -> ColumnElement[int]:
    return cast(value, BigInteger) // literal(divisor, BigInteger)


def ascending(text: ColumnElement[Any]) -> UnaryExpression[Any]:
    # The database's collation is the locale's (not code point order) and ASC puts NULL last.
    return collate(text, "C").asc().nulls_first()


def lower_ascii(text: ColumnElement[Any]) -> ColumnElement[str]:
    # lower() follows the collation's locale: in a UTF-8 locale it folds É to é as well, which
    # SQLite's does not. In the "C" collation it folds A-Z only, whatever the database's locale.
    return func.lower(collate(text, "C"))
