"""The hand-off of spooled frames to a writer thread of the same process (ingest/spool/handoff.py):
the events it takes are those decoding the frame gives, each frame once, a bounded number held;
and a chDB server stores through it every acknowledged event once (the writer took the frames
from the hand-off: nothing was decoded)."""

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
from analytics_mcp.ingest.spool import codec, columns
from analytics_mcp.ingest.spool.handoff import FreshFrames, renumbered
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from clickhouse_support import chdb_url
from conftest import serving
from factories import CHROME_WIN, make_site, make_token
from test_ingest_replay import wait_drained
from test_spool_codec_compat import OneSite, prepared


def _without_private(item: PreparedEvent) -> tuple[Any, ...]:
    """What storing reads of an event: all of it but the raw IP and User-Agent (never spooled)."""
    event = dataclasses.replace(item.event, ip="", user_agent="")
    return (item.index, event, item.site, item.client, item.visitor_ids, item.hostname, item.pathname)


def test_handed_events_are_the_decoded_ones_numbered_alike() -> None:
    live = [prepared(5, ip="198.51.100.7", user_agent="UA"), prepared(9), prepared(2, items=None)]
    decoded = codec.decode(codec.encode(live), None, OneSite(), start=40)  # type: ignore[arg-type]
    handed = renumbered(live, None, OneSite(), start=40)  # type: ignore[arg-type]
    assert [item.index for item in handed] == [40, 41, 42]
    assert list(map(_without_private, handed)) == list(map(_without_private, decoded))


def test_a_deleted_sites_events_are_left_out_as_decode_leaves_them() -> None:
    live = [prepared(0), prepared(1, domain="gone.test"), prepared(2)]
    gone = dataclasses.replace(live[1].site, id=7, domain="gone.test")
    live[1].site = gone
    frame = pickle.loads(codec.encode(live))
    decoded = codec.decode(pickle.dumps(frame), None, OneSite())  # type: ignore[arg-type]
    handed = renumbered(live, None, OneSite(), start=0)  # type: ignore[arg-type]
    assert [(i.index, i.event.event_id) for i in handed] == [(0, "e0"), (1, "e2")]
    assert list(map(_without_private, handed)) == list(map(_without_private, decoded))


def test_each_frame_is_taken_once_and_earlier_ones_are_dropped() -> None:
    fresh = FreshFrames()
    first, second, third = [prepared(0)], [prepared(1), prepared(2)], [prepared(3)]
    frames = [columns.frame(live) for live in (first, second, third)]
    fresh.offer(100, first, frames[0])
    fresh.offer(200, second, frames[1])
    fresh.offer(300, third, frames[2])
    assert fresh.take(200) == (second, frames[1]) and fresh.take(200) is None
    assert fresh.events == 1  # the frame ending at 100 was read already (or set aside)
    assert fresh.take(100) is None and fresh.take(300) == (third, frames[2]) and fresh.events == 0


def test_frames_past_the_limit_are_not_held() -> None:
    fresh = FreshFrames(limit=3)
    fresh.offer(10, [prepared(0), prepared(1)], {})
    fresh.offer(20, [prepared(2), prepared(3)], {})  # 4 > 3: the writer decodes this one
    fresh.offer(30, [prepared(4)], {})
    assert fresh.events == 3
    assert fresh.take(10) is not None and fresh.take(20) is None and fresh.take(30) is not None


async def test_a_chdb_server_stores_every_acknowledged_event_once_through_the_handoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real_decode, real_compute = clickhouse_frames.decode_frame, batch.compute
    framed: list[bool] = []  # per batch: computed from its frames' columns

    def counting_decode(payload: bytes, *args: Any, **kwargs: Any) -> Any:
        decoded.append(1)
        return real_decode(payload, *args, **kwargs)

    def noting_compute(*args: Any, frames: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
        framed.append(frames is not None and sum(len(frame["site_id"]) for frame in frames) == len(args[1]))
        return real_compute(*args, frames=frames, **kwargs)

    monkeypatch.setattr(clickhouse_frames, "decode_frame", counting_decode)
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
    assert not decoded  # every frame came from the hand-off
    assert framed and all(framed)  # with its columns
