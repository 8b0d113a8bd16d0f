"""A/B testing with the events in ClickHouse (issue 14): the same tracking calls into an install on
SQLite and one on chDB (the ClickHouse engine in process; the spool and the writer thread) give the
same answers: every `/metrics/track` reply (201, duplicates included), the rows stored, the
`/metrics/summary` and `/metrics/variants` bodies (whole range, a variant, another experiment) and
the `ab-test-results` MCP tool's structured answer.

The dedup's stored-id lookup is exercised on ClickHouse: a retry in the next 30-second window after
a "restart" (the process's memory of recent events dropped) is found through the previous window's
id stored in ClickHouse, and one a window later is a new event, as on SQLite.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from clickhouse_connect.driver.exceptions import OperationalError
from mcp import Client
from starlette.applications import Starlette

from ab_support import BROWSER, TRACK, body, count, experiment
from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.experiments import Experiment
from analytics_mcp.http_api import metrics_track
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.schema import events, experiment_events
from analytics_mcp.tools import acting_for, build_mcp_server
from clickhouse_support import chdb_url
from conftest import hold_lifespan, pin_reports
from factories import make_site, make_token
from test_ingest_replay import wait_drained

WINDOW_S = 30.0


@dataclass
class Install:
    app: Starlette
    client: httpx2.AsyncClient
    admin: dict[str, str]
    experiments: list[Experiment]

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


class Clock:
    """The tracking endpoint's clock: the start of a 30-second window two days ago, moved by the
    test (the reports read their dates as of `moment`, pinned)."""

    def __init__(self) -> None:
        self.now = (time.time() // WINDOW_S) * WINDOW_S - 2 * 86_400
        self.moment = datetime.fromtimestamp(self.now, UTC) + timedelta(days=1)

    def __call__(self) -> float:
        return self.now


async def _install(stack: AsyncExitStack, settings: Settings) -> Install:
    app = create_app(settings)
    stop, task = await hold_lifespan(app)

    async def stopped() -> None:
        stop.set()
        await task

    stack.push_async_callback(stopped)
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 50000))
    client = await stack.enter_async_context(
        httpx2.AsyncClient(transport=transport, base_url="http://testserver")
    )
    services: Services = app.state.services
    make_site(services)
    made = [
        experiment(services),
        experiment(services, slug="pricing-test", variants=(("control", 1), ("cheap", 1), ("annual", 2))),
    ]
    admin = {"Authorization": f"Bearer {make_token(services, scopes=('admin',))}"}
    return Install(app, client, admin, made)


_databases = itertools.count()


@pytest.fixture
async def installs(tmp_path: Path) -> AsyncIterator[tuple[Install, Install]]:
    async with AsyncExitStack() as stack:
        lite = await _install(
            stack, Settings(data_dir=tmp_path / "lite", secret_key="t", ingest_process=False, _env_file=None)
        )
        house = await _install(
            stack,
            Settings(
                data_dir=tmp_path / "house",
                secret_key="t",
                events_url=chdb_url(f"ab{next(_databases)}"),
                _env_file=None,
            ),
        )
        assert isinstance(house.services.events_db, ClickHouseEvents)
        yield lite, house


def _calls(exp: Experiment, rng: random.Random, visitors: int) -> list[dict[str, Any]]:
    """Tracking bodies of `visitors` visitors: a view each, some scrolls, clicks and conversions
    (a few with a checkout id sent twice)."""
    out: list[dict[str, Any]] = []
    for n in range(visitors):
        variant = exp.variants[n % len(exp.variants)].id
        who = {"visitor_id": f"vis_{exp.slug}_{n}", "session_id": f"sess_{n // 2}"}
        out.append(body(variant, "page_view", {"path": rng.choice(["/", "/pricing", "/signup"])}, **who))
        if rng.random() < 0.7:
            out.append(body(variant, "scroll_depth", {"depth": rng.choice([10, 30, 55, 80, 100])}, **who))
        for _ in range(rng.randrange(3)):
            cta = rng.choice(["hero-cta", "pricing-pro-cta", "footer-cta", "Ünïcode-cta"])
            out.append(body(variant, "click", {"element_id": cta}, **who))
        if rng.random() < 0.25:
            data: dict[str, Any] = {"plan_tier": "pro", "amount_cents": rng.choice([900, 2900])}
            if rng.random() < 0.5:
                data["stripe_session_id"] = f"cs_{exp.slug}_{n}"
                out.append(body(variant, "conversion", dict(data), **who))
            out.append(body(variant, "conversion", data, **who))
    return out


async def _track_everywhere(pair: tuple[Install, Install], clock: Clock, payload: dict[str, Any]) -> None:
    replies = [await side.client.post(TRACK, json=payload, headers=BROWSER) for side in pair]
    assert [r.status_code for r in replies] == [201, 201], [r.text for r in replies]
    assert replies[0].json() == replies[1].json()


def _stored(services: Services) -> tuple[int, int]:
    """(events rows, experiment_events rows), each event once (FINAL in ClickHouse)."""
    house = services.events_db
    if not isinstance(house, ClickHouseEvents):
        return count(services, events), count(services, experiment_events)
    return tuple(  # type: ignore[return-value]
        int(house.rows(f"SELECT count() FROM {house.table(name)} FINAL")[0][0])
        for name in ("events", "experiment_events")
    )


def _same(answer: dict[str, Any]) -> dict[str, Any]:
    """Without the experiment's creation time (each install made its own a moment apart)."""
    if "experiment" in answer:
        answer["experiment"].pop("created_at")
    return answer


