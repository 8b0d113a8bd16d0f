"""The engine's rollup path against its raw path. On random traffic ingested through the real
pipeline, every report that reads rollups equals the raw tables' answer (numbers, row order, ties,
truncation, warnings) for 7d / 30d / custom ranges and their comparisons, whether the rollups were
written by ingestion, rebuilt from raw, or filled by the tests' own reference. Hand-made rows then
pin the distinct-visitor gap formula, the ordering rules, zero rows and `rollups_answer`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Connection, func, insert, select

from analytics_mcp import engine
from analytics_mcp.engine.runner import fetch
from analytics_mcp.engine.store import raw_tables, rollups_answer
from analytics_mcp.engine.store.rollup_sql import visitors_per_day_sql, visitors_sql
from analytics_mcp.rollups.keys import Dim, day_number, encode
from analytics_mcp.rollups.rebuild import rebuild_rollups
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Site, Tenant
from analytics_mcp.storage.schema import rollup_daily, rollup_visitors
from engine_support import utc
from rollup_reference import COUNTERS, fill_from_raw
from rollup_support import Stores, db_url, fill, goal_names, sqlite_template, stores, tenants_of  # noqa: F401  (fixtures)

pytestmark = pytest.mark.backends()

NOW = "2026-11-20T18:00:00Z"
SCOPES = (  # tenant, site, whether the rollups answer
    ("west", None, True),  # two sites in the tenant's zone
    ("west", "w1.test", True),
    ("west", "w2.test", True),
    ("east", "e1.test", True),
    ("east", "e2.test", True),  # the site's own zone (UTC)
    ("east", None, False),  # e2's zone is not the tenant's: raw tables
)
RANGES: tuple[dict[str, str], ...] = (
    {"period": "7d"},
    {"period": "30d"},
    {"date_from": "2026-10-28", "date_to": "2026-11-03"},  # Los Angeles leaves DST on Nov 1
    {"date_from": "2026-11-01", "date_to": "2026-11-01"},
    {"date_from": "2026-09-10", "date_to": "2026-11-20"},
    {"date_from": "2026-09-10", "date_to": "2026-11-20", "interval": "week"},  # cut first and last
    {"date_from": "2026-09-10", "date_to": "2026-11-20", "interval": "month"},
)
Report = Callable[[Any, engine.Query], Awaitable[BaseModel]]
LISTS: tuple[Report, ...] = (
    engine.top_pages, engine.referrers, engine.channels, engine.browsers, engine.operating_systems,
    engine.devices, engine.languages, engine.countries, engine.campaigns, engine.entry_pages,
    engine.exit_pages,
    engine.products, engine.revenue_by_source,
)  # fmt: skip
REPORTS: tuple[Report, ...] = (
    engine.overview, engine.timeseries, engine.hour_of_day, engine.goals_report, engine.ecommerce_overview,
    engine.revenue_timeseries, engine.funnel, *LISTS,
)  # fmt: skip
ZERO_VALUES = {  # rows whose counters are all 0: readers must skip them
    Dim.SOURCE: encode("zero", None), Dim.CHANNEL: encode("zero"), Dim.CAMPAIGN: encode("zero", None, None),
    Dim.ENTRY: encode("/zero"), Dim.EXIT: encode("/zero"), Dim.PAGE: encode("/zero"),
    Dim.GOAL: encode("no-goal"), Dim.PURCHASE: encode("XXX"), Dim.SOURCE_REVENUE: encode("zero", "EUR"),
    Dim.ITEM: encode("Zero", "EUR"), Dim.ITEM_EVENTS: encode("XXX"), Dim.HOUR: encode(3),
}  # fmt: skip


def _zero_rows(conn: Connection) -> None:
    day = day_number(date(2026, 11, 18))
    site_ids = [site_id for (site_id,) in conn.execute(select(func.distinct(rollup_daily.c.site_id)))]
    zeros = dict.fromkeys(COUNTERS, 0)
    for site_id in site_ids:
        for dim, value in ZERO_VALUES.items():
            key = {"site_id": site_id, "dim": int(dim), "day": day, "value": value}
            conn.execute(insert(rollup_daily).values(**key, **zeros))
            conn.execute(insert(rollup_visitors).values(**key, gap=0, n=0))


def _rollup_rows(services: Services) -> int:
    with services.db.sync.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rollup_daily)).scalar_one())


@pytest.fixture
async def tenants(services: Services, fill: tuple[str, bool]) -> AsyncIterator[dict[str, Tenant]]:  # noqa: F811
    """The test's copy of the ingested store, its rollups as ingestion wrote them, or rebuilt, or
    filled by the reference; then rows of zeros."""
    assert _rollup_rows(services) > 0  # written by ingestion
    with services.db.sync.begin() as conn:
        if fill[0] == "reference":
            fill_from_raw(conn)
        elif fill[0] == "rebuild":
            rebuild_rollups(conn)
        _zero_rows(conn)
    yield tenants_of(services)
    await services.db.aio.dispose()


async def test_rollups_answer_as_the_raw_tables(
    services: Services,
    tenants: dict[str, Tenant],
    stores: Stores,  # noqa: F811
    fill: tuple[str, bool],  # noqa: F811
) -> None:
    """Each fill of one store's copies against the raw tables' answers, computed once per traffic
    (with late events or not) by the first copy that asks: the copies' raw rows are the same, and
    the raw tables of SQLite and PostgreSQL answer alike (test_differential_backends), so the
    PostgreSQL rollups are held to SQLite's raw answers or the reverse, whichever ran first."""
    store, neutral, dialect = (fill[1],), goal_names(services), services.db.sync.dialect.name
    db, seen = services.db, {"rows": 0, "truncated": 0, "warnings": 0, "completions": 0, "deep funnels": 0}
    for slug, site, by_rollups in SCOPES:
        for arguments in RANGES:
            for limit in (10, 2):
                query = await engine.query_for_tenant(
                    db, tenants[slug], now=utc(NOW), site=site, limit=limit, **arguments
                )
                assert rollups_answer(query) is by_rollups
                if not by_rollups:
                    continue
                for report in REPORTS if limit == 10 else LISTS:
                    rolled = neutral((await report(db, query)).model_dump())
                    key = (*store, report.__name__, slug, site, *arguments.items(), limit)
                    raw = await stores.raw_dump(key, lambda: report(db, query), neutral)  # noqa: B023
                    assert rolled == raw, (report.__name__, slug, site, arguments, limit)
                    seen["rows"] += bool(raw.get("rows") or raw.get("goals"))
                    seen["truncated"] += bool(raw.get("truncated"))
                    seen["warnings"] += bool(raw.get("warnings"))
                    seen["deep funnels"] += report is engine.funnel and raw["rows"][3]["visitors"] > 0
                with services.db.sync.connect() as conn:
                    goals = accounts.list_goals(conn, query.site_ids)
                for goal in goals:  # the total comes from the rollups, the newest rows from raw
                    # Per backend: a completion's row carries its visitor hash, the copy's own salts.
                    rolled = (await engine.goal_completions(db, query, goal.id)).model_dump()
                    key = (
                        dialect,
                        *store,
                        "goal_completions",
                        goal.id,
                        slug,
                        site,
                        *arguments.items(),
                        limit,
                    )
                    raw = await stores.raw_dump(key, lambda: engine.goal_completions(db, query, goal.id))  # noqa: B023
                    assert rolled == raw, ("goal_completions", slug, site, arguments, limit)
                    seen["completions"] += raw["total"] > 0
    assert min(seen.values()) > 10, seen  # the traffic made lists, cut lists and currency warnings


