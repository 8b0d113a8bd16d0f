"""A pool of clickhouse-connect clients for one ClickHouse database, each used by one thread at a
time, so statements from different threads run at once.

A client serializes its own calls (chDB: one engine handle, whose session state `USE`/`SET` is its
own; HTTP: one server session, which ClickHouse locks per query). With one client per process
every statement waited for the one before: the writer's inserts (0.2-0.5 s a batch) held back
prepare's dedup lookup on the acknowledgement path, and every report. chDB runs statements of
different handles on one engine at the same time (clickhouse-connect's chDB backend opens one
handle per client for that reason), and a ClickHouse server does for different sessions.

The pool grows to the number of threads that ran a statement at the same moment and no further;
a client goes back to it after each statement, so short-lived threads leave nothing behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


class ClientPool:
    """Clients made by `make` on demand; `lease` lends one that no other thread is using."""

    def __init__(self, make: Callable[[], Client]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._idle: list[Client] = []
        self._every: list[Client] = []
        self.first = self._made()  # opened now: a bad URL or an unreachable server fails here
        self._idle.append(self.first)

    def _made(self) -> Client:
        client = self._make()
        with self._lock:
            self._every.append(client)
        return client

    @contextmanager
    def lease(self) -> Iterator[Client]:
        with self._lock:
            client = self._idle.pop() if self._idle else None
        if client is None:
            client = self._made()
        try:
            yield client
        finally:
            with self._lock:
                self._idle.append(client)

    @property
    def size(self) -> int:
        """How many clients the pool opened (the most statements that ran at once)."""
        with self._lock:
            return len(self._every)

    def close(self) -> None:
        with self._lock:
            clients, self._every, self._idle = self._every, [], []
        for client in clients:
            client.close()
