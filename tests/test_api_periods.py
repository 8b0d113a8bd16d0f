# ruff: noqa: F811  (the fixtures imported from world_copies are redefined as parameters)
"""Honest periods over REST and MCP (issue 16 item 3): yesterday across Berlin's DST change,
complete days, the partial current day, and the three compare modes, with hand-counted numbers;
the MCP overview tools (official client over Streamable HTTP) answer exactly what REST answers.

"Now" is pinned to 2026-10-26 10:30 in Berlin (09:30 UTC), the day after summer time ended, so
yesterday (25 October) is 25 hours long: 2026-10-24T22:00Z to 2026-10-25T23:00Z.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette

from analytics_mcp.config import Settings
from analytics_mcp.engine import PERIODS
from analytics_mcp.services import Services
from conftest import pin_reports
from engine_support import add_site, hit, ingest, purchase
from factories import make_token
from world_copies import db_url, events_url, sqlite_template, token, world, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

NOW = datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
URL = "http://testserver/mcp/analytics"
EVENTS = [
    hit("2026-10-24T21:30:00Z", who=4),  # 24 Oct 23:30 CEST: the day before yesterday
    hit("2026-10-24T22:30:00Z", who=1),  # 25 Oct 00:30 CEST: yesterday's first hour
    hit("2026-10-25T22:30:00Z", who=2),  # 25 Oct 23:30 CET: yesterday's 25th hour
    hit("2026-10-25T23:30:00Z", who=3),  # 26 Oct 00:30 CET: today
    hit("2026-10-26T08:00:00Z", who=5),  # today, before now
    hit("2025-10-25T10:00:00Z", who=6),  # a year before yesterday
    hit("2025-10-25T11:00:00Z", who=7),
    hit("2026-10-01T10:00:00Z", who=8),  # the custom comparison day
]


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_reports(monkeypatch, NOW)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit": "10000/minute", "allowed_hosts": ["testserver"], "allowed_origins": []}
    )


def token_in(services: Services) -> str:
    add_site(services, tenant_timezone="Europe/Berlin", timezone="Europe/Berlin")
    ingest(services, [*EVENTS, purchase("2026-10-25T10:00:00Z", 2, "t-1", 20.0)])
    return make_token(services)


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], str]:
    return token_in  # once per backend (world_copies): the tests only read it


async def overview(
    client: httpx2.AsyncClient, token: str, path: str = "/stats/overview", **params: Any
) -> Any:
    response = await client.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def span(rng: dict[str, Any]) -> tuple[str, str, str]:
    return rng["date_from"], rng["date_to"], rng["period"]


async def test_yesterday_across_the_dst_change(client: httpx2.AsyncClient, token: str) -> None:
    data = await overview(client, token, period="yesterday")
    assert (data["visitors"], data["pageviews"], data["visitors_change"]) == (2, 2, 100.0)
    assert span(data["range"]) == ("2026-10-25", "2026-10-25", "yesterday")
    assert span(data["comparison"]) == ("2026-10-24", "2026-10-24", "previous_period")
    assert not data["range"]["partial_day"] and data["range"]["data_through"] is None


async def test_partial_and_complete_weeks(client: httpx2.AsyncClient, token: str) -> None:
    week = await overview(client, token, period="7d")
    assert (week["visitors"], span(week["range"])) == (5, ("2026-10-20", "2026-10-26", "7d"))
    assert week["range"]["partial_day"] and week["range"]["data_through"] == "2026-10-26T10:30:00+01:00"
    whole = await overview(client, token, period="last_7_complete_days")
    assert (whole["visitors"], span(whole["range"])) == (
        3,
        ("2026-10-19", "2026-10-25", "last_7_complete_days"),
    )
    assert not whole["range"]["partial_day"]
    assert span(whole["comparison"]) == ("2026-10-12", "2026-10-18", "previous_period")


async def test_compare_modes(client: httpx2.AsyncClient, token: str) -> None:
    yoy = await overview(client, token, period="yesterday", compare="year_over_year")
    assert (yoy["visitors"], yoy["visitors_change"]) == (2, 0.0)
    assert span(yoy["comparison"]) == ("2025-10-25", "2025-10-25", "year_over_year")
    custom = await overview(
        client, token, period="yesterday", compare_from="2026-10-01", compare_to="2026-10-01"
    )
    assert (custom["visitors_change"], span(custom["comparison"])) == (
        100.0,
        ("2026-10-01", "2026-10-01", "custom"),
    )
    shop = await overview(
        client, token, "/stats/ecommerce/overview", period="yesterday", compare="year_over_year"
    )
    assert (shop["revenue"], shop["transactions"], shop["revenue_change"]) == (20.0, 1, None)
    assert span(shop["comparison"]) == ("2025-10-25", "2025-10-25", "year_over_year")


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"period": "last_week"}, "period", f"must be one of {', '.join(PERIODS)}"),
        ({"compare": "weekly"}, "compare", "must be one of previous_period, year_over_year, custom"),
        ({"compare": "custom"}, "compare_from", "required when compare is custom"),
        (
            {"compare_from": "2026-10-02", "compare_to": "2026-10-01"},
            "compare_from",
            "must not be after compare_to",
        ),
        ({"compare_to": "2026-10-01"}, "compare_to", "requires compare_from"),
    ],
)
async def test_refusals_are_422_naming_the_field(
    client: httpx2.AsyncClient, token: str, params: dict[str, str], field: str, rule: str
) -> None:
    for path in ("/stats/overview", "/stats/ecommerce/overview"):
        response = await client.get(
            f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == {field: [rule]}


@asynccontextmanager
async def mcp_client(app: Starlette, token: str) -> AsyncIterator[Client]:
    transport = httpx2.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as http,
        Client(streamable_http_client(URL, http_client=http)) as client,
    ):
        yield client


QUESTIONS: list[dict[str, str]] = [
    {"period": "yesterday"},
    {"period": "7d"},
    {"period": "last_28_complete_days", "compare": "year_over_year"},
    {"period": "yesterday", "compare_from": "2026-10-01", "compare_to": "2026-10-07"},
    {
        "from": "2026-10-20",
        "to": "2026-10-26",
        "compare": "custom",
        "compare_from": "2025-10-20",
        "compare_to": "2025-10-26",
    },
]


async def test_mcp_overviews_equal_rest(app: Starlette, client: httpx2.AsyncClient, token: str) -> None:
    async with mcp_client(app, token) as tools:
        for question in QUESTIONS:
            for tool, path in (
                ("analytics-overview", "/stats/overview"),
                ("ecommerce-overview", "/stats/ecommerce/overview"),
            ):
                result = await tools.call_tool(tool, question)
                assert not result.is_error and result.structured_content, (tool, result.content)
                answer, rest = result.structured_content, await overview(client, token, path, **question)
                assert {key: answer[key] for key in rest} == rest, (tool, question)
                text = result.content[0].text  # type: ignore[union-attr]
                compared = rest["comparison"]
                assert (
                    f"compared with {compared['date_from']} to {compared['date_to']} ({compared['period']})"
                    in text
                )
                partial = "partial day: data through 2026-10-26 10:30" in text
                assert partial == rest["range"]["partial_day"], (question, text)


async def test_mcp_refusals_are_one_line(app: Starlette, token: str) -> None:
    async with mcp_client(app, token) as tools:
        for arguments, message in (
            ({"compare": "weekly"}, "compare: must be one of previous_period, year_over_year, custom"),
            ({"compare": "custom"}, "compare_from: required when compare is custom"),
            (
                {"compare_from": "2026-13-01", "compare_to": "2026-10-01"},
                "compare_from: must be a valid date as YYYY-MM-DD",
            ),
            (
                {"compare": "year_over_year", "compare_from": "2026-10-01", "compare_to": "2026-10-01"},
                "compare: must be custom (or omitted) with compare_from/compare_to",
            ),
            ({"period": "last_week"}, f"period: must be one of {', '.join(PERIODS)}"),
        ):
            result = await tools.call_tool("analytics-overview", arguments)
            text = result.content[0].text  # type: ignore[union-attr]
            assert result.is_error and text == f"Error executing tool analytics-overview: {message}", text
        result = await tools.call_tool("top-pages", {"compare": "year_over_year"})
        assert result.is_error and "unknown argument 'compare'" in result.content[0].text  # type: ignore[union-attr]
