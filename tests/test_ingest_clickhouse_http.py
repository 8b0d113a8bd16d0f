"""The HTTP client path to ClickHouse (issue 14): `analytics-mcp serve` in a child process with
ANALYTICS_EVENTS_URL=clickhouse://127.0.0.1:PORT/analytics, against the loopback ClickHouse HTTP
endpoint over chDB (tests/clickhouse_http.py), exactly as against a server: migrate, ingest
(the writer is a separate process here), reports.

- Tracker events into it and into an install on SQLite answer the same reports.
- ClickHouse down mid-load (the endpoint killed): 202 from the spool up to its limit, then 503
  with Retry-After; the endpoint back on its port: every acknowledged event stored exactly once.
- Raw export and A/B testing over the same path answer byte for byte / value for value like SQLite.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import orjson
import pytest

from ab_support import body
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.timeutil import utcnow_iso
from clickhouse_http import clickhouse_endpoint
from factories import CHROME_WIN, event
from server_process import Install, server_process

FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
REPORTS = ("overview", "timeseries", "pages", "referrers", "browsers", "operating-systems", "devices")


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The endpoint's chDB directory and port (its process is killed at the end)."""
    with clickhouse_endpoint(tmp_path / "chdb", tmp_path / "clickhouse.log") as (_proc, port):
        yield tmp_path / "chdb", port


def _install(directory: Path, *more: Sequence[str], **extra: str) -> tuple[Install, str, list[str]]:
    """Migrated, with the tenant acme, the site acme.test and a read token, then the commands
    `more`: (install, token, their outputs), all in one child process."""
    install = Install.create(directory, **extra)
    outputs = install.cli_each(
        ("migrate",),
        ("tenants", "create", "acme"),
        ("sites", "add", "acme.test", "--tenant", "acme"),
        ("tokens", "create", "--tenant", "acme", "--scopes", "read"),
        *more,
    )
    return install, outputs[3].strip(), outputs[4:]


def _event(i: int, key: str) -> tuple[dict[str, str], dict[str, str]]:
    """A pageview from one of 7 visitors (3 browsers), on 5 pages, some from a referrer."""
    body = {"name": "pageview", "url": f"https://acme.test/p{i % 5}", "domain": "acme.test", "event_id": key}
    if i % 3 == 0:
        body["referrer"] = f"https://ref{i % 2}.example/"
    agent = (CHROME_WIN, FIREFOX_MAC, IPHONE)[i % 3]
    return body, {"User-Agent": agent, "X-Forwarded-For": f"203.0.113.{i % 7}"}


def _send(server: httpx2.Client, i: int, key: str) -> httpx2.Response:
    """Through one client per server: httpx2.post builds a client (an SSL context) per call, ~24 ms
    of CPU each."""
    body, headers = _event(i, key)
    return server.post("/api/event", json=body, headers=headers)


def _send_until_taken(server: httpx2.Client, i: int, key: str, timeout: float = 60) -> httpx2.Response:
    """Send as a tracker does: again after Retry-After while the answer is 503 (the spool's
    frames are settled a moment after their rows become visible, so it can still be full)."""
    deadline = time.monotonic() + timeout
    reply = _send(server, i, key)
    while reply.status_code == 503 and time.monotonic() < deadline:
        time.sleep(min(float(reply.headers.get("Retry-After", "1")), 0.5))
        reply = _send(server, i, key)
    return reply


def _stored_ids(events: ClickHouseEvents) -> list[str]:
    # FINAL: a pageview whose gap changed has a newer version row; another id would show twice
    return [row[0] for row in events.rows(f"SELECT client_event_id FROM {events.table('events')} FINAL")]


def _timeless(dump: object) -> object:
    """Without durations (each server stamps the events it receives, a few ms apart from the other)
    and without `data_through` (the moment of the answer, to the second: two answers a second apart
    under load never agreed on it, which failed this test)."""
    if isinstance(dump, dict):
        return {k: _timeless(v) for k, v in dump.items() if "duration" not in k and k != "data_through"}
    return [_timeless(v) for v in dump] if isinstance(dump, list) else dump


