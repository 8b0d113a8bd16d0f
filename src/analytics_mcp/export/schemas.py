"""BigQuery and Power BI schemas, derived from `tables.TABLES`.

BigQuery: what `bq mk --table ... schema.json` takes (a list of {name, type, mode, description},
RECORD with `fields`), matching the JSONL rows: REQUIRED columns are never null, NULLABLE ones may
be, the `items` RECORD is REPEATED (always a list, possibly empty). JSON columns hold objects.
Power BI: EDM types of the CSV columns; nested values (JSON, records) arrive there as JSON text.
"""

from __future__ import annotations

from typing import Any

from analytics_mcp.export.tables import TABLES, Column, Kind, Table

BIGQUERY_TYPES: dict[Kind, str] = {
    "string": "STRING",
    "int": "INT64",
    "float": "FLOAT64",
    "bool": "BOOL",
    "timestamp": "TIMESTAMP",
    "json": "JSON",
    "records": "RECORD",
}
EDM_TYPES: dict[Kind, str] = {
    "string": "Edm.String",
    "int": "Edm.Int64",
    "float": "Edm.Double",
    "bool": "Edm.Boolean",
    "timestamp": "Edm.DateTimeOffset",
    "json": "Edm.String",
    "records": "Edm.String",
}


def bigquery_field(column: Column) -> dict[str, Any]:
    mode = "NULLABLE" if column.nullable else "REQUIRED"
    if column.kind == "records":
        mode = "REPEATED"  # a list, never null: empty when there is nothing
    field: dict[str, Any] = {"name": column.name, "type": BIGQUERY_TYPES[column.kind], "mode": mode}
    if column.description:
        field["description"] = column.description
    if column.fields:
        field["fields"] = [bigquery_field(sub) for sub in column.fields]
    return field


def bigquery_table(table: Table) -> list[dict[str, Any]]:
    return [bigquery_field(column) for column in table.columns]


def bigquery_schema() -> dict[str, list[dict[str, Any]]]:
    return {table.name: bigquery_table(table) for table in TABLES}


def powerbi_table(table: Table) -> list[dict[str, Any]]:
    return [{"name": c.name, "type": EDM_TYPES[c.kind], "nullable": c.nullable} for c in table.columns]


def powerbi_schema() -> dict[str, list[dict[str, Any]]]:
    return {table.name: powerbi_table(table) for table in TABLES}


_JSON_TYPES: dict[Kind, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "timestamp": {"type": "string", "format": "date-time"},
    "json": {"type": "object"},
}


def json_schema(column: Column) -> dict[str, Any]:
    """JSON Schema of one JSONL value (for the OpenAPI document)."""
    if column.kind == "records":
        item = row_json_schema(column.fields)
        schema: dict[str, Any] = {"type": "array", "items": item}
    else:
        schema = dict(_JSON_TYPES[column.kind])
        if column.nullable:
            schema["type"] = [schema["type"], "null"]
    if column.description:
        schema["description"] = column.description
    return schema


def row_json_schema(columns: tuple[Column, ...]) -> dict[str, Any]:
    """JSON Schema of one JSONL row: every column present, nothing else."""
    return {
        "type": "object",
        "required": [column.name for column in columns],
        "properties": {column.name: json_schema(column) for column in columns},
        "additionalProperties": False,
    }
