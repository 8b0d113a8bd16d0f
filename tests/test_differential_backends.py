"""SQLite and PostgreSQL give identical answers (issue 13).

The same seeded traffic (tests/differential_traffic.py: two tenants east and west of UTC, both
seasons' daylight-saving changes, visits across local midnight, late and resent events, USD
purchases on EUR sites, goals, engagement, referrers and UTM tags) goes through the real ingestion
into a SQLite file and a fresh PostgreSQL database, each keeping its rollups as the writer does.
Then every engine report function, found in `engine.__all__` so a new one is compared too, runs for
tenant-wide and single-site scopes, relative and custom periods (a day, a month, the DST spans),
and filters (pages, sources, devices, countries, combinations). The dumps of both answers must be
equal. Unfiltered day-interval queries of one time zone read rollups; filters, 24h and mixed zones
read raw tables: each function's test checks from the SQL it sent that it read both.
"""

from __future__ import annotations

import inspect
import itertools
import re
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from analytics_mcp import engine
from analytics_mcp.config import Settings
from analytics_mcp.engine.numbers import money
from analytics_mcp.rollups.rebuild import rebuild_rollups, site_zones
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.db import distinct_databases
from breakdown_cases import breakdown_specs
from differential_traffic import NOW, add_accounts, features, generate, ingest, seed_salts, tenants
from pg_server import PostgresServer

Report = Callable[..., Awaitable[Any]]
SCOPES: tuple[tuple[str, str | None, int], ...] = (  # tenant, site (None: every site), limit
    ("east", None, 10),  # berlin.test and tokyo.test: two zones, so always the raw tables
    ("east", "berlin.test", 4),
    ("east", "tokyo.test", 10),
    ("west", None, 10),  # la.test and sf.test, one zone: rollups when unfiltered
    ("west", "la.test", 4),
)
PERIODS: tuple[dict[str, str], ...] = (
    {"period": "24h"},
    {"period": "7d"},
    {"period": "30d"},  # Oct 22 - Nov 20: Berlin and Los Angeles leave summer time
    {"period": "12m"},
    {"date_from": "2026-11-01", "date_to": "2026-11-01"},  # a 25-hour day in Los Angeles
    {"date_from": "2026-03-08", "date_to": "2026-03-08"},  # a 23-hour day in Los Angeles
    {"date_from": "2026-03-01", "date_to": "2026-03-31"},  # a month with both spring changes
    {"date_from": "2026-10-01", "date_to": "2026-10-31"},
    {"date_from": "2026-10-22", "date_to": "2026-11-04"},
    # Week and month buckets (the first and last cut short) across both seasons' DST changes,
    # and hour buckets over days.
    {"date_from": "2026-10-22", "date_to": "2026-11-20", "interval": "week"},
    {"date_from": "2026-02-20", "date_to": "2026-04-10", "interval": "month"},
    {"period": "12m", "interval": "month"},
    {"date_from": "2026-10-31", "date_to": "2026-11-02", "interval": "hour"},
)
FILTERS: tuple[str, ...] = (
    "page==/pricing",
    "page!=/",
    "page~BLOG",
    "page~über|café",
    "page~CAFÉ;page!=/Über",
    "source==google",
    "source!=direct",
    "device==mobile",
    "country!=US;device==desktop",
    "page~blog;source==direct|google",
    "utm_campaign==fall;entry_page!=/a",
    "browser==Firefox|Safari;language~DE",
    "referrer~ycombinator|example;exit_page!=/signup",
)
Case = tuple[str, str | None, int, dict[str, str], str | None]  # tenant, site, limit, period, filters
FILTERED_PERIODS = (PERIODS[0], PERIODS[2], PERIODS[6], PERIODS[8], PERIODS[4], PERIODS[9], PERIODS[10])
CASES: tuple[Case, ...] = (
    *((t, s, n, p, None) for t, s, n in SCOPES for p in PERIODS),  # every scope and period unfiltered
    *(  # each filter in three (scope, period) pairs, in turn over all of them
        (*SCOPES[(3 * i + k) % len(SCOPES)], FILTERED_PERIODS[(i + k) % len(FILTERED_PERIODS)], f)
        for i, f in enumerate(FILTERS)
        for k in range(3)
    ),
)


