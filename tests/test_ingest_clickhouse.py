"""Ingestion into ClickHouse (issue 14 item 4): the spool, then the writer into chDB.

The seeded differential traffic goes through the real pipeline (validation, prepare, the spool,
the writer thread) into SQLite and into chDB: every engine report answers alike. A batch stored
again after a crash between its inserts and the position is stored once; retries of stored
events are duplicates; ClickHouse unavailable mid-load, then back: every acknowledged event is
stored exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from analytics_mcp.config import Settings
from analytics_mcp.engine.store import choice
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.schema import salts
from clickhouse_support import chdb_url
from differential_traffic import add_accounts, generate, ingest, seed_salts, tenants
from test_differential_backends import CASES, EXTRA_ARGUMENTS, _ask, _substance, reports


@dataclass
class Side:
    services: Services
    tenants: dict[str, Tenant]


def _clickhouse_services(data_dir: Path, database: str) -> Services:
    settings = Settings(data_dir=data_dir, secret_key="t", events_url=chdb_url(database), _env_file=None)
    return Services.build(settings)


def _copy_salts(source: Services, target: Services) -> None:
    """The same daily salts (with ClickHouse events they live in the accounts database)."""
    with source.events_db.sync.connect() as conn:  # type: ignore[union-attr]
        rows = [dict(r) for r in conn.execute(select(salts)).mappings()]
    with target.db.sync.begin() as conn:
        conn.execute(insert(salts), rows)


@pytest.fixture(scope="module", autouse=True)
def no_kept_subsets() -> Iterator[None]:
    """Filtered reads answer from ClickHouse's raw rows here, never from kept subsets: this module
    tests what the writer stored, and a filter set read twice would otherwise be kept in the
    background (about half of the module's chDB statements), its reads switching from raw rows to
    the subset's rollups whenever the thread finished. Unfiltered reads still answer from the
    rollups kept from the writer's rows, by the SQL that keeps subsets too (with a restriction);
    test_kept_subsets_clickhouse tests subsets against the same traffic."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(choice, "subset_answers", lambda query: False)
        yield


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    root = tmp_path_factory.mktemp("ingest-ch")
    lite = Services.build(
        Settings(data_dir=root / "lite", secret_key="t", ingest_process=False, _env_file=None)
    )
    house = _clickhouse_services(root / "house", "ingested")
    goal_rows = add_accounts(lite)
    seed_salts(lite)
    add_accounts(house, goal_rows)
    _copy_salts(lite, house)
    batches = generate()
    ingest(lite, batches)
    asyncio.run(_ingest_spooled(house, batches))
    yield Side(lite, tenants(lite)), Side(house, tenants(house))
    for services in (lite, house):
        for db in services.sql_databases():
            db.sync.dispose()
            db.reader.dispose()


async def _ingest_spooled(services: Services, batches: Any) -> None:
    """Through the spool and the writer thread (write_now waits until stored)."""
    await services.start()
    try:
        await asyncio.to_thread(ingest, services, batches)
        assert services.ingestor._spooler is not None  # the spooled path, not direct writes
    finally:
        await services.close()
        services.ingestor = Services.build(services.settings, migrate=False).ingestor


@pytest.fixture
async def both(sides: tuple[Side, Side]) -> Iterator[tuple[Side, Side]]:
    yield sides
    for side in sides:
        await side.services.db.aio.dispose()


@pytest.mark.parametrize("name", sorted(reports()))
async def test_clickhouse_ingestion_answers_like_sqlite(both: tuple[Side, Side], name: str) -> None:
    lite, house = both
    fn = reports()[name]
    compared = substantial = 0
    differences: list[str] = []
    for number, case in enumerate(CASES):
        query = await _ask(lite, case)  # type: ignore[arg-type]
        extras = EXTRA_ARGUMENTS[name](lite.services, query, number) if name in EXTRA_ARGUMENTS else [()]
        for extra in extras:
            expected = (await fn(lite.services.events_db, query, *extra)).model_dump()
            got = (await fn(house.services.events_db, await _ask(house, case), *extra)).model_dump()  # type: ignore[arg-type]
            compared += 1
            substantial += _substance(got)
            if expected != got:
                differences.append(f"{case} {extra}:\n  sqlite     {expected}\n  clickhouse {got}")
    assert not differences, f"{len(differences)} of {compared} differ; first:\n" + "\n".join(differences[:3])
    assert substantial * 3 >= compared
