# ruff: noqa: F811  (the fixtures imported from copy_support are redefined as parameters)
"""`analytics-mcp db copy --to URL` as a user runs it: a SQLite install with demo data moves to
an empty PostgreSQL database (migrated by the copy) and answers every report as before; new
rows get fresh ids there (sequences set); `--events-to` puts the events tables in a second
database; `--verify-only` catches a difference; bad targets are refused in one line."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, inspect, select

from analytics_mcp.app import create_app
from analytics_mcp.config import Settings
from analytics_mcp.demo.run import MAIN_SITE, SHOP_SITE
from analytics_mcp.storage import accounts
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.roles import ACCOUNT_TABLES, EVENT_TABLES
from analytics_mcp.storage.schema import ecommerce_items, events, goal_completions, metadata, sites, tenants
from conftest import hold_lifespan, pin_reports
from copy_support import (  # noqa: F401 - fixtures
    Copy,
    Source,
    copy,
    copy_cli,
    empty_database,
    settings_for,
    source,
    table_counts,
)
from factories import event
from pg_server import PostgresServer

REPORTS: list[tuple[str, dict[str, str]]] = [
    ("/api/v1/stats/overview", {"period": "7d", "site": MAIN_SITE}),
    ("/api/v1/stats/timeseries", {"period": "7d", "site": MAIN_SITE}),
    ("/api/v1/stats/pages", {"period": "7d", "site": MAIN_SITE}),
    ("/api/v1/stats/referrers", {"period": "7d", "site": MAIN_SITE}),
    ("/api/v1/stats/overview", {"period": "24h", "site": MAIN_SITE, "filters": "page==/pricing"}),
    ("/api/v1/goals", {"period": "7d", "site": MAIN_SITE}),
    ("/api/v1/stats/ecommerce/overview", {"period": "7d", "site": SHOP_SITE}),
    ("/api/v1/stats/ecommerce/products", {"period": "7d", "site": SHOP_SITE}),
    ("/api/v1/metrics/summary", {}),
    ("/api/analytics/overview/", {}),
    ("/api/analytics/segments/", {}),
    ("/api/analytics/overlap/", {}),
    ("/api/analytics/activations/", {}),
    ("/api/analytics/usage/", {}),
]


async def answers(settings: Settings, token: str, extra: list[dict[str, Any]] | None = None) -> list[Any]:
    """The reports' JSON through the real app on these databases; `extra` events are posted
    first through the ingestion API."""
    app = create_app(settings)
    stop, task = await hold_lifespan(app)
    try:
        transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 50000))
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
            if extra:
                posted = await http.post("/api/v1/events", json=extra)
                assert posted.status_code == 202 and posted.json()["data"]["accepted"] == len(extra), (
                    posted.text
                )
            found = []
            for path, params in REPORTS:
                response = await http.get(path, params=params)
                assert response.status_code == 200, (path, response.text)
                found.append(response.json())
            return found
    finally:
        stop.set()
        await task


def top_ids(url: str) -> dict[str, int]:
    db = open_database(url)
    with db.sync.connect() as conn:
        found = {t.name: int(conn.execute(select(func.max(t.c.id))).scalar_one() or 0) for t in
                 (tenants, sites, events, goal_completions, ecommerce_items)}  # fmt: skip
    db.sync.dispose()
    return found


def purchase(domain: str) -> dict[str, Any]:
    when = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    item = {"item_id": "mug", "item_name": "Mug", "price": 12.5, "quantity": 2}
    revenue = {"amount": 25.0, "currency": "EUR"}
    return event(when, "/checkout/done", domain=domain, name="purchase", revenue=revenue,
                 transaction_id="after-the-copy", items=[item], ip="192.0.2.99")  # fmt: skip


async def test_an_install_moves_to_postgresql_and_answers_the_same(
    source: Source, postgres: PostgresServer, copy: Copy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts = source.counts()
    empty = ("ingest_spool", "rollup_stamps", "rollup_subsets")  # kept rollups of ClickHouse events only
    assert all(counts[name] for name in counts if name not in empty), counts  # every kind of row
    with empty_database(postgres, "moved") as url:
        run = copy("--to", url)
        assert run.code == 0, run.err
        report = run.report
        assert report["verified"] and report["copied_rows"] == sum(counts.values())
        assert {t["table"]: t["target_rows"] for t in report["tables"]} == counts
        assert f"all {len(metadata.tables)} tables match" in run.err
        assert f"events: {counts['events']:,} of {counts['events']:,} rows" in run.err  # not a TTY: a line
        assert table_counts(url) == counts
        db = open_database(url)
        with db.sync.connect() as conn:
            assert not inspect(conn).has_table("db_copy_progress")  # verified: the copy's state is gone
        db.sync.dispose()

        pin_reports(monkeypatch, datetime.now(UTC))
        moved = settings_for(tmp_path / "moved", url)
        assert await answers(moved, source.token) == await answers(source.settings, source.token)

        # New rows get fresh ids: sequences were set past the copied ids.
        before = top_ids(url)
        await answers(moved, source.token, extra=[purchase(SHOP_SITE)])
        after = top_ids(url)
        for table in ("events", "goal_completions", "ecommerce_items"):
            assert after[table] == before[table] + 1, (table, before, after)
        with db.sync.begin() as conn:
            tenant = accounts.create_tenant(conn, "after-the-copy")
            site = accounts.add_site(conn, "after-the-copy", "after.test")
        db.sync.dispose()
        assert (tenant.id, site.id) == (before["tenants"] + 1, before["sites"] + 1)

        again = copy("--to", url)
        again.refused("--to: already holds data")
        assert "--verify-only" in again.err


def test_events_tables_go_to_their_own_database(source: Source, postgres: PostgresServer, copy: Copy) -> None:
    counts = source.counts()
    accounts_url = postgres.fresh_database()  # migrated already (only the plans the migration seeds)
    try:
        with empty_database(postgres, "split_events") as events_url:
            run = copy("--to", accounts_url, "--events-to", events_url)
            assert run.code == 0, run.err
            assert run.report["verified"]
            in_accounts, in_events = table_counts(accounts_url), table_counts(events_url)
            for name in ACCOUNT_TABLES:
                assert in_accounts[name] == counts[name]
                assert in_events[name] == (counts[name] if name == "plans" else 0)  # seeded by its migration
            for name in EVENT_TABLES:
                assert (in_accounts[name], in_events[name]) == (0, counts[name])
            verify = copy("--to", accounts_url, "--events-to", events_url, "--verify-only")
            assert verify.code == 0 and verify.report["verified"], verify.err
    finally:
        postgres.drop(accounts_url)


def test_verify_only_names_a_table_that_differs(copy: Copy, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"  # a copy may also go to another SQLite file
    assert copy("--to", target).code == 0
    db = open_database(target)
    with db.sync.begin() as conn:
        conn.execute(events.delete().where(events.c.id == select(func.max(events.c.id)).scalar_subquery()))
    db.sync.dispose()
    run = copy("--to", target, "--verify-only")
    assert run.code == 1 and not run.report["verified"]
    assert "MISMATCH" in run.err and "1 table(s) differ: events" in run.err


def test_targets_it_must_not_write_are_refused(
    source: Source,
    postgres: PostgresServer,
    copy: Copy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    copy("--to", source.settings.database_url).refused("--to: is the source database")
    copy("--to", "mysql://db/analytics").refused("--to: unsupported database 'mysql'")
    copy("--to", "no url at all").refused("--to: not a database URL")
    copy("--to", "sqlite://").refused("--to: an in-memory database")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        copy("--to", f"postgresql://analytics:secret@127.0.0.1:{port}/analytics").refused(
            f"--to: cannot use postgresql://analytics:***@127.0.0.1:{port}/analytics"
        )
    used = postgres.fresh_database()
    try:
        db = open_database(used)
        with db.sync.begin() as conn:
            accounts.create_tenant(conn, "someone-else")
        db.sync.dispose()
        copy("--to", used).refused("--to: already holds data (tenants: 1 rows)")
    finally:
        postgres.drop(used)
    nothing = Source(settings_for(tmp_path / "nothing-here"), source.token)
    copy_cli(nothing, monkeypatch, capsys, "--to", f"sqlite:///{tmp_path / 'x.db'}").refused(
        "ANALYTICS_DB_URL: sqlite:///"
    )