def reads_rollups(case: Case) -> bool:
    """docs/rollups.md: no filters, buckets of whole days (not hours), every site in the query's
    zone."""
    slug, site, _limit, period, filters = case
    hours = period.get("period") == "24h" or period.get("interval") == "hour"
    return filters is None and not hours and (slug, site) != ("east", None)


ROLLUP_TABLES = re.compile(r"\b(rollup_daily|rollup_visitors|funnel_visitors|funnel_depths)\b")
RAW_TABLES = re.compile(r"\b(events|visits|goal_completions|ecommerce_items)\b")


def engine_functions() -> dict[str, Report]:
    """Every coroutine function the engine exports, by name."""
    found = {name: getattr(engine, name) for name in engine.__all__}
    return {name: fn for name, fn in found.items() if inspect.iscoroutinefunction(fn)}


def reports() -> dict[str, Report]:
    """The report functions: those taking (db, query, ...); the rest load accounts (the tenant's
    sites, a Query)."""
    return {
        name: fn
        for name, fn in engine_functions().items()
        if list(inspect.signature(fn).parameters)[:2] == ["db", "query"]
    }


def goal_ids(services: Services, query: engine.Query, case_number: int) -> list[tuple[Any, ...]]:
    """Two of the query's goals, in turn over all of them from one case to the next."""
    with services.db.sync.connect() as conn:
        goals = accounts.list_goals(conn, query.site_ids)
    return [(goals[(2 * case_number + k) % len(goals)].id,) for k in range(2)]


def custom_event_names(services: Services, query: engine.Query, case_number: int) -> list[tuple[Any, ...]]:
    """The traffic's custom event with properties (`click`, rollup_traffic)."""
    return [("click",)]


# A report taking more than (db, query): the extra arguments to compare it with, per query.
EXTRA_ARGUMENTS: dict[str, Callable[[Services, engine.Query, int], list[tuple[Any, ...]]]] = {
    "goal_completions": goal_ids,
    "event_properties": custom_event_names,
    "breakdown": breakdown_specs,
}


@dataclass
class Backend:
    name: str
    services: Services
    tenants: dict[str, Tenant]
    tables: Counter[str]  # statements sent that read rollup / raw tables


@dataclass
class Pair:
    sqlite: Backend
    postgresql: Backend
    rebuilt: bool  # then only the cases that read rollups: the raw tables are as ingested


def _count_tables(services: Services, tables: Counter[str]) -> None:
    def seen(*args: Any) -> None:
        statement = str(args[2])
        tables["rollup"] += bool(ROLLUP_TABLES.search(statement))
        tables["raw"] += bool(RAW_TABLES.search(statement))

    event.listen(services.events_db.aio.sync_engine, "before_cursor_execute", seen)


def _build(data_dir: Path, url: str | None) -> Services:
    settings = Settings(data_dir=data_dir, secret_key="t", ingest_process=False, db_url=url, _env_file=None)
    return Services.build(settings)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[Pair]:
    """Both databases with the same traffic, their rollups written by ingestion."""
    batches = generate()
    url = postgres.fresh_database()
    built = {"sqlite": _build(tmp_path_factory.mktemp("differential") / "data", None)}
    try:
        built["postgresql"] = _build(tmp_path_factory.mktemp("differential-pg"), url)
        goal_rows = add_accounts(built["sqlite"])
        assert add_accounts(built["postgresql"], goal_rows) == goal_rows
        summaries = []
        for services in built.values():
            seed_salts(services)
            summaries.append(ingest(services, batches))
        lite, pg = summaries
        assert (lite.accepted, lite.duplicate, lite.dropped) == (pg.accepted, pg.duplicate, pg.dropped)
        assert lite.accepted + lite.duplicate + lite.dropped == batches.events + batches.resent
        assert lite.duplicate > 50 and lite.dropped < lite.accepted / 20, lite  # dropped: late engagement
        postgres.analyze(url)  # statistics now, not whenever autovacuum gets there: steady plans
        backends = {name: Backend(name, svc, tenants(svc), Counter()) for name, svc in built.items()}
        for backend in backends.values():
            _count_tables(backend.services, backend.tables)
        yield Pair(backends["sqlite"], backends["postgresql"], rebuilt=False)
    finally:
        for services in built.values():
            for db in distinct_databases(services.db, services.events_db):
                db.sync.dispose()
                db.reader.dispose()
        postgres.drop(url)


