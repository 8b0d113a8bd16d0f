"""`events_30d` on ClickHouse from kept per-day counts (storage/clickhouse/day_counts.py), on chDB
in process, through the real ClickHouse writer:

- a pageview rewritten by a later batch (its gap and engaged time) and a frame stored again after a
  crash between its inserts count once, on a day whose count is kept and read back;
- a late event landing in a kept day counts in that day (the kept count is replaced);
- ranges cut mid-day (a tenant's zone) answer what `count()` over `events FINAL` answers.
Times are relative to the test's start; `now_ms` is passed, never read from the clock.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from analytics_mcp.config import Settings
from analytics_mcp.ingest.clickhouse.frames import ClickHouseFrames, ClickHouseWriter
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.spool.codec import encode
from analytics_mcp.ingest.spool.frames import SpoolWriter
from analytics_mcp.ingest.wire import TrackerEvent
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.event_counts import count_clickhouse
from analytics_mcp.timeutil import DAY_MS
from clickhouse_support import chdb_url
from factories import CHROME_WIN, make_site

NOW = int(time.time() * 1000)
DAY3 = (NOW // DAY_MS - 3) * DAY_MS  # UTC midnight three days before the test's day


class Crash(Exception):
    """The writer dies after this insert (the test's stand-in for SIGKILL)."""


def _event(name: str, ts: int, ip: str, path: str, tag: str, **extra: Any) -> PendingEvent:
    body = {"name": name, "url": f"https://acme.test{path}", "domain": "acme.test", **extra}
    event = PendingEvent.from_wire(TrackerEvent.model_validate(body), ts=ts, ip=ip, user_agent=CHROME_WIN)
    event.event_id = tag
    return event


class Spool:
    """Frames through the ClickHouse writer, as the server stores them."""

    def __init__(self, services: Services, directory: Path) -> None:
        self.services, self.directory, self.end, self.stored = services, directory, 0, 0
        self.spool = SpoolWriter(directory, 0)

    def store(self, events: list[PendingEvent], crash_after: str | None = None, replay: bool = True) -> None:
        with self.services.db.reader.begin() as conn:
            live, _ = self.services.ingestor.processor.prepare(conn, events)
        self.end = self.spool.append(encode(live))
        house = self.services.events_db
        assert isinstance(house, ClickHouseEvents)
        frames = ClickHouseFrames(
            ClickHouseWriter(house, self.services.db, self.directory.parent), self.directory
        )
        if crash_after is not None:

            def crash(table: str) -> None:
                if table == crash_after:
                    raise Crash(table)

            frames.writer.after_insert = crash
            with pytest.raises(Crash):
                frames.store(self.stored, self.end, max_bytes=1 << 30)
            if not replay:  # the server stays down: its batch is planned and not stored
                return
            frames = ClickHouseFrames(
                ClickHouseWriter(house, self.services.db, self.directory.parent), self.directory
            )
        frames.store(self.stored, self.end, max_bytes=1 << 30)
        self.stored = self.end


def _final(house: ClickHouseEvents, start_ms: int, end_ms: int) -> int:
    """The plain exact count: every row of the range through FINAL."""
    return int(
        house.rows(
            f"SELECT count() FROM {house.table('events')} FINAL "
            f"WHERE ts >= fromUnixTimestamp64Milli({start_ms}) AND ts < fromUnixTimestamp64Milli({end_ms}) "
            "AND name != 'engagement'"
        )[0][0]
    )


def _kept(house: ClickHouseEvents) -> dict[int, int]:
    rows = house.rows(f"SELECT day, events FROM {house.table('event_day_counts')} FINAL")
    return {(day.toordinal() - 719163) * DAY_MS: int(n) for day, n in rows}


def test_rewritten_resent_and_late_events_count_once_in_their_day(tmp_path: Path) -> None:
    services, house, spool = _installed(tmp_path, "event_days")
    try:
        _store_and_count(services, house, spool)
    finally:
        spool.spool.close()


def _installed(tmp_path: Path, database: str) -> tuple[Services, ClickHouseEvents, Spool]:
    """An install with one site whose events are in chDB, and its spool."""
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="t", events_url=chdb_url(database), _env_file=None
    )  # type: ignore[call-arg]
    services = Services.build(settings)
    make_site(services)
    house = services.events_db
    assert isinstance(house, ClickHouseEvents)
    return services, house, Spool(services, tmp_path / "data" / "spool")


