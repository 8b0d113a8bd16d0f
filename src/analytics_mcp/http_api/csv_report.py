"""A report's answer as CSV (`format=csv` on the stats routes): the same rows the JSON `data`
holds, one CSV row per row (an object answer is one row), columns in the order of the fields.
Cells are written like the export's (export/writers.py `csv_cell`): null empty, nested values as
JSON text, visitor-supplied text that a spreadsheet would run as a formula prefixed with '.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import TypeAdapter
from starlette.responses import Response

from analytics_mcp.export.writers import csv_cell

ReportFormat = Literal["json", "csv"]
FORMAT_RULE = "json (the {data} envelope) or csv (the same rows as text/csv, a header row first)"
CSV_CONTENT: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string", "description": "RFC 4180: a header row, then the data rows"}}
}
Table = tuple[Sequence[str], Sequence[Mapping[str, Any]]]
RowsOf = Callable[[Any], Table]
"""The JSON `data` of an answer whose rows are nested -> (columns, rows)."""


def columns_of(adapter: TypeAdapter[Any]) -> list[str]:
    """The fields of the answer's rows, in order: of a list's items, or of the object itself."""
    schema = adapter.json_schema(mode="serialization")
    row = schema.get("items", schema)
    if "$ref" in row:
        row = schema["$defs"][row["$ref"].rsplit("/", 1)[-1]]
    return list(row.get("properties", {}))


def csv_response(
    adapter: TypeAdapter[Any], result: Any, name: str, rows_of: RowsOf | None = None
) -> Response:
    """`result` validated and dumped as the JSON answer would be, then written as CSV: a list's
    items are the rows, an object is one row, unless `rows_of` says where its rows are."""
    data = adapter.dump_python(adapter.validate_python(result, from_attributes=True), mode="json")
    if rows_of is not None:
        columns, rows = rows_of(data)
    else:
        rows = data if isinstance(data, list) else [data]
        # The fields the JSON rows hold (a field left out of the JSON, e.g. a page's hostname
        # under one site, is no column); the schema's when there is no row to read them from.
        columns = list(dict.fromkeys(key for row in rows for key in row)) or columns_of(adapter)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([csv_cell(row.get(column)) for column in columns] for row in rows)
    headers = {"Content-Disposition": f'attachment; filename="{name.replace("_", "-")}.csv"'}
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
