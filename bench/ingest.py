"""Ingestion benchmark, on loopback, in one run:

1. ceiling: a bare Starlette endpoint that parses the same JSON and answers 202 (bench/ceiling_app.py)
2. POST /api/event on the real app, same uvicorn settings, one worker each
3. batch import through POST /api/v1/events (NDJSON, 10,000 events per request)

Load for 1 and 2 comes from wrk (Debian package `wrk`); every request carries a unique event_id
and a varying client address.

The server acknowledges an event (202) once it is appended to the on-disk spool and fsynced; a
separate writer process stores the spool into the SQLite database afterwards, and a graceful stop
(SIGINT) waits until the whole spool is stored. So each endpoint gets two figures:

- acknowledged: how fast the server answers, i.e. how fast events become durable in the spool
  (wrk's req/s for the tracker; accepted events / time of the POST loop for the batch import).
- stored: how fast events reach the database, where they are queryable. The server is stopped
  right after the load and the clock runs until its process has exited, i.e. the whole spool is
  in the database. Tracker: events in the database / (wrk duration + drain after the load).
  Batch: accepted events / (first POST until the server has exited).

Afterwards the database must hold every acknowledged event ("lost" counts any that are missing).

    python bench/ingest.py [--duration 10] [--connections 256] [--batch-total 200000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import orjson

ROOT = Path(__file__).resolve().parent.parent
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
DOMAIN = "bench.test"
LUA = """
counter = 0
request = function()
  counter = counter + 1
  local ip = "198.18." .. (counter % 250) .. "." .. (math.floor(counter / 250) % 250)
  local body = '{"name":"pageview","url":"https://DOMAIN_/page-' .. (counter % 50) ..
    '","domain":"DOMAIN_","referrer":"https://www.google.com/","event_id":"w' .. counter ..
    '","language":"en-US"}'
  return wrk.format("POST", "/api/event",
    {["Content-Type"] = "text/plain", ["User-Agent"] = "UA_", ["X-Forwarded-For"] = ip}, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A running server: its base URL, and when its process exited after the stop (perf_counter)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.exited: float | None = None


@contextmanager
def server(argv: list[str], env: dict[str, str], port: int) -> Iterator[Server]:
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    handle = Server(f"http://127.0.0.1:{port}")
    try:
        deadline = time.time() + 30
        while True:
            try:
                httpx2.post(f"{handle.base}/api/event", content=b"{}", timeout=1)
                break
            except httpx2.TransportError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server did not start: {argv}") from None
                time.sleep(0.1)
        yield handle
    finally:
        proc.send_signal(signal.SIGINT)  # graceful: the writer stores the whole spool before exit
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        handle.exited = time.perf_counter()


def run_wrk(base: str, duration: int, connections: int, script: Path) -> tuple[float, int, int, float]:
    """req/s, requests sent, requests failed, and when wrk finished (perf_counter)."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    finished = time.perf_counter()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0)
    return rps, total, failed, finished


def prepare(data_dir: Path) -> tuple[dict[str, str], str]:
    env = {
        **os.environ,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "ANALYTICS_TRUSTED_PROXIES": "127.0.0.1",
        # The batch measurement sends far more than 60 requests a minute with one token.
        "ANALYTICS_RATE_LIMIT": "1000000/minute",
    }
    cli = [sys.executable, "-m", "analytics_mcp.cli"]
    subprocess.run([*cli, "tenants", "create", "bench"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "sites", "add", DOMAIN, "--tenant", "bench"], env=env, check=True, capture_output=True
    )
    token = subprocess.run(
        [*cli, "tokens", "create", "--tenant", "bench", "--scopes", "read,ingest"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return env, token


def count_events(data_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(data_dir / "analytics.db") as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def batch_bodies(total: int, per_request: int) -> Iterator[bytes]:
    start = int(time.time() * 1000) - 6 * 3600 * 1000
    for offset in range(0, total, per_request):
        lines = []
        for i in range(offset, min(total, offset + per_request)):
            ts = start + i * 37
            event = {
                "name": "pageview",
                "url": f"https://{DOMAIN}/docs/{i % 300}",
                "domain": DOMAIN,
                "referrer": "https://duckduckgo.com/" if i % 3 else None,
                "event_id": f"b{i}",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1000))
                + f".{ts % 1000:03d}Z",
                "ip": f"198.19.{(i // 7) % 250}.{(i // 1750) % 250}",
                "user_agent": UA,
            }
            lines.append(orjson.dumps(event))
        yield b"\n".join(lines)


def run_batch(base: str, token: str, total: int) -> tuple[float, int, float]:
    """Acknowledged events/s, events accepted, and when the first POST went out (perf_counter)."""
    bodies = list(batch_bodies(total, 10_000))  # built before the clock starts
    accepted = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    with httpx2.Client(base_url=base, headers=headers, timeout=120) as http:
        began = time.perf_counter()
        for body in bodies:
            reply = http.post("/api/v1/events", content=body)
            reply.raise_for_status()
            accepted += reply.json()["data"]["accepted"]
        elapsed = time.perf_counter() - began
    return accepted / elapsed, accepted, began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load per endpoint")
    parser.add_argument("--connections", type=int, default=256, help="concurrent clients (browsers)")
    parser.add_argument("--batch-total", type=int, default=200_000, help="events sent through /api/v1/events")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        script = tmp_path / "event.lua"
        script.write_text(LUA.replace("DOMAIN_", DOMAIN).replace("UA_", UA))
        uvicorn_flags = ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]

        port = free_port()
        ceiling_cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling_app:app",
            "--port",
            str(port),
            *uvicorn_flags,
        ]
        with server(ceiling_cmd, dict(os.environ), port) as srv:
            ceiling_rps, _, _, _ = run_wrk(srv.base, args.duration, args.connections, script)

        data_dir = tmp_path / "data"
        env, token = prepare(data_dir)
        port = free_port()
        serve_cmd = [sys.executable, "-m", "analytics_mcp.cli", "serve", "--port", str(port)]
        with server(serve_cmd, env, port) as srv:
            wrk_began = time.perf_counter()
            track_rps, sent, failed, wrk_ended = run_wrk(srv.base, args.duration, args.connections, script)
        assert srv.exited is not None
        drain = srv.exited - wrk_ended
        track_stored = count_events(data_dir)
        track_stored_eps = track_stored / (srv.exited - wrk_began)  # wrk duration + drain
        acknowledged = sent - failed
        track_lost = max(0, acknowledged - track_stored)

        with server(serve_cmd, env, port) as srv:
            batch_eps, batch_accepted, batch_began = run_batch(srv.base, token, args.batch_total)
        assert srv.exited is not None
        batch_stored_eps = batch_accepted / (srv.exited - batch_began)
        total_stored = count_events(data_dir)
        batch_lost = max(0, track_stored + batch_accepted - total_stored)

    ratio = track_rps / ceiling_rps
    print(f"ceiling (bare Starlette, parse + 202):        {ceiling_rps:10.0f} req/s")
    print(f"POST /api/event acknowledged (spool, fsync):  {track_rps:10.0f} req/s  = {ratio:.2f} x ceiling")
    print(
        f"  stored in the database: {track_stored} events, drain after load {drain:.1f} s, "
        f"{track_stored_eps:.0f} events/s sustained; "
        f"acknowledged {acknowledged}, failed {failed}, lost {track_lost}"
    )
    print(
        f"POST /api/v1/events acknowledged:             {batch_eps:10.0f} events/s ({batch_accepted} events)"
    )
    print(
        f"  stored in the database: {batch_stored_eps:.0f} events/s (first request to all stored); "
        f"lost {batch_lost}"
    )


if __name__ == "__main__":
    main()
