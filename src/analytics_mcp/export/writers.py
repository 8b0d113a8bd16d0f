"""Export rows -> bytes: JSON Lines, or CSV (RFC 4180, via the csv module) safe for spreadsheets.

CSV cells: null is an empty cell; booleans are `true`/`false` (as in JSON); nested values
(config, props, items) are JSON text. A text cell that starts with = + - @ tab or carriage return
gets a leading ' so no spreadsheet runs it as a formula (OWASP "CSV injection"): paths, referrers,
UTM tags, props and product names come from anyone on the internet through the tracker. Numbers
are written as numbers, untouched: the export produces them itself (never from visitor text) and
all of them are >= 0, and a typed numeric column must stay numeric for Power BI and BigQuery.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, Literal, Protocol

import orjson

from analytics_mcp.export.rows import Row
from analytics_mcp.export.tables import Table

Format = Literal["jsonl", "csv"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Writer(Protocol):
    media_type: str
    extension: str

    def header(self) -> bytes: ...

    def rows(self, rows: list[Row]) -> bytes: ...


class JsonlWriter:
    media_type = "application/x-ndjson"
    extension = "jsonl"

    def header(self) -> bytes:
        return b""

    def rows(self, rows: list[Row]) -> bytes:
        if not rows:
            return b""
        return b"\n".join(map(orjson.dumps, rows)) + b"\n"


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

    def header(self) -> bytes:
        return self._encode([self._names])

    def rows(self, rows: list[Row]) -> bytes:
        return self._encode([[csv_cell(value) for value in row.values()] for row in rows])

    @staticmethod
    def _encode(rows: Iterable[Iterable[Any]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)  # quotes ", comma, CR and LF
        return buffer.getvalue().encode()


def writer_for(fmt: Format, table: Table) -> Writer:
    return JsonlWriter() if fmt == "jsonl" else CsvWriter(table)
