"""Export benchmark: one million pageviews through GET /api/v1/export/pageviews, page by page with
cursors, from a real server (`analytics-mcp serve`, uvicorn on 127.0.0.1, its own process).

Targets: >= 100,000 rows/s (JSONL) and < 50 MB server memory growth. Each pass (a full export;
two by default, on one server) reports rows/s, the server's CPU time and page faults, and its
memory from /proc/<pid>/status before, during (sampled) and after: VmRSS and its parts RssAnon
(the process's own memory) and RssFile (mapped files). The first pass also maps the database in
(storage.db gives SQLite a 1 GB memory map): RssFile grows by up to the file's size (180 MB
here), whatever the export's size. The second pass shows the steady state.

The database (1M pageviews, 250,000 visits in January 2026, built through the real ingestion in
about 3 minutes) is cached in bench/out/export-1m (--db DIR: another one; --rebuild: redo it).

`--store clickhouse` serves the same events from ClickHouse (chDB in the server process): they are
copied once with `analytics-mcp events copy --to chdb://DIR/clickhouse` and the server runs with
ANALYTICS_EVENTS_URL set to it.

    python bench/export.py [--db DIR] [--format jsonl|csv] [--limit 10000] [--passes 2] [--rebuild]
                           [--store sqlite|clickhouse]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from servers import start_listening  # noqa: E402  (the tests' race-free server start)

DEFAULT_DB = ROOT / "bench" / "out" / "export-1m"
DOMAIN = "export.bench"
FROM, TO = "2026-01-01", "2026-01-31"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PAGES_PER_VISIT = 4
UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
REFERRERS = (None, "https://www.google.com/", "https://news.ycombinator.com/", "https://t.co/x", None)


def generated(pageviews: int) -> Iterator[dict[str, Any]]:
    """Visits of PAGES_PER_VISIT pageviews, 45 s apart, one visitor each, spread over 30 days."""
    visits = pageviews // PAGES_PER_VISIT
    spacing = 30 * 86_400_000 // visits
    for n in range(visits):
        start = START_MS + n * spacing
        ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        for k in range(PAGES_PER_VISIT):
            query = (
                "?utm_source=newsletter&utm_medium=email&utm_campaign=jan" if n % 9 == 0 and k == 0 else ""
            )
            yield {
                "name": "pageview",
                "url": f"https://{DOMAIN}/docs/{(n + k) % 500}{query}",
                "domain": DOMAIN,
                "referrer": REFERRERS[n % len(REFERRERS)] if k == 0 else None,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000 + k * 45)),
                "ip": ip,
                "user_agent": UAS[n % len(UAS)],
                "language": "de-DE" if n % 4 == 0 else "en-US",
            }


def build(data_dir: Path, pageviews: int) -> None:
    from analytics_mcp.config import Settings
    from analytics_mcp.ingest.bulk_import import ingest_events
    from analytics_mcp.services import Services
    from analytics_mcp.storage import accounts

    shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    services = Services.build(settings)
    with services.db.sync.begin() as conn:
        accounts.create_tenant(conn, "bench", timezone="UTC")
        accounts.add_site(conn, "bench", DOMAIN)
        token = accounts.create_token(conn, "bench", name="export-bench", scopes=("read",))[1]
    began = time.perf_counter()

    def progress(done: int) -> None:
        if done % 100_000 < 5_000:
            print(f"  ingested {done:,} events ({time.perf_counter() - began:.0f} s)", flush=True)

    summary = ingest_events(services.ingestor, generated(pageviews), progress=progress)
    if summary.accepted != pageviews:
        sys.exit(f"ingestion accepted {summary.accepted} of {pageviews}: {summary}")
    services.db.checkpoint()
    services.db.sync.dispose()
    (data_dir / "bench.json").write_text(json.dumps({"token": token, "pageviews": pageviews}))


def clickhouse_url(data_dir: Path) -> str:
    return f"chdb://{data_dir / 'clickhouse'}?database=export"


def copy_to_clickhouse(data_dir: Path) -> None:
    """The install's events copied into chDB once (the copy verifies its counts)."""
    marker = data_dir / "clickhouse.copied"
    if marker.exists():
        return
    env = {**os.environ, "ANALYTICS_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "analytics_mcp.cli", "events", "copy", "--to", clickhouse_url(data_dir)]
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    marker.write_text("copied\n")


@contextmanager
def server(data_dir: Path, store: str = "sqlite") -> Iterator[tuple[str, int]]:
    env = {**os.environ, "ANALYTICS_DATA_DIR": str(data_dir), "ANALYTICS_RATE_LIMIT": "1000000/minute"}
    if store == "clickhouse":
        env["ANALYTICS_EVENTS_URL"] = clickhouse_url(data_dir)
    proc, port = start_listening(
        lambda port: [sys.executable, "-m", "analytics_mcp.cli", "serve", "--port", str(port)],
        env=env,
        output=data_dir / "server.log",
        cwd=ROOT,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def cpu_seconds(pid: int) -> tuple[float, float, int, int]:
    """(user, system CPU seconds, minor, major page faults) of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick, int(fields[7]), int(fields[9])


RSS_FIELDS = ("VmRSS", "RssAnon", "RssFile")  # RssFile: mapped files, e.g. SQLite's mmap of the database


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found for {pid}")


class RssSampler(threading.Thread):
    """The peak VmRSS of a process, sampled every 50 ms until `done` is set."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))


def page(http: httpx2.Client, params: dict[str, Any]) -> tuple[int, int, str | None, str | None]:
    """(rows, bytes, first id, last id) of one page, read as a stream: only the first and the last
    line are kept."""
    rows = size = 0
    head = tail = b""
    with http.stream("GET", "/api/v1/export/pageviews", params=params) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
            rows += chunk.count(b"\n")
            if b"\n" not in head:
                head += chunk[:4096]
            tail = (tail + chunk)[-4096:]
    if not rows:
        return 0, size, None, None
    fmt = params["format"]
    first = _id(head.split(b"\n", 2)[1 if fmt == "csv" else 0], fmt) if rows > (fmt == "csv") else None
    last = _id(tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1], fmt)
    return rows, size, first, last


def _id(line: bytes, fmt: str) -> str:
    return str(orjson.loads(line)["id"]) if fmt == "jsonl" else line.split(b",", 1)[0].decode()


def export_all(base: str, token: str, fmt: str, limit: int) -> tuple[int, int, int]:
    """Follow cursors to the end: (rows, bytes, requests). Checks ids only grow."""
    headers = {"Authorization": f"Bearer {token}"}
    params: dict[str, Any] = {"format": fmt, "from": FROM, "to": TO, "limit": limit}
    rows = size = requests = 0
    previous = ""
    with httpx2.Client(base_url=base, headers=headers, timeout=120) as http:
        while True:
            count, nbytes, first, last = page(http, params)
            requests += 1
            if fmt == "csv":
                count -= 1  # header
            rows, size = rows + count, size + nbytes
            if first is not None and fmt == "jsonl":
                assert first > previous, (first, previous)
            if count < limit or last is None:
                return rows, size, requests
            previous = params["cursor"] = last


def warm_up(base: str, token: str, fmt: str) -> None:
    """One small page first: imports, statement caches and the connection pool are then ready."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=base, headers=headers, timeout=60) as http:
        rows, *_ = page(http, {"format": fmt, "from": FROM, "to": TO, "limit": 1000})
    assert rows >= 1000


@dataclass
class Pass:
    rows: int
    size: int
    requests: int
    seconds: float
    user: float
    system: float
    client_cpu: float
    faults: int
    major_faults: int  # read from disk: the database file was not in the OS page cache
    before: dict[str, float]
    after: dict[str, float]
    peak: float

    def report(self, number: int) -> None:
        growth = self.peak - self.before["VmRSS"]
        speed = self.rows / self.seconds
        print(f"pass {number}: {self.rows:,} rows in {self.requests} requests, {self.size / 1e6:.0f} MB")
        print(f"  {self.seconds:.2f} s = {speed:,.0f} rows/s, {self.size / self.seconds / 1e6:.1f} MB/s")
        cpu, faults = self.user + self.system, f"{self.faults:,} page faults ({self.major_faults} from disk)"
        print(f"  server CPU {cpu:.2f} s = {self.rows / cpu:,.0f} rows per CPU second; {faults}")
        print(f"  client CPU {self.client_cpu:.2f} s")
        print(f"  server VmRSS peak {self.peak:.1f} MB: growth {growth:+.1f} MB")
        for field in RSS_FIELDS:
            change = self.after[field] - self.before[field]
            print(f"    {field:8} {self.before[field]:7.1f} -> {self.after[field]:7.1f} MB ({change:+.1f})")
        private = self.after["RssAnon"] - self.before["RssAnon"]
        verdicts = (
            f">= 100,000 rows/s {'met' if speed >= 100_000 else 'MISSED'}",
            f"< 50 MB VmRSS growth {'met' if growth < 50 else 'MISSED'}",
            f"< 50 MB private (RssAnon) growth {'met' if private < 50 else 'MISSED'}",
        )
        print(f"  targets: {'; '.join(verdicts)}")


def measure(base: str, pid: int, token: str, fmt: str, limit: int) -> Pass:
    before = {field: rss_mb(pid, field) for field in RSS_FIELDS}
    sampler = RssSampler(pid)
    sampler.start()
    server_before = cpu_seconds(pid)
    began, client_began = time.perf_counter(), time.process_time()
    rows, size, requests = export_all(base, token, fmt, limit)
    seconds, client_cpu = time.perf_counter() - began, time.process_time() - client_began
    usage = cpu_seconds(pid)
    user, system, faults, major = (usage[i] - server_before[i] for i in range(4))
    sampler.done.set()
    sampler.join()
    after = {field: rss_mb(pid, field) for field in RSS_FIELDS}
    peak = max(sampler.peak, after["VmRSS"])
    return Pass(rows, size, requests, seconds, user, system, client_cpu, faults, major, before, after, peak)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="data directory (cached between runs)")
    parser.add_argument("--pageviews", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--limit", type=int, default=10_000, help="rows per request (max 10,000)")
    parser.add_argument("--passes", type=int, default=2, help="full exports in a row on one server")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--store", choices=("sqlite", "clickhouse"), default="sqlite")
    args = parser.parse_args()
    meta_file = args.db / "bench.json"
    stale = not meta_file.exists() or json.loads(meta_file.read_text())["pageviews"] != args.pageviews
    if args.rebuild or stale:
        print(f"building {args.pageviews:,} pageviews in {args.db} ...", flush=True)
        build(args.db, args.pageviews)
    meta = json.loads(meta_file.read_text())
    if args.store == "clickhouse":
        copy_to_clickhouse(args.db)

    with server(args.db, args.store) as (base, pid):
        warm_up(base, meta["token"], args.format)
        passes = [measure(base, pid, meta["token"], args.format, args.limit) for _ in range(args.passes)]
    print(
        f"export of {meta['pageviews']:,} pageviews from {args.store} as {args.format}, "
        f"pages of {args.limit:,} rows"
    )
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for number, result in enumerate(passes, 1):
        assert result.rows == meta["pageviews"], f"exported {result.rows} rows, expected {meta['pageviews']}"
        result.report(number)


if __name__ == "__main__":
    main()
