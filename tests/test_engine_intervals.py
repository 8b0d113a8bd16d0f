# ruff: noqa: F811  (the world_copy fixture imported from world_copies is redefined as a parameter)
"""Week and month buckets, hand-counted in Berlin across the spring DST change and a month
boundary: ISO weeks from Monday and calendar months in the site's zone, labelled by their first
day, the range's cut buckets listed as partial, visitors distinct per bucket (never a sum of days).
Rollups and raw tables must agree; sqlite, postgresql and split run it (ClickHouse: the
differential tests' week and month cases)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from analytics_mcp import engine
from analytics_mcp.engine.errors import QueryError
from analytics_mcp.engine.store.choice import raw_tables
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.db import distinct_databases
from engine_support import add_site, hit, ingest, rows, utc
from world_copies import WorldCopy, db_url, events_url, sqlite_template, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends("sqlite", "postgresql", "split")

NOW = "2026-04-20T12:00:00Z"
# who = one IP; a visitor id is (IP, UTC day's salt): the same `who` on two UTC days is two
# visitors, and one UTC day's id can be seen on two Berlin days (CET = UTC+1, CEST = UTC+2 from
# 2026-03-29 01:00 UTC).
SPRING = [
    hit("2026-03-17T22:59:00Z", who=1),  # 23:59 CET on the 17th: before the range
    hit("2026-03-17T23:00:00Z", who=2),  # 00:00 Wed 18th: the first (cut) week, 16th
    hit("2026-03-22T22:59:00Z", who=3),  # 23:59 Sun 22nd: week of the 16th
    hit("2026-03-22T23:00:00Z", who=3),  # 00:00 Mon 23rd, same visit: week of the 23rd too
    hit("2026-03-24T22:30:00Z", who=1),  # 23:30 on the 24th
    hit("2026-03-24T23:30:00Z", who=1),  # 00:30 on the 25th: another visit, same id (UTC 24th)
    hit("2026-03-26T10:00:00Z", who=1),  # another UTC day: another visitor
    hit("2026-03-29T00:30:00Z", who=4),  # 01:30 CET on the DST Sunday
    hit("2026-03-29T01:30:00Z", who=4),  # 03:30 CEST: a second visit, same id
    hit("2026-03-29T21:59:00Z", who=5),  # 23:59 CEST Sun 29th: week of the 23rd
    hit("2026-03-29T22:00:00Z", who=5),  # 00:00 Mon 30th, same visit: week of the 30th
    hit("2026-03-31T21:50:00Z", who=6),  # 23:50 on 31 March
    hit("2026-03-31T22:10:00Z", who=6),  # 00:10 on 1 April, same visit: both months
    hit("2026-04-01T09:00:00Z", who=6),  # another UTC day: another visitor
    hit("2026-04-06T08:00:00Z", who=7),  # Mon 6 April: the last (cut) week
    hit("2026-04-08T21:59:00Z", who=8),  # 23:59 CEST Wed 8th: the range's last minute
    hit("2026-04-08T22:00:00Z", who=9),  # 00:00 Thu 9th: after the range
]
RANGE = {"site": "acme.test", "date_from": "2026-03-18", "date_to": "2026-04-08"}


def tenant_in(services: Services) -> Tenant:
    tenant, _ = add_site(services, timezone="Europe/Berlin")
    ingest(services, SPRING)
    return tenant


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], Tenant]:
    return tenant_in  # once per backend (world_copies): the tests only read it


@pytest.fixture
async def svc(services: Services, world_copy: WorldCopy) -> AsyncIterator[Services]:
    services.tenant = world_copy.made  # type: ignore[attr-defined]
    yield services
    for db in distinct_databases(services.db, services.events_db):
        await db.aio.dispose()


async def ask(svc: Services, **arguments: str) -> engine.Timeseries:
    """The timeseries as of NOW: the query from the accounts, the numbers from the events database
    (split: another database)."""
    tenant = svc.tenant  # type: ignore[attr-defined]
    query = await engine.query_for_tenant(svc.db, tenant, now=utc(NOW), **arguments)
    return await engine.timeseries(svc.events_db, query)


async def both_stores(svc: Services, **arguments: str) -> engine.Timeseries:
    """The timeseries from the rollups (unfiltered, one zone) and from the raw tables: equal."""
    from_rollups = await ask(svc, **arguments)
    with raw_tables():
        from_raw = await ask(svc, **arguments)
    assert from_rollups == from_raw
    return from_rollups


async def test_iso_weeks_across_the_spring_change(svc: Services) -> None:
    series = await both_stores(svc, **RANGE, interval="week")
    assert series.range.interval == "week"
    # Week of the 23rd: who3 (UTC 22nd), who1 (24th, seen on two local days), who1 (26th), who4
    # (two visits), who5 = 5 visitors; the sum of its days would say 6.
    assert rows(series, "date", "visitors", "pageviews") == [
        ("2026-03-16", 2, 2),
        ("2026-03-23", 5, 7),
        ("2026-03-30", 3, 4),
        ("2026-04-06", 2, 2),
    ]
    assert series.partial_buckets == ["2026-03-16", "2026-04-06"]
    days = await both_stores(svc, **RANGE, interval="day")
    week_of_23rd = [r for r in days.rows if "2026-03-23" <= r.date <= "2026-03-29"]
    assert sum(r.visitors for r in week_of_23rd) == 6 and days.partial_buckets == []


async def test_calendar_months_across_a_month_boundary(svc: Services) -> None:
    series = await both_stores(svc, **RANGE, interval="month")
    assert rows(series, "date", "visitors", "pageviews") == [("2026-03-01", 7, 11), ("2026-04-01", 4, 4)]
    assert series.partial_buckets == ["2026-03-01", "2026-04-01"]
    whole = await both_stores(
        svc, site="acme.test", date_from="2026-03-01", date_to="2026-04-30", interval="month"
    )
    assert rows(whole, "date", "visitors", "pageviews") == [("2026-03-01", 8, 12), ("2026-04-01", 5, 5)]
    assert whole.partial_buckets == []


async def test_hours_over_the_23_hour_day(svc: Services) -> None:
    series = await both_stores(
        svc, site="acme.test", date_from="2026-03-29", date_to="2026-03-29", interval="hour"
    )
    labels = [r.date for r in series.rows]
    assert len(labels) == 23 and labels[1:3] == ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"]
    assert [(r.date[11:13], r.visitors) for r in series.rows if r.visitors] == [
        ("01", 1),
        ("03", 1),
        ("23", 1),
    ]


async def test_default_intervals_and_the_running_bucket(svc: Services) -> None:
    lengths = {"7d": "day", "90d": "day", "12m": "week", "24h": "hour"}
    for period, interval in lengths.items():
        series = await ask(svc, period=period)
        assert series.range.interval == interval, period
    long = await ask(svc, date_from="2025-01-01", date_to="2026-04-08")
    assert long.range.interval == "month" and long.rows[0].date == "2025-01-01" and len(long.rows) == 16
    # 30d by weeks on Monday 20 April: the running week is the last bucket, and cut short.
    running = await both_stores(svc, site="acme.test", period="30d", interval="week")
    assert running.range.partial_day and running.rows[-1].date == "2026-04-20"
    assert running.partial_buckets == ["2026-03-16", "2026-04-20"]


@pytest.mark.parametrize(
    ("arguments", "rule"),
    [
        ({"interval": "fortnight"}, "must be one of hour, day, week, month"),
        ({"interval": ""}, "must be one of hour, day, week, month"),
        ({"interval": "hour", "period": "30d"}, "hour needs a range of at most 7 days"),
        (
            {"interval": "hour", "date_from": "2026-03-01", "date_to": "2026-03-08"},
            "hour needs a range of at most 7 days",
        ),
        ({"interval": "week", "period": "24h"}, "must be hour for period 24h"),
    ],
)
async def test_nonsense_is_refused_naming_the_field(
    svc: Services, arguments: dict[str, str], rule: str
) -> None:
    with pytest.raises(QueryError) as refused:
        await ask(svc, **arguments)
    assert (refused.value.field, refused.value.rule) == ("interval", rule)
