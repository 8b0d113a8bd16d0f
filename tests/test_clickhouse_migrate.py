"""Versioned ClickHouse migrations on chDB (storage/clickhouse/migrate.py): a database left at an
earlier step upgrades to the last one, each step once, and a step run again after an interruption
changes nothing. Step 9 drops the events' `day_max_id` projection: the largest-id read of the kept
event counts (day_counts.py) is then answered by `day_tops` (step 8), with the same maxima."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics_mcp.storage.clickhouse import ClickHouseEvents, day_counts, migrate, open_clickhouse
from analytics_mcp.storage.clickhouse.schema import MIGRATIONS
from clickhouse_support import chdb_url

COLUMNS = ["id", "site_id", "visit_id", "visitor_id", "ts", "name", "hostname", "pathname"]
COLUMNS += ["interactive", "version"]
DAY = date(2026, 3, 2)


def _events(first_id: int, day: date, count: int) -> list[tuple[object, ...]]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [
        (first_id + i, 1 + i % 2, 7, 8, start + timedelta(minutes=i), "pageview", "a.test", "/", False, i)
        for i in range(count)
    ]


def _projections(events: ClickHouseEvents, table: str) -> set[str]:
    rows = events.rows(
        "SELECT name FROM system.projections WHERE database = {d:String} AND table = {t:String}",
        {"d": events.database, "t": table},
    )
    return {str(row[0]) for row in rows}


def _largest_ids(events: ClickHouseEvents) -> dict[tuple[int, date], int]:
    return day_counts._day_tops(events, {"s": [1, 2], "a": DAY, "b": DAY + timedelta(days=2)})


def _projection_read(events: ClickHouseEvents) -> str:
    """The projection EXPLAIN names for day_counts' largest-id read (its statement as it runs)."""
    statement = (
        f"SELECT site_id, toDate(ts) AS d, max(id) FROM {events.table('events')} "
        "WHERE site_id IN {s:Array(UInt32)} AND toDate(ts) >= {a:Date} AND toDate(ts) < {b:Date} "
        "GROUP BY site_id, d"
    )
    plan = events.rows(
        f"EXPLAIN projections = 1 {statement}", {"s": [1, 2], "a": DAY, "b": DAY + timedelta(days=2)}
    )
    return next(str(row[0]).split("(")[-1].rstrip(")") for row in plan if "ReadFromMergeTree" in str(row[0]))


def test_a_database_at_step_8_upgrades_to_9_once(monkeypatch: pytest.MonkeyPatch) -> None:
    events = open_clickhouse(chdb_url("migrate_from_8"))
    with monkeypatch.context() as at_8:
        at_8.setattr(migrate, "MIGRATIONS", MIGRATIONS[:8])
        assert migrate.upgrade_clickhouse(events) == 8
    events.insert("events", _events(1, DAY, 40), COLUMNS, token="a")
    events.insert("events", _events(100, DAY + timedelta(days=1), 30), COLUMNS, token="b")
    events.insert("events", _events(5, DAY, 3), COLUMNS, token="c")  # re-sent rows: no new maximum
    assert {"day_max_id", "day_tops"} <= _projections(events, "events")
    assert _projection_read(events) == "day_max_id"
    before = _largest_ids(events)
    assert before == {
        (1, DAY): 39,
        (2, DAY): 40,
        (1, DAY + timedelta(days=1)): 128,
        (2, DAY + timedelta(days=1)): 129,
    }

    assert migrate.upgrade_clickhouse(events) == 9
    assert _projections(events, "events") == {"pageviews_by_path", "day_tops"}
    assert _projection_read(events) == "day_tops"
    assert _largest_ids(events) == before
    for statement in MIGRATIONS[8].statements:  # step 9 run again, as after an interruption
        events.command(statement.format(db=f"`{events.database}`"))
    assert migrate.upgrade_clickhouse(events) == 9
    assert migrate.applied_versions(events) == list(range(1, 10))
    ledger = events.rows(f"SELECT count() FROM {events.table('schema_migrations')} FINAL")
    assert ledger[0][0] == 9


def test_a_new_database_has_the_last_steps_projections() -> None:
    events = open_clickhouse(chdb_url("migrate_new"))
    assert migrate.upgrade_clickhouse(events) == MIGRATIONS[-1].version == 9
    assert _projections(events, "events") == {"pageviews_by_path", "day_tops"}
    assert _projections(events, "visits") == {"day_tops"}
