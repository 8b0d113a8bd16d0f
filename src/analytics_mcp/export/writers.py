"""Export rows -> bytes: JSON Lines, or CSV (RFC 4180, via the csv module) safe for spreadsheets.

CSV cells: null is an empty cell; booleans are `true`/`false` (as in JSON); nested values
(config, props, items) are JSON text. A text cell that starts with = + - @ tab or carriage return
gets a leading ' so no spreadsheet runs it as a formula (OWASP "CSV injection"): paths, referrers,
UTM tags, props and product names come from anyone on the internet through the tracker. Numbers
are written as numbers, untouched: the export produces them itself (never from visitor text), all
of them are >= 0, and a typed numeric column must stay numeric for Power BI and BigQuery.

Rows are encoded one at a time and joined once per chunk; row dicts are never held together
(thousands of retained ~1 KB objects cost more, in fresh memory, than encoding them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, Literal, Protocol

import orjson

from analytics_mcp.export.rows import Shaped
from analytics_mcp.export.tables import Table

Format = Literal["jsonl", "csv"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Writer(Protocol):
    media_type: str
    extension: str

    def header(self) -> bytes: ...

    def tail(self, values: dict[str, Any]) -> Any: ...

    def rows(self, rows: Iterable[Shaped]) -> bytes: ...


class JsonlWriter:
    media_type = "application/x-ndjson"
    extension = "jsonl"

    def header(self) -> bytes:
        return b""

    def tail(self, values: dict[str, Any]) -> bytes:
        """',"key":value,...}\n': replaces the closing brace of a head."""
        return b"," + orjson.dumps(values)[1:] + b"\n"

    def rows(self, rows: Iterable[Shaped]) -> bytes:
        parts: list[bytes] = []
        add, dumps = parts.append, orjson.dumps
        for head, tail in rows:
            if tail is None:
                add(dumps(head, option=orjson.OPT_APPEND_NEWLINE))
            else:
                add(dumps(head)[:-1])  # without its closing brace: the tail brings it
                add(tail)
        return b"".join(parts)


def neutralise(text: str) -> str:
    """`text`, prefixed with ' when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()  # starts with { or [: never a formula
    return value  # int, float: ours, see the module docstring


class CsvWriter:
    media_type = "text/csv; charset=utf-8"
    extension = "csv"

    def __init__(self, table: Table) -> None:
        self._names = table.names
        kinds = [column.kind for column in table.columns]
        # Column positions by treatment (heads are a prefix of the columns); the csv module
        # writes None as an empty cell and numbers as numbers by itself.
        self._text = tuple(i for i, kind in enumerate(kinds) if kind == "string")
        self._nested = tuple(i for i, kind in enumerate(kinds) if kind in ("json", "records"))
        self._bool = tuple(i for i, kind in enumerate(kinds) if kind == "bool")

    def header(self) -> bytes:
        return self._encode([self._names])

    def tail(self, values: dict[str, Any]) -> list[Any]:
        return [csv_cell(value) for value in values.values()]

    def rows(self, rows: Iterable[Shaped]) -> bytes:
        return self._encode(self._cells(head, tail) for head, tail in rows)

    def _cells(self, head: dict[str, Any], tail: list[Any] | None) -> list[Any]:
        """csv_cell of every value, applied only where it changes something (the hot path)."""
        cells = list(head.values())
        count = len(cells)
        for i in self._text:
            if i < count and cells[i] and cells[i].startswith(FORMULA_START):
                cells[i] = "'" + cells[i]
        for i in self._nested:
            if i < count and cells[i] is not None:
                cells[i] = orjson.dumps(cells[i]).decode()
        for i in self._bool:
            if i < count and cells[i] is not None:
                cells[i] = "true" if cells[i] else "false"
        return cells if tail is None else cells + tail

    @staticmethod
    def _encode(rows: Iterable[Iterable[Any]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)  # quotes ", comma, CR and LF
        return buffer.getvalue().encode()


def writer_for(fmt: Format, table: Table) -> Writer:
    return JsonlWriter() if fmt == "jsonl" else CsvWriter(table)
