"""Statements from different threads on one chDB engine run at once (storage/clickhouse/clients.py):
a long statement in one thread does not hold back another thread's statement, each statement's
parameters stay its own, and the pool opens no more clients than ran at once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from analytics_mcp.storage.clickhouse import open_clickhouse
from clickhouse_support import chdb_url

LONG_S = 3  # the long statement's own duration; the test waits for events, never for a time


def test_a_long_statement_does_not_hold_back_another_thread() -> None:
    events = open_clickhouse(chdb_url("clients_long"))
    marker = f"long-{uuid.uuid4().hex}"
    started = threading.Event()

    def long_statement() -> None:
        started.set()
        events.rows(
            f"SELECT sleepEachRow(1), {{m:String}} FROM numbers({LONG_S})"
            " SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0",
            {"m": marker},
        )

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(long_statement)
        started.wait()
        seen = False
        while not running.done() and not seen:  # the other thread's statements answer meanwhile
            seen = bool(
                events.rows(
                    "SELECT count() FROM system.processes WHERE query LIKE {p:String}"
                    " AND query NOT LIKE '%system.processes%'",
                    {"p": f"%{marker}%"},
                )[0][0]
            )
        assert seen, "the second thread's statement waited until the long one had finished"
        assert not running.done()
        running.result()


def test_parameters_of_concurrent_statements_stay_their_own() -> None:
    events = open_clickhouse(chdb_url("clients_params"))

    def ask(n: int) -> tuple[int, str]:
        row = events.rows("SELECT {n:UInt64} * 2, {s:String}", {"n": n, "s": f"v{n}"})[0]
        return int(row[0]), str(row[1])

    opened = events.clients.size
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(2_000)))
    assert answers == [(n * 2, f"v{n}") for n in range(2_000)]
    assert events.clients.size <= opened + 4  # one a thread at most
