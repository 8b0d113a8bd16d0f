"""The hand-off of spooled frames to a writer thread of the same process (ingest/spool/handoff.py)
and the events the writer reads from frames on demand (spool/frame_events.py): they are those
decoding the frames gives, each frame is taken once, a bounded number held; and a chDB server
stores through it every acknowledged event once (the writer took the frames from the hand-off:
nothing was unpickled)."""

from __future__ import annotations

import dataclasses
import pickle
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from analytics_mcp.config import Settings
from analytics_mcp.ingest.clickhouse import batch
from analytics_mcp.ingest.clickhouse import frames as clickhouse_frames
from analytics_mcp.ingest.event import PreparedEvent
from analytics_mcp.ingest.spool import codec, columns, spooler
from analytics_mcp.ingest.spool.frame_events import framed_events
from analytics_mcp.ingest.spool.handoff import FreshFrames
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from clickhouse_support import chdb_url
from conftest import serving
from factories import CHROME_WIN, make_site, make_token
from test_ingest_replay import wait_drained
from test_spool_codec_compat import OneSite, prepared


def _frame(live: list[PreparedEvent]) -> dict[str, Any]:
    frame: dict[str, Any] = pickle.loads(codec.encode(live))
    return frame


def test_framed_events_are_the_decoded_ones_numbered_alike() -> None:
    first = [prepared(5, ip="198.51.100.7", user_agent="UA"), prepared(9), prepared(2, items=None)]
    second = [prepared(3, items=None, user_id=None, traits=None, country=None), prepared(4)]
    frames = [_frame(first), _frame(second)]
    decoded = codec.decode(pickle.dumps(frames[0]), None, OneSite())  # type: ignore[arg-type]
    decoded += codec.decode(pickle.dumps(frames[1]), None, OneSite(), start=3)  # type: ignore[arg-type]
    framed = framed_events(frames, columns.sites_now(frames, None, OneSite()))  # type: ignore[arg-type]
    assert framed is not None and len(framed) == 5
    assert [item.index for item in framed] == [0, 1, 2, 3, 4]
    assert list(framed) == decoded  # the raw IP and User-Agent were never spooled: "" in both
    assert framed[-1] == decoded[-1] and framed[1:3] == decoded[1:3]
    assert framed.sites() == [item.site for item in decoded]
    assert framed[4] is framed[4]  # built once: the writer may change what it read
    with pytest.raises(IndexError):
        framed[5]


def test_frames_with_a_deleted_sites_events_are_decoded_instead() -> None:
    live = [prepared(0), prepared(1, domain="gone.test"), prepared(2)]
    live[1].site = dataclasses.replace(live[1].site, id=7, domain="gone.test")
    frames = [_frame(live)]
    assert framed_events(frames, columns.sites_now(frames, None, OneSite())) is None  # type: ignore[arg-type]
    events, kept = clickhouse_frames._events(list(frames), None, OneSite())  # type: ignore[arg-type]
    assert [(i.index, i.event.event_id) for i in events] == [(0, "e0"), (1, "e2")]
    assert kept is None  # the frame no longer holds exactly the batch's events


def test_each_frame_is_taken_once_and_earlier_ones_are_dropped() -> None:
    fresh = FreshFrames()
    frames = [_frame(live) for live in ([prepared(0)], [prepared(1), prepared(2)], [prepared(3)])]
    fresh.offer(100, frames[0])
    fresh.offer(200, frames[1])
    fresh.offer(300, frames[2])
    assert fresh.take(200) is frames[1] and fresh.take(200) is None
    assert fresh.events == 1  # the frame ending at 100 was read already (or set aside)
    assert fresh.take(100) is None and fresh.take(300) is frames[2] and fresh.events == 0


def test_frames_past_the_limit_are_not_held() -> None:
    fresh = FreshFrames(limit=3)
    fresh.offer(10, _frame([prepared(0), prepared(1)]))
    fresh.offer(20, _frame([prepared(2), prepared(3)]))  # 4 > 3: the writer reads this one
    fresh.offer(30, _frame([prepared(4)]))
    assert fresh.events == 3
    assert fresh.take(10) is not None and fresh.take(20) is None and fresh.take(30) is not None


async def test_a_chdb_server_stores_every_acknowledged_event_once_through_the_handoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real_load, real_compute = codec.load, batch.compute
    framed: list[bool] = []  # per batch: computed from its frames' columns

    def counting_load(payload: bytes) -> Any:
        decoded.append(1)
        return real_load(payload)

    def noting_compute(*args: Any, frames: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
        framed.append(frames is not None and sum(len(frame["site_id"]) for frame in frames) == len(args[1]))
        return real_compute(*args, frames=frames, **kwargs)

    real_prepare = spooler.prepare_frame
    fast: list[bool] = []  # per request: prepared straight to its frame (prepare_columns.py)

    def noting_prepare(*args: Any) -> Any:
        answer = real_prepare(*args)
        fast.append(answer is not None and args[2]._building is not None)  # no event built
        return answer

    monkeypatch.setattr(codec, "load", counting_load)
    monkeypatch.setattr(spooler, "prepare_frame", noting_prepare)
    monkeypatch.setattr(batch, "compute", noting_compute)
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="t", events_url=chdb_url("spool_handoff"), _env_file=None
    )  # type: ignore[call-arg]
    now = int(time.time() * 1000)
    lines = [
        {"name": "pageview", "url": f"https://acme.test/p{n % 7}", "domain": "acme.test",
         "event_id": f"h{n}", "ip": f"198.51.100.{n % 5 + 1}", "user_agent": CHROME_WIN,
         "timestamp": datetime.fromtimestamp((now - 60_000 + n) / 1000, UTC).isoformat()}
        for n in range(300)
    ]  # fmt: skip
    async with serving(settings) as (base, app):
        services: Services = app.state.services
        make_site(services)
        auth = {"Authorization": f"Bearer {make_token(services, scopes=('ingest',))}"}
        async with httpx2.AsyncClient(base_url=base, timeout=30, headers=auth) as client:
            for start in range(0, 300, 100):
                reply = await client.post("/api/v1/events", json=lines[start : start + 100])
                assert reply.status_code == 202 and reply.json()["data"]["accepted"] == 100
            await wait_drained(services)
        house = services.events_db
        assert isinstance(house, ClickHouseEvents)
    rows = house.rows(
        f"SELECT client_event_id, count() FROM {house.table('events')} FINAL GROUP BY client_event_id"
    )
    assert sorted(r[0] for r in rows) == sorted(f"h{n}" for n in range(300))
    assert {r[1] for r in rows} == {1}
    assert not decoded  # every frame came from the hand-off, not unpickled again
    assert framed and all(framed)  # with its columns
    assert fast and all(fast)  # plain batches, every event new: no PendingEvent, no PreparedEvent made
