"""Time zones east and west of UTC and DST days: local-day buckets, local midnight, hour of day."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from analytics_mcp import engine
from analytics_mcp.services import Services
from engine_support import add_site, ask, hit, ingest, metrics, rows

pytestmark = pytest.mark.backends()


@pytest.fixture
async def svc(services: Services) -> AsyncIterator[Services]:
    yield services
    await services.db.aio.dispose()


async def test_tokyo_local_midnight_inside_one_utc_day(svc: Services) -> None:
    tenant, _ = add_site(svc, timezone="Asia/Tokyo")
    ingest(
        svc,
        [
            # one visit across local midnight (23:50 -> 00:10 JST on the 17th UTC): one visitor id
            hit("2026-11-17T14:50:00Z", "/a", who=1),
            hit("2026-11-17T15:10:00Z", "/b", who=1),
            # 08:00 and 10:00 JST on the 18th fall on two UTC days: two daily salts, two visitors
            hit("2026-11-17T23:00:00Z", "/c", who=2),
            hit("2026-11-18T01:00:00Z", "/d", who=2),
        ],
    )
    now = "2026-11-19T03:00:00Z"  # 12:00 JST on the 19th
    series = await ask(svc, tenant, engine.timeseries, now=now, site="acme.test")
    assert series.range.timezone == "Asia/Tokyo"
    assert rows(series, "date", "visitors", "pageviews")[-3:] == [
        ("2026-11-17", 1, 1),
        ("2026-11-18", 3, 3),
        ("2026-11-19", 0, 0),
    ]
    day = await ask(
        svc, tenant, engine.overview, now=now, site="acme.test", date_from="2026-11-18", date_to="2026-11-18"
    )
    # visits dated by their first event: only visitor 2's two visits started on the 18th (JST)
    assert metrics(day, "visitors", "pageviews", "visits", "bounce_rate") == (3, 3, 2, 100.0)
    first = await ask(
        svc, tenant, engine.overview, now=now, site="acme.test", date_from="2026-11-17", date_to="2026-11-17"
    )
    assert metrics(first, "visitors", "pageviews", "visits", "avg_duration") == (1, 1, 1, 1200)
    hours = await ask(svc, tenant, engine.hour_of_day, now=now, site="acme.test")
    assert [(r.hour, r.pageviews) for r in hours.rows if r.pageviews] == [(0, 1), (8, 1), (10, 1), (23, 1)]


async def test_los_angeles_evening_is_the_previous_local_day(svc: Services) -> None:
    tenant, _ = add_site(svc, tenant_timezone="America/Los_Angeles")
    ingest(
        svc,
        [
            hit("2026-11-18T05:00:00Z", who=1),  # 21:00 PST on the 17th
            hit("2026-11-18T08:30:00Z", who=2),  # 00:30 PST on the 18th
        ],
    )
    now = "2026-11-20T20:00:00Z"
    series = await ask(svc, tenant, engine.timeseries, now=now)  # all sites: the tenant's zone
    found = [(r.date, r.visitors) for r in series.rows if r.visitors]
    assert found == [("2026-11-17", 1), ("2026-11-18", 1)]
    hours = await ask(svc, tenant, engine.hour_of_day, now=now)
    assert [(r.hour, r.visitors) for r in hours.rows if r.visitors] == [(0, 1), (21, 1)]


BERLIN_SPRING = [
    hit("2026-03-28T22:59:00Z", who=1),  # 23:59 CET, the 28th
    hit("2026-03-28T23:00:00Z", who=2),  # 00:00 CET, the 29th
    hit("2026-03-29T00:30:00Z", who=3),  # 01:30 CET
    hit("2026-03-29T01:30:00Z", who=4),  # 03:30 CEST (02:00-03:00 does not exist)
    hit("2026-03-29T21:59:00Z", who=5),  # 23:59 CEST, the 29th
    hit("2026-03-29T22:00:00Z", who=6),  # 00:00 CEST, the 30th
]


async def test_berlin_spring_forward_day(svc: Services) -> None:
    tenant, _ = add_site(svc, tenant_timezone="Europe/Berlin")
    ingest(svc, BERLIN_SPRING)
    now = "2026-03-31T10:00:00Z"
    series = await ask(svc, tenant, engine.timeseries, now=now, date_from="2026-03-28", date_to="2026-03-30")
    assert rows(series, "date", "visitors") == [("2026-03-28", 1), ("2026-03-29", 4), ("2026-03-30", 1)]
    hours = await ask(svc, tenant, engine.hour_of_day, now=now, date_from="2026-03-28", date_to="2026-03-30")
    assert [(r.hour, r.visitors) for r in hours.rows if r.visitors] == [(0, 2), (1, 1), (3, 1), (23, 2)]
    day = await ask(svc, tenant, engine.overview, now=now, date_from="2026-03-29", date_to="2026-03-29")
    assert (day.visitors, day.visits) == (4, 4)


async def test_berlin_fall_back_day_has_25_hours(svc: Services) -> None:
    tenant, _ = add_site(svc, tenant_timezone="Europe/Berlin")
    ingest(
        svc,
        [
            hit("2026-10-24T22:00:00Z", who=1),  # 00:00 CEST, the 25th
            hit("2026-10-25T00:30:00Z", who=2),  # 02:30 CEST
            hit("2026-10-25T01:30:00Z", who=3),  # 02:30 CET (the repeated hour)
            hit("2026-10-25T22:59:00Z", who=4),  # 23:59 CET, the 25th
            hit("2026-10-25T23:00:00Z", who=5),  # 00:00 CET, the 26th
        ],
    )
    now = "2026-10-27T10:00:00Z"
    series = await ask(svc, tenant, engine.timeseries, now=now, date_from="2026-10-25", date_to="2026-10-26")
    assert rows(series, "date", "visitors") == [("2026-10-25", 4), ("2026-10-26", 1)]
    hours = await ask(svc, tenant, engine.hour_of_day, now=now, date_from="2026-10-25", date_to="2026-10-25")
    assert [(r.hour, r.visitors) for r in hours.rows if r.visitors] == [(0, 1), (2, 2), (23, 1)]


async def test_24h_buckets_across_the_spring_gap(svc: Services) -> None:
    tenant, _ = add_site(svc, tenant_timezone="Europe/Berlin")
    ingest(svc, BERLIN_SPRING)
    series = await ask(svc, tenant, engine.timeseries, now="2026-03-29T10:34:00Z", period="24h")
    labels = [r.date for r in series.rows]
    assert len(labels) == 24
    assert (labels[0], labels[-1]) == ("2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00")
    assert "2026-03-29T01:00:00+01:00" in labels and "2026-03-29T03:00:00+02:00" in labels
    assert not any(label.startswith("2026-03-29T02:") for label in labels)
    found = [(r.date, r.visitors) for r in series.rows if r.visitors]
    assert found == [
        ("2026-03-28T23:00:00+01:00", 1),
        ("2026-03-29T00:00:00+01:00", 1),
        ("2026-03-29T01:00:00+01:00", 1),
        ("2026-03-29T03:00:00+02:00", 1),
    ]
