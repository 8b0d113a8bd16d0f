"""The chDB writer as its own process (ANALYTICS_CHDB_WRITER=process): the server serves its chDB
engine on a loopback ClickHouse HTTP endpoint (storage/clickhouse/endpoint.py) and the writer child
stores the spool through it with the `clickhouse://` frame store.

- A served install on chdb:// stores every acknowledged event exactly once and answers the reports
  like an install on SQLite; the credential is in neither the child's command line, its
  environment nor the server's log.
- kill -9 of the server alone mid-load: its writer child exits by itself (the pipe's EOF); the
  restarted server answers retries of acknowledged events "duplicate" and stores the rest: 0 lost,
  0 duplicated.
- The endpoint refuses a request without the credential or with a wrong one (401, before any
  statement), and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from analytics_mcp.storage.clickhouse import http_statements, open_clickhouse
from analytics_mcp.storage.clickhouse.endpoint import Credential, Endpoint
from analytics_mcp.storage.clickhouse.http_statements import form_fields
from clickhouse_support import chdb_url
from reliability.test_crash_cycles import Ledger, Load
from server_process import Install, server_process, writer_child
from test_ingest_clickhouse_http import REPORTS, _install, _send, _wait, report

_READ_IDS = """
import sys, chdb
rows = chdb.connect(sys.argv[1]).query(
    "SELECT client_event_id, count() FROM analytics.events FINAL GROUP BY client_event_id", "TabSeparated"
)
sys.stdout.write(rows.bytes().decode())
"""


def _chdb_env(directory: Path) -> dict[str, str]:
    return {"ANALYTICS_EVENTS_URL": f"chdb://{directory / 'chdb'}", "ANALYTICS_CHDB_WRITER": "process"}


def _stored_ids(install: Install) -> Counter[str]:
    """Each stored event id and how often (FINAL: a newer version row of one event is one row),
    read in a child process once the server is gone (chDB: one engine per process)."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_IDS, str(install.directory / "chdb")],
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (line.split("\t") for line in done.stdout.splitlines())
    return Counter({event_id: int(n) for event_id, n in pairs})


def test_writer_process_stores_once_and_answers_like_sqlite(tmp_path: Path) -> None:
    lite, lite_token, _ = _install(tmp_path / "lite")
    house, house_token, _ = _install(tmp_path / "house", **_chdb_env(tmp_path / "house"))
    total = 40
    with ExitStack() as stack:
        started = [stack.enter_context(server_process(i.env)) for i in (lite, house)]
        writer = writer_child(started[1][0].pid)  # the chDB server's writer is a process
        child = Path(f"/proc/{writer}/cmdline").read_bytes() + Path(f"/proc/{writer}/environ").read_bytes()
        assert b"clickhouse://" not in child  # the credential reaches it through its pipe only
        servers = [stack.enter_context(httpx2.Client(base_url=b, timeout=30)) for _p, b in started]
        for i in range(total):
            for server in servers:
                assert _send(server, i, f"e{i}").status_code == 202
        lite_server, house_server = servers
        _wait(
            lambda: (
                report(house_server, house_token, "overview") == report(lite_server, lite_token, "overview")
            )
        )
        for name in REPORTS:
            expected = report(lite_server, lite_token, name)
            assert report(house_server, house_token, name) == expected, name
    assert _stored_ids(house) == Counter({f"e{i}": 1 for i in range(total)})
    assert b"clickhouse://writer" not in (house.directory / "server.log").read_bytes()


def _tenant(install: Install) -> str:
    *_, token = install.cli_each(
        ("migrate",),
        ("tenants", "create", "acme"),
        ("sites", "add", "acme.test", "--tenant", "acme"),
        ("tokens", "create", "--tenant", "acme", "--scopes", "ingest"),
    )
    return token.strip()


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":  # exited; its parent (killed) cannot reap it until init adopts it
            return True
        time.sleep(0.1)
    return False


