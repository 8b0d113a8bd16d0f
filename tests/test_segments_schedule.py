"""The daily segment computation inside `serve` (platform/schedule.py) with a pinned clock: a
tenant in Tokyo (UTC+9, no summer time) whose local day starts while UTC is still on the day
before. Before ANALYTICS_SEGMENTS_HOUR nothing is computed; a round at or after it computes the
local day once, later rounds that day do nothing, recomputing the day replaces it, the next local
day is computed at its hour; each computation syncs the segment's webhook connector (a real
loopback receiver checking the signature)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analytics_mcp.platform.activations import add_activation
from analytics_mcp.platform.activations_sync import register_activation_sync
from analytics_mcp.platform.compute import compute_segments
from analytics_mcp.platform.connectors import webhook
from analytics_mcp.platform.memberships import day_number, members_on
from analytics_mcp.platform.schedule import compute_due, segment_schedule
from analytics_mcp.services import Services
from analytics_mcp.storage.platform_schema import segment_days
from analytics_mcp.storage.schema import tenants
from segments_support import D, add_segment, world
from servers import uvicorn_on_loopback

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")
SECRET = "schedule-signing-key-0123456789"
PRO = [{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}]
TOKYO_DAY = D + timedelta(days=2)  # 03:00 there is 18:00 UTC on D + 1
BEFORE_HOUR = datetime.combine(D + timedelta(days=1), time(17, 59), UTC)  # Tokyo 02:59


@pytest.fixture
async def hook() -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    """A webhook receiver that keeps the bodies whose signature checks out."""
    bodies: list[dict[str, object]] = []

    async def receive(request: Request) -> Response:
        raw = await request.body()
        stamp = request.headers.get(webhook.TIMESTAMP_HEADER, "")
        if not webhook.verify(SECRET, stamp, raw, request.headers.get(webhook.SIGNATURE_HEADER, "")):
            return JSONResponse({"error": "bad signature"}, status_code=400)
        bodies.append(json.loads(raw))
        return JSONResponse({}, status_code=202)

    async with uvicorn_on_loopback(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as base:
        yield f"{base}/hook", bodies


def tokyo_segment(services: Services, url: str) -> tuple[int, int]:
    """World's customers (u1 and u3 are pro), their tenant in Tokyo, a segment 'Pro' with a webhook."""
    tenant = world(services)
    with services.db.sync.begin() as conn:
        conn.execute(update(tenants).where(tenants.c.id == tenant.id).values(timezone="Asia/Tokyo"))
    segment = add_segment(services, tenant, "Pro", PRO)
    with services.db.sync.begin() as conn:
        add_activation(conn, tenant.id, segment, "webhook", url=url, secret=SECRET, allow_http=True)
    return tenant.id, segment


def computed_days(services: Services, segment: int) -> list[tuple[int, int]]:
    d = segment_days.c
    stmt = select(d.day, d.member_count).where(d.segment_id == segment).order_by(d.day)
    with services.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        return [(day, count) for day, count in conn.execute(stmt)]


def sent(bodies: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(b["added"], b["removed"], b["member_count"]) for b in bodies]


@pytest.fixture
async def tokyo(
    services: Services, hook: tuple[str, list[dict[str, object]]]
) -> tuple[int, int, list[dict[str, object]]]:
    """(tenant id, segment id, the bodies its webhook received); segments hour 3, syncs registered."""
    url, bodies = hook
    services.settings.allow_private_webhooks = True
    services.settings.segments_hour = 3
    tenant_id, segment = await asyncio.to_thread(tokyo_segment, services, url)
    register_activation_sync()
    return tenant_id, segment, bodies


async def test_a_round_computes_the_local_day_once_from_the_hour(
    services: Services, tokyo: tuple[int, int, list[dict[str, object]]]
) -> None:
    tenant_id, segment, bodies = tokyo

    assert await compute_due(services, BEFORE_HOUR) == []  # 02:59 in Tokyo
    assert computed_days(services, segment) == [] and bodies == []

    at_hour = BEFORE_HOUR + timedelta(minutes=1)  # 03:00 in Tokyo, still the day before in UTC
    done = await compute_due(services, at_hour)
    assert [(c.segment_id, c.day, c.member_count) for c in done] == [(segment, TOKYO_DAY, 2)]
    assert await members_on(services, segment, TOKYO_DAY) == {"u1", "u3"}
    assert sent(bodies) == [(["u1", "u3"], [], 2)]  # the connector synced after the computation

    for later in (timedelta(minutes=5), timedelta(hours=20)):  # Tokyo 03:05 and 23:00, same day
        assert await compute_due(services, at_hour + later) == []
    assert computed_days(services, segment) == [(day_number(TOKYO_DAY), 2)]

    again = await compute_segments(services, tenant_id, TOKYO_DAY)  # on demand: replaces the day
    assert [c.member_count for c in again] == [2]
    assert computed_days(services, segment) == [(day_number(TOKYO_DAY), 2)]
    assert await members_on(services, segment, TOKYO_DAY) == {"u1", "u3"}
    assert sent(bodies)[1:] == [([], [], 2)]  # nothing changed, nothing added or removed

    next_day = TOKYO_DAY + timedelta(days=1)
    assert await compute_due(services, at_hour + timedelta(hours=23, minutes=59)) == []  # 02:59 next day
    done = await compute_due(services, at_hour + timedelta(days=1))
    assert [(c.day, c.member_count) for c in done] == [(next_day, 2)]
    assert computed_days(services, segment) == [(day_number(TOKYO_DAY), 2), (day_number(next_day), 2)]


async def test_the_schedule_inside_serve_runs_its_rounds_on_the_pinned_clock(
    services: Services, tokyo: tuple[int, int, list[dict[str, object]]]
) -> None:
    _tenant_id, segment, bodies = tokyo
    now = [BEFORE_HOUR]
    async with segment_schedule(services, every=0.02, clock=lambda: now[0], first=0.0):
        await asyncio.sleep(0.3)  # rounds before the hour
        assert computed_days(services, segment) == []
        now[0] = BEFORE_HOUR + timedelta(hours=2)  # 04:59 in Tokyo
        await _until(lambda: len(bodies) == 1)
        await asyncio.sleep(0.3)  # more rounds the same day
    assert computed_days(services, segment) == [(day_number(TOKYO_DAY), 2)]
    assert sent(bodies) == [(["u1", "u3"], [], 2)]


async def _until(done: Callable[[], bool], limit_s: float = 20.0) -> None:
    waited = 0.0
    while not done():
        assert waited < limit_s, "the schedule computed nothing"
        await asyncio.sleep(0.05)
        waited += 0.05


def test_tokyo_day_starts_while_utc_is_on_the_day_before() -> None:
    at_hour = BEFORE_HOUR + timedelta(minutes=1)
    assert at_hour.date() == D + timedelta(days=1)
    assert at_hour.astimezone(ZoneInfo("Asia/Tokyo")).date() == TOKYO_DAY
