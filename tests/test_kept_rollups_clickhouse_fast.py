"""The fast path of the kept rollups' validity check (rollups/clickhouse_kept_verified.py), on chDB
through the real ClickHouse writer: a read at the same writers' mark as a verified one reads no day
tops; a late event, a frame stored again, a pending batch or cleared stamps (`events copy`) send the
next read back to the day tops, and every read answers what ClickHouse's raw rows answer.
Times are relative to the test's start (never read from the clock in the code under test).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analytics_mcp import engine
from analytics_mcp.rollups.clickhouse_kept_write import clear_stamps
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.timeutil import DAY_MS
from test_kept_rollups_clickhouse_writes import _query, _same_as_raw
from test_platform_event_counts_clickhouse import DAY3, Spool, _event, _installed


class Statements:
    """Counts the day-tops reads of one events connection (its own `rows`, wrapped)."""

    def __init__(self, house: ClickHouseEvents) -> None:
        self.tops = 0
        original: Callable[..., Sequence[Sequence[Any]]] = house.rows

        def rows(
            sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
        ) -> Sequence[Sequence[Any]]:
            self.tops += "max(version)" in sql and "UNION ALL" in sql
            return original(sql, parameters, settings)

        house.rows = rows  # type: ignore[method-assign]

    def taken(self) -> int:
        tops, self.tops = self.tops, 0
        return tops


async def _overview(services: Services, house: ClickHouseEvents) -> None:
    await engine.overview(house, await _query(services))
    await services.db.aio.dispose()  # one event loop per asyncio.run


AT = DAY3 + 10 * 3_600_000


def _kept_day(tmp_path: Path, database: str) -> tuple[Services, ClickHouseEvents, Spool, Statements]:
    """An install with four pageviews stored through the writer, its day-tops reads counted."""
    services, house, spool = _installed(tmp_path, database)
    spool.store([_event("pageview", AT + i, f"10.0.0.{i}", "/a", f"a{i}") for i in range(4)])
    return services, house, spool, Statements(house)


async def _tops_then_none(services: Services, house: ClickHouseEvents, seen: Statements) -> None:
    """The first read after a change reads the day tops and answers as the raw rows; the next one
    (same mark) reads none."""
    await _same_as_raw(services, house)
    assert seen.taken() > 0
    await _overview(services, house)
    assert seen.taken() == 0


async def test_a_read_at_a_verified_mark_reads_no_day_tops(tmp_path: Path) -> None:
    services, house, spool, seen = _kept_day(tmp_path, "kept_fast")
    try:
        await _tops_then_none(services, house, seen)  # computes and stamps the days
        await _same_as_raw(services, house)  # every report of a dashboard load: no tops
        assert seen.taken() == 0
        # A late event into a kept day: the mark moved, the tops are read, the event is counted.
        spool.store([_event("pageview", DAY3 + DAY_MS - 600_000, "10.0.0.9", "/late", "late")])
        await _tops_then_none(services, house, seen)
        # A frame stored again after a crash between its inserts.
        spool.store([_event("pageview", AT + 120_000, "10.0.1.1", "/c", "c1")], crash_after="events")
        await _tops_then_none(services, house, seen)
        # `events copy` clears the stamps without moving the mark: the tops are read again.
        clear_stamps(services.db)
        await _tops_then_none(services, house, seen)
    finally:
        spool.spool.close()


async def test_no_fast_path_while_a_batch_is_pending(tmp_path: Path) -> None:
    services, house, spool, seen = _kept_day(tmp_path, "kept_fast_pending")
    try:
        await _overview(services, house)
        seen.taken()
        # A crash leaves a batch planned and not stored: its rows may come below the maxima, so
        # each read reads the tops again (and computes the days unstamped).
        spool.store(
            [_event("pageview", AT + 200_000, "10.0.2.1", "/p", "p0")], crash_after="events", replay=False
        )
        for _ in range(2):
            await _overview(services, house)
            assert seen.taken() > 0
        spool.store([])  # the server is back: the batch is stored again
        await _tops_then_none(services, house, seen)
    finally:
        spool.spool.close()
