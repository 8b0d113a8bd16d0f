"""Traffic numbers through the real pipeline, expected values worked out by hand from DESIGN.md:
bounces and interactive events, durations, time on page, midnight UTC, comparisons, empty ranges."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant
from engine_support import add_site, ask, hit, ingest, metrics, rows

pytestmark = pytest.mark.backends()

NOW = "2026-11-20T12:00:00Z"  # 7d = 2026-11-14 .. 2026-11-20; previous = 2026-11-07 .. 2026-11-13
DAY = "2026-11-18"


@pytest.fixture
async def svc(services: Services) -> AsyncIterator[Services]:
    yield services
    await services.db.aio.dispose()


@pytest.fixture
def tenant(svc: Services) -> Tenant:
    return add_site(svc)[0]


def at(clock: str, day: str = DAY) -> str:
    return f"{day}T{clock}Z"


BOUNCE_CASES = [
    # visitor 1: one pageview -> bounce
    hit(at("10:00:00"), who=1),
    # visitor 2: a custom event is interactive by default -> not a bounce, 40 s
    hit(at("10:00:00"), who=2),
    hit(at("10:00:40"), who=2, name="signup_click"),
    # visitor 3: a custom event sent with interactive false keeps the bounce (duration counted 0)
    hit(at("10:00:00"), who=3),
    hit(at("10:01:00"), who=3, name="video_autoplay", interactive=False),
    # visitor 4: two pageviews and an engagement report -> 300 s
    hit(at("10:00:00"), who=4),
    hit(at("10:02:00"), "/pricing", who=4),
    hit(at("10:05:00"), "/pricing", who=4, name="engagement", engagement_ms=90_000),
    # visitor 5: engagement is neither a pageview nor interactive -> still a bounce
    hit(at("10:00:00"), who=5),
    hit(at("10:00:30"), who=5, name="engagement", engagement_ms=30_000),
]


async def test_bounce_rate_duration_and_interactivity(svc: Services, tenant: Tenant) -> None:
    ingest(svc, BOUNCE_CASES)
    report = await ask(svc, tenant, engine.overview, now=NOW)
    assert metrics(report, "visitors", "visits", "pageviews", "views_per_visit") == (5, 5, 6, 1.2)
    assert report.bounce_rate == 60.0  # visitors 1, 3 and 5
    assert report.avg_duration == 68  # (0 + 40 + 0 + 300 + 0) / 5
    entry = await ask(svc, tenant, engine.entry_pages, now=NOW)
    assert rows(entry, "pathname", "visitors", "visits", "bounce_rate") == [("/", 5, 5, 60.0)]
    exits = await ask(svc, tenant, engine.exit_pages, now=NOW)
    assert rows(exits, "pathname", "visits") == [("/", 4), ("/pricing", 1)]


async def test_time_on_page_uses_engagement_then_the_gap(svc: Services, tenant: Tenant) -> None:
    ingest(
        svc,
        [
            *BOUNCE_CASES,
            # engaged time wins over the gap to the next pageview: /docs is 20 s, not 180 s
            hit(at("11:00:00"), "/docs", who=6),
            hit(at("11:00:25"), "/docs", who=6, name="engagement", engagement_ms=20_000),
            hit(at("11:03:00"), "/pricing", who=6),
        ],
    )
    pages = await ask(svc, tenant, engine.top_pages, now=NOW)
    assert rows(pages, "pathname", "visitors", "pageviews", "avg_duration") == [
        # visitor 4's gap (120 s) and visitor 5's engagement (30 s); the others have no time
        ("/", 5, 5, 75),
        # visitor 4's engagement (90 s); visitor 6's last pageview has no time and is left out
        ("/pricing", 2, 2, 90),
        ("/docs", 1, 1, 20),
    ]
    assert pages.truncated is False
    top_one = await ask(svc, tenant, engine.top_pages, now=NOW, limit=1)
    assert (rows(top_one, "pathname"), top_one.truncated) == ([("/",)], True)


async def test_page_without_any_time_has_null_duration(svc: Services, tenant: Tenant) -> None:
    ingest(svc, [hit(at("10:00:00"), "/alone", who=1)])
    pages = await ask(svc, tenant, engine.top_pages, now=NOW)
    assert rows(pages, "pathname", "avg_duration") == [("/alone", None)]


MIDNIGHT_UTC = [
    # one visit across midnight UTC keeps the id it started with ...
    hit("2026-11-17T23:50:00Z", "/a", who=1),
    hit("2026-11-18T00:10:00Z", "/b", who=1),
    # ... and the same person later that day is a new visitor (new daily salt)
    hit("2026-11-18T09:00:00Z", "/c", who=1),
]


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        # visitors, pageviews, visits, bounce_rate, avg_duration
        ("2026-11-17", "2026-11-17", (1, 1, 1, 0.0, 1200)),
        ("2026-11-18", "2026-11-18", (2, 2, 1, 100.0, 0)),  # the crossing visit's visitor counts too
        ("2026-11-17", "2026-11-18", (2, 3, 2, 50.0, 600)),
    ],
)
async def test_visit_crossing_midnight_utc(
    svc: Services, tenant: Tenant, date_from: str, date_to: str, expected: tuple[int, ...]
) -> None:
    ingest(svc, MIDNIGHT_UTC)
    report = await ask(svc, tenant, engine.overview, now=NOW, date_from=date_from, date_to=date_to)
    assert metrics(report, "visitors", "pageviews", "visits", "bounce_rate", "avg_duration") == expected


async def test_a_crossing_visit_keeps_its_attributes_past_midnight(svc: Services, tenant: Tenant) -> None:
    ingest(svc, MIDNIGHT_UTC)
    day = await ask(
        svc,
        tenant,
        engine.overview,
        now=NOW,
        date_from="2026-11-18",
        date_to="2026-11-18",
        filters="entry_page==/a",
    )
    assert metrics(day, "visitors", "pageviews", "visits") == (1, 1, 0)
    series = await ask(svc, tenant, engine.timeseries, now=NOW, filters="entry_page==/a")
    assert [(r.date, r.visitors, r.pageviews) for r in series.rows if r.visitors] == [
        ("2026-11-17", 1, 1),
        ("2026-11-18", 1, 1),
    ]


async def test_timeseries_counts_a_crossing_visitor_on_both_days(svc: Services, tenant: Tenant) -> None:
    ingest(svc, MIDNIGHT_UTC)
    series = await ask(svc, tenant, engine.timeseries, now=NOW)
    assert rows(series, "date", "visitors", "pageviews") == [
        ("2026-11-14", 0, 0),
        ("2026-11-15", 0, 0),
        ("2026-11-16", 0, 0),
        ("2026-11-17", 1, 1),
        ("2026-11-18", 2, 2),
        ("2026-11-19", 0, 0),
        ("2026-11-20", 0, 0),
    ]
    assert (str(series.range.date_from), str(series.range.date_to), series.range.timezone) == (
        "2026-11-14",
        "2026-11-20",
        "UTC",
    )


COMPARISON = [
    # previous period: two bounces
    hit("2026-11-08T10:00:00Z", who=1),
    hit("2026-11-12T10:00:00Z", who=2),
    # current period: one bounce, two visits of 60 s and 120 s
    hit(at("10:00:00"), who=3),
    hit(at("10:00:00"), who=4),
    hit(at("10:01:00"), "/x", who=4),
    hit(at("10:00:00"), who=5),
    hit(at("10:02:00"), "/y", who=5),
]


async def test_changes_against_the_previous_period(svc: Services, tenant: Tenant) -> None:
    ingest(svc, COMPARISON)
    report = await ask(svc, tenant, engine.overview, now=NOW)
    assert metrics(report, "visitors", "pageviews", "visits", "bounce_rate", "avg_duration") == (
        3,
        5,
        3,
        33.3,
        60,
    )
    assert report.visitors_change == 50.0  # 3 vs 2
    assert report.pageviews_change == 150.0  # 5 vs 2
    assert report.visits_change == 50.0
    assert report.views_per_visit_change == 67.0  # 1.67 vs 1.0
    assert report.bounce_rate_change == -66.7  # percentage points: 33.3 - 100.0
    assert report.avg_duration_change is None  # previous was 0
    assert (str(report.comparison.date_from), str(report.comparison.date_to)) == ("2026-11-07", "2026-11-13")


async def test_changes_are_null_without_a_previous_period(svc: Services, tenant: Tenant) -> None:
    ingest(svc, COMPARISON[2:])
    report = await ask(svc, tenant, engine.overview, now=NOW)
    changes = ("visitors_change", "pageviews_change", "bounce_rate_change", "avg_duration_change")
    assert metrics(report, *changes) == (None, None, None, None)


async def test_empty_period_is_all_zeros(svc: Services, tenant: Tenant) -> None:
    ingest(svc, COMPARISON[:2])  # data only before the range
    overview = await ask(svc, tenant, engine.overview, now=NOW)
    names = ("visitors", "visits", "pageviews", "bounce_rate", "avg_duration", "views_per_visit")
    assert metrics(overview, *names) == (0, 0, 0, 0.0, 0, 0.0)
    assert overview.visitors_change == -100.0 and overview.bounce_rate_change is None
    series = await ask(svc, tenant, engine.timeseries, now=NOW, date_from="2026-09-01", date_to="2026-09-30")
    assert len(series.rows) == 30 and {(r.visitors, r.pageviews) for r in series.rows} == {(0, 0)}
    hours = await ask(svc, tenant, engine.hour_of_day, now=NOW)
    assert [r.hour for r in hours.rows] == list(range(24)) and not any(r.visitors for r in hours.rows)
    for fn in (engine.top_pages, engine.referrers, engine.browsers, engine.campaigns, engine.entry_pages):
        report = await ask(svc, tenant, fn, now=NOW)
        assert (report.rows, report.truncated) == ([], False)


async def test_24h_has_24_hourly_buckets_ending_with_the_current_hour(svc: Services, tenant: Tenant) -> None:
    ingest(
        svc,
        [
            hit("2026-11-19T12:59:59Z", who=1),  # previous 24 hours
            hit("2026-11-19T13:00:00Z", who=2),  # first bucket
            hit("2026-11-20T12:10:00Z", who=3),  # current, partial hour
            hit("2026-11-20T12:20:00Z", "/b", who=3),
        ],
    )
    now = "2026-11-20T12:34:00Z"
    series = await ask(svc, tenant, engine.timeseries, now=now, period="24h")
    assert len(series.rows) == 24 and series.range.interval == "hour"
    assert (series.rows[0].date, series.rows[0].visitors) == ("2026-11-19T13:00:00+00:00", 1)
    assert (series.rows[-1].date, series.rows[-1].visitors, series.rows[-1].pageviews) == (
        "2026-11-20T12:00:00+00:00",
        1,
        2,
    )
    assert sum(r.pageviews for r in series.rows) == 3
    overview = await ask(svc, tenant, engine.overview, now=now, period="24h")
    assert metrics(overview, "visitors", "pageviews", "visitors_change") == (2, 3, 100.0)


async def test_hour_of_day_sums_every_day_of_the_range(svc: Services, tenant: Tenant) -> None:
    ingest(
        svc,
        [
            hit("2026-11-16T09:15:00Z", who=1),
            hit("2026-11-17T09:45:00Z", who=2),
            hit("2026-11-17T09:50:00Z", "/x", who=2),
            hit("2026-11-18T23:30:00Z", who=3),
        ],
    )
    hours = await ask(svc, tenant, engine.hour_of_day, now=NOW)
    assert [(r.hour, r.visitors, r.pageviews) for r in hours.rows if r.visitors] == [(9, 2, 3), (23, 1, 1)]
