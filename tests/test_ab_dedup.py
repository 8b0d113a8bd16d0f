"""Idempotency of `POST /api/v1/metrics/track`: identical events (same visitor, session, type and
data) less than 30 s apart are stored once, also when 20 arrive at the same moment; a conversion
with a stripe_session_id is stored once, ever. Every retry still gets the documented 201."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest
from starlette.applications import Starlette

from ab_support import body, experiment, stored, track
from analytics_mcp.experiments import Experiment
from analytics_mcp.http_api import metrics_track
from analytics_mcp.services import Services
from factories import make_site

WINDOW = 30.0


class Clock:
    """The tracking endpoint's clock, pinned: `now` is 20 s into a 30-second window."""

    def __init__(self) -> None:
        self.now = (time.time() // WINDOW) * WINDOW - 4 * WINDOW + 20

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock()
    monkeypatch.setattr(metrics_track, "CLOCK", pinned)
    return pinned


@pytest.fixture
def exp(app: Starlette) -> Experiment:
    services: Services = app.state.services
    make_site(services)
    return experiment(services)


@pytest.fixture
def svc(app: Starlette) -> Services:
    return app.state.services


async def send(client: httpx2.AsyncClient, payload: dict[str, object]) -> None:
    response = await track(client, payload)
    assert response.status_code == 201, response.text
    assert response.json() == {"success": True, "message": "Event tracked successfully"}


async def test_a_retry_is_stored_once(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, clock: Clock
) -> None:
    click = body(exp.variants[0].id, "click", {"element_id": "hero-cta"})
    for delay in (0, 1, 9):  # all in the same window
        clock.now += delay
        await send(client, click)
    assert stored(svc) == (1, 1)


async def test_the_window_is_30_seconds_not_a_bucket(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, clock: Clock
) -> None:
    click = body(exp.variants[0].id, "click", {"element_id": "hero-cta"})
    await send(client, click)
    clock.now += 15  # 5 s into the next window, 15 s after the stored one: the same event
    await send(client, click)
    assert stored(svc) == (1, 1)
    clock.now += 16  # 31 s after the stored one: a new click
    await send(client, click)
    assert stored(svc) == (2, 2)


async def test_different_visitor_session_type_or_data_are_different_events(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, clock: Clock
) -> None:
    variant = exp.variants[0].id
    payloads = [
        body(variant, "click", {"element_id": "hero-cta"}),
        body(variant, "click", {"element_id": "hero-cta"}, visitor_id="vis_other"),
        body(variant, "click", {"element_id": "hero-cta"}, session_id="sess_other"),
        body(variant, "click", {"element_id": "pricing-pro-cta"}),
        body(variant, "form_submit", {"form_id": "hero-cta"}),
        body(variant, "click", {"element_id": "hero-cta", "element_text": "Go"}),
    ]
    for payload in payloads:
        await send(client, payload)
    assert stored(svc) == (6, 6)


async def test_concurrent_duplicates_store_one(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, clock: Clock
) -> None:
    view = body(exp.variants[1].id, "page_view", {"path": "/pricing"})
    responses = await asyncio.gather(*(track(client, view) for _ in range(20)))
    assert [r.status_code for r in responses] == [201] * 20
    assert stored(svc) == (1, 1)


async def test_conversion_once_per_stripe_session(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, clock: Clock
) -> None:
    paid = {"plan_tier": "pro", "amount_cents": 2900, "stripe_session_id": "cs_live_1"}
    conversion = body(exp.variants[0].id, "conversion", paid)
    responses = await asyncio.gather(*(track(client, conversion) for _ in range(20)))
    assert [r.status_code for r in responses] == [201] * 20
    clock.now += 7200  # hours later, from another tab: still the same checkout
    await send(client, {**conversion, "session_id": "sess_later"})
    assert stored(svc) == (1, 1)
    await send(client, body(exp.variants[0].id, "conversion", {**paid, "stripe_session_id": "cs_live_2"}))
    assert stored(svc) == (2, 2)


async def test_conversion_without_checkout_id_uses_the_window(
    client: httpx2.AsyncClient, svc: Services, exp: Experiment, clock: Clock
) -> None:
    conversion = body(exp.variants[0].id, "conversion", {"plan_tier": "pro", "amount_cents": 2900})
    await send(client, conversion)
    clock.now += 5
    await send(client, conversion)
    assert stored(svc) == (1, 1)
    clock.now += 3600
    await send(client, conversion)
    assert stored(svc) == (2, 2)