@pytest.fixture(scope="module", params=["ingested", "rebuilt"])
def pair(ingested: Pair, postgres: PostgresServer, request: pytest.FixtureRequest) -> Pair:
    """The databases of `ingested`, their rollups as ingestion wrote them, or then rebuilt from the
    raw rows (`analytics-mcp rollups rebuild`: SQL of its own per backend). The rebuild deletes
    every rollup row and computes them again, in place: the raw rows are the same seeded traffic
    either way, and ingesting it a second time for the rebuild cost a PostgreSQL ingestion. The
    tests only read, and pytest runs a module-scoped parameter's tests together in order, so the
    ingested ones have all run when the rebuild happens (a later one would fail here)."""
    if request.param == "ingested":
        assert not ingested.rebuilt, "the ingested rollups were rebuilt already: run the tests in order"
        return ingested
    if not ingested.rebuilt:
        for backend in (ingested.sqlite, ingested.postgresql):
            services = backend.services
            with services.db.sync.connect() as conn:
                zones = site_zones(conn, None)  # the accounts database's, as the command does
            with services.events_db.sync.begin() as conn:
                rebuild_rollups(conn, zones=zones)
        postgres.analyze(str(ingested.postgresql.services.settings.events_database_url))
        ingested.rebuilt = True
    return ingested


@pytest.fixture
async def backends(pair: Pair) -> AsyncIterator[Pair]:
    """The module's databases; their async pools are emptied after each test (one loop per test)."""
    yield pair
    for backend in (pair.sqlite, pair.postgresql):
        for db in distinct_databases(backend.services.db, backend.services.events_db):
            await db.aio.dispose()


def test_the_traffic_has_what_the_issue_asks() -> None:
    batches = generate()
    assert generate() == batches  # seeded: the same on every run
    seen = features(batches)
    assert batches.events >= 4000
    wanted = [
        "late by a day or more", "crossing local midnight", "on a DST change day", "resent",
        "USD purchases on EUR sites", "tenant east", "tenant west", "engagement", "signup",
        "purchase", "view_item", "UTM tagged", "referred",
    ]  # fmt: skip
    assert min(seen[name] for name in wanted) >= 10, {name: seen[name] for name in wanted}


def test_every_engine_function_is_compared() -> None:
    """A new engine function taking (db, query, ...) is compared below without a change here;
    one with more arguments needs its line in EXTRA_ARGUMENTS."""
    for name, fn in reports().items():
        params = list(inspect.signature(fn).parameters)
        assert len(params) == 2 or name in EXTRA_ARGUMENTS, f"{name}{params}: add it to EXTRA_ARGUMENTS"
    assert {"overview", "top_pages", "funnel", "goal_completions"} <= set(reports())
    assert len(reports()) >= 20  # 20 when this was written


# The Query of each case, per Services: the module-scoped worlds asking only read their accounts, so
# a case's Query stays what it was (Query is frozen). query_for_tenant costs ~2.3 ms of CPU on
# SQLite, and every report function asked every case again: 5,400 asks in test_ingest_clickhouse,
# now 208. Each world still asks each case once. Dropped with its Services (no id is reused).
_QUERIES: dict[int, dict[str, engine.Query]] = {}


