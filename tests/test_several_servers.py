"""Two `analytics-mcp serve` processes behind one PostgreSQL and one redis-server, as docs/deploy.md
runs them: each with its own data directory and spool. One visitor's events alternating between
them make the visits one server would make; the per-token rate limit holds across both; kill -9
of one under load loses no acknowledged event (its spool is replayed when it restarts)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from analytics_mcp.storage import accounts
from analytics_mcp.storage.db import open_database
from analytics_mcp.storage.schema import events, visits
from factories import CHROME_WIN
from pg_server import PostgresServer
from redis_server import available as redis_available
from redis_server import redis_server
from server_process import Install, crash, server_process, writer_child


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if not redis_available():
        pytest.fail("redis-server is not installed: `make test` installs Debian's redis-server package")
    with redis_server() as url:
        yield url


@dataclass
class Cluster:
    installs: list[Install]
    db_url: str
    token: str

    def counts(self) -> tuple[int, int]:
        db = open_database(self.db_url)
        with db.sync.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
            visit_count = conn.execute(select(func.count()).select_from(visits)).scalar_one()
        db.sync.dispose()
        return stored, visit_count

    def wait_stored(self, expected: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.counts()[0] < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.counts()[0] == expected


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two installs sharing one database (a tenant, a site, a read+ingest token) and one Redis."""
    db_url = postgres.fresh_database()
    shared = {
        "ANALYTICS_DB_URL": db_url,
        "ANALYTICS_RATE_LIMIT_STORAGE": redis_url,
        "ANALYTICS_SECRET_KEY": "one-secret-for-every-server",
    }
    root = tmp_path_factory.mktemp("servers")
    installs = [Install.create(root / name, **shared) for name in ("a", "b")]
    db = open_database(db_url)
    with db.sync.begin() as conn:
        accounts.create_tenant(conn, "acme")
        accounts.add_site(conn, "acme", "acme.test")
        _token, token = accounts.create_token(conn, "acme", name="load", scopes=("read", "ingest"))
    db.sync.dispose()
    yield Cluster(installs, db_url, token)
    postgres.drop(db_url)


@pytest.fixture(scope="module")
def bases(cluster: Cluster) -> Iterator[list[str]]:
    """Both servers running (the kill -9 test starts its own)."""
    with ExitStack() as stack:
        yield [stack.enter_context(server_process(i.env))[1] for i in cluster.installs]


def pageview(path: str) -> dict[str, Any]:
    return {"name": "pageview", "url": f"https://acme.test{path}", "domain": "acme.test"}


async def alternate(bases: list[str], visitors: int, views: int) -> None:
    """Every visitor's pageviews go to the servers in turn, all at once: both servers' writers
    see the same visitors in the same instant (the race the writers' lock settles)."""

    async def view(http: httpx2.AsyncClient, number: int, view: int) -> None:
        headers = {"User-Agent": CHROME_WIN, "X-Forwarded-For": f"198.51.100.{number}"}
        base = bases[(number + view) % len(bases)]
        reply = await http.post(f"{base}/api/event", json=pageview(f"/p{view}"), headers=headers)
        assert reply.status_code == 202, reply.text

    limits = httpx2.Limits(max_connections=visitors * views)
    async with httpx2.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(view(http, n, v) for n in range(1, visitors + 1) for v in range(views)))


def test_a_visitor_alternating_between_servers_makes_one_visit(cluster: Cluster, bases: list[str]) -> None:
    before = cluster.counts()
    asyncio.run(alternate(bases, visitors=40, views=6))
    cluster.wait_stored(before[0] + 240)
    stored, visit_count = cluster.counts()
    assert (stored - before[0], visit_count - before[1]) == (240, 40)  # as one server: 6 views a visit


def test_the_per_token_rate_limit_holds_across_servers(cluster: Cluster, bases: list[str]) -> None:
    auth = {"Authorization": f"Bearer {cluster.token}"}
    # One client: httpx2.get builds a client (an SSL context) per call, ~24 ms of CPU.
    with httpx2.Client(timeout=30) as http:
        statuses = [http.get(f"{bases[n % 2]}/api/v1/goals", headers=auth).status_code for n in range(61)]
    assert statuses == [200] * 60 + [429]  # the 61st in the minute, whichever server gets it


def test_kill_9_of_one_server_under_load_loses_no_acknowledged_event(
    cluster: Cluster, postgres: PostgresServer, redis_url: str, tmp_path: Path
) -> None:
    """Its own pair of servers and database (the others keep running for the other tests)."""
    db_url = postgres.fresh_database()
    shared = {"ANALYTICS_DB_URL": db_url, "ANALYTICS_RATE_LIMIT": "1000/minute"}
    first, second = (Install.create(tmp_path / name, **shared) for name in ("a", "b"))
    db = open_database(db_url)
    with db.sync.begin() as conn:
        accounts.create_tenant(conn, "acme")
        accounts.add_site(conn, "acme", "acme.test")
        _token, token = accounts.create_token(conn, "acme", name="load", scopes=("ingest",))
    db.sync.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    killed = Cluster([first, second], db_url, token)

    def batch(prefix: str, start: int) -> list[dict[str, Any]]:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        return [
            {**pageview(f"/b{i % 9}"), "timestamp": when, "ip": f"203.0.113.{i % 200}",
             "user_agent": CHROME_WIN, "event_id": f"{prefix}{i}"}
            for i in range(start, start + 500)
        ]  # fmt: skip

    acknowledged = 0
    with server_process(second.env) as (_other, base_b), server_process(first.env) as (proc, base_a):
        os.kill(writer_child(proc.pid), signal.SIGSTOP)  # A's events wait in its spool only
        for round_ in range(4):
            for base, prefix in ((base_a, "a"), (base_b, "b")):
                reply = httpx2.post(
                    f"{base}/api/v1/events", json=batch(prefix, round_ * 500), headers=auth, timeout=60
                )
                assert reply.status_code == 202, reply.text
                acknowledged += reply.json()["data"]["accepted"]
        crash(proc)  # kill -9 of A and its writer: 2,000 acknowledged events only in A's spool
    assert acknowledged == 4000
    killed.wait_stored(2000)  # B's are stored; A's are not yet
    with server_process(first.env):
        killed.wait_stored(4000)  # A's spool replayed on restart, into the shared database
    assert killed.counts()[0] == 4000
    postgres.drop(db_url)
