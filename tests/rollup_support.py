"""The stores of the rollup property tests (test_rollups_read, test_filtered_rollups).

The random traffic of `rollup_traffic` goes through the real ingestion once per module, backend
and late-events flag; each test then starts from a copy of that store (a file copy on SQLite,
CREATE DATABASE ... TEMPLATE on PostgreSQL) and fills its rollups its own way (as written by
ingestion, rebuilt from raw, or by the tests' reference). The copies of one store hold the same
raw rows, so the raw tables' answer to a question is computed once per store and compared with
every fill's rollups. Import the fixtures into a test module (pytest finds them by name); the
module-scoped `stores` keeps the module's tests on one xdist worker (conftest's grouping).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from analytics_mcp.config import Settings
from analytics_mcp.engine.store import raw_tables
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.schema import goals
from conftest import start_from
from engine_support import add_site, utc
from pg_server import PostgresServer
from rollup_traffic import Traffic

FIRST, LAST = datetime(2026, 9, 10, tzinfo=UTC), utc("2026-11-20T17:00:00Z")
FILLS = [("writer", False), ("writer", True), ("reference", False), ("rebuild", False)]
FILL_IDS = ["writer", "writer-late-events", "reference-fill", "rebuild"]


def populate(services: Services, late: bool) -> None:
    """Two tenants (west: two sites in Los Angeles' zone; east: Kolkata and a site in UTC), their
    goals, and the seeded traffic ingested in batches (with `late`, a tenth arrives last)."""
    add_site(services, "w1.test", slug="west", tenant_timezone="America/Los_Angeles")
    add_site(services, "w2.test", slug="west", currency="USD")
    add_site(services, "e1.test", slug="east", tenant_timezone="Asia/Kolkata")
    add_site(services, "e2.test", slug="east", timezone="UTC")
    with services.db.sync.begin() as conn:
        accounts.add_goal(conn, "w1.test", "Pricing", path="/pricing")
        accounts.add_goal(conn, "w1.test", "Signup", event="signup")
        accounts.add_goal(conn, "w2.test", "Blog", path="/blog/", match_type="prefix")
        accounts.add_goal(conn, "e1.test", "Buy", event="purchase")
        accounts.add_goal(conn, "e2.test", "Home", path="/")
    traffic = Traffic(seed=7 + late, first=FIRST, last=LAST)
    traffic.site("w1.test", ZoneInfo("America/Los_Angeles"), visits=160, visitors=14)
    traffic.site("w2.test", ZoneInfo("America/Los_Angeles"), visits=60, visitors=6)
    traffic.site("e1.test", ZoneInfo("Asia/Kolkata"), visits=120, visitors=10)
    traffic.site("e2.test", ZoneInfo("UTC"), visits=60, visitors=6)
    for chunk in traffic.in_chunks(late=late):
        summary = ingest_events(services.ingestor, chunk)
        assert (summary.rejected, summary.errors) == (0, []), summary


def tenants_of(services: Services) -> dict[str, Tenant]:
    with services.db.sync.connect() as conn:
        found = {slug: accounts.get_tenant(conn, slug) for slug in ("west", "east")}
    return {slug: tenant for slug, tenant in found.items() if tenant is not None}


def _populated(settings: Settings, late: bool) -> None:
    services = Services.build(settings)
    try:
        populate(services, late)
    finally:
        for db in services.sql_databases():  # no connection left: the store is copied next
            db.sync.dispose()
            db.reader.dispose()
            asyncio.run(db.aio.dispose())


class Stores:
    """The module's ingested stores, by (backend, late), and the raw tables' answers per traffic."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[bool, Path] = {}
        self.databases: dict[bool, str] = {}
        self.raw: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.server: PostgresServer | None = None  # of the PostgreSQL stores

    def sqlite(self, migrated: Path, late: bool) -> Path:
        if late not in self.files:
            data_dir = self.root / f"sqlite-late-{late}"
            start_from(migrated, data_dir)
            settings = Settings(data_dir=data_dir, secret_key="t", ingest_process=False, _env_file=None)  # type: ignore[call-arg]
            _populated(settings, late)
            self.files[late] = data_dir / "analytics.db"
        return self.files[late]

    def postgresql(self, server: PostgresServer, late: bool) -> str:
        """The name of a database to use as a template."""
        if late not in self.databases:
            self.server, url = server, server.fresh_database()
            settings = Settings(
                data_dir=self.root / f"pg-late-{late}",
                secret_key="t",
                ingest_process=False,
                db_url=url,
                _env_file=None,
            )  # type: ignore[call-arg]
            _populated(settings, late)
            server.analyze(url)  # the clones get its statistics (answers do not depend on plans)
            self.databases[late] = url.rsplit("/", 1)[1]
        return self.databases[late]

    async def raw_dump(
        self, key: tuple[Any, ...], answer: Callable[[], Awaitable[BaseModel]], neutral: Neutral | None = None
    ) -> dict[str, Any]:
        """The raw tables' answer (`answer()` under raw_tables) for `key`, which names the traffic
        (late or not) and the question; computed on the first copy that asks, whatever its backend:
        the traffic is seeded, and SQLite's and PostgreSQL's raw tables answer alike
        (test_differential_backends). `neutral` takes out what differs between copies (goal ids)."""
        if key not in self.raw:
            with raw_tables():
                dump = (await answer()).model_dump()
            self.raw[key] = neutral(dump) if neutral else dump
        return self.raw[key]


Neutral = Callable[[dict[str, Any]], dict[str, Any]]


def goal_names(services: Services) -> Neutral:
    """A dump with each of the store's goal ids replaced by its goal's name: the ids are ULIDs, other
    in each copy of the same traffic."""
    with services.db.sync.connect() as conn:
        names = {row.id: f"goal {row.name}" for row in conn.execute(select(goals.c.id, goals.c.name))}

    def neutral(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: neutral(item) for key, item in value.items()}
        if isinstance(value, list):
            return [neutral(item) for item in value]
        return names.get(value, value) if isinstance(value, str) else value

    return neutral


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    built = Stores(tmp_path_factory.mktemp("rollup-stores"))
    yield built
    for name in built.databases.values():
        assert built.server is not None
        built.server.drop(built.server.url(name))


@pytest.fixture(params=FILLS, ids=FILL_IDS)
def fill(request: pytest.FixtureRequest, db_backend: str) -> tuple[str, bool]:
    """How the test's rollups are filled, and whether a tenth of the events came late."""
    if db_backend == "postgresql" and request.param[0] == "reference":
        pytest.skip("the reference fill is backend-neutral Python: checked on SQLite")
    return tuple(request.param)  # type: ignore[return-value]


def _fill_of(request: pytest.FixtureRequest) -> tuple[str, bool] | None:
    """The test's fill when it uses one (the module's other tests keep a fresh, empty database)."""
    return request.getfixturevalue("fill") if "fill" in request.fixturenames else None  # type: ignore[no-any-return]


@pytest.fixture
def sqlite_template(
    sqlite_template: Path, stores: Stores, db_backend: str, request: pytest.FixtureRequest
) -> Path:
    """On SQLite the test's database starts as a copy of the ingested store (conftest copies it)."""
    fill = _fill_of(request)
    return stores.sqlite(sqlite_template, fill[1]) if fill and db_backend == "sqlite" else sqlite_template


@pytest.fixture
def db_url(db_backend: str, stores: Stores, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """On PostgreSQL a fresh database: cloned from the ingested store for a test with a fill."""
    if db_backend != "postgresql":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    fill = _fill_of(request)
    url = server.fresh_database(stores.postgresql(server, fill[1])) if fill else server.fresh_database()
    yield url
    server.drop(url)
