"""SQLite: integer `/` truncates, which is floor division for the non-negative values we divide."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, UnaryExpression, cast, func, literal

NAME = "sqlite"


def int_div(value: ColumnElement[Any], divisor: int) -> ColumnElement[int]:
    return cast(value, BigInteger) // literal(divisor, BigInteger)


def ascending(text: ColumnElement[Any]) -> UnaryExpression[Any]:
    return text.asc()  # BINARY collation (code point order for UTF-8), NULL first: the reference


def lower_ascii(text: ColumnElement[Any]) -> ColumnElement[str]:
    return func.lower(text)  # SQLite's lower() folds A-Z only (without the ICU extension)
