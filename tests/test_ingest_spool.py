"""The ingestion spool: frames survive reopening, a torn tail is cut, segments rotate and retire,
one server owns a spool; and end to end, events acknowledged from the spool survive a crash of
the server and its writer process and are stored exactly once after a restart (with the writer
process or without it), the spool holds no raw IP or User-Agent, and a writer that falls behind
turns into 503s, not lost events."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select

from analytics_mcp.config import Settings
from analytics_mcp.ingest.spool import frames as spool_module
from analytics_mcp.ingest.spool.frames import SpoolError, SpoolReader, SpoolWriter, segment_starts
from analytics_mcp.services import Services
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.schema import events, visits
from conftest import serving
from factories import CHROME_WIN, make_site
from pg_server import PostgresServer
from server_process import Install, server_process, writer_child


def frames(directory: Path, start: int = 0, stop: int | None = None) -> list[tuple[int, bytes]]:
    end = stop if stop is not None else 1 << 60
    return list(SpoolReader(directory).frames(start, end, max_bytes=1 << 30))


def test_frames_are_read_back_in_order_after_reopening(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, 0)
    ends = [writer.append(payload) for payload in (b"one", b"two", b"three")]
    writer.close()
    reopened = SpoolWriter(tmp_path, 0)
    assert reopened.end == ends[-1]
    reopened.close()
    assert frames(tmp_path) == list(zip(ends, [b"one", b"two", b"three"], strict=True))
    assert frames(tmp_path, start=ends[0]) == [(ends[1], b"two"), (ends[2], b"three")]
    assert frames(tmp_path, stop=ends[1]) == [(ends[0], b"one"), (ends[1], b"two")]  # never past stop
    assert list(SpoolReader(tmp_path).frames(0, ends[-1], max_bytes=1)) == [(ends[0], b"one")]


@pytest.mark.parametrize("torn", [b"\x05\x00", b"\x09\x00\x00\x00\x00\x00\x00\x00half"])
def test_a_torn_last_frame_is_cut_when_the_spool_is_opened(tmp_path: Path, torn: bytes) -> None:
    writer = SpoolWriter(tmp_path, 0)
    writer.append(b"kept")
    end = writer.append(b"kept too")
    writer.close()
    [segment] = tmp_path.glob("*.seg")
    with open(segment, "ab") as handle:  # a crash in the middle of a write (never acknowledged)
        handle.write(torn)
    reopened = SpoolWriter(tmp_path, 0)
    assert reopened.end == end and segment.stat().st_size == end
    after = reopened.append(b"next")
    reopened.close()
    assert [payload for _end, payload in frames(tmp_path)] == [b"kept", b"kept too", b"next"]
    assert frames(tmp_path)[-1][0] == after


def test_segments_rotate_and_stored_ones_are_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 30)
    writer = SpoolWriter(tmp_path, 0)
    ends = [writer.append(bytes([i]) * 30) for i in range(5)]  # 38 bytes a frame: one a segment
    assert len(segment_starts(tmp_path)) == 5
    assert [payload[0] for _end, payload in frames(tmp_path)] == [0, 1, 2, 3, 4]  # across segments
    writer.retire(ends[2])
    assert segment_starts(tmp_path) == [ends[2], ends[3]]  # the first three are stored
    assert [payload[0] for _end, payload in frames(tmp_path, start=ends[2])] == [3, 4]
    writer.retire(ends[4])
    assert segment_starts(tmp_path) == [ends[3]]  # never the segment being written
    writer.close()


def test_a_new_spool_starts_at_the_stored_position(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, 5000)  # the database has stored up to 5000 (spool wiped)
    end = writer.append(b"x")
    writer.close()
    assert frames(tmp_path, start=5000) == [(end, b"x")] and end > 5000


def test_one_server_owns_a_spool(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, 0)
    with pytest.raises(SpoolError, match="another server"):
        SpoolWriter(tmp_path, 0)
    writer.close()
    SpoolWriter(tmp_path, 0).close()  # free again once closed


# --- end to end: a real server process, crashed with SIGKILL -----------------------------------


def stored(db_url: str) -> tuple[int, int, int]:
    db = open_database(db_url)
    with db.sync.connect() as conn:
        total = conn.execute(select(func.count()).select_from(events)).scalar_one()
        distinct = conn.execute(select(func.count(events.c.client_event_id.distinct()))).scalar_one()
        visit_count = conn.execute(select(func.count()).select_from(visits)).scalar_one()
    db.sync.dispose()
    return total, distinct, visit_count


@pytest.mark.parametrize(
    ("restart_with_process", "events_apart"),
    [(True, False), (False, False), (True, True)],
    ids=["writer-process", "thread", "events-in-postgresql"],
)
def test_acknowledged_events_survive_a_crash_and_are_stored_once(
    tmp_path: Path, restart_with_process: bool, events_apart: bool, request: pytest.FixtureRequest
) -> None:
    """`events_apart`: accounts in the SQLite file, events in a PostgreSQL database
    (ANALYTICS_EVENTS_URL): the writer process reads sites there and writes events here."""
    extra = {}
    if events_apart:
        server: PostgresServer = request.getfixturevalue("postgres")
        extra["ANALYTICS_EVENTS_URL"] = server.fresh_database()
    install = Install.create(tmp_path, **extra)
    db_url, env = install.events_url, install.env
    install.cli_each(("tenants", "create", "acme"), ("sites", "add", "acme.test", "--tenant", "acme"))
    headers = {"User-Agent": CHROME_WIN, "X-Forwarded-For": "203.0.113.77"}
    with server_process(env) as (proc, base), httpx2.Client(base_url=base, timeout=10) as http:
        child = writer_child(proc.pid)
        os.kill(child, signal.SIGSTOP)  # acknowledged from the spool, not stored yet
        statuses = []
        for i in [*range(30), 7]:  # the second event 7 is a retry
            body = {
                "name": "pageview",
                "url": f"https://acme.test/p{i % 4}",
                "domain": "acme.test",
                "event_id": f"e{i}",
            }
            # one client: httpx2.post builds a client (an SSL context) per call, ~24 ms of CPU
            reply = http.post("/api/event", json=body, headers=headers)
            assert reply.status_code == 202, reply.text
            statuses.append(reply.json()["status"])
        assert statuses == ["accepted"] * 30 + ["duplicate"]  # spooled, not stored, still a duplicate
        os.kill(child, signal.SIGKILL)
        proc.kill()  # the whole server dies: nothing was stored
        proc.wait()
    assert stored(db_url) == (0, 0, 0)
    spooled = b"".join(p.read_bytes() for p in install.spool.glob("*.seg"))
    assert b"e29" in spooled  # the events are there ...
    assert b"203.0.113.77" not in spooled and b"Mozilla" not in spooled  # ... without IP or User-Agent

    env["ANALYTICS_INGEST_PROCESS"] = "true" if restart_with_process else "false"
    with server_process(env) as (_proc, base):
        retry = httpx2.post(
            f"{base}/api/event",
            json={"name": "pageview", "url": "https://acme.test/p1", "domain": "acme.test", "event_id": "e1"},
            headers=headers,
            timeout=10,
        )
        assert retry.json()["status"] == "duplicate"
    assert stored(db_url) == (30, 30, 1)  # every acknowledged event, once, in one visit
    assert not list(install.spool.glob("failed/*"))
    if events_apart:
        assert stored(install.db_url) == (0, 0, 0)  # none in the accounts database


async def test_a_writer_that_falls_behind_answers_503_then_catches_up(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="t", ingest_process=True, ingest_spool_limit=5, _env_file=None
    )  # type: ignore[call-arg]
    async with serving(settings) as (base, app):
        services: Services = app.state.services
        make_site(services)
        spooler = services.ingestor._spooler
        assert spooler is not None
        child = spooler._child._process.pid
        assert child is not None
        os.kill(child, signal.SIGSTOP)
        try:
            async with httpx2.AsyncClient(
                base_url=base, timeout=10, headers={"User-Agent": CHROME_WIN}
            ) as client:

                async def send(i: int) -> httpx2.Response:
                    body = {
                        "name": "pageview",
                        "url": "https://acme.test/",
                        "domain": "acme.test",
                        "event_id": f"b{i}",
                    }
                    return await client.post("/api/event", json=body)

                assert [(await send(i)).status_code for i in range(5)] == [202] * 5
                refused = await send(5)
                assert refused.status_code == 503 and "Retry-After" in refused.headers
                os.kill(child, signal.SIGCONT)
                deadline = time.time() + 30
                while spooler.backlog and time.time() < deadline:
                    await asyncio.sleep(0.05)
                assert (await send(5)).status_code == 202
        finally:
            os.kill(child, signal.SIGCONT)
    with services.db.sync.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 6