# -- hand-made rows ---------------------------------------------------------------------------

SITE = Site(id=1, tenant_id=1, domain="one.test", timezone="UTC", currency="EUR")
OTHER = Site(id=2, tenant_id=1, domain="two.test", timezone="UTC", currency="EUR")
DAY0 = date(2026, 11, 1)


def ask(first: int, last: int, *, sites: tuple[Site, ...] = (SITE,), **more: Any) -> engine.Query:
    """A query over DAY0 + first .. DAY0 + last."""
    return engine.parse_query(
        sites,
        "UTC",
        date_from=DAY0 + timedelta(first),
        date_to=DAY0 + timedelta(last),
        now=utc(NOW),
        **more,
    )


def put(services: Services, table: Any, *rows: dict[str, Any]) -> None:
    with services.db.sync.begin() as conn:
        conn.execute(insert(table), [{"site_id": 1, **row} for row in rows])


def marks(dim: Dim, value: str, *rows: tuple[int, int, int]) -> list[dict[str, Any]]:
    """rollup_visitors rows from (day offset, gap, n)."""
    base = day_number(DAY0)
    return [{"dim": int(dim), "day": base + d, "value": value, "gap": g, "n": n} for d, g, n in rows]


async def test_gap_formula_counts_each_visitor_on_its_first_mark_in_range(services: Services) -> None:
    page = encode("/x")
    # A is present on days 10, 12, 15; B on 11 and 15; C on 9 and 14 (marks of one key, by day)
    put(services, rollup_visitors, *marks(Dim.PAGE, page, (9, 0, 1), (10, 0, 1), (11, 0, 1), (12, 2, 1)))
    put(services, rollup_visitors, *marks(Dim.PAGE, page, (14, 5, 1), (15, 3, 1), (15, 4, 1)))
    put(services, rollup_visitors, *marks(Dim.ALL, "[]", (12, 0, 7)))  # another dimension
    put(services, rollup_visitors, *({**m, "site_id": 2} for m in marks(Dim.PAGE, page, (12, 0, 5))))
    expected = {(10, 15): 3, (12, 15): 3, (13, 15): 3, (13, 14): 1, (15, 15): 2, (10, 11): 2, (9, 9): 1}
    expected |= {(16, 20): 0, (12, 12): 1}
    for (first, last), visitors in expected.items():
        query = ask(first, last)
        (rows,) = await fetch(services.db, visitors_sql(query, query.range, Dim.PAGE))
        assert dict(rows).get(page, 0) == visitors, (first, last)
    query = ask(9, 15)
    (per_day,) = await fetch(services.db, visitors_per_day_sql(query, query.range, Dim.PAGE))
    assert sorted((day - day_number(DAY0), n) for day, n in per_day) == [
        (9, 1), (10, 1), (11, 1), (12, 1), (14, 1), (15, 2)
    ]  # fmt: skip
    both = ask(12, 12, sites=(SITE, OTHER))
    (rows,) = await fetch(services.db, visitors_sql(both, both.range, Dim.PAGE))
    assert dict(rows) == {page: 6}
    await services.db.aio.dispose()


