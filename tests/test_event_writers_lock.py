"""Two event writers on one PostgreSQL database (two servers' writer processes) must not both
read the open visits and the next row ids before either commits: the second would start a
second visit for the same visitor and reuse the first's row ids. The writers' advisory lock
makes the second wait for the first's commit, then see its rows."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.bulk_import import validate_line
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events, visits
from factories import event, make_site

pytestmark = pytest.mark.backends("postgresql")


def one_visitor(prefix: str, start_ms: int, ip: str = "10.9.8.7") -> list[PendingEvent]:
    """Three pageviews of one visitor, a second apart."""
    out = []
    for i in range(3):
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start_ms / 1000 + i)) + "Z"
        raw: dict[str, Any] = event(when, f"/{prefix}{i}", event_id=f"{prefix}{i}", ip=ip)
        pending = validate_line(raw, now_ms=int(time.time() * 1000))
        assert isinstance(pending, PendingEvent), pending
        out.append(pending)
    return out


def test_a_second_writer_waits_for_the_first_and_joins_its_visit(services: Services) -> None:
    make_site(services)
    start_ms = int(time.time() * 1000) - 600_000
    first, second = BatchProcessor(), BatchProcessor()
    for processor in (first, second):  # the day's salt exists and is cached, as in steady state
        with services.db.sync.begin() as conn:
            processor.process(conn, one_visitor(f"warm{id(processor)}-", start_ms, ip="10.1.1.1"))
    done: list[Exception | None] = []

    def second_writer() -> None:
        try:
            with services.db.sync.begin() as conn:
                live, _ = second.prepare(conn, one_visitor("b", start_ms + 5_000))
                second.store(conn, live)
            done.append(None)
        except Exception as error:  # reported to the test thread below
            done.append(error)

    with services.db.sync.begin() as conn:
        live, _ = first.prepare(conn, one_visitor("a", start_ms))
        first.store(conn, live)  # holds the lock until this transaction commits
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second writer did not wait for the first's commit"
    thread.join(timeout=30)
    assert done == [None]
    with services.db.sync.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
        visit_count = conn.execute(select(func.count()).select_from(visits)).scalar_one()
    assert (stored, visit_count) == (12, 2)  # one visit per visitor, as one writer makes
