# ruff: noqa: F811  (the fixtures imported from copy_support are redefined as parameters)
"""`analytics-mcp db copy` stopped part-way (Ctrl-C, kill -9) goes on where it stopped when run
again, and never copies a row twice; events still in the source's spool are stored before the
copy, and a running server's install is refused."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, func, select

from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.bulk_import import validate_line
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.spool.codec import encode
from analytics_mcp.ingest.spool.frames import SpoolWriter, take_lock
from analytics_mcp.services import Services
from analytics_mcp.storage import copy_tables
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.schema import events, metadata, rollup_daily
from copy_support import (  # noqa: F401 - fixtures
    Copy,
    Source,
    copy,
    copy_cli,
    copy_process,
    empty_database,
    settings_for,
    source,
    table_counts,
)
from factories import event, make_site
from pg_server import PostgresServer


def fingerprint(url: str) -> tuple[Any, ...]:
    """Row count and sums over events and a composite-key table: a row copied twice, or one
    skipped and another doubled, shows here even where the counts agree."""
    db = open_database(url)
    with db.sync.connect() as conn:
        found = (
            conn.execute(select(func.count(), func.sum(events.c.id), func.sum(events.c.ts))).one(),
            conn.execute(select(func.count(), func.sum(rollup_daily.c.pageviews))).one(),
        )
    db.sync.dispose()
    return tuple(tuple(row) for row in found)


def test_an_interrupted_copy_goes_on_where_it_stopped(
    source: Source, postgres: PostgresServer, copy: Copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = source.counts()
    real_insert, calls = copy_tables.insert_chunk, [0]

    def ctrl_c_in_the_events(conn: Connection, table: Any, rows: Any) -> None:
        # By table, not by a count of every chunk: each new accounts table took one more chunk.
        calls[0] += table.name == "events"
        if calls[0] == 3:  # two chunks of events are in
            raise KeyboardInterrupt
        real_insert(conn, table, rows)

    with empty_database(postgres, "interrupted") as url:
        with monkeypatch.context() as patch:
            patch.setattr(copy_tables, "insert_chunk", ctrl_c_in_the_events)
            stopped = copy("--to", url, "--batch-size", "500")
        assert (stopped.code, stopped.out) == (130, "") and stopped.err.endswith("error: interrupted\n")
        assert "stopped: the same command goes on from here" in stopped.err
        partial = table_counts(url)
        assert 0 < partial["events"] < counts["events"] and partial["visits"] == 0
        assert partial["events"] % 500 == 0  # whole chunks only: the interrupted one was rolled back

        plan = copy("--to", url, "--dry-run")
        assert plan.code == 0, plan.err
        before = {t["table"]: t["copied_before"] for t in plan.report["tables"]}
        assert before["events"] == partial["events"] and before["visits"] == 0
        assert plan.report["rows_to_copy"] == sum(counts.values()) - sum(before.values())
        assert table_counts(url) == partial  # a dry run writes nothing

        resumed = copy("--to", url, "--batch-size", "500")
        assert resumed.code == 0, resumed.err
        assert resumed.report["verified"]
        assert resumed.report["copied_rows"] == sum(counts.values()) - sum(before.values())
        assert f"resumed at {partial['events']:,}" in resumed.err
        assert table_counts(url) == counts
        assert fingerprint(url) == fingerprint(source.settings.database_url)


def copied_events(url: str) -> int:
    """Rows the copy has committed into `events` so far (0 before it gets there)."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT rows FROM db_copy_progress WHERE table_name = 'events'").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def test_a_killed_copy_goes_on_where_it_stopped(source: Source, postgres: PostgresServer) -> None:
    counts = source.counts()
    with empty_database(postgres, "killed") as url:
        process = copy_process(source, "--to", url, "--batch-size", "100")
        deadline = time.monotonic() + 120
        while copied_events(url) < 1000 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        partial = table_counts(url)
        assert 1000 <= partial["events"] < counts["events"], "the copy was not stopped part-way"

        resumed = copy_process(source, "--to", url, "--batch-size", "1000")
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err
        assert '"verified": true' in out and f"all {len(metadata.tables)} tables match" in err
        assert table_counts(url) == counts
        assert fingerprint(url) == fingerprint(source.settings.database_url)


def leave_unstored(data_dir: Path, count: int) -> None:
    """What a server killed with its writer behind leaves: acknowledged events in the spool that
    the database does not hold yet."""
    services = Services.build(settings_for(data_dir))
    try:
        make_site(services)
        now_ms = int(time.time() * 1000)
        when = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pending = [
            validate_line(event(when, f"/p{i}", event_id=f"e{i}"), now_ms=now_ms) for i in range(count)
        ]
        assert all(isinstance(item, PendingEvent) for item in pending)
        with services.db.sync.begin() as conn:
            live, _outcomes = BatchProcessor().prepare(conn, pending)  # type: ignore[arg-type]
    finally:
        services.db.sync.dispose()
    spool = SpoolWriter(data_dir / "analytics.db-spool", 0)
    spool.append(encode(live))
    spool.close()


def test_spooled_events_are_stored_before_the_copy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    leave_unstored(data_dir, 250)
    install = Source(settings_for(data_dir), token="")
    assert table_counts(install.settings.database_url)["events"] == 0

    with take_lock(data_dir / "analytics.db-spool"):  # what a running server holds
        running = copy_cli(install, monkeypatch, capsys, "--to", f"sqlite:///{tmp_path / 'copy.db'}")
    running.refused("source: a running server holds the spool")

    run = copy_cli(install, monkeypatch, capsys, "--to", f"sqlite:///{tmp_path / 'copy.db'}")
    assert run.code == 0, run.err
    assert "spooled bytes of events first" in run.err
    assert table_counts(install.settings.database_url)["events"] == 250
    assert table_counts(f"sqlite:///{tmp_path / 'copy.db'}")["events"] == 250
