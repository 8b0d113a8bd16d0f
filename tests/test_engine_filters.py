# ruff: noqa: F811  (the world_copy fixture imported from world_copies is redefined as a parameter)
"""Filters: is / is_not / contains on visit attributes, and the page filter's documented semantics
(visit metrics from visits with a matching pageview; pageview counts from matching pageviews)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from analytics_mcp import engine
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant
from engine_support import add_site, ask, hit, ingest, metrics, rows
from factories import FIREFOX_LINUX, SAFARI_IPHONE
from world_copies import WorldCopy, db_url, events_url, sqlite_template, world_copies, world_copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends()

NOW = "2026-11-20T12:00:00Z"
GOOGLE = "https://www.google.com/"
BING = "https://www.bing.com/"

VISITS = [
    # A: google, Chrome/Windows desktop, German; / then /pricing
    hit("2026-11-18T10:00:00Z", "/", who=1, referrer=GOOGLE, language="de-DE"),
    hit("2026-11-18T10:01:00Z", "/pricing", who=1),
    # B: direct, Safari/iOS mobile, English; /pricing only (a bounce)
    hit("2026-11-18T11:00:00Z", "/pricing", who=2, ua=SAFARI_IPHONE, language="en-US"),
    # C: a spring campaign, Firefox/Linux, French; /blog/post then /
    hit(
        "2026-11-18T12:00:00Z",
        "/blog/post?utm_source=newsletter&utm_medium=email&utm_campaign=Spring-Sale",
        who=3,
        ua=FIREFOX_LINUX,
        language="fr",
    ),
    hit("2026-11-18T12:01:00Z", "/", who=3, ua=FIREFOX_LINUX),
    # D: bing, Chrome, no language; /docs only
    hit("2026-11-18T13:00:00Z", "/docs", who=4, referrer=BING),
]


def tenant_in(services: Services) -> Tenant:
    tenant, _ = add_site(services)
    ingest(services, VISITS)
    return tenant


@pytest.fixture(scope="module")
def world_builder() -> Callable[[Services], Tenant]:
    """Built once per backend (world_copies): the tests only read it."""
    return tenant_in


@pytest.fixture
async def tenant(services: Services, world_copy: WorldCopy) -> AsyncIterator[Tenant]:
    yield world_copy.made
    await services.db.aio.dispose()


async def overview(services: Services, tenant: Tenant, filters: Any) -> tuple[Any, ...]:
    report = await ask(services, tenant, engine.overview, now=NOW, filters=filters)
    return metrics(report, "visitors", "pageviews", "visits", "bounce_rate")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # visitors, pageviews, visits, bounce_rate
        (None, (4, 6, 4, 50.0)),
        ("source==google", (1, 2, 1, 0.0)),
        ("source==Google", (1, 2, 1, 0.0)),  # normalised like the stored value
        ("source!=google", (3, 4, 3, 66.7)),
        ("source==google|bing", (2, 3, 2, 50.0)),
        ("utm_campaign~spring", (1, 2, 1, 0.0)),  # contains is case-insensitive
        ("utm_campaign==spring-sale", (0, 0, 0, 0.0)),  # is is exact
        ("utm_medium==email;utm_source==newsletter", (1, 2, 1, 0.0)),
        ("device==mobile", (1, 1, 1, 100.0)),
        ("device!=mobile", (3, 5, 3, 33.3)),
        ("browser==Chrome", (2, 3, 2, 50.0)),
        ("browser~fire", (1, 2, 1, 0.0)),
        ("os==iOS", (1, 1, 1, 100.0)),
        ("language==de", (1, 2, 1, 0.0)),
        ("language!=de", (3, 4, 3, 66.7)),  # unknown language is kept by is_not
        ("channel==organic search", (2, 3, 2, 50.0)),
        ("referrer~google", (1, 2, 1, 0.0)),
        ("entry_page==/blog/post", (1, 2, 1, 0.0)),
        ("exit_page==/pricing", (2, 3, 2, 50.0)),
        # page: visitors and pageviews from matching pageviews, visits that contain one
        ("page==/pricing", (2, 2, 2, 50.0)),
        ("page!=/pricing", (3, 4, 3, 33.3)),
        ("page~/BLOG", (1, 1, 1, 0.0)),
        ("page==/pricing;browser==Chrome", (1, 1, 1, 0.0)),
        ("page==/nowhere", (0, 0, 0, 0.0)),
        ('[{"dimension": "page", "operator": "is", "values": ["/", "/docs"]}]', (3, 3, 3, 33.3)),
    ],
)
async def test_filters_on_overview(
    services: Services, tenant: Tenant, filters: Any, expected: tuple[Any, ...]
) -> None:
    assert await overview(services, tenant, filters) == expected


async def test_page_filter_on_breakdowns(services: Services, tenant: Tenant) -> None:
    pages = await ask(services, tenant, engine.top_pages, now=NOW, filters="page==/pricing")
    assert rows(pages, "pathname", "visitors", "pageviews") == [("/pricing", 2, 2)]
    sources = await ask(services, tenant, engine.referrers, now=NOW, filters="page==/pricing")
    assert rows(sources, "referrer_source", "referrer", "visitors") == [
        ("direct", None, 1),
        ("google", "www.google.com", 1),
    ]
    entries = await ask(services, tenant, engine.entry_pages, now=NOW, filters="page==/pricing")
    assert rows(entries, "pathname", "visits", "bounce_rate") == [("/", 1, 0.0), ("/pricing", 1, 100.0)]


async def test_visit_filters_on_breakdowns_and_series(services: Services, tenant: Tenant) -> None:
    pages = await ask(services, tenant, engine.top_pages, now=NOW, filters="browser==Chrome")
    assert rows(pages, "pathname", "pageviews") == [("/", 1), ("/docs", 1), ("/pricing", 1)]
    devices = await ask(services, tenant, engine.devices, now=NOW, filters="source!=google")
    assert rows(devices, "device_type", "visitors") == [("desktop", 2), ("mobile", 1)]
    series = await ask(services, tenant, engine.timeseries, now=NOW, filters="device==desktop")
    assert [(r.date, r.visitors, r.pageviews) for r in series.rows if r.visitors] == [("2026-11-18", 3, 5)]
    hours = await ask(services, tenant, engine.hour_of_day, now=NOW, filters="page==/pricing")
    assert [(r.hour, r.pageviews) for r in hours.rows if r.pageviews] == [(10, 1), (11, 1)]
    campaigns = await ask(services, tenant, engine.campaigns, now=NOW, filters="utm_campaign~sale")
    assert rows(campaigns, "utm_source", "utm_medium", "utm_campaign", "visitors", "pageviews") == [
        ("newsletter", "email", "Spring-Sale", 1, 2)
    ]


async def test_unfiltered_breakdowns(services: Services, tenant: Tenant) -> None:
    expected: dict[Any, list[tuple[Any, ...]]] = {
        engine.referrers: [
            ("direct", None, 1),
            ("google", "www.google.com", 1),
            ("bing", "www.bing.com", 1),
            ("newsletter", None, 1),
        ],
        engine.channels: [("organic search", 2), ("direct", 1), ("email", 1)],
        engine.browsers: [("Chrome", 2), ("Firefox", 1), ("Safari", 1)],
        engine.operating_systems: [("Windows", 2), ("iOS", 1), ("Linux", 1)],
        engine.languages: [("de", 1), ("en", 1), ("fr", 1), (None, 1)],
    }
    fields = {
        engine.referrers: ("referrer_source", "referrer", "visitors"),
        engine.channels: ("channel", "visitors"),
        engine.browsers: ("browser", "visitors"),
        engine.operating_systems: ("os", "visitors"),
        engine.languages: ("language", "visitors"),
    }
    for fn, want in expected.items():
        report = await ask(services, tenant, fn, now=NOW)
        got = rows(report, *fields[fn])
        assert sorted(got, key=repr) == sorted(want, key=repr), fn.__name__
    top = await ask(services, tenant, engine.browsers, now=NOW)
    assert rows(top, "browser")[0] == ("Chrome",)  # ranked by visitors
