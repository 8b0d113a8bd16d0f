"""Ingestion benchmark, on loopback, in one run:

1. ceiling: a bare Starlette endpoint that parses the same JSON and answers 202 (bench/ceiling_app.py)
2. POST /api/event on the real app, same uvicorn settings, one worker each
3. batch import through POST /api/v1/events (NDJSON, 10,000 events per request)

Load for 1 and 2 comes from wrk (Debian package `wrk`), one thread per connection; every request
carries a unique event_id and a varying client address.

The server acknowledges an event (202) once it is appended to the on-disk spool and fsynced; a
separate writer process stores the spool into the SQLite database afterwards, and a graceful stop
(SIGINT) waits until the whole spool is stored. So each endpoint gets two figures:

- acknowledged: how fast the server answers, i.e. how fast events become durable in the spool
  (202 "accepted" replies / wrk duration for the tracker, beside wrk's req/s of all replies;
  accepted events / time of the POST loop for the batch import).
- stored: how fast events reach the database, where they are queryable. The server is stopped
  right after the load and the clock runs until its process has exited, i.e. the whole spool is
  in the database. Tracker: events in the database / (wrk duration + drain after the load).
  Batch: accepted events / (first POST until the server has exited).

Then every event is accounted for by id (bench/ingest_ledger.py): each request carries a unique
event_id, the clients record the reply to each id (wrk runs one connection per thread, so replies
pair with requests), and the database is compared with that ledger in both directions: lost
(acknowledged, not stored), stored without a reply seen (in flight when the load stopped: fine,
reported apart), stored though refused, stored but never sent, duplicate rows. Any of these but
the second makes the run exit with status 1.

    python bench/ingest.py [--duration 10] [--connections 256] [--batch-total 200000]
                           [--db postgresql://...|postgresql-local] [--store clickhouse]
                           [--batch-only] [--batch-clients 1]

--batch-only skips the ceiling and the tracker; --batch-clients N posts the batch requests from N
importers at once (default 1: one request at a time, so the acknowledged rate is 10,000 events over
one request's latency). The batch phase also prints the server's CPU time (user + system, its
writer thread or process included, start-up excluded) from the first request until every event is
stored, per event: the figure to compare on a loaded machine, where wall times stretch with the
load.

The ClickHouse target (issue 14: 100,000 batch events/s acknowledged and stored) is checked with

    python bench/ingest.py --store clickhouse --batch-only --batch-total 200000 --batch-clients 4

--db stores into PostgreSQL instead of the SQLite file: the server gets ANALYTICS_DB_URL and
ANALYTICS_EVENTS_URL set to that URL (an empty database), or to a database of a throwaway cluster
on loopback with `postgresql-local` (bench/pg_local.py: durable settings, shared_buffers 512 MB).

--store clickhouse stores the events into an embedded ClickHouse (chDB, ANALYTICS_EVENTS_URL=
chdb://DIR?database=ingest; accounts stay in the SQLite file): the spool is still the durability
point, and the server's writer thread stores its frames into ClickHouse in batches (docs/deploy.md).
Stored ids are read with FINAL once the server has exited, as the engine reads them.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx2
import orjson

import pg_local
from ingest_ledger import WRK_SCRIPT, Accounting, Ledger, account, read_wrk_ledger, stored_ids

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from servers import start_listening  # noqa: E402  (the tests' race-free server start)

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
DOMAIN = "bench.test"
BATCH_EVENTS = 10_000
START_TIMEOUT_S = 300  # a loaded shared machine can take minutes to import and migrate


def ceiling_command(port: int) -> list[str]:
    flags = ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
    return [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--port", str(port), *flags]


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "analytics_mcp.cli", "serve", "--port", str(port)]


def children_cpu() -> float:
    """User + system CPU seconds of every reaped descendant (a server and its writer process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a live process (and its reaped children) used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Server:
    """A running server: its base URL, when its process exited after the stop (perf_counter), and
    the CPU seconds it (with its writer) spent after `mark()` until it exited."""

    def __init__(self, base: str, pid: int, cpu_before_start: float) -> None:
        self.base = base
        self.pid = pid
        self.exited: float | None = None
        self.cpu: float | None = None
        self._base_cpu = cpu_before_start

    def mark(self) -> None:
        """From here on its CPU counts (start-up, imports and migrations do not: also not those of
        a writer process already running, which counts once reaped)."""
        self._base_cpu += sum(process_cpu(pid) for pid in descendants(self.pid))


def descendants(pid: int) -> list[int]:
    """A live process and every live process under it."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += descendants(int(child))
    return found


@contextmanager
def server(command: Callable[[int], list[str]], env: dict[str, str], log: Path) -> Iterator[Server]:
    cpu_before = children_cpu()
    proc, port = start_listening(command, env=env, output=log, cwd=ROOT, timeout=START_TIMEOUT_S)
    handle = Server(f"http://127.0.0.1:{port}", proc.pid, cpu_before)
    try:
        yield handle
    finally:
        proc.send_signal(signal.SIGINT)  # graceful: the writer stores the whole spool before exit
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        handle.exited = time.perf_counter()
        handle.cpu = children_cpu() - handle._base_cpu


def run_wrk(base: str, duration: int, connections: int, script: Path, ledger: Path) -> tuple[float, float]:
    """wrk's req/s and when it finished (perf_counter); the replies per event id go to `ledger`."""
    out = subprocess.run(
        ["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_LEDGER": str(ledger)},
    ).stdout
    finished = time.perf_counter()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, finished


def prepare(data_dir: Path, pg_url: str | None, events_url: str | None) -> tuple[dict[str, str], str]:
    databases = {} if pg_url is None else {"ANALYTICS_DB_URL": pg_url, "ANALYTICS_EVENTS_URL": pg_url}
    if events_url is not None:
        databases["ANALYTICS_EVENTS_URL"] = events_url
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("ANALYTICS_DB_URL", "ANALYTICS_EVENTS_URL")},
        **databases,
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