async def _tool(install: Install, **arguments: Any) -> dict[str, Any]:
    server = build_mcp_server(install.services)
    tenant_id = install.experiments[0].tenant_id
    with acting_for(tenant_id):
        async with Client(server) as mcp:
            result = await mcp.call_tool("ab-test-results", {"tenant": "acme", **arguments})
    assert not result.is_error, result
    structured = result.structured_content
    assert structured is not None
    return structured


async def test_tracking_reports_and_tool_answer_alike_on_sqlite_and_clickhouse(
    installs: tuple[Install, Install], monkeypatch: pytest.MonkeyPatch
) -> None:
    lite, house = installs
    clock = Clock()
    monkeypatch.setattr(metrics_track, "CLOCK", clock)
    pin_reports(monkeypatch, clock.moment)
    rng = random.Random(14)
    calls = [c for exp in lite.experiments for c in _calls(exp, rng, 30)]
    rng.shuffle(calls)
    for number, payload in enumerate(calls):
        clock.now += 7 if number % 10 else 1_200  # 20 minutes apart now and then
        await _track_everywhere(installs, clock, payload)
        if number % 9 == 0:
            await _track_everywhere(installs, clock, payload)  # an immediate retry: stored once
    await wait_drained(house.services)
    assert _stored(house.services) == _stored(lite.services)
    day = datetime.fromtimestamp(clock.now, UTC).date()
    dates = {"start_date": str(day - timedelta(days=3)), "end_date": str(day)}
    asked = [
        {"experiment": "hero-test", **dates},
        {"experiment": "hero-test", "variant": "variant-a", **dates},
        {"experiment": "pricing-test", **dates},
        {"experiment": "pricing-test", "variant": "annual", "start_date": str(day), "end_date": str(day)},
    ]
    substantial = 0
    for params in asked:
        for route in ("summary", "variants"):
            answers = [
                await side.client.get(f"/api/v1/metrics/{route}", params=params, headers=side.admin)
                for side in installs
            ]
            assert [a.status_code for a in answers] == [200, 200], answers[1].text
            assert _same(answers[1].json()) == _same(answers[0].json()), (route, params)
            substantial += '"visitors": 0' not in answers[1].text
    assert substantial >= 6
    for arguments in (
        {"experiment": "hero-test", "period": "7d"},
        {"experiment": "pricing-test", "period": "24h"},
        {"experiment": "pricing-test", "from": dates["start_date"], "to": dates["end_date"]},
    ):
        assert _same(await _tool(house, **arguments)) == _same(await _tool(lite, **arguments)), arguments


async def test_a_retry_after_a_restart_is_found_in_clickhouse(
    installs: tuple[Install, Install], monkeypatch: pytest.MonkeyPatch
) -> None:
    lite, house = installs
    clock = Clock()
    clock.now += 20  # 20 s into a window
    monkeypatch.setattr(metrics_track, "CLOCK", clock)
    variant = lite.experiments[0].variants[0].id
    click = body(variant, "click", {"element_id": "hero-cta"})
    await _track_everywhere(installs, clock, click)
    await wait_drained(house.services)
    before = _stored(house.services)
    for side in installs:
        side.app.state.ab_dedup = None  # a restarted process remembers nothing
    clock.now += 15  # the next window, 15 s later: the previous window's id is stored
    await _track_everywhere(installs, clock, click)
    await wait_drained(house.services)
    assert _stored(house.services) == _stored(lite.services) == before
    for side in installs:
        side.app.state.ab_dedup = None
    clock.now += 31  # a window later: a new click
    await _track_everywhere(installs, clock, click)
    await wait_drained(house.services)
    assert _stored(house.services) == _stored(lite.services) == (before[0] + 1, before[1] + 1)


async def test_tracking_goes_on_when_the_clickhouse_lookup_fails(
    installs: tuple[Install, Install], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ClickHouse unreachable for the previous window's lookup: 201 from the spool (not a 503),
    as prepare's own duplicate lookup does; the event is stored once ClickHouse answers."""
    _lite, house = installs
    clock = Clock()
    clock.now += 20
    monkeypatch.setattr(metrics_track, "CLOCK", clock)
    events = house.services.events_db
    assert isinstance(events, ClickHouseEvents)
    rows = events.rows

    def unreachable_for_the_lookup(sql: str, *args: Any) -> Any:
        if "client_event_id = {c:String}" in sql:
            raise OperationalError("Error HTTPConnectionPool: connection refused")
        return rows(sql, *args)

    monkeypatch.setattr(events, "rows", unreachable_for_the_lookup)
    before = _stored(house.services)
    view = body(house.experiments[0].variants[1].id, "page_view", {"path": "/"})
    reply = await house.client.post(TRACK, json=view, headers=BROWSER)
    assert reply.status_code == 201, reply.text
    await wait_drained(house.services)
    assert _stored(house.services) == (before[0] + 1, before[1] + 1)