def report(server: httpx2.Client, token: str, name: str) -> object:
    """One report of acme.test over the last 7 days, without what differs between two servers."""
    reply = server.get(
        f"/api/v1/stats/{name}",
        params={"period": "7d", "site": "acme.test"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text
    return _timeless(reply.json())


def _wait(condition: object, timeout: float = 120) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert condition(), "not stored in time"


def test_serve_over_http_stores_and_answers_like_sqlite(tmp_path: Path, endpoint: tuple[Path, int]) -> None:
    _path, port = endpoint
    url = f"clickhouse://127.0.0.1:{port}/analytics"
    lite, lite_token, _ = _install(tmp_path / "lite")
    house, house_token, _ = _install(tmp_path / "house", ANALYTICS_EVENTS_URL=url)
    events = open_clickhouse(url)  # the test reads over HTTP too
    total = 40
    with ExitStack() as stack:
        bases = [stack.enter_context(server_process(i.env))[1] for i in (lite, house)]
        servers = [stack.enter_context(httpx2.Client(base_url=base, timeout=30)) for base in bases]
        for i in range(total):
            for server in servers:
                assert _send(server, i, f"e{i}").status_code == 202
        _wait(lambda: len(_stored_ids(events)) == total)

        lite_server, house_server = servers

        def overviews() -> tuple[object, object]:
            return report(house_server, house_token, "overview"), report(lite_server, lite_token, "overview")

        try:
            _wait(lambda: operator.eq(*overviews()))
        except AssertionError:  # failed once in a loaded full run: show what differs
            house_overview, lite_overview = overviews()
            assert house_overview == lite_overview
            raise
        for name in REPORTS:
            expected = report(lite_server, lite_token, name)
            assert report(house_server, house_token, name) == expected, name
        overview = report(house_server, house_token, "overview")
    assert f'"pageviews": {total}' in str(overview).replace("'", '"'), overview
    assert sorted(_stored_ids(events)) == sorted(f"e{i}" for i in range(total))
    events.close()


def test_clickhouse_down_over_http_then_back_stores_every_acknowledged_event_once(tmp_path: Path) -> None:
    path, log = tmp_path / "chdb", tmp_path / "clickhouse.log"
    with ExitStack() as stack:
        endpoint, port = stack.enter_context(clickhouse_endpoint(path, log))
        url = f"clickhouse://127.0.0.1:{port}/analytics"
        house, _token, _ = _install(
            tmp_path / "house", ANALYTICS_EVENTS_URL=url, ANALYTICS_INGEST_SPOOL_LIMIT="30"
        )
        events = open_clickhouse(url)
        _server, base = stack.enter_context(server_process(house.env))
        server = stack.enter_context(httpx2.Client(base_url=base, timeout=10))
        acknowledged = [f"a{i}" for i in range(10) if _send(server, i, f"a{i}").status_code == 202]
        assert len(acknowledged) == 10
        _wait(lambda: len(_stored_ids(events)) == 10)
        answers: dict[str, httpx2.Response] = {}
        for i in range(70):  # ClickHouse goes down while the writer stores the first of these
            if i == 15:
                endpoint.kill()
                endpoint.wait()
            answers[f"d{i}"] = _send(server, i, f"d{i}")
            if i == 16:  # a retry while it is down of an event acknowledged since (in the spool
                # only: whether d3 was stored before the kill depends on the writer's speed)
                retry = _send(server, 15, "d15")
                assert retry.json().get("status") == "duplicate", (retry.status_code, retry.text)
        codes = [r.status_code for r in answers.values()]
        assert set(codes) == {202, 503}, codes
        first_refusal = codes.index(503)
        assert set(codes[first_refusal:]) == {503}, codes  # nothing is stored while it is down
        assert "Retry-After" in answers[f"d{first_refusal}"].headers
        acknowledged += [key for key, reply in answers.items() if reply.status_code == 202]
        with clickhouse_endpoint(path, log, port):  # back on its port, over the same data
            _wait(lambda: len(_stored_ids(events)) >= len(acknowledged), timeout=180)
            retried = _send_until_taken(server, 4, "d4")  # rows show before the spool settles
            assert retried.json().get("status") == "duplicate", (retried.status_code, retried.text)
            ids = _stored_ids(events)
            events.close()
    assert sorted(ids) == sorted(acknowledged)  # every acknowledged event once, nothing refused


def _same_salts(*installs: Install) -> None:
    """Yesterday's and today's salt, the same in every install (visitor ids, and so the exports'
    visitor hashes, depend on them; with ClickHouse events the salts live in the accounts file)."""
    now, created_at = datetime.now(UTC), utcnow_iso()
    for install in installs:
        with sqlite3.connect(install.directory / "analytics.db") as conn:
            for day in (now.date() - timedelta(days=1), now.date()):
                salt = hashlib.blake2b(str(day).encode(), digest_size=16).digest()
                conn.execute("INSERT INTO salts VALUES (?, ?, ?)", (str(day), salt, created_at))


def _batch(now: datetime) -> list[dict[str, object]]:
    """Pageviews, purchases with items and a custom event of 9 visitors over the last 20 hours,
    with explicit times (both servers store the same instants)."""
    lines: list[dict[str, object]] = []
    for i in range(120):
        when = (now - timedelta(minutes=10 * (120 - i))).isoformat(timespec="milliseconds")
        who = {"ip": f"198.51.100.{i % 9}", "user_agent": (CHROME_WIN, FIREFOX_MAC, IPHONE)[i % 3]}
        lines.append(event(when.replace("+00:00", "Z"), f"/p{i % 4}", event_id=f"b{i}", **who))
        if i % 10 == 3:
            item = {"item_id": f"sku-{i}", "item_name": f"Thing {i}", "price": 9.5, "quantity": 2}
            purchase = {
                "transaction_id": f"T{i}",
                "revenue": {"amount": 19.0, "currency": "USD"},
                "items": [item],
            }
            lines.append(
                event(when.replace("+00:00", "Z"), name="purchase", event_id=f"p{i}", **purchase, **who)
            )
    return lines


def _track_call(i: int, variant_ids: list[int]) -> dict[str, object]:
    """Views, clicks and conversions of 10 visitors in two variants."""
    kind = ("page_view", "click", "conversion")[i % 3]
    data = ({"path": "/"}, {"element_id": f"cta-{i % 4}"}, {"plan_tier": "pro", "amount_cents": 900})[i % 3]
    return body(variant_ids[i % 2], kind, data, session_id=f"s{i // 3}", visitor_id=f"v{i // 3}")


def test_export_and_ab_testing_over_http_answer_like_sqlite(
    tmp_path: Path, endpoint: tuple[Path, int]
) -> None:
    """Through the HTTP client path: batch events with their own times, then the paged exports
    (JSONL and CSV, two pages) byte for byte equal to SQLite's; then A/B tracking calls (stamped by
    each server's clock: after the exports), /metrics/summary and /metrics/variants equal (the
    experiments' creation times aside). Goal completions: goal ids differ per install, so the
    differential test compares that export."""
    _path, port = endpoint
    secret = {"ANALYTICS_SECRET_KEY": "same-secret"}  # the exports' session hashes derive from it
    more = (
        ("tokens", "create", "--tenant", "acme", "--scopes", "read,ingest,admin"),
        ("experiments", "add", "--site", "acme.test", "--slug", "hero-test",
         "--variant", "control:50", "--variant", "variant-a:50"),
    )  # fmt: skip
    house_url = f"clickhouse://127.0.0.1:{port}/analytics"
    made = [
        _install(tmp_path / "lite", *more, **secret),
        _install(tmp_path / "house", *more, ANALYTICS_EVENTS_URL=house_url, **secret),
    ]
    installs = [install for install, _read_token, _outputs in made]
    _same_salts(*installs)
    tokens = [outputs[0].strip() for *_, outputs in made]
    variants = [[v["id"] for v in json.loads(outputs[1])["variants"]] for *_, outputs in made]
    assert variants[0] == variants[1]
    now = datetime.now(UTC).replace(microsecond=0)
    with ExitStack() as stack:
        bases = [stack.enter_context(server_process(i.env))[1] for i in installs]
        clients = [
            stack.enter_context(
                httpx2.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
            )
            for base, token in zip(bases, tokens, strict=True)
        ]
        for client in clients:
            reply = client.post("/api/v1/events", json=_batch(now))
            assert reply.status_code == 202 and reply.json()["data"]["rejected"] == 0, reply.text
        span = {"from": str(now.date() - timedelta(days=1)), "to": str(now.date())}

        def exported(client: httpx2.Client) -> int:
            return client.get("/api/v1/export/pageviews", params=span).content.count(b"\n")

        def tracked(client: httpx2.Client) -> int:
            stats = client.get("/api/v1/metrics/variants").json()["stats"]
            return sum(s["views"] + s["clicks"] + s["conversions"] for s in stats)

        _wait(lambda: all(exported(client) == 120 for client in clients))  # both writers caught up
        for path, fmt in itertools.product(("pageviews", "ecommerce-events"), ("jsonl", "csv")):
            cursor: str | None = None
            for _page in range(2):
                params = {**span, "format": fmt, "limit": 70, **({"cursor": cursor} if cursor else {})}
                pages = [c.get(f"/api/v1/export/{path}", params=params) for c in clients]
                assert [p.status_code for p in pages] == [200, 200], pages[1].text
                assert pages[1].content == pages[0].content, (path, fmt, cursor)
                lines = pages[0].content.splitlines()
                if len(lines) <= 1:
                    break
                cursor = (
                    orjson.loads(lines[-1])["id"] if fmt == "jsonl" else lines[-1].split(b",")[0].decode()
                )
        for i in range(30):
            call = _track_call(i, variants[0])
            for client in clients:
                assert (
                    client.post(
                        "/api/v1/metrics/track", json=call, headers={"User-Agent": CHROME_WIN}
                    ).status_code
                    == 201
                )
        _wait(lambda: all(tracked(client) == 30 for client in clients))
        for route in ("summary", "variants"):
            answers = [c.get(f"/api/v1/metrics/{route}").json() for c in clients]
            for answer in answers:
                answer.get("experiment", {}).pop("created_at", None)
            assert answers[1] == answers[0], route
        assert answers[0]["stats"][0]["views"] > 0