def test_kill_9_of_the_server_mid_load_then_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    install = Install.create(tmp_path, **_chdb_env(tmp_path))
    ledger = Ledger()
    load = Load("", _tenant(install), ledger, datetime.now(UTC) - timedelta(hours=1))
    with server_process(install.env) as (proc, base):
        load.base = base
        writer = writer_child(proc.pid)

        async def killed_under_load() -> None:
            task = asyncio.create_task(load.until_cancelled(batch_size=500))
            await asyncio.sleep(2.0)
            os.kill(proc.pid, signal.SIGKILL)  # the server alone: its child must follow
            await asyncio.sleep(0.2)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(killed_under_load())
        proc.wait()
        assert _gone(writer, timeout=30), "the writer process outlived its server"
    assert len(ledger.acked) >= 1000, len(ledger.acked)
    retried = sorted(i for i in ledger.acked if i.startswith("b"))[:1000]
    with server_process(install.env) as (_proc, base):
        load.base = base
        asyncio.run(load.retries_with_new(retried, batch_size=500))
    stored = _stored_ids(install)
    assert not ledger.acked - stored.keys(), "acknowledged events lost"
    assert not {i for i, n in stored.items() if n > 1}, "events stored twice"
    assert not stored.keys() - ledger.acked - ledger.unanswered
    assert ledger.retries_checked == len(retried)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint(open_clickhouse(chdb_url("endpoint_auth")), Credential.fresh())
    yield served
    served.close()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_the_endpoint_refuses_a_request_without_its_credential(endpoint: Endpoint) -> None:
    right = endpoint.credential
    url = f"http://127.0.0.1:{endpoint.port}/"
    events = open_clickhouse(chdb_url("endpoint_auth"))
    events.command("CREATE DATABASE IF NOT EXISTS endpoint_auth")
    create = {"query": "CREATE TABLE IF NOT EXISTS endpoint_auth.never (a UInt8) ENGINE = Memory"}
    for headers in (
        {},
        _basic(right.user, right.password + "x"),
        _basic("default", ""),
        {"Authorization": "x"},
    ):
        reply = httpx2.post(url, params=create, headers=headers)
        assert reply.status_code == 401, (headers, reply.status_code)
    assert not events.rows("SELECT name FROM system.tables WHERE database = 'endpoint_auth'")
    reply = httpx2.post(url, params={"query": "SELECT 41 + 1"}, headers=_basic(right.user, right.password))
    assert (reply.status_code, reply.text) == (200, "42\n")
    assert right.password not in repr(right)


def test_the_endpoint_listens_on_loopback_only(endpoint: Endpoint) -> None:
    """The listening socket's local address in /proc/net/tcp (and none in tcp6) is 127.0.0.1."""
    port = f"{endpoint.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if local.endswith(f":{port}") and state == "0A":  # 0A: LISTEN
                listening.append(local)
    assert listening == ["0100007F:" + port]


@pytest.mark.parametrize("compress", [False, True])
def test_the_endpoint_speaks_what_the_writer_sends(
    endpoint: Endpoint, compress: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over clickhouse-connect as the writer uses it: an insert repeated with its deduplication
    token is stored once (streamed into chDB, lz4-compressed or not), and a query whose array
    parameter is too long for a URL (sent as multipart/form-data) answers over the whole array."""
    forms: list[str] = []

    def read_form(content_type: str, body: bytes) -> dict[str, str]:
        forms.append(content_type)
        return form_fields(content_type, body)

    monkeypatch.setattr(http_statements, "form_fields", read_form)  # the real parser, counted
    events = open_clickhouse(endpoint.url(), compress=compress)
    table = f"kept_{int(compress)}"
    events.command("CREATE DATABASE IF NOT EXISTS endpoint_auth")
    events.command(
        f"CREATE TABLE IF NOT EXISTS {events.table(table)} (id UInt64, page LowCardinality(String))"
        " ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100"
    )
    rows = [(i, f"/p{i % 7}") for i in range(5_000)]
    for _ in range(2):
        events.insert(table, rows, ("id", "page"), token="frame:0-1:kept")
    events.insert(table, rows[:10], ("id", "page"), token="frame:1-2:kept")
    assert events.rows(f"SELECT count(), sum(id) FROM {events.table(table)}") == [(5_010, 12_497_545)]
    wanted = list(range(0, 40_000, 2))
    found = events.rows(
        f"SELECT count() FROM {events.table(table)} WHERE id IN {{ids:Array(UInt64)}}", {"ids": wanted}
    )
    assert found == [(2_500 + 5,)]
    assert len(forms) == 1  # that query's parameters came as a form
    events.close()


def test_the_writer_killed_then_503_and_the_restart_stores_every_acknowledged_event_once(
    tmp_path: Path,
) -> None:
    """The child stalled (SIGSTOP: acknowledged from the spool only), then killed: the server
    answers 503 until it is restarted, as with the SQL writer process; the restart stores what
    was spooled, once."""
    install = Install.create(tmp_path, **_chdb_env(tmp_path))
    ledger = Ledger()
    load = Load("", _tenant(install), ledger, datetime.now(UTC) - timedelta(hours=1))

    async def batches(count: int) -> list[object]:
        async with httpx2.AsyncClient(timeout=60) as http:
            return [await load.batch(http, ledger.new_ids(500)) for _ in range(count)]

    with server_process(install.env) as (proc, base):
        load.base = base
        writer = writer_child(proc.pid)
        os.kill(writer, signal.SIGSTOP)
        assert all(isinstance(data, dict) for data in asyncio.run(batches(4)))
        os.kill(writer, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while asyncio.run(batches(1)) != [None] and time.monotonic() < deadline:
            time.sleep(0.2)  # the server notices the pipe closed, then refuses
        assert ledger.refused_503 >= 1, "a server without its writer still acknowledged events"
    with server_process(install.env) as (_proc, base):
        load.base = base
        asyncio.run(load.retries_with_new(sorted(ledger.acked)[:500], batch_size=500))
    stored = _stored_ids(install)
    assert stored.keys() == ledger.acked and set(stored.values()) == {1}
