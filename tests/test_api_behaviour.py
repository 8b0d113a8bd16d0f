# ruff: noqa: F811  (the fixtures imported from world_copies are redefined as parameters)
"""REST routes for what visitors did (entry and exit pages, custom events and their properties,
scroll depth) and `format=csv` on every stats route: the CSV holds exactly the JSON answer's rows."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from conftest import pin_reports
from engine_support import add_site, hit, ingest
from factories import make_token
from world_copies import db_url, events_url, sqlite_template, token, world, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

NOW = datetime.now(UTC)
DAY = (NOW - timedelta(days=1)).date().isoformat()
OUT = "Outbound Link: Click"


def at(clock: str) -> str:
    return f"{DAY}T{clock}Z"


EVENTS = [
    hit(at("10:00:00"), "/", who=1),
    hit(at("10:01:00"), "/docs", who=1),
    hit(at("10:02:00"), "/docs", who=1, name="engagement", engagement_ms=40_000, scroll_depth=80),
    hit(at("10:02:10"), "/docs", who=1, name=OUT, props={"url": "https://github.com/x"}),
    hit(at("10:03:00"), "/docs", who=1, name="File Download", props={"url": "https://a.test/=cmd.pdf"}),
    hit(at("11:00:00"), "/docs", who=2),
    hit(at("11:00:20"), "/docs", who=2, name="engagement", engagement_ms=20_000, scroll_depth=35),
    hit(at("11:00:30"), "/docs", who=2, name=OUT, props={"url": "https://github.com/x"}),
    hit(at("11:01:00"), "/docs", who=2, name=OUT, props={"url": "https://example.org/"}),
    hit(at("12:00:00"), "/gone", who=3),
    hit(at("12:00:01"), "/gone", who=3, name="404", props={"path": "/gone"}, interactive=False),
]


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_reports(monkeypatch, NOW)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit": "10000/minute"})


def token_in(services: Services) -> str:
    add_site(services)
    ingest(services, EVENTS)
    return make_token(services)


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], str]:
    return token_in  # once per backend (world_copies): the tests only read it


async def get(client: httpx2.AsyncClient, token: str, path: str, **params: Any) -> httpx2.Response:
    response = await client.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response


async def data(client: httpx2.AsyncClient, token: str, path: str, **params: Any) -> Any:
    return (await get(client, token, path, **params)).json()["data"]


async def test_entry_and_exit_pages(client: httpx2.AsyncClient, token: str) -> None:
    entry = await data(client, token, "/stats/entry-pages")
    assert [(r["pathname"], r["visits"], r["bounce_rate"]) for r in entry] == [
        ("/", 1, 0.0),
        ("/docs", 1, 0.0),
        ("/gone", 1, 100.0),
    ]
    exits = await data(client, token, "/stats/exit-pages")
    assert {r["pathname"]: r["visits"] for r in exits} == {"/docs": 2, "/gone": 1}


async def test_custom_events_and_their_properties(client: httpx2.AsyncClient, token: str) -> None:
    events = await data(client, token, "/stats/custom-events")
    assert [(r["name"], r["events"], r["visitors"]) for r in events] == [
        (OUT, 3, 2),
        ("404", 1, 1),
        ("File Download", 1, 1),
    ]
    props = await data(client, token, "/stats/event-properties", event=OUT)
    [url] = props["properties"]
    assert url["key"] == "url"
    assert [(v["value"], v["events"]) for v in url["values"]] == [
        ("https://github.com/x", 2),
        ("https://example.org/", 1),
    ]
    missing = await client.get("/api/v1/stats/event-properties", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 422 and set(missing.json()["errors"]) == {"event"}


async def test_scroll_depth_by_page(client: httpx2.AsyncClient, token: str) -> None:
    rows = await data(client, token, "/stats/scroll-depth")
    assert rows == [{"pathname": "/docs", "pageviews": 2, "scroll_depth": 58}]  # (80 + 35) / 2 = 57.5
    assert await data(client, token, "/stats/scroll-depth", filters="page==/") == []


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def cell(value: Any) -> str:
    """A JSON value as the CSV writes it: nested values as compact JSON text."""
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else str(value)


def as_cells(row: dict[str, Any]) -> dict[str, str]:
    return {k: cell(v) for k, v in row.items()}


CSV_PATHS = [
    "/stats/pages", "/stats/entry-pages", "/stats/exit-pages", "/stats/referrers", "/stats/devices",
    "/stats/browsers", "/stats/custom-events", "/stats/scroll-depth", "/stats/timeseries",
    "/stats/countries", "/stats/overview",
]  # fmt: skip


@pytest.mark.parametrize("path", CSV_PATHS)
async def test_csv_holds_the_json_rows(client: httpx2.AsyncClient, token: str, path: str) -> None:
    answer = await data(client, token, path)
    rows = answer if isinstance(answer, list) else [answer]
    response = await get(client, token, path, format="csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert parsed(response.text) == [as_cells(row) for row in rows]


async def test_csv_of_event_properties_is_one_row_per_value(client: httpx2.AsyncClient, token: str) -> None:
    response = await get(client, token, "/stats/event-properties", event="File Download", format="csv")
    # A value a spreadsheet would run as a formula is not one: the export's rule
    assert parsed(response.text) == [{"property": "url", "value": "https://a.test/=cmd.pdf", "events": "1"}]
    empty = await get(client, token, "/stats/custom-events", format="csv", filters="page==/nowhere")
    assert empty.text == "name,events,visitors\r\n"


async def test_a_bad_format_names_the_field(client: httpx2.AsyncClient, token: str) -> None:
    response = await client.get(
        "/api/v1/stats/pages", params={"format": "xml"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422 and set(response.json()["errors"]) == {"format"}
