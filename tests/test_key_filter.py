"""The stored-key filter of chDB (ingest/clickhouse/key_filter.py): a key added is never answered
"not stored", whatever the filter grew through; keys never added mostly are; until its scan of the
events has finished every key "may be stored"; loaded from chDB, prepare's lookup asks ClickHouse
about the filter's positives only and finds exactly the stored keys; and through a server on chDB,
across a restart, a retry is a duplicate while a new id is not looked up in ClickHouse."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from analytics_mcp.config import Settings
from analytics_mcp.ingest.clickhouse.key_filter import FilteredKeys, StoredKeyFilter
from analytics_mcp.ingest.clickhouse.reads import ClickHouseKeys
from analytics_mcp.services import Services
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from clickhouse_support import chdb_url
from conftest import serving
from factories import CHROME_WIN, make_site
from test_ingest_clickhouse_keys import _store
from test_ingest_replay import wait_drained


def _keys(rng: random.Random, n: int, prefix: str) -> list[tuple[str, int, str]]:
    kinds = ("event", "transaction")
    return [(rng.choice(kinds), rng.randint(1, 5), f"{prefix}{rng.getrandbits(48):x}") for _ in range(n)]


def _held(keys: StoredKeyFilter, asked: list[tuple[str, int, str]]) -> list[bool]:
    out = []
    for kind in ("event", "transaction"):
        pairs = [(site, value) for k, site, value in asked if k == kind]
        out += keys.may_hold(kind, pairs)
    return out


def test_a_key_added_is_always_held_and_others_rarely() -> None:
    rng = random.Random(3)
    keys = StoredKeyFilter(first_capacity=1_000)  # grows through 7 segments below
    keys._ready.set()
    added = _keys(rng, 60_000, "a")
    for start in range(0, len(added), 7_000):
        keys.add(added[start : start + 7_000])
    assert len(keys._segments) > 3
    assert all(_held(keys, added))
    others = _keys(rng, 200_000, "o")
    assert sum(_held(keys, others)) < 100  # about 1 in 38,000 a segment
    # the same value under another site or kind is another key
    moved = [(kind, site + 10, value) for kind, site, value in added[:20_000]]
    assert sum(_held(keys, moved)) < 50


def test_a_full_segment_answers_new_keys_rarely() -> None:
    """At its capacity a segment has BITS_PER_KEY bits a key or more (rounded up to a power of
    two): one new key in 38,000 or fewer is a false positive; fewer probes or a hash that ignores
    a part of the key (its site, its kind) shows here as hundreds."""
    rng = random.Random(5)
    keys = StoredKeyFilter(first_capacity=50_000)
    keys._ready.set()
    added = _keys(rng, 50_000, "a")
    keys.add(added)
    assert len(keys._segments) == 1 and all(_held(keys, added))
    assert sum(_held(keys, _keys(rng, 400_000, "o"))) <= 20


def test_until_loaded_every_key_may_be_stored() -> None:
    keys = StoredKeyFilter()
    assert keys.may_hold("event", [(1, "x"), (2, "y")]) == [True, True]
    keys._ready.set()
    assert keys.may_hold("event", [(1, "x"), (2, "y")]) == [False, False]


class CountingKeys(ClickHouseKeys):
    """ClickHouseKeys that remembers how many pairs it was asked about."""

    def __init__(self, events: ClickHouseEvents) -> None:
        super().__init__(events)
        self.asked = 0

    def existing(self, column: str, pairs: list[tuple[int, str | None]], *, purchase_only: bool) -> Any:
        self.asked += len(pairs)
        return super().existing(column, pairs, purchase_only=purchase_only)


def test_loaded_from_chdb_only_positives_are_looked_up() -> None:
    events = open_clickhouse(chdb_url("key_filter"))
    upgrade_clickhouse(events)
    rows = [
        (1 + n % 3, f"e{n}", f"t{n}", "purchase") if n % 5 == 0 else (1 + n % 3, f"e{n}", None, "pageview")
        for n in range(3_000)
    ]
    _store(events, rows)
    keys = StoredKeyFilter(first_capacity=500)
    keys.load(events)
    assert keys.ready
    inner = CountingKeys(events)
    filtered = FilteredKeys(inner, keys)
    asked = [(1 + n % 3, f"e{n}") for n in range(0, 3_000, 3)] + [(1, f"new{n}") for n in range(5_000)]
    found = filtered.existing("client_event_id", [*asked, (1, None)], purchase_only=False)
    assert found == {(1 + n % 3, f"e{n}") for n in range(0, 3_000, 3)}
    assert 1_000 <= inner.asked < 1_000 + 20  # the stored ones, and a false positive or so
    purchases = [(1 + n % 3, f"t{n}") for n in range(0, 3_000, 5)] + [(2, "t-new")]
    found = filtered.existing("transaction_id", purchases, purchase_only=True)
    assert found == {(1 + n % 3, f"t{n}") for n in range(0, 3_000, 5)}


def _settings(tmp_path: Path, database: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="t", events_url=chdb_url(database), _env_file=None)  # type: ignore[call-arg]


async def _send(client: httpx2.AsyncClient, key: str) -> str:
    body = {"name": "pageview", "url": "https://acme.test/x", "domain": "acme.test", "event_id": key}
    reply = await client.post("/api/event", json=body)
    assert reply.status_code == 202, reply.text
    return str(reply.json()["status"])


def _counting(services: Services, monkeypatch: pytest.MonkeyPatch) -> CountingKeys:
    filtered = services.ingestor.processor.stored_keys
    assert isinstance(filtered, FilteredKeys)
    counting = CountingKeys(filtered._inner._events)
    monkeypatch.setattr(filtered, "_inner", counting)
    return counting


async def _loaded(services: Services) -> None:
    keys = services.ingestor._stored_keys
    assert keys is not None
    deadline = time.monotonic() + 30
    while not keys.ready:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_across_a_restart_retries_are_duplicates_and_new_ids_stay_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, "key_filter_serving")
    headers = {"User-Agent": CHROME_WIN}
    async with serving(settings) as (base, app):
        services: Services = app.state.services
        make_site(services)
        await _loaded(services)
        counting = _counting(services, monkeypatch)
        async with httpx2.AsyncClient(base_url=base, timeout=10, headers=headers) as client:
            assert [await _send(client, f"k{i}") for i in range(20)] == ["accepted"] * 20
            assert await _send(client, "k3") == "duplicate"  # spooled: the spool's own keys
            await wait_drained(services)
            assert await _send(client, "k4") == "duplicate"  # stored: held since the spool let it go
        assert counting.asked <= 2  # k4 (and k3, had it been stored already): none of the 20 new ids
    async with serving(settings) as (base, app):  # a restart: the filter is read from the events
        services = app.state.services
        await _loaded(services)
        counting = _counting(services, monkeypatch)
        async with httpx2.AsyncClient(base_url=base, timeout=10, headers=headers) as client:
            assert await _send(client, "k7") == "duplicate"
            assert await _send(client, "fresh") == "accepted"
            await wait_drained(services)
        assert counting.asked == 1  # k7
        house = services.events_db
        assert isinstance(house, ClickHouseEvents)
        stored = house.rows(f"SELECT client_event_id FROM {house.table('events')} FINAL")
        assert sorted(row[0] for row in stored) == sorted([f"k{i}" for i in range(20)] + ["fresh"])
