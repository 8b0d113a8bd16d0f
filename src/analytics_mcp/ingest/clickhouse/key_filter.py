"""Which dedup keys a chDB engine may hold, answered in memory, so prepare's lookup in ClickHouse
asks only about those.

prepare looks up every new event id of a request in the stored events (`ClickHouseKeys`). For
10,000 ids that lookup reads the site's whole `client_event_id` column (so many ids pass nearly
every granule of the bloom-filter skip index), and its cost grows with the table: 7 ms of CPU at
0 stored rows, 13 at 200,000, 32 at 1M, 49 at 2M (docs/engine-performance.md, session 6), on the
path every acknowledgement waits on. A chDB engine has one writer, this process's, so this process
can know every key it holds: a Bloom filter fed by a scan of the stored keys at start and by every
frame whose events the writer has stored (the spool releases their keys: `Spooler(stored=...)`)
answers "certainly not stored" for nearly every new id; only its positives, about one in 38,000
new keys plus the real retries, go to ClickHouse, where a handful of ids does use the skip index.

No false negatives, which would store a duplicate: a key stored before the scan's snapshot is in
the scan, one stored after it is added when the spool releases it (before it leaves the spool's
unsettled keys, which prepare checks first), and until the scan has finished every key "may be
stored". A `clickhouse://` server has other writers: there prepare keeps asking ClickHouse.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from analytics_mcp.ingest.batch_processor import DedupKey
from analytics_mcp.ingest.clickhouse.reads import ClickHouseKeys
from analytics_mcp.storage.clickhouse.client import ClickHouseEvents

log = logging.getLogger("analytics_mcp.ingest")

BITS_PER_KEY = 28
# 28 bits a key and 7 probes: a false positive for about one key in 38,000, at half the probes of
# 20 bits and 13 (one in 15,000); each probe is a numpy pass over the batch, on the acknowledgement
# path (prepare) and the release path.
PROBES = 7
FIRST_CAPACITY = 1 << 20  # keys; each further segment holds twice the one before
_STEPS = np.arange(PROBES, dtype=np.uint64)
_KINDS = {"event": np.uint64(0x9E3779B97F4A7C15), "transaction": np.uint64(0xC2B2AE3D27D4EB4F)}
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_LOW = np.uint64(0xFFFFFFFF)
_SCANS = (
    ("event", "client_event_id IS NOT NULL", "client_event_id"),
    ("transaction", "name = 'purchase' AND transaction_id IS NOT NULL", "transaction_id"),
)


def key_hashes(kind: str, sites: Sequence[int], values: Sequence[str]) -> Any:
    """64-bit hashes of (kind, site, value): Python's hash of each value (a string keeps it once
    computed), mixed with the site and the kind by splitmix64's finaliser in numpy. Python's string
    hash is fixed for the process's life, as long as the filter lives."""
    count = len(values)
    with np.errstate(over="ignore"):
        mixed = np.fromiter(map(hash, values), np.int64, count).view(np.uint64)
        mixed ^= np.fromiter(sites, np.uint64, count) * _MIX[0]
        mixed ^= _KINDS[kind]
        mixed ^= mixed >> np.uint64(30)
        mixed *= _MIX[0]
        mixed ^= mixed >> np.uint64(27)
        mixed *= _MIX[1]
        mixed ^= mixed >> np.uint64(31)
    return mixed


_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)


def _pair_hashes(kind: str, pairs: Sequence[tuple[int, str]]) -> Any:
    return key_hashes(kind, list(map(_FIRST, pairs)), list(map(_SECOND, pairs)))


