"""Ingestion into ClickHouse under faults (issue 14 item 4), on chDB in process.

- A batch stored again after a crash between its inserts and the position (or between two of its
  inserts, or after its identified events' profiles went to the accounts database) is stored once:
  its plan is kept, its rows are computed again alike and every insert repeats its deduplication
  token; each profile is there once.
- Tracker events into a server whose events are in chDB: a retry of an acknowledged event is a
  duplicate; with ClickHouse unavailable the server still answers 202 from the spool up to its
  limit, then 503 with Retry-After; once ClickHouse is back every acknowledged event is stored
  exactly once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import select

from analytics_mcp.config import Settings
from analytics_mcp.ingest.clickhouse.frames import ClickHouseFrames, ClickHouseWriter
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.spool.codec import encode
from analytics_mcp.ingest.spool.frames import SpoolWriter
from analytics_mcp.ingest.wire import TrackerEvent
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from analytics_mcp.storage.platform_schema import profiles
from clickhouse_support import chdb_url
from conftest import serving
from factories import CHROME_WIN, make_site
from test_ingest_replay import wait_drained


class Crash(Exception):
    """The writer dies here (the test's stand-in for SIGKILL)."""


def _settings(tmp_path: Path, database: str, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", secret_key="t", events_url=chdb_url(database), _env_file=None, **extra
    )  # type: ignore[call-arg]


def _count(events: ClickHouseEvents, table: str, final: bool = False) -> int:
    return int(events.rows(f"SELECT count() FROM {events.table(table)}{' FINAL' if final else ''}")[0][0])


def _pending(n: int, prefix: str) -> list[PendingEvent]:
    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        body: dict[str, Any] = {
            "name": "pageview",
            "url": f"https://acme.test/p{i % 7}",
            "domain": "acme.test",
        }
        if i % 4 == 0:  # identified: its profile goes to the accounts database
            body |= {"user_id": f"u{i % 3}", "traits": {"plan": f"p{i}"}}
        wire = TrackerEvent.model_validate(body)
        event = PendingEvent.from_wire(
            wire, ts=now - (n - i) * 1000, ip=f"10.0.0.{i % 5}", user_agent=CHROME_WIN
        )
        event.event_id = f"{prefix}{i}"
        out.append(event)
    return out


@pytest.mark.parametrize("crash_after", ["events", "visits", "profiles"])
def test_a_batch_stored_again_after_a_crash_is_stored_once(tmp_path: Path, crash_after: str) -> None:
    services = Services.build(_settings(tmp_path, f"crash_{crash_after}"))
    make_site(services)
    house = services.events_db
    assert isinstance(house, ClickHouseEvents)
    spool_dir = tmp_path / "spool"
    spool = SpoolWriter(spool_dir, 0)
    for first in (0, 40):  # two frames, one batch
        with services.db.reader.begin() as conn:
            live, _ = services.ingestor.processor.prepare(conn, _pending(40, f"c{first}-"))
        end = spool.append(encode(live))
    spool.close()

    def crash(table: str) -> None:
        if table == crash_after:
            raise Crash(table)

    crashed = ClickHouseFrames(ClickHouseWriter(house, services.db, tmp_path / "data"), spool_dir)
    crashed.writer.after_insert = crash
    with pytest.raises(Crash):
        crashed.store(0, end, max_bytes=1 << 30)
    restarted = ClickHouseFrames(ClickHouseWriter(house, services.db, tmp_path / "data"), spool_dir)
    assert restarted.position() == 0  # the position did not move: the batch is stored again
    assert restarted.store(0, end, max_bytes=1) == (end, 80)  # the plan's frames, not max_bytes
    assert restarted.position() == end
    assert _count(house, "events") == _count(house, "events", final=True) == 80  # no row twice
    visits = _count(house, "visits", final=True)
    assert 5 <= visits == _count(house, "visits")
    pageviews = house.rows(f"SELECT sum(pageviews) FROM {house.table('visits')} FINAL")[0][0]
    assert pageviews == 80
    with services.db.sync.connect() as conn:  # profiles: in the accounts database, each once
        rows = conn.execute(select(profiles.c.user_id, profiles.c.traits, profiles.c.first_seen_ms)).all()
    assert sorted(r.user_id for r in rows) == ["u0", "u1", "u2"]
    assert all(r.first_seen_ms is not None and orjson.loads(r.traits)["plan"] for r in rows)
    assert (
        house.rows(f"SELECT count() FROM {house.table('events')} FINAL WHERE user_id IS NOT NULL")[0][0] == 20
    )


async def test_clickhouse_down_spools_then_refuses_then_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, "faults", ingest_spool_limit=30)
    async with serving(settings) as (base, app):
        services: Services = app.state.services
        make_site(services)
        house = services.events_db
        assert isinstance(house, ClickHouseEvents)
        down = {"now": False}
        insert = house.insert

        def flaky(*args: Any, **kwargs: Any) -> None:
            if down["now"]:
                raise ConnectionError("ClickHouse is down")
            insert(*args, **kwargs)

        monkeypatch.setattr(house, "insert", flaky)
        monkeypatch.setattr(ClickHouseWriter, "_reachable", lambda _self: not down["now"])
        async with httpx2.AsyncClient(
            base_url=base, timeout=10, headers={"User-Agent": CHROME_WIN}
        ) as client:

            async def send(key: str) -> httpx2.Response:
                body = {
                    "name": "pageview",
                    "url": "https://acme.test/x",
                    "domain": "acme.test",
                    "event_id": key,
                }
                return await client.post("/api/event", json=body)

            acknowledged = [f"a{i}" for i in range(10) if (await send(f"a{i}")).status_code == 202]
            assert len(acknowledged) == 10
            await wait_drained(services)
            down["now"] = True
            answers = [await send(f"d{i}") for i in range(10)]
            assert (await send("a3")).json()["status"] == "duplicate"  # stored before
            assert (await send("d3")).json()["status"] == "duplicate"  # spooled, not stored
            answers += [await send(f"d{i}") for i in range(10, 45)]
            codes = [r.status_code for r in answers]
            assert codes[:30] == [202] * 30 and 503 in codes, codes  # the spool's limit is 30
            refused = next(r for r in answers if r.status_code == 503)
            assert "Retry-After" in refused.headers
            acknowledged += [f"d{i}" for i, r in enumerate(answers) if r.status_code == 202]
            down["now"] = False
            await wait_drained(services)
            assert (await send("d4")).json()["status"] == "duplicate"  # now stored
    # FINAL: a pageview whose gap changed has a newer version row; another id would show twice
    stored = house.rows(f"SELECT client_event_id FROM {house.table('events')} FINAL")
    ids = sorted(row[0] for row in stored)
    assert ids == sorted(acknowledged)  # every acknowledged event once, nothing refused
