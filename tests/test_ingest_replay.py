"""After a crash, the spool's backlog is replayed while the server already answers again:
retries of acknowledged events must be duplicates from the first request on (the spooled keys
are known before the server answers), and a frame holding an event that is already stored must
be stored without it, never failed (a frame mixes tenants: failing it would lose theirs too)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from analytics_mcp.config import Settings
from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.bulk_import import validate_line
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.spool.codec import encode
from analytics_mcp.ingest.spool.frames import SpoolReader, SpoolWriter
from analytics_mcp.ingest.spool.storing import store_frames
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events
from factories import event, make_site

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def batch(prefix: str, count: int, domain: str = "acme.test") -> list[PendingEvent]:
    now_ms = int(time.time() * 1000)
    out = []
    for i in range(count):
        when = (NOW + timedelta(milliseconds=i)).isoformat().replace("+00:00", "Z")
        raw: dict[str, Any] = event(
            when, f"/p{i % 7}", domain=domain, event_id=f"{prefix}{i}", ip=f"10.0.{i % 50}.1"
        )
        pending = validate_line(raw, now_ms=now_ms)
        assert isinstance(pending, PendingEvent), pending
        out.append(pending)
    return out


def spooled_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="t", ingest_process=True, _env_file=None)  # type: ignore[call-arg]


def writer_pid(services: Services) -> int:
    spooler = services.ingestor._spooler
    assert spooler is not None, "the writer process did not start"
    pid = spooler._child._process.pid
    assert pid is not None
    return pid


def crash(services: Services) -> None:
    """What kill -9 leaves: the writer dies with nothing stored, the spool file lock goes."""
    spooler = services.ingestor._spooler
    assert spooler is not None
    os.kill(writer_pid(services), signal.SIGKILL)
    spooler._child._process.join(10)
    spooler._spool.close()
    services.ingestor._spooler = None  # the gather thread (a daemon) is abandoned with it


def counts(services: Services) -> tuple[int, int]:
    with services.db.sync.connect() as conn:
        total = conn.execute(select(func.count()).select_from(events)).scalar_one()
        distinct = conn.execute(select(func.count(events.c.client_event_id.distinct()))).scalar_one()
    return total, distinct


async def wait_drained(services: Services, timeout: float = 60) -> None:
    spooler = services.ingestor._spooler
    assert spooler is not None
    deadline = time.time() + timeout
    while spooler.backlog and time.time() < deadline:
        await asyncio.sleep(0.05)
    assert spooler.backlog == 0, "the writer did not catch up"


async def test_retries_during_replay_are_duplicates_and_nothing_is_lost(tmp_path: Path) -> None:
    first = Services.build(spooled_settings(tmp_path))
    make_site(first)
    make_site(first, "other", "other.test")
    await first.start()
    os.kill(writer_pid(first), signal.SIGSTOP)  # acknowledged from the spool, never stored
    acked = batch("a", 3000) + batch("o", 1000, "other.test")
    outcomes = await first.ingestor.submit(acked)
    assert {o.status for o in outcomes} == {"accepted"}
    crash(first)
    assert counts(first) == (0, 0)

    second = Services.build(spooled_settings(tmp_path))
    await second.start()
    os.kill(writer_pid(second), signal.SIGSTOP)  # replay has not stored the backlog yet
    try:
        retried = await second.ingestor.submit(batch("a", 3000) + batch("n", 2000))
        assert [o.status for o in retried] == ["duplicate"] * 3000 + ["accepted"] * 2000
        other = await second.ingestor.submit(batch("o", 1000, "other.test"))
        assert {o.status for o in other} == {"duplicate"}
    finally:
        os.kill(writer_pid(second), signal.SIGCONT)
    await wait_drained(second)
    assert counts(second) == (6000, 6000)  # 3000 + 1000 acknowledged before, 2000 new: each once
    spool_dir = tmp_path / "data" / "analytics.db-spool"
    assert not list(spool_dir.glob("failed/*")), "a frame was set aside"
    await second.close()
    first.db.sync.dispose()
    await first.db.aio.dispose()


def test_a_frame_with_an_already_stored_event_is_stored_without_it(
    services: Services, tmp_path: Path
) -> None:
    make_site(services)
    processor = BatchProcessor()
    with services.db.sync.begin() as conn:
        stored_first, _ = processor.prepare(conn, batch("x", 10))
        processor.store(conn, stored_first)
    with services.db.sync.begin() as conn:  # the same ids again plus new ones, as a re-sent frame
        live, _ = BatchProcessor().prepare(conn, batch("x", 10) + batch("y", 5))
    assert len(live) == 5
    resent = stored_first + live
    spool = SpoolWriter(tmp_path / "spool", 0)
    end = spool.append(encode(resent))
    spool.close()
    moved, count = store_frames(
        services.db, processor, SpoolReader(tmp_path / "spool"), 0, end, max_bytes=1 << 20
    )
    assert (moved, count) == (end, 15)  # decoded 15; the 10 stored ones were skipped, not failed
    assert counts(services) == (15, 15)


async def test_a_stalled_writer_never_stalls_acknowledgements(tmp_path: Path) -> None:
    """One notice a group commit went down a pipe the stalled writer no longer read: after a few
    hundred, sending blocked and every ingestion request hung. Notices are merged now."""
    services = Services.build(spooled_settings(tmp_path))
    make_site(services)
    await services.start()
    os.kill(writer_pid(services), signal.SIGSTOP)
    try:
        for i in range(1500):  # one group commit (and one notice) each
            [outcome] = await asyncio.wait_for(services.ingestor.submit(batch(f"s{i}-", 1)), timeout=10)
            assert outcome.status == "accepted"
    finally:
        os.kill(writer_pid(services), signal.SIGCONT)
    await wait_drained(services)
    assert counts(services) == (1500, 1500)
    await services.close()