class _Segment:
    """One Bloom filter of `capacity` keys: PROBES bits a key by double hashing."""

    def __init__(self, capacity: int) -> None:
        bits = 1 << max(6, (capacity * BITS_PER_KEY - 1).bit_length())
        self.capacity = capacity
        self.count = 0
        self._mask = np.uint64(bits - 1)
        self._bytes = np.zeros(bits // 8, np.uint8)

    def add(self, hashes: Any) -> None:
        with np.errstate(over="ignore"):
            first, step = hashes & _LOW, (hashes >> np.uint64(32)) | np.uint64(1)
            positions = ((first[:, None] + _STEPS[None, :] * step[:, None]) & self._mask).ravel()
        bits = np.left_shift(np.uint8(1), (positions & np.uint64(7)).astype(np.uint8))
        np.bitwise_or.at(self._bytes, (positions >> np.uint64(3)).astype(np.intp), bits)
        self.count += len(hashes)

    def holds(self, hashes: Any) -> Any:
        """Which hashes have all their bits set. Probe by probe over the keys still in question: a
        key not added mostly fails its first probes, so a batch of new keys costs about two probes."""
        candidates = np.arange(len(hashes))
        with np.errstate(over="ignore"):
            first, step = hashes & _LOW, (hashes >> np.uint64(32)) | np.uint64(1)
            for probe in _STEPS:
                positions = (first + probe * step) & self._mask
                found = self._bytes[(positions >> np.uint64(3)).astype(np.intp)]
                keep = ((found >> (positions & np.uint64(7)).astype(np.uint8)) & 1).astype(np.bool_)
                candidates, first, step = candidates[keep], first[keep], step[keep]
                if not len(candidates):
                    break
        held = np.zeros(len(hashes), np.bool_)
        held[candidates] = True
        return held


class StoredKeyFilter:
    """The keys a chDB engine may hold (see the module's docstring). Thread-safe."""

    def __init__(self, first_capacity: int = FIRST_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._segments = [_Segment(first_capacity)]
        self._ready = threading.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def add(self, keys: Sequence[DedupKey]) -> None:
        """Keys now stored (the spool's released keys, or what the scan read)."""
        kinds = list(map(_FIRST, keys))
        sites, values = list(map(_SECOND, keys)), list(map(_THIRD, keys))
        if kinds.count("event") == len(kinds):  # the usual frame: event ids only
            self._add_hashes(key_hashes("event", sites, values))
            return
        for kind in set(kinds):
            chosen = [i for i, k in enumerate(kinds) if k == kind]
            self._add_hashes(key_hashes(kind, [sites[i] for i in chosen], [values[i] for i in chosen]))

    def _add_hashes(self, hashes: Any) -> None:
        with self._lock:
            last = self._segments[-1]
            if last.count + len(hashes) > last.capacity:
                last = _Segment(2 * max(last.capacity, len(hashes)))
                self._segments.append(last)
            last.add(hashes)

    def may_hold(self, kind: str, pairs: Sequence[tuple[int, str]]) -> list[bool]:
        """For each (site, value): False when it is certainly not stored."""
        held = np.zeros(len(pairs), np.bool_)
        held[self.positives(kind, pairs)] = True
        return list(held.tolist())

    def positives(self, kind: str, pairs: Sequence[tuple[int, str]]) -> list[int]:
        """The indexes of the (site, value) pairs that may be stored (all, until loaded)."""
        if not self._ready.is_set() or not pairs:
            return list(range(len(pairs)))
        hashes = _pair_hashes(kind, pairs)
        with self._lock:
            segments = list(self._segments)
        held = np.zeros(len(pairs), np.bool_)
        for segment in segments:
            held |= segment.holds(hashes)
        return list(np.flatnonzero(held).tolist())

    def load(self, events: ClickHouseEvents) -> None:
        """Add every stored key (a scan of the events), then answer from the filter. Call after the
        spool feeds `add`, so no key stored meanwhile is missed. An error leaves it unready."""
        try:
            for kind, condition, column in _SCANS:
                sql = f"SELECT site_id, {column} FROM {events.table('events')} WHERE {condition}"
                for sites, values in events.column_blocks(sql):
                    self._add_hashes(key_hashes(kind, sites, values))
        except Exception:
            log.exception("the stored-key filter could not read the events; dedup asks ClickHouse")
            return
        self._ready.set()

    def load_in_background(self, events: ClickHouseEvents) -> threading.Thread:
        thread = threading.Thread(target=self.load, args=(events,), name="stored-key-filter", daemon=True)
        thread.start()
        return thread


class FilteredKeys:
    """`StoredKeys` for prepare: the filter's positives only, looked up in ClickHouse."""

    def __init__(self, inner: ClickHouseKeys, keys: StoredKeyFilter) -> None:
        self._inner = inner
        self._keys = keys

    def existing(
        self, column: str, pairs: list[tuple[int, str | None]], *, purchase_only: bool
    ) -> set[tuple[Any, ...]]:
        given = [(site_id, value) for site_id, value in pairs if value is not None]
        kind = "event" if column == "client_event_id" else "transaction"
        asked: list[tuple[int, str | None]] = [given[i] for i in self._keys.positives(kind, given)]
        return self._inner.existing(column, asked, purchase_only=purchase_only) if asked else set()