def test_no_day_is_kept_while_a_batch_is_planned_and_not_stored(tmp_path: Path) -> None:
    """After a crash between a batch's inserts, the ids of its rows still to come are below ids a
    later batch may store first: the day is counted live until the batch is stored again."""
    _services, house, spool = _installed(tmp_path, "event_pending")
    try:
        at = DAY3 + 10 * 3_600_000
        spool.store([_event("pageview", at + i, f"10.0.3.{i}", "/a", f"p{i}") for i in range(3)],
                    crash_after="events", replay=False)  # fmt: skip
        start, end = DAY3, DAY3 + DAY_MS
        assert count_clickhouse(house, [1], start, end, now_ms=NOW) == _final(house, start, end) == 3
        assert _kept(house) == {}  # pending: nothing kept
        spool.store([])  # the server is back: the batch is stored again, then nothing new
        assert count_clickhouse(house, [1], start, end, now_ms=NOW) == 3
        assert _kept(house) == {DAY3: 3}
    finally:
        spool.spool.close()


def _store_and_count(services: Services, house: ClickHouseEvents, spool: Spool) -> None:
    at = DAY3 + 10 * 3_600_000  # 10:00 UTC, three days back
    # Batch 1: a pageview of each of 4 visitors, and a signup on the next day.
    spool.store([_event("pageview", at + i, f"10.0.0.{i}", "/a", f"a{i}") for i in range(4)]
                + [_event("signup", at + DAY_MS, "10.0.0.9", "/s", "s0")])  # fmt: skip
    # Batch 2: each visitor's second pageview and an engagement report: the stored first pageviews
    # are written again (gap, engaged time), with a new version, same id.
    spool.store(
        [_event("pageview", at + 60_000 + i, f"10.0.0.{i}", "/b", f"b{i}") for i in range(4)]
        + [
            _event("engagement", at + 90_000 + i, f"10.0.0.{i}", "/b", f"e{i}", engagement_ms=5_000)
            for i in range(4)
        ]
    )
    rows = int(house.rows(f"SELECT count() FROM {house.table('events')} WHERE name = 'pageview'")[0][0])
    assert rows > 8  # rewritten pageviews are rows of their own until merged
    # Batch 3: stored again after a crash between its events and its visits (a re-sent frame).
    spool.store([_event("pageview", at + 120_000 + i, f"10.0.1.{i}", "/c", f"c{i}") for i in range(3)],
                crash_after="events")  # fmt: skip
    start, end = DAY3 - 2 * DAY_MS, DAY3 + 3 * DAY_MS
    assert _final(house, start, end) == 12  # 4 + 4 + 3 pageviews and the signup
    assert count_clickhouse(house, [1], start, end, now_ms=NOW) == 12
    assert _kept(house) == {DAY3: 11, DAY3 + DAY_MS: 1}  # the days the count covers, kept
    assert count_clickhouse(house, [1], start, end, now_ms=NOW) == 12  # read back from the kept rows
    # A late event: its day's largest id moves, that day alone is counted again.
    revenue = {"amount": 5, "currency": "EUR"}
    spool.store([_event("purchase", DAY3 + 23 * 3_600_000, "10.0.2.1", "/p", "late", revenue=revenue)])
    assert count_clickhouse(house, [1], start, end, now_ms=NOW) == 13
    assert _kept(house) == {DAY3: 12, DAY3 + DAY_MS: 1}
    # Ranges cut mid-day (a tenant's zone east or west of UTC) and within one day.
    for a, b in ((DAY3 + 9 * 3_600_000, DAY3 + DAY_MS + 9 * 3_600_000), (DAY3 - 7 * 3_600_000, end),
                 (at + 30_000, at + 130_000), (DAY3, DAY3 + DAY_MS), (end, end + DAY_MS)):  # fmt: skip
        assert count_clickhouse(house, [1], a, b, now_ms=NOW) == _final(house, a, b), (a, b)
    assert count_clickhouse(house, [2], start, end, now_ms=NOW) == 0  # another site's
    assert count_clickhouse(house, [], start, end, now_ms=NOW) == 0