async def _ask(backend: Backend, case: Case) -> engine.Query:
    services = backend.services
    asked = _QUERIES.get(id(services))
    if asked is None:
        asked = _QUERIES[id(services)] = {}
        weakref.finalize(services, _QUERIES.pop, id(services), None)
    key = repr(case)
    if key not in asked:
        asked[key] = await _query_for(backend, case)
    return asked[key]


async def _query_for(backend: Backend, case: Case) -> engine.Query:
    slug, site, limit, period, filters = case
    return await engine.query_for_tenant(
        backend.services.db,
        backend.tenants[slug],
        now=NOW,
        site=site,
        limit=limit,
        filters=filters,
        period=period.get("period"),
        date_from=period.get("date_from"),
        date_to=period.get("date_to"),
        interval=period.get("interval"),
    )


def _substance(dump: Any, key: str = "") -> bool:
    """Whether an answer holds a non-zero number or a row (its range aside)."""
    if key in ("range", "comparison"):
        return False
    if isinstance(dump, dict):
        return any(_substance(value, name) for name, value in dump.items())
    if isinstance(dump, list):
        return any(_substance(value, key) for value in dump)
    return isinstance(dump, int | float) and not isinstance(dump, bool) and dump != 0


# Reports of the last minutes: the rollups keep whole days, so every store reads the raw tables.
RAW_ONLY = {"current_visitors", "custom_events", "event_properties", "scroll_depth"}  # not rolled up


@pytest.mark.parametrize("name", sorted(reports()))
async def test_both_backends_answer_alike(backends: Pair, name: str) -> None:
    fn = reports()[name]
    lite, pg = backends.sqlite, backends.postgresql
    before = {b.name: Counter(b.tables) for b in (lite, pg)}
    compared = substantial = 0
    differences: list[str] = []
    for number, case in enumerate(CASES):
        if backends.rebuilt and not reads_rollups(case):
            continue
        query, pg_query = await _ask(lite, case), await _ask(pg, case)
        assert query == pg_query, case
        extras = EXTRA_ARGUMENTS[name](lite.services, query, number) if name in EXTRA_ARGUMENTS else [()]
        for extra in extras:
            sqlite_dump = (await fn(lite.services.events_db, query, *extra)).model_dump()
            pg_dump = (await fn(pg.services.events_db, pg_query, *extra)).model_dump()
            compared += 1
            substantial += _substance(sqlite_dump)
            if sqlite_dump != pg_dump:
                differences.append(f"{case} {extra}:\n  sqlite     {sqlite_dump}\n  postgresql {pg_dump}")
    assert not differences, f"{len(differences)} of {compared} differ; first:\n" + "\n".join(differences[:3])
    assert substantial * 3 >= compared, (substantial, compared)  # mostly answers with numbers in them
    for b in (lite, pg):
        read = b.tables - before[b.name]
        rollups_read = read["rollup"] > 0 or name in RAW_ONLY
        assert rollups_read and (read["raw"] > 0 or backends.rebuilt), (b.name, dict(read))


def test_money_does_not_depend_on_the_order_amounts_were_added_in() -> None:
    """127.465 summed in two orders is 127.46499999999999 or 127.465: both are 127.47."""
    amounts = (21.753, 19.098, 34.579, 8.538, 43.497)
    sums = {sum(order) for order in itertools.permutations(amounts)}
    assert len(sums) > 1 and {money(total) for total in sums} == {127.47}


async def test_contains_ignores_the_case_of_a_to_z_only(backends: Pair) -> None:
    """PostgreSQL's lower() in a UTF-8 locale also folds É to é, SQLite's does not: `page~café`
    found /blog/CAFÉ on one only. Now A-Z ignore case and other letters compare exactly, on both."""
    expected = {"page~cafÉ": ["/blog/CAFÉ"], "page~ÜBER": ["/Über"], "page~café": [], "page~über": []}
    for backend in (backends.sqlite, backends.postgresql):
        for filters, pages in expected.items():
            query = await _ask(
                backend,
                ("west", "la.test", 10, {"date_from": "2026-10-01", "date_to": "2026-11-20"}, filters),
            )
            report = await engine.top_pages(backend.services.events_db, query)
            assert [row.pathname for row in report.rows] == pages, (backend.name, filters)


