# ruff: noqa: F811  (the fixtures imported from chat_support are redefined as parameters)
"""The rules the OpenAPI document states are the ones the server enforces: dates and their range,
filters, cursors, NUL-free strings, every status a route can answer, and the chat's event stream
as it really streams."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx2
import orjson
import pytest
from jsonschema import Draft202012Validator
from starlette.applications import Starlette

from analytics_mcp.engine import MAX_RANGE_DAYS, QueryError
from analytics_mcp.engine.filters import parse_filters
from analytics_mcp.engine.periods import MAX_DATE, MIN_DATE
from analytics_mcp.http_api.openapi import openapi_document
from analytics_mcp.http_api.params import DATE_PATTERN, FILTERS
from analytics_mcp.http_api.routes import API_V1
from analytics_mcp.storage.ids import row_ulid
from chat_support import ask, fake, seed, services_of, settings  # noqa: F401  (fixtures)
from fake_anthropic import FakeAnthropic, ToolCall, Turn

Json = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Json:
    return openapi_document(API_V1)


def _operation(document: Json, method: str, path: str) -> Json:
    operation: Json = document["paths"][path][method]
    return operation


def test_dates_are_the_engines(document: Json) -> None:
    date = re.compile(DATE_PATTERN)
    for day in (MIN_DATE, MAX_DATE, MIN_DATE + timedelta(days=400), MAX_DATE - timedelta(days=400)):
        assert date.fullmatch(day.isoformat()), day
    for day in ("1970-12-31", "9991-01-01", "0001-01-01", "2026-13-01", "2026-02-00", "26-02-01"):
        assert not date.fullmatch(day), day


def test_from_and_to_are_documented_together_with_their_range(document: Json) -> None:
    pages = _operation(document, "get", "/stats/pages")
    [group] = [p for p in pages["parameters"] if p.get("explode") and p["schema"].get("type") == "object"]
    assert set(group["schema"]["properties"]) == {"from", "to"}
    assert group["schema"]["dependentRequired"] == {"from": ["to"], "to": ["from"]}
    assert pages["x-date-range"] == {"from": "from", "to": "to", "maxDays": MAX_RANGE_DAYS}
    export = _operation(document, "get", "/export/pageviews")
    assert {p["name"] for p in export["parameters"]} >= {"from", "to"}  # each optional on its own
    assert export["x-date-range"]["maxDays"] == MAX_RANGE_DAYS


@pytest.mark.parametrize(
    "text",
    [
        "",
        "page==/pricing",
        "page==/pricing;source!=google|bing;utm_campaign~spring",
        " page == /a | /b ; country==de",
        ";".join(["os==linux"] * 20),
        "page==" + "|".join(f"/p{i}" for i in range(20)),
    ],
)
def test_filters_the_document_allows_are_accepted(text: str) -> None:
    assert re.fullmatch(FILTERS["pattern"], text)
    parse_filters(text)


@pytest.mark.parametrize(
    "text",
    [
        "colour==red",
        "page",
        "page==",
        "page==a|",
        "page==a| ",
        ";".join(["os==linux"] * 21),
        "page==" + "|".join(f"/p{i}" for i in range(21)),
        "page==a\x00",
    ],
)
def test_filters_the_document_refuses_are_refused(text: str) -> None:
    assert not re.fullmatch(FILTERS["pattern"], text)
    if "\x00" not in text:  # the pipeline refuses NUL before the engine sees it
        with pytest.raises(QueryError):
            parse_filters(text)


def test_cursors_are_row_ids(document: Json) -> None:
    export = _operation(document, "get", "/export/pageviews")
    [cursor] = [p for p in export["parameters"] if p["name"] == "cursor"]
    pattern = re.compile(cursor["schema"]["pattern"])
    for ts, row in ((0, 0), (1_771_000_000_000, 1), (2**48 - 1, 2**63 - 1)):
        assert pattern.fullmatch(row_ulid(ts, row)), (ts, row)
    assert not pattern.fullmatch(row_ulid(1_771_000_000_000, 2**63))
    assert not pattern.fullmatch("")


def test_every_status_a_route_answers_is_documented(document: Json) -> None:
    for spec in API_V1.specs:
        responses = _operation(
            document, spec.method.lower(), re.sub(r"{([^}:]+)(?::[^}]+)?}", r"{\1}", spec.path)
        )["responses"]
        fields = spec.params.model_fields if spec.params else {}
        if spec.body_params:
            assert {"400", "413"} <= set(responses), spec.path
        if "site" in fields or spec.path_params:
            assert "404" in responses, spec.path
    track = _operation(document, "post", "/metrics/track")["responses"]
    assert {"201", "202", "400", "404", "409", "413", "422", "503"} <= set(track)


def test_input_strings_take_no_nul(document: Json) -> None:
    site = next(p for p in _operation(document, "get", "/stats/pages")["parameters"] if p["name"] == "site")
    assert site["schema"]["pattern"] == "^[^\\u0000]*$"
    chat_body = document["components"]["schemas"]["ChatBody"]
    assert chat_body["properties"]["message"]["pattern"] == "^[^\\u0000]*$"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [("/api/v1/stats/pages", {"site": "acme.test\x00"}, "site"), ("/api/v1/goals", {"site": "\x00"}, "site")],
)
async def test_nul_in_a_query_value_is_a_422_naming_it(
    app: Starlette, client: httpx2.AsyncClient, path: str, params: Json, field: str
) -> None:
    token = seed(services_of(app))
    response = await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {field: ["must not contain NUL characters (\\u0000)"]}


async def test_nul_in_a_chat_message_is_a_422(app: Starlette, client: httpx2.AsyncClient) -> None:
    token = seed(services_of(app))
    response = await ask(client, token, message="hello\x00")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["message"]


async def test_the_chat_streams_the_documented_events(
    app: Starlette, client: httpx2.AsyncClient, fake: FakeAnthropic, document: Json
) -> None:
    content = _operation(document, "post", "/chat")["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    event_schema = Draft202012Validator(content["text/event-stream"]["schema"])
    by_name = {
        branch["properties"]["event"]["const"]: Draft202012Validator(
            branch["properties"]["data"]["contentSchema"]
        )
        for branch in content["text/event-stream"]["schema"]["oneOf"]
    }
    fake.push(Turn(text="Looking.", tools=[ToolCall("list-sites", {})]), Turn(text="Two sites."))
    response = await ask(client, seed(services_of(app)))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    seen = []
    for frame in filter(None, response.text.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        event_schema.validate({"event": fields["event"], "data": fields["data"]})
        by_name[fields["event"]].validate(orjson.loads(fields["data"]))
        seen.append(fields["event"])
    assert seen[0] == "conversation" and seen[-1] == "done"
    assert {"text", "tool_call", "tool_result"} <= set(seen)