def batch_bodies(total: int, per_request: int) -> Iterator[tuple[list[str], bytes]]:
    """(event ids, NDJSON body) per request."""
    start = int(time.time() * 1000) - 6 * 3600 * 1000
    for offset in range(0, total, per_request):
        ids, lines = [], []
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
            ids.append(event["event_id"])
            lines.append(orjson.dumps(event))
        yield ids, b"\n".join(lines)


def run_batch(base: str, token: str, total: int, clients: int = 1) -> tuple[float, Ledger, float, float]:
    """Acknowledged events/s, the replies per event id, when the first POST went out, and the CPU
    seconds this process spent posting (it shares the cores with the server).
    `clients` importers post at the same time, each its share of the requests in turn.

    A reply accepting every line acknowledges every id of the request; one that does not (some
    lines duplicate, dropped or rejected, which this load never causes) cannot say which, so its
    ids count as "other 202" and stay out of the loss check, and the run says so."""
    requests = list(batch_bodies(total, BATCH_EVENTS))  # built before the clock starts
    ledger = Ledger()
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    def post_share(share: list[tuple[list[str], bytes]]) -> None:
        with httpx2.Client(base_url=base, headers=headers, timeout=600) as http:
            for ids, body in share:
                try:
                    reply = http.post("/api/v1/events", content=body)
                except httpx2.TransportError:
                    status, accepted = None, 0
                else:
                    status = reply.status_code
                    accepted = reply.json()["data"]["accepted"] if status == 202 else 0
                outcome = "accepted" if accepted == len(ids) else "partly"
                with lock:
                    ledger.record_all(ids, status, outcome)

    threads = [threading.Thread(target=post_share, args=(requests[i::clients],)) for i in range(clients)]
    began, cpu_began = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return len(ledger.acked) / elapsed, ledger, began, time.process_time() - cpu_began


def profiler(pid: int, out: Path | None, gil: bool = False) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server (its threads included) until it exits, or None; `.txt`: collapsed
    stacks (one line per stack and its sample count), else an SVG flame graph. `gil`: only the
    thread holding the GIL is sampled, so shares are of the Python work that serializes the
    server's threads (chDB releases the GIL while a statement runs: its engine time is left out)."""
    if out is None:
        return None
    spy = str(Path(sys.executable).with_name("py-spy"))
    form = "raw" if out.suffix == ".txt" else "flamegraph"
    command = [spy, "record", "--pid", str(pid), "--output", str(out), "--rate", "200", "--format", form]
    extra = ["--gil"] if gil else []
    return subprocess.Popen([*command, "--threads", "--nonblocking", *extra], stdout=subprocess.DEVNULL)


