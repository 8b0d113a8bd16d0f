"""`/api/v1/export/bigquery-schema` and `/api/v1/export/powerbi-schema` (docs/api.md).

Both answer the bare documents (no {"data": ...} envelope, as docs/api.md says): they are files for
other tools (`bq mk --table ... schema.json`, Power BI), all derived from `export.tables`.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from analytics_mcp.export.powerquery import powerquery_script
from analytics_mcp.export.schemas import bigquery_schema, bigquery_table, powerbi_schema
from analytics_mcp.export.tables import BY_NAME, TABLES
from analytics_mcp.http_api.framework import API_PREFIX, ApiContext, RouteTable
from analytics_mcp.http_api.params import INK

TAGS = ("export",)
routes = RouteTable()
TableName = Literal["pageviews", "goals", "goal_completions", "ecommerce_events"]
SCRIPT_NAME = "analytics-mcp-powerbi.pq"

_BQ_FIELD: dict[str, Any] = {
    "type": "object",
    "required": ["name", "type", "mode"],
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "description": "STRING, INT64, FLOAT64, BOOL, TIMESTAMP, JSON, RECORD"},
        "mode": {"enum": ["REQUIRED", "NULLABLE", "REPEATED"]},
        "description": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object"}, "description": "RECORD fields"},
    },
}
_BQ_TABLE = {"type": "array", "items": _BQ_FIELD}
_EDM_TABLE = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "type", "nullable"],
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "description": "Edm.String, Edm.Int64, Edm.Double, ..."},
            "nullable": {"type": "boolean"},
        },
    },
}


def _by_table(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [table.name for table in TABLES],
        "properties": {table.name: schema for table in TABLES},
    }


class BigQueryParams(BaseModel):
    table: TableName | None = Field(
        None,
        description="Only this table's field list: the file `bq mk --table dataset.table schema.json` "
        "takes (default: every table, by name)",
    )


class PowerBiParams(BaseModel):
    format: Literal["json", "pqm"] = Field(
        "json", description="Output format: json (schema) or pqm (Power Query M script)"
    )
    base_url: str | None = Field(
        None,
        max_length=2000,
        pattern=f'^https?://[^"{INK}\\ufeff]+$',  # means the same to the server and JSON Schema
        description="Base API URL for the Power Query script (default: this server's /api/v1)",
    )


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@routes.route(
    "/export/bigquery-schema",
    params=BigQueryParams,
    content={"application/json": {"schema": {"oneOf": [_by_table(_BQ_TABLE), _BQ_TABLE]}}},
    tags=TAGS,
    summary="BigQuery schemas of the exported tables",
)
async def export_bigquery_schema(ctx: ApiContext, params: BigQueryParams) -> Response:
    """BigQuery table schemas (name, type, mode) that every exported JSONL row satisfies."""
    if params.table is not None:
        return _json(bigquery_table(BY_NAME[params.table]))
    return _json(bigquery_schema())


@routes.route(
    "/export/powerbi-schema",
    params=PowerBiParams,
    content={
        "application/json": {"schema": _by_table(_EDM_TABLE)},
        "text/plain": {"schema": {"type": "string", "description": "Power Query M script (format=pqm)"}},
    },
    tags=TAGS,
    summary="Power BI schema or Power Query script",
)
async def export_powerbi_schema(ctx: ApiContext, params: PowerBiParams) -> Response:
    """EDM types of the exported tables, or (format=pqm) a Power Query M script importing them
    through the CSV export, with paging and typed columns."""
    if params.format == "json":
        return _json(powerbi_schema())
    base_url = params.base_url or str(ctx.request.base_url).rstrip("/") + API_PREFIX
    return Response(
        powerquery_script(base_url),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{SCRIPT_NAME}"'},
    )
