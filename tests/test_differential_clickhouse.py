"""SQLite and ClickHouse give identical answers (issue 14).

The seeded traffic of tests/differential_traffic.py (two tenants east and west of UTC, DST changes,
visits across local midnight, late and resent events, USD purchases on EUR sites, goals,
engagement, referrers, UTM tags) goes through the real ingestion into SQLite, then `analytics-mcp
events copy` copies it into chDB (the ClickHouse engine in process). Every engine report function,
for every scope, period and filter of the SQLite-vs-PostgreSQL test, must answer the same on both:
SQLite as it serves (rollups or raw tables), ClickHouse from its raw tables.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from analytics_mcp import engine
from analytics_mcp.cli import main
from analytics_mcp.cli_commands import progress
from analytics_mcp.config import Settings
from analytics_mcp.export import BY_NAME, ExportJob, Position, export_stream, stream
from analytics_mcp.export.clickhouse_queries import ClickHouseExportReads
from analytics_mcp.export.encode import session_key
from analytics_mcp.http_api.export import PagedExportParams, export_query, parse_cursor
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Tenant
from analytics_mcp.storage.clickhouse import ClickHouseEvents, EventsDatabase, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from analytics_mcp.storage.db import distinct_databases
from clickhouse_support import chdb_url
from differential_traffic import add_accounts, generate, ingest, seed_salts, tenants
from test_differential_backends import CASES, EXTRA_ARGUMENTS, Case, _ask, _substance, reports

COPIED = ("visits", "events", "goal_completions", "ecommerce_items", "experiment_events")


@dataclass
class Pair:
    services: Services  # SQLite: accounts and events
    clickhouse: ClickHouseEvents
    tenants: dict[str, Tenant]
    copy_report: dict[str, Any]


def run_cli(data_dir: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`analytics-mcp ARGV` through main(), with this install's data directory only."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("ANALYTICS_")]:
            patch.delenv(name)
        patch.setenv("ANALYTICS_DATA_DIR", str(data_dir))
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    data_dir = tmp_path_factory.mktemp("differential-ch") / "data"
    settings = Settings(data_dir=data_dir, secret_key="t", ingest_process=False, _env_file=None)
    services = Services.build(settings)
    try:
        add_accounts(services)
        seed_salts(services)
        ingest(services, generate())
        url = chdb_url("differential")
        code, out, err = run_cli(data_dir, "events", "copy", "--to", url, "--batch-size", "700")
        assert code == 0, err
        yield Pair(services, open_clickhouse(url), tenants(services), json.loads(out))
    finally:
        for db in distinct_databases(services.db, services.events_db):
            db.sync.dispose()
            db.reader.dispose()


@pytest.fixture
async def both(pair: Pair) -> Iterator[Pair]:
    yield pair
    await pair.services.db.aio.dispose()  # one event loop per test


async def ask(pair: Pair, case: Case) -> engine.Query:
    """The case's Query, read from the SQLite accounts as the other differential test does (a Pair
    has the `services` and `tenants` that `_ask` reads)."""
    return await _ask(pair, case)  # type: ignore[arg-type]


def test_the_copy_is_verified(pair: Pair) -> None:
    tables = {row["table"]: row for row in pair.copy_report["tables"]}
    assert pair.copy_report["verified"] and set(tables) == set(COPIED)
    assert all(row["source_rows"] == row["target_rows"] for row in tables.values())
    assert tables["events"]["source_rows"] > 4000 and tables["visits"]["source_rows"] > 500
    assert pair.copy_report["copied_rows"] == sum(row["source_rows"] for row in tables.values())


@pytest.mark.parametrize("name", sorted(reports()))
async def test_sqlite_and_clickhouse_answer_alike(both: Pair, name: str) -> None:
    fn = reports()[name]
    compared = substantial = 0
    differences: list[str] = []
    for number, case in enumerate(CASES):
        query = await ask(both, case)
        extras = EXTRA_ARGUMENTS[name](both.services, query, number) if name in EXTRA_ARGUMENTS else [()]
        for extra in extras:
            sqlite_dump = (await fn(both.services.events_db, query, *extra)).model_dump()
            clickhouse_dump = (await fn(both.clickhouse, query, *extra)).model_dump()
            compared += 1
            substantial += _substance(clickhouse_dump)
            if sqlite_dump != clickhouse_dump:
                differences.append(
                    f"{case} {extra}:\n  sqlite     {sqlite_dump}\n  clickhouse {clickhouse_dump}"
                )
    assert not differences, f"{len(differences)} of {compared} differ; first:\n" + "\n".join(differences[:3])
    assert substantial * 3 >= compared, (substantial, compared)  # mostly answers with numbers in them


async def test_contains_ignores_the_case_of_a_to_z_only(both: Pair) -> None:
    expected = {"page~cafÉ": ["/blog/CAFÉ"], "page~ÜBER": ["/Über"], "page~café": [], "page~über": []}
    for filters, pages in expected.items():
        case: Case = ("west", "la.test", 10, {"date_from": "2026-10-01", "date_to": "2026-11-20"}, filters)
        report = await engine.top_pages(both.clickhouse, await ask(both, case))
        assert [row.pathname for row in report.rows] == pages, filters


def test_an_interrupted_copy_goes_on_where_it_stopped(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    url = chdb_url("resumed")
    data_dir = pair.services.settings.data_dir
    calls = {"n": 0}
    original = progress.TableBar.add

    def interrupting(bar: progress.TableBar, rows: int) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # visits copied in part
            raise KeyboardInterrupt
        original(bar, rows)

    monkeypatch.setattr(progress.TableBar, "add", interrupting)
    code, _out, err = run_cli(data_dir, "events", "copy", "--to", url, "--batch-size", "300")
    assert code != 0 and "goes on from here" in err, err
    monkeypatch.setattr(progress.TableBar, "add", original)
    code, out, err = run_cli(data_dir, "events", "copy", "--to", url, "--batch-size", "300")
    report = json.loads(out)
    assert code == 0 and report["verified"], err
    total = sum(row["source_rows"] for row in report["tables"])
    assert report["copied_rows"] == total - 4 * 300  # the four chunks stored before the stop


def test_a_resent_frame_is_stored_once() -> None:
    """The same insert_deduplication_token stores nothing the second time; the same event id sent
    in another insert is counted once (ReplacingMergeTree read with FINAL)."""
    events = open_clickhouse(chdb_url("dedup"))
    upgrade_clickhouse(events)
    columns = ("id", "site_id", "goal_id", "visitor_id", "visit_id", "event_id", "ts")
    rows = [(i, 1, "g", 7, 8, 100 + i, datetime(2026, 3, 1, tzinfo=UTC)) for i in range(1000)]
    events.insert("goal_completions", rows, columns, token="frame-17")
    events.insert("goal_completions", rows, columns, token="frame-17")
    table = events.table("goal_completions")
    assert events.rows(f"SELECT count() FROM {table}")[0][0] == 1000
    events.insert("goal_completions", rows[:10], columns, token="frame-18")
    assert events.rows(f"SELECT count() FROM {table}")[0][0] == 1010
    assert events.rows(f"SELECT count() FROM {table} FINAL")[0][0] == 1000


def test_migrate_applies_the_clickhouse_schema(pair: Pair) -> None:
    url = chdb_url("migrated")
    data_dir = pair.services.settings.data_dir
    env = {"ANALYTICS_EVENTS_URL": url}
    code, out, err = run_cli(data_dir, "migrate", env=env)
    assert code == 0, err
    assert out.splitlines()[-1] == "clickhouse 9"  # 9: the events' day_max_id projection dropped
    assert run_cli(data_dir, "migrate", env=env)[1] == out  # applied once
    tables = {row[0] for row in open_clickhouse(url).rows("SHOW TABLES FROM migrated")}
    assert {*COPIED, "schema_migrations"} <= tables


EXPORT_TABLES = ("pageviews", "goal_completions", "ecommerce_events", "goals")
# (from, to): both traffic windows (a page walk across them), one window, days around a DST change.
EXPORT_RANGES = (("2026-02-01", "2026-11-30"), ("2026-10-01", "2026-11-20"), ("2026-03-27", "2026-03-31"))


async def _export_pages(db: EventsDatabase, job: ExportJob) -> list[bytes]:
    """Every page of the export from `job`'s position on, as the route streams them (the next
    page starts after the last row's id, until a page is short)."""
    pages: list[bytes] = []
    while True:
        page = b"".join([chunk async for chunk in export_stream(db, job)])
        pages.append(page)
        lines = page.splitlines()
        rows = len(lines) - (job.format == "csv")
        if not job.limit or rows < job.limit:
            return pages
        last_id = (
            orjson.loads(lines[-1])["id"] if job.format == "jsonl" else lines[-1].split(b",")[0].decode()
        )
        job = replace(job, after=parse_cursor(last_id, job.start_ms))