def report(title: str, accounting: Accounting) -> None:
    print(f"  {title}: " + accounting.lines()[0])
    print("    " + accounting.lines()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load per endpoint")
    parser.add_argument("--connections", type=int, default=256, help="concurrent clients (browsers)")
    parser.add_argument("--batch-total", type=int, default=200_000, help="events sent through /api/v1/events")
    parser.add_argument("--db", default=None, help=f"a postgresql:// URL, or {pg_local.LOCAL}")
    parser.add_argument("--store", choices=("clickhouse",), default=None, help="events into chDB")
    parser.add_argument("--batch-only", action="store_true", help="skip the ceiling and the tracker")
    parser.add_argument("--batch-clients", type=int, default=1, help="importers posting at once")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy profile of the batch server (.svg or .txt)"
    )
    parser.add_argument("--profile-gil", action="store_true", help="--profile samples the GIL holder only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with pg_local.database_url(args.db, "ingest") if args.db else nullcontext(None) as pg_url:
        run(args, pg_url)


def run(args: argparse.Namespace, pg_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        chdb = args.store == "clickhouse"
        print(f"database: {'chdb://' + str(tmp_path) + '/chdb-*' if chdb else pg_url or 'SQLite file'}")
        data_dir = tmp_path / "data"
        # chDB: one directory per server run (an embedded engine's directory is one process's)
        events_url = f"chdb://{tmp_path / 'chdb-tracker'}?database=ingest" if chdb else None
        env, token = prepare(data_dir, pg_url, events_url)
        exact = True
        if not args.batch_only:
            database: Path | str = events_url or pg_url or data_dir / "analytics.db"
            exact = run_tracker(args, tmp_path, env, database)
        if chdb:
            events_url = f"chdb://{tmp_path / 'chdb-batch'}?database=ingest"
            env["ANALYTICS_EVENTS_URL"] = events_url
        with server(serve_command, env, tmp_path / "serve-batch.log") as srv:
            srv.mark()
            spy = profiler(srv.pid, args.profile, args.profile_gil)
            batch_eps, batch_ledger, batch_began, client_cpu = run_batch(
                srv.base, token, args.batch_total, args.batch_clients
            )
        if spy is not None:
            spy.wait(timeout=120)
        assert srv.exited is not None and srv.cpu is not None
        batch = account(batch_ledger, stored_ids(events_url or pg_url or data_dir / "analytics.db", "b"))
        batch_stored_eps = batch.stored / (srv.exited - batch_began)

    print(
        f"POST /api/v1/events acknowledged:             {batch_eps:10.0f} events/s "
        f"({args.batch_clients} clients)"
    )
    print(f"  stored in the database: {batch_stored_eps:.0f} events/s (first request to all stored)")
    per_event_us = srv.cpu / max(batch.stored, 1) * 1e6
    print(
        f"  server CPU (user + system, with its writer) from the first request until all stored: "
        f"{srv.cpu:.2f} s = {per_event_us:.1f} us an event = {1e6 / per_event_us:.0f} events per CPU second"
    )
    print(f"  load generator CPU (this process, while posting; bodies built before): {client_cpu:.2f} s")
    report("ledger", batch)
    if batch.other_202:
        print(f"  {batch.other_202} batch events were in replies that did not accept every line")
    if not (exact and batch.exact):
        sys.exit("FAILED: the database does not match what the clients were told")


def run_tracker(args: argparse.Namespace, tmp_path: Path, env: dict[str, str], database: Path | str) -> bool:
    """The ceiling, then POST /api/event under wrk; prints both; whether its ledger is exact."""
    script = tmp_path / "event.lua"
    script.write_text(WRK_SCRIPT.replace("DOMAIN_", DOMAIN).replace("UA_", UA))
    with server(ceiling_command, dict(os.environ), tmp_path / "ceiling.log") as srv:
        ceiling_rps, _ = run_wrk(
            srv.base, args.duration, args.connections, script, tmp_path / "ceiling.ledger"
        )
    with server(serve_command, env, tmp_path / "serve.log") as srv:
        wrk_began = time.perf_counter()
        track_rps, wrk_ended = run_wrk(
            srv.base, args.duration, args.connections, script, tmp_path / "track.ledger"
        )
    assert srv.exited is not None
    drain = srv.exited - wrk_ended
    track = account(read_wrk_ledger(tmp_path / "track.ledger"), stored_ids(database, "w"))
    track_stored_eps = track.stored / (srv.exited - wrk_began)  # wrk duration + drain
    track_acked_eps = track.acked / (wrk_ended - wrk_began)
    ratio = track_rps / ceiling_rps
    print(f"ceiling (bare Starlette, parse + 202):        {ceiling_rps:10.0f} req/s")
    print(f"POST /api/event answered (spool, fsync):      {track_rps:10.0f} req/s  = {ratio:.2f} x ceiling")
    print(
        f"  acknowledged {track_acked_eps:.0f} events/s; stored in the database: drain after load "
        f"{drain:.1f} s, {track_stored_eps:.0f} events/s sustained"
    )
    report("ledger", track)
    return track.exact


if __name__ == "__main__":
    main()
