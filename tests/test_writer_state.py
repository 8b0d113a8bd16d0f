"""The sole writer's memory of its own plans (ingest/clickhouse/frames.py `_known`), on chDB in
process: a batch after its own stored batch takes the next version and first free ids from it
without reading every table's ids, the same ones `state.next_free` reads; after another writer's
batch (the direct writer on the same engine) it reads them again, and no id is given twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics_mcp.ingest.clickhouse import state
from analytics_mcp.ingest.clickhouse.frames import ClickHouseFrames, ClickHouseWriter
from analytics_mcp.ingest.spool.codec import encode
from analytics_mcp.ingest.spool.frames import SpoolWriter
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents
from factories import make_site
from test_ingest_clickhouse_faults import _pending, _settings


def test_the_next_batch_after_the_writers_own_is_planned_from_memory_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.build(_settings(tmp_path, "writer_state"))
    make_site(services)
    house = services.events_db
    assert isinstance(house, ClickHouseEvents)
    spool_dir, ends = tmp_path / "spool", []
    spool = SpoolWriter(spool_dir, 0)
    for frame in range(4):
        with services.db.reader.begin() as conn:
            live, _ = services.ingestor.processor.prepare(conn, _pending(30, f"s{frame}-"))
        ends.append(spool.append(encode(live)))
    spool.close()
    reads: list[tuple[int, dict[str, int]]] = []
    real_next_free = state.next_free

    def noted_next_free(events: ClickHouseEvents) -> tuple[int, dict[str, int]]:
        reads.append(real_next_free(events))
        return reads[-1]

    monkeypatch.setattr(state, "next_free", noted_next_free)
    writer = ClickHouseWriter(house, services.db, tmp_path / "data")
    assert writer.sole_writer
    store = ClickHouseFrames(writer, spool_dir)
    assert store.store(0, ends[-1], max_bytes=1) == (ends[0], 30)  # one frame a batch
    assert len(reads) == 1  # the first batch of the process reads them
    expected = real_next_free(house)
    assert store.store(ends[0], ends[-1], max_bytes=1) == (ends[1], 30)
    assert len(reads) == 1  # from memory
    assert _plan(house, ends[0]) == expected  # what reading them gives
    with services.db.reader.begin() as conn:  # another writer of the same engine
        live, _ = services.ingestor.processor.prepare(conn, _pending(30, "direct-"))
    ClickHouseWriter(house, services.db, tmp_path / "data").store_now(live)
    assert store.store(ends[1], ends[-1], max_bytes=1) == (ends[2], 30)
    assert len(reads) == 3  # the direct writer's, then ours again: its batch came after
    assert store.store(ends[2], ends[-1], max_bytes=1) == (ends[3], 30)
    assert len(reads) == 3 and store.position() == ends[3]
    ids = house.rows(f"SELECT count(), uniqExact(id) FROM {house.table('events')} FINAL")[0]
    assert tuple(ids) == (150, 150)
    visits = house.rows(f"SELECT count(), uniqExact(id) FROM {house.table('visits')} FINAL")[0]
    assert visits[0] == visits[1] > 0


def _plan(events: ClickHouseEvents, position: int) -> tuple[int, dict[str, Any]]:
    """The version and bases of the spool's plan of the batch at `position`."""
    rows = events.rows(
        f"SELECT version, {', '.join(f'{c}_base' for c in state.COUNTERS)} FROM "
        f"{events.table('ingest_spool')} WHERE position = {{p:UInt64}} AND seq % 2 = 0",
        {"p": position},
    )
    version, *bases = rows[0]
    return int(version), {c: int(b) for c, b in zip(state.COUNTERS, bases, strict=True)}
