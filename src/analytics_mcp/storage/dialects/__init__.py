"""SQL dialects: the few expressions that differ per backend. Each module exposes the same
names (`NAME`, `int_div`, `ascending`, `lower_ascii`); ClickHouse will be one more file here."""

from __future__ import annotations

import string
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, UnaryExpression

from analytics_mcp.storage.dialects import postgresql, sqlite


class Dialect(Protocol):
    NAME: str

    def int_div(self, value: ColumnElement[Any], divisor: int) -> ColumnElement[int]: ...

    def ascending(self, text: ColumnElement[Any]) -> UnaryExpression[Any]:
        """An ORDER BY term for a text key that sorts alike everywhere: by code point, NULL first."""
        ...

    def lower_ascii(self, text: ColumnElement[Any]) -> ColumnElement[str]:
        """`text` with A-Z in lower case and every other character as it is, whatever the
        database's locale (what the `contains` filter compares)."""
        ...


_BY_NAME: dict[str, Dialect] = {
    sqlite.NAME: cast(Dialect, sqlite),
    postgresql.NAME: cast(Dialect, postgresql),
}


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def lower_ascii_text(value: str) -> str:
    """`value` as `Dialect.lower_ascii` turns stored text: A-Z in lower case, the rest as it is."""
    return value.translate(_ASCII_LOWER)


def dialect_named(name: str) -> Dialect:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"no engine dialect for database backend {name!r}") from None