async def test_exports_are_byte_for_byte_the_same(both: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every exported table, format, scope and range, walked page by page (pages of 997 rows read
    in chunks of 300, so pages and chunks end mid-millisecond), streams the same bytes from
    ClickHouse as from SQLite."""
    monkeypatch.setattr(stream, "CHUNK_ROWS", 300)
    key = session_key("differential")
    compared = rows = 0
    for slug, tenant in both.tenants.items():
        sites, goals = await engine.sites_and_goals(both.services.db, tenant.id)
        for site, (date_from, date_to), table, fmt in itertools.product(
            [None, *(s.domain for s in sites)], EXPORT_RANGES, EXPORT_TABLES, ("jsonl", "csv")
        ):
            params = PagedExportParams.model_validate({"site": site, "from": date_from, "to": date_to})
            query = export_query(sites, tenant.timezone, params)
            paged = table != "goals"
            job = ExportJob(
                table=BY_NAME[table],
                domains={s.id: s.domain for s in query.sites},
                start_ms=query.range.start_ms,
                end_ms=query.range.end_ms,
                after=parse_cursor(None, query.range.start_ms),
                limit=997 if paged else 0,
                format=fmt,  # type: ignore[arg-type]
                session_key=key,
                goals=tuple(g for g in goals if g.site_id in {s.id for s in query.sites}),
            )
            expected = await _export_pages(both.services.events_db, job)
            got = await _export_pages(both.clickhouse, job)
            where = (slug, site, date_from, table, fmt)
            assert len(got) == len(expected), where
            for number, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
                assert mine == theirs, (where, number, _first_difference(mine, theirs))
            compared += 1
            rows += sum(page.count(b"\n") for page in expected)
    assert compared == 2 * 3 * len(EXPORT_RANGES) * len(EXPORT_TABLES) * 2
    assert rows > 20_000  # mostly pages with rows in them


def _first_difference(mine: bytes, theirs: bytes) -> tuple[bytes, bytes]:
    for line, other in zip(mine.splitlines(), theirs.splitlines(), strict=False):
        if line != other:
            return line, other
    return mine[-200:], theirs[-200:]


def test_an_export_chunk_reads_nothing_past_the_range_or_before_the_cursor(pair: Pair) -> None:
    """The ClickHouse chunk read's edge cases: a cursor past DateTime64's last instant, an empty
    range, a cursor inside a millisecond (rows of that millisecond after its id only), and a chunk
    gathered over many growing time windows equal to one read to the range's end."""
    reads = ClickHouseExportReads(pair.clickhouse, [1, 2, 3, 4])
    assert reads.chunk("pageviews", Position((1 << 48) - 1, 0), 0, 1 << 50, 10) == []
    assert reads.chunk("pageviews", Position(5, 0), 10, 10, 10) == []
    first = reads.chunk("pageviews", Position(0, 0), 0, 1 << 50, 3)
    assert len(first) == 3 and first == sorted(first, key=lambda row: (row[0], row[1]))
    ts, row_id = first[1][0], first[1][1]
    after = reads.chunk("pageviews", Position(ts, row_id), 0, 1 << 50, 2)
    assert after[0] == first[2]
    whole = ClickHouseExportReads(pair.clickhouse, [1, 2, 3, 4])
    whole._window = 1 << 50  # one read to the range's end
    reads._window = 1  # windows of 1, 4, 16, ... ms until 500 rows are in
    assert reads.chunk("ecommerce_events", Position(0, 0), 0, 1 << 50, 500) == whole.chunk(
        "ecommerce_events", Position(0, 0), 0, 1 << 50, 500
    )
