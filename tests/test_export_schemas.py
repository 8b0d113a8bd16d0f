# ruff: noqa: F811  (the fixtures imported from world_copies are redefined as parameters)
"""BigQuery and Power BI hand-off: every exported JSONL row satisfies the BigQuery schema (a small
validator of types and modes, as `bq load --source_format=NEWLINE_DELIMITED_JSON` checks them), the
EDM schema and the Power Query script agree with it, and the hot-path encoders equal the reference
implementations."""

from __future__ import annotations

import hashlib
import random
import re
import time
from datetime import datetime
from typing import Any

import httpx2
import pytest

from analytics_mcp.config import Settings
from analytics_mcp.export.encode import Formatter
from analytics_mcp.export.schemas import bigquery_schema
from analytics_mcp.export.tables import BY_NAME, TABLES
from analytics_mcp.http_api.export_schemas import TableName
from analytics_mcp.storage.ids import row_ulid
from analytics_mcp.timeutil import ISO_FORMAT
from test_export import PATHS, World, rows_of, world, world_builder  # noqa: F401  (fixtures)
from world_copies import db_url, events_url, sqlite_template, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends()

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)?")
INT64 = (-(1 << 63), (1 << 63) - 1)
EDM = {
    "STRING": "Edm.String",
    "INT64": "Edm.Int64",
    "FLOAT64": "Edm.Double",
    "BOOL": "Edm.Boolean",
    "TIMESTAMP": "Edm.DateTimeOffset",
    "JSON": "Edm.String",
    "RECORD": "Edm.String",
}
M_TYPES = {
    "STRING": "type text",
    "INT64": "Int64.Type",
    "FLOAT64": "type number",
    "BOOL": "type logical",
    "TIMESTAMP": "type datetimezone",
    "JSON": "type text",
    "RECORD": "type text",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


def bq_errors(fields: list[dict[str, Any]], row: Any, where: str = "") -> list[str]:
    """Why `row` would not load into a table of `fields` (empty: it loads)."""
    if not isinstance(row, dict):
        return [f"{where}: not an object"]
    errors = [f"{where}{key}: not in the schema" for key in row.keys() - {f["name"] for f in fields}]
    for field in fields:
        name, mode = field["name"], field["mode"]
        value = row.get(name)
        if mode == "REPEATED":
            if not isinstance(value, list):
                errors.append(f"{where}{name}: REPEATED needs a list, got {value!r}")
                continue
            errors += [e for v in value for e in _value_errors(field, v, f"{where}{name}[].")]
        elif value is None:
            if mode == "REQUIRED":
                errors.append(f"{where}{name}: REQUIRED but null or missing")
        else:
            errors += _value_errors(field, value, f"{where}{name}")
    return errors


def _value_errors(field: dict[str, Any], value: Any, where: str) -> list[str]:
    kind = field["type"]
    if kind == "RECORD":
        return bq_errors(field["fields"], value, where)
    ok = {
        "STRING": isinstance(value, str),
        "INT64": isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1],
        "FLOAT64": isinstance(value, int | float) and not isinstance(value, bool),
        "BOOL": isinstance(value, bool),
        "TIMESTAMP": isinstance(value, str) and TIMESTAMP.fullmatch(value) is not None,
        "JSON": True,
    }[kind]
    return [] if ok else [f"{where}: {value!r} is not {kind}"]


def test_the_validator_catches_what_bq_load_rejects() -> None:
    fields = bigquery_schema()["ecommerce_events"]
    good = {
        "id": "01J", "visitor_hash": "ab", "session_hash": "cd", "event_type": "purchase",
        "transaction_id": None, "value": 1, "currency": None, "created_at": "2026-02-17T14:22:00Z",
        "items": [{"item_id": None, "item_name": "x", "price": 1.5, "quantity": 2}], "site": "a.test",
    }  # fmt: skip
    assert bq_errors(fields, good) == []
    assert bq_errors(fields, {**good, "id": None})  # REQUIRED
    assert bq_errors(fields, {**good, "extra": 1})  # unknown field
    assert bq_errors(fields, {**good, "items": None})  # REPEATED must be a list
    assert bq_errors(fields, {**good, "items": [{"item_name": "x", "price": "1", "quantity": 1}]})
    assert bq_errors(fields, {**good, "value": "1.5"})
    assert bq_errors(fields, {**good, "created_at": "17/02/2026"})
    assert bq_errors(bigquery_schema()["goals"], {"is_active": 1})