def daily(dim: Dim, value: str, offset: int, **counters: float) -> dict[str, Any]:
    return {
        "dim": int(dim),
        "day": day_number(DAY0) + offset,
        "value": value,
        **dict.fromkeys(COUNTERS, 0),
        **counters,
    }


async def test_breakdown_order_ties_nulls_and_zero_rows(services: Services) -> None:
    sources = {
        encode("google", "www.google.com"): 4,
        encode("direct", None): 3,
        encode("bing", "www.bing.com"): 3,
        encode("bing", None): 3,
        encode("aaa", None): 0,  # emptied row: no visits left
    }
    put(services, rollup_daily, *(daily(Dim.SOURCE, v, 2, visits=n) for v, n in sources.items()))
    put(services, rollup_visitors, *(m for v in sources for m in marks(Dim.SOURCE, v, (2, 0, 2))))
    report = await engine.referrers(services.db, ask(0, 6))
    assert [(r.referrer_source, r.referrer, r.visitors) for r in report.rows] == [
        ("google", "www.google.com", 2),  # most visits among equal visitors
        ("bing", None, 2),  # then keys ascending, NULL first
        ("bing", "www.bing.com", 2),
        ("direct", None, 2),
    ]
    assert not report.truncated
    cut = await engine.referrers(services.db, ask(0, 6, limit=2))
    assert ([r.referrer for r in cut.rows], cut.truncated) == (["www.google.com", None], True)
    await services.db.aio.dispose()


async def test_pages_time_on_page_and_binary_order(services: Services) -> None:
    pages = {
        "/b": dict(pageviews=2, top_sum_ms=10_500, top_count=2),  # 5.25 s -> 5
        "/a": dict(pageviews=2, top_sum_ms=0, top_count=0),  # no timed pageview: null
        "/B": dict(pageviews=2, top_sum_ms=3_000, top_count=2),  # uppercase sorts first
        "/z": dict(pageviews=0),
    }
    put(services, rollup_daily, *(daily(Dim.PAGE, encode(p), 1, **c) for p, c in pages.items()))
    put(services, rollup_visitors, *(m for p in pages for m in marks(Dim.PAGE, encode(p), (1, 0, 1))))
    report = await engine.top_pages(services.db, ask(0, 6))
    assert [(r.pathname, r.visitors, r.pageviews, r.avg_duration) for r in report.rows] == [
        ("/B", 1, 2, 2),
        ("/a", 1, 2, None),
        ("/b", 1, 2, 5),
    ]
    await services.db.aio.dispose()


def test_rollups_answer_only_unfiltered_daily_queries_in_the_sites_zone() -> None:
    assert rollups_answer(ask(0, 6))
    assert not rollups_answer(ask(0, 6, filters="source==google"))
    assert not rollups_answer(engine.parse_query([SITE], "UTC", period="24h", now=utc(NOW)))
    assert not rollups_answer(engine.parse_query([SITE], "Europe/Paris", period="7d", now=utc(NOW)))
    away = Site(id=3, tenant_id=1, domain="three.test", timezone="Asia/Tokyo", currency="EUR")
    assert not rollups_answer(ask(0, 6, sites=(SITE, away)))
    assert not rollups_answer(ask(0, 6, sites=()))
    with raw_tables():
        assert not rollups_answer(ask(0, 6))
    assert rollups_answer(ask(0, 6))
