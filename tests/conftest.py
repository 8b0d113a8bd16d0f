"""Shared fixtures: a fresh settings/database per test, the real app with its lifespan held in one
task (pytest-asyncio runs fixture setup and teardown in different tasks), an in-process ASGI client,
and a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path

import httpx2
import pytest
from _pytest.nodeid import NodeId
from argon2 import PasswordHasher
from starlette.applications import Starlette

import analytics_mcp.engine.query as engine_query
from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.services import Services
from analytics_mcp.storage import passwords
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.migrate import upgrade
from memory_dir import memory_directory
from pg_server import TEMPLATE, PostgresServer, postgres_server
from pg_server import available as pg_available
from role_guard import role_guard
from servers import free_port as free_port  # re-exported: a port for a child process
from servers import uvicorn_on_loopback

BACKENDS = ("sqlite", "postgresql")
SPLIT = "split"  # accounts in SQLite, events in PostgreSQL (opt-in: @backends(*BACKENDS, SPLIT))
# On a test of a module that runs on every backend: the request is refused by an input rule the app
# checks in Python before any statement, so the backend cannot change the answer; one backend.
INPUT_RULES = pytest.mark.backends("sqlite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): run the test once per database backend (sqlite, postgresql, split)",
    )
    config.addinivalue_line("markers", "real_argon2: hash passwords with the product's argon2 cost")
    config.addinivalue_line("markers", "first_run: test_cli's SQLite database does not exist yet")


# The product's argon2id costs ~0.19 s of CPU a hash and as much a check: every test that creates a
# user and signs in paid ~0.4 s. Tests hash with the cheapest argon2id parameters unless marked
# `real_argon2` (the tests of the parameters, rehashing and sign-in races). The hash stays a real
# argon2id hash, checked the same way; servers in child processes keep the product's cost.
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@cache
def _cheap_dummy_hash() -> str:
    return CHEAP_ARGON2.hash("no such user")


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_argon2") is None:
        monkeypatch.setattr(passwords, "_hasher", CHEAP_ARGON2)
        monkeypatch.setattr(passwords, "dummy_hash", _cheap_dummy_hash)


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that shares a module-scoped fixture runs in its module's xdist group: under `make
    test`'s `--dist loadgroup` one worker runs the module and builds the fixture once (the default
    `load` mode deals a module's tests out to every worker, and each built its own copy)."""
    in_group_worker = bool(getattr(items[0].config.option, "loadgroup", False)) if items else False
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        scopes = {defs[-1].scope for defs in info.name2fixturedefs.values()} if info else set()
        if scopes & {"module", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
        if in_group_worker:
            in_its_group(item)


def in_its_group(item: pytest.Item) -> None:
    """Name the item `<nodeid>@<group>`, as xdist's worker means to: the controller groups by that
    suffix. xdist 3.8 writes it to `item._nodeid`, which pytest 9 no longer reads (the id is
    `item._id`), so no group ever formed and each worker built its own copy of a module's fixture
    (two or three builds of the ClickHouse and differential stores in a `make test`)."""
    groups = sorted(
        {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
    )
    if groups and "@" not in item.nodeid:
        item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `backends` that use a database run once per named backend."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "db_backend" in metafunc.fixturenames:
        names = marker.args or BACKENDS
        metafunc.parametrize("db_backend", names, indirect=True, ids=[f"on-{n}" for n in names])


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session, with a migrated template database; in memory when
    there is room (`memory_directory`: a test database's files cost ~10x more to create on disk)."""
    if not pg_available():
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    with postgres_server(root=memory_directory()) as server:
        server.admin(f'CREATE DATABASE "{TEMPLATE}"')
        db = open_database(server.url(TEMPLATE))
        upgrade(db.sync)
        db.sync.dispose()
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, migrated once per worker: each test's SQLite database starts as a
    copy of it (milliseconds; running the migrations costs ~0.12 s of CPU a test). Services.build
    still runs `upgrade`, which finds the file at head and does nothing."""
    path = tmp_path_factory.mktemp("sqlite-template") / "analytics.db"
    db = open_database(f"sqlite:///{path}")
    upgrade(db.sync)
    db.sync.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


def start_from(sqlite_template: Path, data_dir: Path) -> None:
    """The SQLite database Settings names by default (data_dir / analytics.db) as a copy of the
    migrated template."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template, data_dir / "analytics.db")


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@contextmanager
def postgres_database_if(
    wanted: bool, request: pytest.FixtureRequest, template: str = TEMPLATE
) -> Iterator[str | None]:
    """A fresh PostgreSQL database's URL when `wanted` (a copy of `template`, dropped afterwards),
    else None."""
    if not wanted:
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.fresh_database(template)
    yield url
    server.drop(url)


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The accounts database: None for the SQLite default (a file in the data directory), else a
    fresh PostgreSQL database."""
    with postgres_database_if(db_backend == "postgresql", request) as url:
        yield url


@pytest.fixture
def events_url(db_backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The events database when it is another one (the split backend: a fresh PostgreSQL)."""
    with postgres_database_if(db_backend == SPLIT, request) as url:
        yield url


def app_settings(data_dir: Path, db_url: str | None, events_url: str | None) -> Settings:
    """The settings of a test's app: its data directory and databases."""
    # In-thread writer: a child process per test app would cost a second each (tested on its own).
    return Settings(
        data_dir=data_dir,
        secret_key="test-secret",
        ingest_process=False,
        db_url=db_url,
        events_url=events_url,
        _env_file=None,
    )  # type: ignore[call-arg]


@pytest.fixture
def settings(
    tmp_path: Path, db_url: str | None, events_url: str | None, sqlite_template: Path
) -> Iterator[Settings]:
    if db_url is None:
        start_from(sqlite_template, tmp_path / "data")
    configured = app_settings(tmp_path / "data", db_url, events_url)
    if events_url is None:
        yield configured
        return
    with role_guard({configured.database_url: "accounts", events_url: "events"}) as wrong:
        yield configured
    assert not wrong, wrong


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Migrated database and services, not started (no writer task); for sync/CLI-level tests."""
    svc = Services.build(settings)
    yield svc
    dispose(svc)


def dispose(services: Services) -> None:
    """Close the pools of services that were never started (no writer task): a SQLite file's last
    connection checkpoints its WAL, and PostgreSQL drops or copies only a database nobody is on."""
    for db in services.sql_databases():  # both with split databases: each keeps its own pools
        db.sync.dispose()
        db.reader.dispose()
        asyncio.run(db.aio.dispose())


async def hold_lifespan(app: Starlette) -> tuple[asyncio.Event, asyncio.Task[None]]:
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    while not started.is_set():
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    return stop, task


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    stop, task = await hold_lifespan(application)
    yield application
    stop.set()
    await task


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@asynccontextmanager
async def behind_proxy(
    settings: Settings, proxy: str = "10.1.2.3"
) -> AsyncIterator[tuple[Starlette, httpx2.AsyncClient]]:
    """A fresh app that believes X-Forwarded-For from 10.0.0.0/8, and a client connecting to it
    from `proxy` (one of those addresses)."""
    trusted = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    trusted.__dict__.pop("trusted_networks", None)
    application = create_app(trusted)
    stop, task = await hold_lifespan(application)
    try:
        transport = httpx2.ASGITransport(app=application, client=(proxy, 1234))
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http
    finally:
        stop.set()
        await task


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[str, Starlette]]:
    """A real uvicorn serving a fresh app for these settings on 127.0.0.1: (base_url, app)."""
    application = create_app(settings)
    async with uvicorn_on_loopback(application) as base:
        yield base, application


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[tuple[str, Starlette]]:
    """A real uvicorn serving a fresh app on 127.0.0.1; yields (base_url, app)."""
    async with serving(settings) as served:
        yield served


def pin_reports(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Every report reads its relative period (24h, 7d, ...) as of `moment`: two requests of one
    test (the page's and the test's own) then agree even when an hour or midnight passes between."""
    monkeypatch.setattr(engine_query, "reporting_now", lambda: moment)
