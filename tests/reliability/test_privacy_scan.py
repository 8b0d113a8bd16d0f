"""Privacy scan: a real `analytics-mcp serve` (writer process, X-Forwarded-For trusted from
127.0.0.1) takes tracker events, batch events, A/B tracking calls and failed sign-ins, each from
its own IPv4 or IPv6 address with a User-Agent carrying a marker. The server is stopped once
gracefully and once with kill -9 while its stalled writer leaves events in the spool (and the
database in its WAL). Then every byte under the data directory (database, -wal, -shm, spool
segments, failed/, the server's stdout and stderr in server.log) is searched for the addresses,
as text and packed, and for the markers: zero hits. The pages of the same events must be found,
so the scan provably reads where the data went. Run with -s for the figures."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from analytics_mcp.config import Settings
from analytics_mcp.experiments import create_experiment
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from factories import CHROME_WIN, make_token
from reliability.disk_scan import found_anywhere, needles, scan
from reliability.scale import scale
from reliability.tenant_world import ago
from server_process import Install, crash, server_process, writer_child

pytestmark = pytest.mark.reliability

DOMAIN, PASSWORD = "private.test", "the right password"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Sender:
    """Sends every kind of request that carries a client's address and User-Agent; remembers
    the addresses, User-Agent markers and page paths it used."""

    token: str
    variant_id: int
    run: str
    ips: set[str]
    user_agents: set[str]
    pages: set[str]
    count: int = 0

    def client(self) -> tuple[str, str]:
        """A fresh (address, User-Agent marker) per request, v4 and v6 in turn."""
        self.count += 1
        n, run = self.count, self.run
        ip = f"185.199.{(n * 37) % 200 + 20}.{n % 200 + 20}" if n % 2 else f"2001:db8:{n:x}::b1:{n * 7:x}"
        marker = f"ZqUaMarker{run}x{n}"
        self.ips.add(ip)
        self.user_agents.add(marker)
        return ip, marker

    def page(self) -> str:
        page = f"/zq-private-page-{self.run}-{self.count}"
        self.pages.add(page)
        return page

    def headers(self, ip: str, marker: str) -> dict[str, str]:
        return {"X-Forwarded-For": ip, "User-Agent": f"{CHROME_WIN} {marker}"}

    def tracker(self, http: httpx2.Client) -> None:
        ip, marker = self.client()
        body = {"name": "pageview", "url": f"https://{DOMAIN}{self.page()}", "domain": DOMAIN}
        reply = http.post("/api/event", json=body, headers=self.headers(ip, marker))
        assert reply.status_code == 202 and reply.json()["status"] == "accepted", reply.text

    def batch(self, http: httpx2.Client, size: int) -> None:
        lines = []
        for _ in range(size):
            ip, marker = self.client()
            url = f"https://{DOMAIN}{self.page()}"
            ua = f"{CHROME_WIN} {marker}"
            lines.append(
                {
                    "name": "pageview",
                    "url": url,
                    "domain": DOMAIN,
                    "timestamp": ago(0.2),
                    "ip": ip,
                    "user_agent": ua,
                }
            )
        ip, marker = self.client()  # the batch request itself comes from somewhere too
        headers = {**self.headers(ip, marker), "Authorization": f"Bearer {self.token}"}
        reply = http.post("/api/v1/events", json=lines, headers=headers)
        assert reply.status_code == 202 and reply.json()["data"]["accepted"] == size, reply.text

    def ab_track(self, http: httpx2.Client) -> None:
        ip, marker = self.client()
        body = {
            "variant_id": self.variant_id,
            "event_type": "page_view",
            "event_data": {"path": self.page()},
            "session_id": f"s-{self.count}",
            "visitor_id": f"v-{self.count}",
        }
        reply = http.post("/api/v1/metrics/track", json=body, headers=self.headers(ip, marker))
        assert reply.status_code == 201, reply.text

    def failed_sign_in(self, http: httpx2.Client) -> None:
        ip, marker = self.client()
        form = http.get("/login", headers=self.headers(ip, marker))
        token = CSRF_FIELD.search(form.text)
        assert token is not None
        data = {"email": f"owner@{DOMAIN}", "password": "a wrong password", "csrf": token[1]}
        reply = http.post("/login", data=data, headers=self.headers(ip, marker))
        assert reply.status_code == 401, reply.text

    def everything(self, base: str, rounds: int) -> None:
        with httpx2.Client(base_url=base, timeout=30) as http:
            for _ in range(rounds):
                self.tracker(http)
                self.batch(http, size=3)
                self.ab_track(http)
            self.failed_sign_in(http)


def seed(install: Install) -> tuple[str, int]:
    """The tenant, its site, an owner, a running experiment; (ingest token, a variant id)."""
    settings = Settings(data_dir=install.directory, db_url=install.db_url, _env_file=None)  # type: ignore[call-arg]
    services = Services.build(settings)
    try:
        with services.db.sync.begin() as conn:
            accounts.create_tenant(conn, "private", plan="business")
            accounts.add_site(conn, "private", DOMAIN)
            accounts.create_user(conn, f"owner@{DOMAIN}", "private", PASSWORD)
            experiment = create_experiment(conn, DOMAIN, "private-test", [("control", 1), ("variant-b", 1)])
        return make_token(services, "private", scopes=("ingest",)), experiment.variants[0].id
    finally:
        services.db.sync.dispose()


def test_no_raw_ip_or_user_agent_reaches_the_disk(tmp_path: Path) -> None:
    install = Install.create(
        tmp_path / "data",
        ANALYTICS_INGEST_PROCESS="true",
        ANALYTICS_SECRET_KEY="privacy-scan-secret",
        ANALYTICS_RATE_LIMIT="100000/minute",
    )
    install.directory.mkdir(exist_ok=True)
    token, variant_id = seed(install)
    rounds = scale(fast=8, full=200)
    clean = Sender(token, variant_id, "g", set(), set(), set())
    with server_process(install.env) as (_proc, base):
        clean.everything(base, rounds)  # then a graceful stop (SIGINT): everything is stored
    first = scan(install.directory, needles(clean.ips, clean.user_agents))

    crashed = Sender(token, variant_id, "k", clean.ips, clean.user_agents, set(), count=clean.count)
    for _cycle in range(scale(fast=1, full=3)):
        with server_process(install.env) as (proc, base):
            try:
                crashed.everything(base, rounds)  # stored: into the database and its WAL
                os.kill(writer_child(proc.pid), signal.SIGSTOP)
                crashed.everything(base, scale(fast=8, full=40))  # acknowledged from the spool only
            finally:
                crash(proc)  # kill -9 of the server and its stalled writer

    spool = {p for p in install.spool.rglob("*") if p.is_file() and p.stat().st_size}
    assert spool, "the crash left nothing in the spool: the scan would prove nothing about it"
    wal = install.directory / "analytics.db-wal"
    assert wal.exists() and wal.stat().st_size > 0, "no WAL after the crash"
    pages = clean.pages | crashed.pages
    assert found_anywhere(install.directory, pages) == pages, (
        "pages of acknowledged events are missing from the files: the scan is looking in the wrong place"
    )
    secrets = needles(crashed.ips, crashed.user_agents)
    last = scan(install.directory, secrets)
    hits = first.hits + last.hits
    print(
        f"privacy scan: {first.files + last.files} files, {first.size + last.size:,} bytes scanned (after "
        f"a graceful stop and after kill -9), {len(crashed.ips)} IPs and {len(crashed.user_agents)} "
        f"User-Agents in {len(secrets)} forms, {len(hits)} hits"
    )
    assert not hits, "\n".join(hits)


def test_the_scan_finds_every_form_of_a_secret(tmp_path: Path) -> None:
    ip4, ip6, marker = "185.199.20.21", "2001:db8:5::b1:23", "ZqUaMarkerTest"
    forms = [
        ip4.encode(),
        ipaddress.ip_address(ip4).packed,
        ipaddress.IPv6Address(f"::ffff:{ip4}").packed,
        f"::ffff:{ip4}".encode(),
        ipaddress.ip_address(ip6).exploded.encode(),
        ipaddress.ip_address(ip6).packed,
        marker.lower().encode(),
    ]
    for i, form in enumerate(forms):
        (tmp_path / f"f{i}").write_bytes(b"\x00" * 10 + form + b"\x00" * 10)
    (tmp_path / "clean").write_bytes(b"185.199.20.2 2001:db8:5::b1:2 " + b"\x00" * 10 + b"\xff\xff")
    found = scan(tmp_path, needles({ip4, ip6}, {marker}))
    assert (found.files, len({hit.split(" @ ")[0] for hit in found.hits})) == (len(forms) + 1, len(forms))
