"""The writer loop's gathering (writer_process.Gather, ClickHouse's few large batches): after a
batch of at least `busy` events it waits for `bytes` of frames before the next one (or a stop),
after a smaller batch it stores at once, a pause in the frames (`quiet`) ends the wait, and a store
without `gather` (SQL) never waits.

The loop is driven through its real pipe; the store here only records what it was asked to
store (the scheduling is what is under test: ClickHouse's and SQL's stores are tested elsewhere).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

from analytics_mcp.ingest.spool.writer_process import Gather, _serve

# A test that waited the 30 s would time out; frames never pause 30 s here.
WAIT = Gather(busy=20, bytes=150, seconds=30.0, quiet=30.0)


class RecordingStore:
    """Stores [position, stop) at once, as 1 event per byte; records each batch."""

    def __init__(self, gather: Gather | None) -> None:
        self.gather = gather
        self.batches: list[tuple[int, int]] = []
        self.stored = threading.Event()

    def position(self) -> int:
        return 0

    def store(self, position: int, stop: int, max_bytes: int) -> tuple[int, int]:
        self.batches.append((position, stop))
        self.stored.set()
        return stop, stop - position

    def quarantine(self, position: int, stop: int) -> int:
        raise AssertionError("nothing fails here")

    def close(self) -> None:
        pass


def _run(store: RecordingStore) -> tuple[Any, threading.Thread]:
    server_end, writer_end = multiprocessing.Pipe()
    thread = threading.Thread(target=_serve, args=(lambda: store, writer_end, True), daemon=True)
    thread.start()
    assert server_end.recv() == ("ready", 0)
    return server_end, thread


def _stored_through(store: RecordingStore, end: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (store.batches and store.batches[-1][1] >= end):
        assert time.monotonic() < deadline, store.batches
        time.sleep(0.01)


def test_after_a_busy_batch_the_next_waits_for_enough_frames() -> None:
    store = RecordingStore(WAIT)
    pipe, thread = _run(store)
    pipe.send(("spooled", 30))  # 30 events >= busy: the next batch gathers
    _stored_through(store, 30)
    for goal in (60, 100, 140, 185):  # 185 - 30 >= 150: enough
        pipe.send(("spooled", goal))
    _stored_through(store, 185)
    assert store.batches == [(0, 30), (30, 185)]
    pipe.send(("stop", 185))
    thread.join(10)
    assert not thread.is_alive()


def test_a_small_batch_is_followed_at_once_and_a_stop_ends_a_wait() -> None:
    store = RecordingStore(WAIT)
    pipe, thread = _run(store)
    pipe.send(("spooled", 5))  # under busy: the next frame is stored as soon as it is spooled
    _stored_through(store, 5)
    pipe.send(("spooled", 40))
    _stored_through(store, 40)  # 35 events: busy, so the next batch would wait for 150 bytes
    pipe.send(("spooled", 50))
    time.sleep(0.2)
    assert store.batches == [(0, 5), (5, 40)]  # waiting for more
    pipe.send(("stop", 60))  # a graceful stop stores what is spooled without waiting
    thread.join(10)
    assert not thread.is_alive() and store.batches == [(0, 5), (5, 40), (40, 60)]


def test_a_pause_in_the_frames_ends_the_wait() -> None:
    """The end of a burst is stored after `quiet`, not after `seconds` (30: _stored_through would
    time out at 10) and without `bytes` (150) spooled."""
    store = RecordingStore(Gather(busy=20, bytes=150, seconds=30.0, quiet=0.3))
    pipe, thread = _run(store)
    pipe.send(("spooled", 30))  # busy: the next batch gathers
    _stored_through(store, 30)
    pipe.send(("spooled", 60))
    pipe.send(("spooled", 70))  # then nothing more comes
    began = time.monotonic()
    _stored_through(store, 70)
    assert time.monotonic() - began >= 0.25  # it did wait for more, about `quiet`
    assert store.batches[0] == (0, 30)  # (30, 70), or (30, 60) and (60, 70) on a stalled machine
    pipe.send(("stop", 70))
    thread.join(10)
    assert not thread.is_alive()


def test_a_store_without_gather_never_waits() -> None:
    store = RecordingStore(None)
    pipe, thread = _run(store)
    for goal in (30, 60, 90):
        pipe.send(("spooled", goal))
        _stored_through(store, goal)
    assert store.batches == [(0, 30), (30, 60), (60, 90)]
    pipe.send(("stop", 90))
    thread.join(10)
    assert not thread.is_alive()
