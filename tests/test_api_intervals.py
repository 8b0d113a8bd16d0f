"""The timeseries `interval` at the doors: REST /stats/timeseries (JSON and CSV) and the MCP
daily-breakdown tool give the same buckets for hour, day, week and month, the revenue timeseries
takes it too, and nonsense is a 422 (REST) or a tool error (MCP) naming `interval` and its rule.
The numbers themselves are hand-counted in test_engine_intervals.py (sqlite, postgresql, split);
this one runs on sqlite."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from conftest import pin_reports
from factories import make_site, make_token
from test_mcp_numbers import http_tools, seed, services_of, settings

__all__ = ["settings"]  # test_mcp_numbers' settings fixture (test host, no rate limit)


def cases(today: date) -> list[dict[str, Any]]:
    recent = {"from": str(today - timedelta(days=4)), "to": str(today - timedelta(days=1))}
    return [
        {"period": "30d", "interval": "week"},
        {"period": "90d", "interval": "month", "domain": "acme.test"},
        {"period": "12m", "domain": "acme.test"},  # week by default
        {**recent, "interval": "hour"},
        {"period": "7d", "interval": "day", "filters": "page!=/"},
        {"period": "24h"},
    ]


def rest_params(arguments: dict[str, Any]) -> dict[str, Any]:
    renamed = {"domain": "site"}
    return {renamed.get(key, key): value for key, value in arguments.items()}


async def test_rest_and_mcp_give_the_same_buckets(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    token = seed(services_of(app))
    pin_reports(monkeypatch, now)
    async with http_tools(app, token) as (client, http):
        for arguments in cases(now.date()):
            rest = await http.get("/api/v1/stats/timeseries", params=rest_params(arguments))
            assert rest.status_code == 200, rest.text
            result = await client.call_tool("daily-breakdown", {"tenant": "acme", **arguments})
            answer = result.structured_content
            assert answer is not None and not result.is_error, result
            assert answer["rows"] == rest.json()["data"], arguments
            defaults = {"12m": "week", "24h": "hour"}
            assert answer["range"]["interval"] == arguments.get("interval") or defaults[arguments["period"]]
            assert any(row["visitors"] for row in answer["rows"]), arguments
            as_csv = await http.get(
                "/api/v1/stats/timeseries", params={**rest_params(arguments), "format": "csv"}
            )
            table = list(csv.DictReader(io.StringIO(as_csv.text)))
            assert [(r["date"], int(r["visitors"]), int(r["pageviews"])) for r in table] == [
                (r["date"], r["visitors"], r["pageviews"]) for r in answer["rows"]
            ]
        monthly = await http.get(
            "/api/v1/stats/ecommerce/revenue-timeseries", params={"period": "90d", "interval": "month"}
        )
        assert [row["date"][8:] for row in monthly.json()["data"]] == ["01"] * len(monthly.json()["data"])


NONSENSE = [
    ({"interval": "fortnight"}, "must be one of hour, day, week, month"),
    ({"interval": ""}, "must be one of hour, day, week, month"),
    ({"interval": "hour", "period": "30d"}, "hour needs a range of at most 7 days"),
    ({"interval": "hour", "from": "2026-03-01", "to": "2026-03-08"}, "hour needs a range of at most 7 days"),
    ({"interval": "month", "period": "24h"}, "must be hour for period 24h"),
]


async def test_nonsense_is_refused_naming_interval(app: Starlette) -> None:
    services = services_of(app)
    make_site(services, "acme", "acme.test")
    async with http_tools(app, make_token(services, "acme")) as (client, http):
        for params, rule in NONSENSE:
            for path in ("/api/v1/stats/timeseries", "/api/v1/stats/ecommerce/revenue-timeseries"):
                response = await http.get(path, params=params)
                assert (response.status_code, response.json()["errors"]) == (422, {"interval": [rule]}), (
                    params
                )
            result = await client.call_tool("daily-breakdown", {"tenant": "acme", **params})
            text = str(result.content)
            # The schema's enum refuses unknown values first (in the SDK's words); the rest are ours.
            assert (
                result.is_error
                and "interval" in text
                and (rule in text or "fortnight" in text or "''" in text)
            )
