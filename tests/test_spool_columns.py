"""Column frames (ingest/spool/columns.py), what this version spools: they decode to the same
events as frames of the previous kind (one tuple per event), which still decode, so a spool an
older server left is stored after an upgrade (replayed below beside new frames)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from analytics_mcp.ingest import bulk_import
from analytics_mcp.ingest.batch_processor import BatchProcessor, dedup_keys
from analytics_mcp.ingest.event import ColumnBatch, joined_batches
from analytics_mcp.ingest.spool import codec
from analytics_mcp.ingest.spool import columns as spool_columns
from analytics_mcp.ingest.spool.frames import SpoolReader, SpoolWriter
from analytics_mcp.ingest.spool.storing import store_frames
from analytics_mcp.services import Services
from factories import make_site
from test_ingest_replay import batch, counts
from test_plain_batch import PLAIN
from test_spool_codec_compat import OneSite, prepared


def mixed() -> list[Any]:
    return [
        prepared(0),
        prepared(1, items=None, user_id=None, traits=None, country=None, name="pageview"),
        prepared(2, event_id=None, transaction_id=None, revenue=None, currency=None),
        prepared(3, hash_routing=True, interactive=False, props=None, items=None),
    ]


def decoded(payload: bytes) -> list[Any]:
    return codec.decode(payload, None, OneSite())  # type: ignore[arg-type]


def test_a_column_frame_decodes_to_its_events_as_the_previous_kind_does() -> None:
    live = mixed()
    payload = codec.encode(live)
    assert isinstance(pickle.loads(payload), dict)  # the new kind
    assert decoded(payload) == live
    assert decoded(codec.encode_rows(live)) == live


def test_both_kinds_give_the_same_dedup_keys() -> None:
    live = mixed()
    for payload in (codec.encode(live), codec.encode_rows(live)):
        keys, count = codec.frame_keys(payload)
        assert sorted(keys) == sorted(dedup_keys(live)) and count == len(live)


def test_an_empty_frame_decodes_to_nothing() -> None:
    assert decoded(codec.encode([])) == [] and codec.frame_keys(codec.encode([])) == ([], 0)


def test_a_deleted_site_drops_its_events_and_the_rest_are_renumbered() -> None:
    live = [prepared(0, domain="gone.test"), prepared(1), prepared(2)]
    frame = pickle.loads(codec.encode(live))
    frame["domain"] = ("gone.test", *frame["domain"][1:])
    frame["site_id"] = (7, *frame["site_id"][1:])
    got = decoded(pickle.dumps(frame))
    assert [(item.index, item.event.event_id) for item in got] == [(0, "e1"), (1, "e2")]


def test_a_field_a_frame_lacks_takes_its_default() -> None:
    live = [prepared(0, user_id=None, traits=None), prepared(1, user_id=None, traits=None, props=None)]
    frame = pickle.loads(codec.encode(live))
    assert {"user_id", "traits"} <= set(frame["absent"]) and "props" in frame["events"]
    frame["absent"] = [name for name in frame["absent"] if name not in ("user_id", "traits")]
    assert decoded(pickle.dumps(frame)) == live  # as a frame written before they existed
    for name in (*frame.pop("absent"), "user_id", "traits"):  # one before fields could be absent
        frame["events"][name] = (None, None)
    assert decoded(pickle.dumps(frame)) == live


def test_a_spool_from_before_the_upgrade_is_stored_with_new_frames(
    services: Services, tmp_path: Path
) -> None:
    make_site(services)
    processor = BatchProcessor()
    with services.db.sync.begin() as conn:
        old, _ = processor.prepare(conn, batch("old", 40))
        new, _ = processor.prepare(conn, batch("new", 60))
    spool = SpoolWriter(tmp_path / "spool", 0)
    spool.append(codec.encode_rows(old))  # what the previous version spooled
    end = spool.append(codec.encode(new))
    spool.close()
    moved, stored = store_frames(
        services.db, processor, SpoolReader(tmp_path / "spool"), 0, end, max_bytes=1 << 20
    )
    assert (moved, stored) == (end, 100)
    assert counts(services) == (100, 100)


def test_a_column_batch_gives_the_frame_its_events_give(services: Services) -> None:
    """The route's columns (a ColumnBatch) go into the frame as they are: the same bytes as
    reading every prepared event back; with an event dropped, the events are read as before."""
    make_site(services)
    stamp = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    lines = [
        dict(PLAIN, domain="acme.test", url=f"https://acme.test/{i % 3}", event_id=f"c{i}", timestamp=stamp)
        for i in range(30)
    ]
    lines[4] = {**lines[4], "hash": True, "name": "signup", "scroll_depth": 7, "language": "de"}
    lines[9] = {**lines[9], "referrer": "", "ip": "8.8.8.8"}  # a country, set by prepare
    body = b"\n".join(map(orjson.dumps, lines))
    batch = bulk_import.plain_body(body)
    assert isinstance(batch, ColumnBatch) and len(batch) == 30
    processor = BatchProcessor()
    with services.db.sync.begin() as conn:
        live, _ = processor.prepare(conn, batch)
    assert len(live) == 30 and codec.encode(live, batch) == codec.encode(live)
    events = [item.event for item in live]
    assert spool_columns._given_columns(batch, events)  # taken from the columns, not read back
    assert not spool_columns._given_columns(batch, events[1:])
    assert codec.encode(live[1:], batch) == codec.encode(live[1:])  # one dropped: read back
    assert codec.encode(live[::-1], batch) == codec.encode(live[::-1])


def test_requests_gathered_into_one_batch_keep_their_columns(services: Services) -> None:
    """Several requests stored as one batch (group_commit): ColumnBatches joined give a ColumnBatch
    whose frame is the one its events give; with a request of another kind, a plain list."""
    make_site(services)
    stamp = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    parts = []
    for request in range(3):
        lines = [
            dict(PLAIN, domain="acme.test", url=f"https://acme.test/{i % 4}", event_id=f"j{request}-{i}",
                 timestamp=stamp) | ({"language": "fr", "scroll_depth": 3} if request == 1 else {})
            for i in range(10)
        ]  # fmt: skip
        batch = bulk_import.plain_body(b"\n".join(map(orjson.dumps, lines)))
        assert isinstance(batch, ColumnBatch)
        if request == 2:
            del batch.columns["language"]  # a field not given: None for each of its events
            for event in batch:
                event.language = None
        parts.append(batch)
    joined = joined_batches(parts)
    assert isinstance(joined, ColumnBatch) and list(joined) == [e for part in parts for e in part]
    assert joined.columns["language"] == [None] * 10 + ["fr"] * 10 + [None] * 10
    processor = BatchProcessor()
    with services.db.sync.begin() as conn:
        live, _ = processor.prepare(conn, joined)
    events = [item.event for item in live]
    assert spool_columns._given_columns(joined, events)  # taken from the joined columns
    assert codec.encode(live, joined) == codec.encode(live)
    mixed = joined_batches([parts[0], list(parts[1])])
    assert type(mixed) is list and mixed == [*parts[0], *parts[1]]