def _by(rows: Any, *fields: str) -> dict[Any, tuple[Any, ...]]:
    """Rows (models or dicts) as {first field(s): the other fields}."""

    def get(row: Any, name: str) -> Any:
        return row[name] if isinstance(row, dict) else getattr(row, name)

    keys, values = fields[0].split("+"), fields[1:]
    return {tuple(get(r, k) for k in keys): tuple(get(r, v) for v in values) for r in rows}


# (single-dimension report, its fields, breakdown dimensions, breakdown metrics): the same numbers.
SAME_AS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("devices", ("device_type", "visitors"), "device", ("device", "visitors")),
    ("browsers", ("browser", "visitors"), "browser", ("browser", "visitors")),
    ("languages", ("language", "visitors"), "language", ("language", "visitors")),
    ("channels", ("channel", "visitors"), "channel", ("channel", "visitors")),
    (
        "referrers",
        ("referrer_source+referrer", "visitors"),
        "source,referrer",
        ("source+referrer", "visitors"),
    ),
    (
        "countries",
        ("country", "visitors", "visits", "pageviews"),
        "country",
        ("country", "visitors", "visits", "pageviews"),
    ),
    (
        "entry_pages",
        ("pathname", "visitors", "visits", "bounce_rate"),
        "entry_page",
        ("entry_page", "visitors", "visits", "bounce_rate"),
    ),
    ("exit_pages", ("pathname", "visitors", "visits"), "exit_page", ("exit_page", "visitors", "visits")),
    ("top_pages", ("pathname", "visitors", "pageviews"), "page", ("page", "visitors", "pageviews")),
    ("custom_events", ("name", "events", "visitors"), "event", ("event", "events", "visitors")),
)


@pytest.mark.parametrize("case", [c for c in CASES if c[1] is not None][::4], ids=str)
async def test_breakdown_equals_the_single_dimension_reports(backends: Pair, case: Case) -> None:
    """The general breakdown of one dimension gives every row of that dimension's own report,
    with the same numbers; conversions add up to the goal's completions, revenue by source is
    revenue by source, visits add up to the overview's."""
    for backend in (backends.sqlite, backends.postgresql):
        db = backend.services.events_db
        query = (await _ask(backend, case)).model_copy(update={"limit": 100})
        for report, fields, dimensions, metrics in SAME_AS:
            expected = _by((await getattr(engine, report)(db, query)).rows, *fields)
            spec = engine.parse_breakdown(query, dimensions=dimensions, metrics=",".join(metrics[1:]))
            found = _by((await engine.breakdown(db, query, spec)).rows, *metrics)
            assert found == expected, (backend.name, report, case)
        overview = await engine.overview(db, query)
        devices = await engine.breakdown(
            db, query, engine.parse_breakdown(query, dimensions="device", metrics="visits")
        )
        assert sum(int(row["visits"] or 0) for row in devices.rows) == overview.visits
        goals = await engine.goals_report(db, query)
        for goal in goals.goals:
            spec = engine.parse_breakdown(query, dimensions="os", metrics="conversions", goal=goal.id)
            rows = (await engine.breakdown(db, query, spec)).rows
            assert sum(int(row["conversions"] or 0) for row in rows) == goal.completions, goal.name
        by_source = _by((await engine.revenue_by_source(db, query)).rows, "source", "revenue")
        spec = engine.parse_breakdown(query, dimensions="source", metrics="revenue")
        revenue = _by((await engine.breakdown(db, query, spec)).rows, "source", "revenue")
        assert {k: v for k, v in revenue.items() if k in by_source} == by_source
        assert all(v == (0.0,) for k, v in revenue.items() if k not in by_source)
