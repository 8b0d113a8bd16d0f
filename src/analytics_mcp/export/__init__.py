"""Raw data export (the export endpoints and schemas of docs/api.md), independent of HTTP.

- `tables`: the one definition of every exported table (columns, types, nullability);
- `schemas`, `powerquery`: BigQuery / Power BI schemas and the Power Query M script, derived from it;
- `queries`: keyset-paged chunk reads ((ts, id) order = ULID order); `rows`: rows -> dicts;
- `encode`: fast ULID / time / hash formatting; `writers`: JSONL and spreadsheet-safe CSV;
- `stream`: one export page as an async stream of bytes.
"""

from __future__ import annotations

from analytics_mcp.export.queries import Position
from analytics_mcp.export.stream import ExportJob, export_stream
from analytics_mcp.export.tables import BY_NAME, TABLES, Column, Table
from analytics_mcp.export.writers import Format, writer_for

__all__ = [
    "BY_NAME",
    "TABLES",
    "Column",
    "ExportJob",
    "Format",
    "Position",
    "Table",
    "export_stream",
    "writer_for",
]
