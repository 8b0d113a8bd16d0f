"""A module's world (sites, goals, tokens, ingested traffic) built once per backend, each test's
databases copies of it: a SQLite file copied as conftest copies its empty template, a PostgreSQL
database made with it as TEMPLATE. For modules whose tests only read their world (a test that adds
rows adds them to its own copy); building it per test cost ~30 % of such a module's CPU.

A module imports the fixtures below (`sqlite_template`, `db_url` and `events_url` replace
conftest's) and defines a module-scoped `world_builder`: a function of the world's Services that
builds it and returns what the tests need of it (tokens, ids), found in `world_copy.made`, or
through the `world` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from analytics_mcp.services import Services
from analytics_mcp.storage.roles import Role
from conftest import SPLIT, app_settings, dispose, postgres_database_if
from pg_server import PostgresServer
from role_guard import role_guard


@dataclass(frozen=True)
class WorldCopy:
    """A backend's world, built once: each test's databases start as copies of its own."""

    sqlite: Path | None  # the SQLite file (accounts; events too on sqlite), None on postgresql
    postgresql: str | None  # the PostgreSQL database (everything; events with split), a template
    server: PostgresServer | None  # its server
    made: Any  # what the module's world_builder returned


def copy_world(
    backend: str, data_dir: Path, postgres: PostgresServer | None, build: Callable[[Services], Any]
) -> WorldCopy:
    """The world `build` makes, through the real pipeline, in `backend`'s databases (a SQLite file
    that Services.build migrates, a fresh PostgreSQL database), left closed to be copied."""
    url = postgres.fresh_database() if postgres else None
    db_url, events_url = (url, None) if backend == "postgresql" else (None, url)
    settings = app_settings(data_dir, db_url, events_url)
    roles: dict[str, Role] = {settings.database_url: "accounts", events_url: "events"} if events_url else {}
    with role_guard(roles) as wrong:  # split: checked as conftest checks a test's own app
        services = Services.build(settings)
        made = build(services)
        dispose(services)
    assert not wrong, wrong
    return WorldCopy(
        sqlite=data_dir / "analytics.db" if db_url is None else None,
        postgresql=url.rsplit("/", 1)[1] if url else None,
        server=postgres,
        made=made,
    )


@pytest.fixture(scope="module")
def world_copies() -> Iterator[dict[str, WorldCopy]]:
    """Each backend's world, built by the module's first test on that backend."""
    copies: dict[str, WorldCopy] = {}
    yield copies
    for copy in copies.values():
        if copy.server and copy.postgresql:
            copy.server.drop(copy.server.url(copy.postgresql))


@pytest.fixture
def world_copy(
    db_backend: str,
    world_copies: dict[str, WorldCopy],
    world_builder: Callable[[Services], Any],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> WorldCopy:
    if db_backend not in world_copies:
        server = request.getfixturevalue("postgres") if db_backend != "sqlite" else None
        data_dir = tmp_path_factory.mktemp(f"world-{db_backend}") / "data"
        world_copies[db_backend] = copy_world(db_backend, data_dir, server, world_builder)
    return world_copies[db_backend]


# conftest's fixtures, starting from the world's databases instead of empty ones.
@pytest.fixture
def sqlite_template(world_copy: WorldCopy, sqlite_template: Path) -> Path:
    return world_copy.sqlite or sqlite_template


@pytest.fixture
def db_url(db_backend: str, world_copy: WorldCopy, request: pytest.FixtureRequest) -> Iterator[str | None]:
    with postgres_database_if(db_backend == "postgresql", request, world_copy.postgresql or "") as url:
        yield url


@pytest.fixture
def events_url(
    db_backend: str, world_copy: WorldCopy, request: pytest.FixtureRequest
) -> Iterator[str | None]:
    with postgres_database_if(db_backend == SPLIT, request, world_copy.postgresql or "") as url:
        yield url


@pytest.fixture
def world(app: Starlette, world_copy: WorldCopy) -> Any:
    """What the world_builder returned, for a test whose app runs on copies of its databases."""
    return world_copy.made


@pytest.fixture
def token(world: str) -> str:
    """The world's token, for a module whose world_builder returns just that."""
    return world