@pytest.mark.parametrize("table", list(PATHS))
async def test_every_exported_row_loads_into_its_bigquery_table(
    world: World, client: httpx2.AsyncClient, table: str
) -> None:
    response = await client.get(
        "/api/v1/export/bigquery-schema", headers={"Authorization": f"Bearer {world.acme}"}
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    schema = response.json()
    assert list(schema) == ["pageviews", "goals", "goal_completions", "ecommerce_events"]
    rows = await rows_of(client, world.acme, table)
    assert rows
    for row in rows:
        assert bq_errors(schema[table], row) == [], row
    assert [field["name"] for field in schema[table]] == list(rows[0])


@pytest.mark.parametrize("table", list(PATHS))
async def test_one_tables_fields_is_what_bq_mk_takes(
    world: World, client: httpx2.AsyncClient, table: str
) -> None:
    headers = {"Authorization": f"Bearer {world.acme}"}
    response = await client.get("/api/v1/export/bigquery-schema", params={"table": table}, headers=headers)
    assert response.json() == bigquery_schema()[table]
    for field in response.json():
        assert set(field) <= {"name", "type", "mode", "description", "fields"}
        assert field["mode"] in ("REQUIRED", "NULLABLE", "REPEATED")
        assert field["type"] in EDM
        assert ("fields" in field) == (field["type"] == "RECORD")


async def test_unknown_bigquery_table_is_422(world: World, client: httpx2.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {world.acme}"}
    response = await client.get("/api/v1/export/bigquery-schema", params={"table": "users"}, headers=headers)
    assert response.status_code == 422 and "table" in response.json()["errors"]


def test_schema_table_names_are_the_route_choices() -> None:
    assert set(TableName.__args__) == set(BY_NAME)  # type: ignore[attr-defined]


async def test_powerbi_edm_schema_matches_bigquery(world: World, client: httpx2.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {world.acme}"}
    response = await client.get("/api/v1/export/powerbi-schema", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    edm = response.json()
    bq = bigquery_schema()
    assert list(edm) == list(bq)
    for table, fields in bq.items():
        expected = [
            {"name": f["name"], "type": EDM[f["type"]], "nullable": f["mode"] == "NULLABLE"} for f in fields
        ]
        assert edm[table] == expected


def m_tables(script: str) -> dict[str, tuple[str, bool, list[tuple[str, str]]]]:
    """The script's Tables record: name -> (export path, paged, [(column, M type)])."""
    pattern = re.compile(
        r"(\w+) = \[\s*path = \"([^\"]+)\",\s*paged = (true|false),\s*types = \{(.*?)\}\s*\]", re.S
    )
    column = re.compile(r"\{\"(\w+)\", ([\w. ]+)\}")
    return {
        name: (path, paged == "true", column.findall(types))
        for name, path, paged, types in pattern.findall(script)
    }


async def test_power_query_script_matches_the_schema(world: World, client: httpx2.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {world.acme}"}
    response = await client.get("/api/v1/export/powerbi-schema", params={"format": "pqm"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    script = response.text
    tables = m_tables(script)
    assert list(tables) == ["pageviews", "goals", "goal_completions", "ecommerce_events"]
    for name, fields in bigquery_schema().items():
        path, paged, columns = tables[name]
        assert path == PATHS[name] and paged == BY_NAME[name].paged
        assert columns == [(f["name"], M_TYPES[f["type"]]) for f in fields]
    assert 'Token = "YOUR_API_TOKEN"' in script
    assert 'BaseUrl = "http://testserver/api/v1/"' in script  # detected from the request
    for piece in ("List.Generate", "cursor = cursor", 'format = "csv"', "Table.TransformColumnTypes"):
        assert piece in script
    assert script.rstrip().endswith('LoadTable("pageviews")')


async def test_power_query_base_url(world: World, client: httpx2.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {world.acme}"}
    params = {"format": "pqm", "base_url": "https://stats.example.com/api/v1"}
    script = (await client.get("/api/v1/export/powerbi-schema", params=params, headers=headers)).text
    assert 'BaseUrl = "https://stats.example.com/api/v1/"' in script
    for bad in ('https://x"; evil', "ftp://x", "javascript:alert(1)", "https://a b"):
        params = {"format": "pqm", "base_url": bad}
        response = await client.get("/api/v1/export/powerbi-schema", params=params, headers=headers)
        assert response.status_code == 422 and "base_url" in response.json()["errors"], bad
    response = await client.get("/api/v1/export/powerbi-schema", params={"format": "pbix"}, headers=headers)
    assert response.status_code == 422 and "format" in response.json()["errors"]


async def test_schemas_need_a_read_token(client: httpx2.AsyncClient) -> None:
    for path in ("bigquery-schema", "powerbi-schema"):
        response = await client.get(f"/api/v1/export/{path}")
        assert response.status_code == 401


def test_one_definition_feeds_every_schema() -> None:
    bq = bigquery_schema()
    for table in TABLES:
        assert [f["name"] for f in bq[table.name]] == list(table.names)
        nullable = {f["name"] for f in bq[table.name] if f["mode"] == "NULLABLE"}
        assert nullable == {c.name for c in table.columns if c.nullable}
    assert bq["pageviews"][:7] == [
        {"name": n, "type": t, "mode": m, "description": bq["pageviews"][i]["description"]}
        for i, (n, t, m) in enumerate(
            [
                ("id", "STRING", "REQUIRED"),
                ("visitor_hash", "STRING", "REQUIRED"),
                ("hostname", "STRING", "REQUIRED"),
                ("pathname", "STRING", "REQUIRED"),
                ("device_type", "STRING", "REQUIRED"),
                ("duration", "INT64", "NULLABLE"),  # null: no time known for that view
                ("created_at", "TIMESTAMP", "REQUIRED"),
            ]
        )
    ]


def test_fast_encoders_equal_the_reference_ones() -> None:
    rng = random.Random(5)
    fmt = Formatter(b"k" * 32)
    for _ in range(20_000):
        ts = rng.randrange(0, 1 << 48)
        row_id = rng.choice([rng.randrange(1, 1 << 40), rng.randrange(1, 1 << 80), 1, (1 << 40) - 1])
        assert fmt.ulid(ts, row_id) == row_ulid(ts, row_id)
        ms = rng.randrange(0, 253_402_300_799_999)
        assert fmt.iso(ms) == time.strftime(ISO_FORMAT, time.gmtime(ms // 1000))
    assert fmt.iso(1_771_338_120_999) == "2026-02-17T14:22:00Z"
    assert datetime.fromisoformat(fmt.iso(0).replace("Z", "+00:00")).timestamp() == 0


def test_session_hash_is_keyed_and_stable() -> None:
    one, other = Formatter(b"a" * 32), Formatter(b"b" * 32)
    assert one.session(42) == Formatter(b"a" * 32).session(42) != other.session(42)
    assert re.fullmatch(r"[0-9a-f]{16}", one.session(42))
    assert len({one.session(n) for n in range(5000)}) == 5000
    for n in (0, 1, -1, 1 << 62):
        reference = hashlib.blake2b(n.to_bytes(8, "big", signed=True), key=b"a" * 32, digest_size=8)
        assert one.session(n) == one.session_uncached(n) == reference.hexdigest()
