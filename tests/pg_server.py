"""A real PostgreSQL server for the tests, from Debian's binaries, in a temporary directory.

One cluster per test session (initdb, then `postgres` on a free loopback port, its socket in the
same directory). PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
system user that Debian's package creates. Each test gets a database of its own, cloned from a
migrated template (CREATE DATABASE ... TEMPLATE is a file copy: milliseconds, not a migration).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from servers import free_port

PG_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
TEMPLATE = "analytics_template"
_names = itertools.count(1)


def available() -> bool:
    return bool(PG_BINARIES) and (os.geteuid() != 0 or _postgres_user() is not None)


def _postgres_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


@dataclass
class PostgresServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def fresh_database(self, template: str = TEMPLATE) -> str:
        """A new, migrated database for one test: its URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return self.url(name)

    def analyze(self, url: str) -> None:
        """Planner statistics for the database at `url`, now. A test database filled in bulk
        and queried at once otherwise has none until autovacuum gets to it, and its plans (and
        times: one report took 137 s before, 3 s after) depend on when that was."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(
    settings: Mapping[str, str] | None = None, root: Path | None = None
) -> Iterator[PostgresServer]:
    """initdb + postgres on 127.0.0.1 (trust auth, fsync off: test data only) in a new directory
    under `root` (default: the temporary directory); stopped and removed after. `settings` (name ->
    value) are passed after the defaults, so they win (bench/pg_local.py turns durability back on)."""
    binaries = PG_BINARIES[-1]
    directory = Path(tempfile.mkdtemp(prefix="analytics-pg-", dir=root))
    user = _postgres_user()
    if os.geteuid() == 0 and user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    data = directory / "data"
    subprocess.run(
        _as_postgres(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = [
        "-D", str(data), "-p", str(port), "-k", str(directory), "-c", "listen_addresses=127.0.0.1",
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        "-c", "max_connections=200", "-c", "shared_buffers=128MB",
    ]  # fmt: skip
    for name, value in (settings or {}).items():
        options += ["-c", f"{name}={value}"]
    log = open(directory / "server.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(_as_postgres([str(binaries / "postgres"), *options]), stdout=log, stderr=log)
    server = PostgresServer(directory, port, process)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(data, process)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


def _stop(data: Path, process: subprocess.Popen[bytes]) -> None:
    """A "fast" shutdown (SIGINT: SIGTERM would wait for every client to leave), sent to the
    postmaster itself: `runuser` in between does not pass signals on."""
    pid_file = data / "postmaster.pid"
    if pid_file.exists():
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(server: PostgresServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.url(), connect_timeout=1):
                return
        except psycopg.OperationalError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((server.directory / "server.log").read_text()[-2000:]) from None
            time.sleep(0.1)
