"""A throwaway PostgreSQL cluster on loopback for the benchmarks (`--db postgresql-local`), or on its
own until Ctrl-C, printing a URL to pass as `--db`:

    python bench/pg_local.py [--database NAME]

The cluster is the tests' one (tests/pg_server.py: Debian's binaries in /usr/lib/postgresql, initdb
in a temporary directory, `postgres` on 127.0.0.1 as the `postgres` user when run as root, trust
authentication) with durability back on (fsync, synchronous_commit, full_page_writes: the tests turn
them off) and shared_buffers of 512 MB; every other setting is PostgreSQL 15's default. It is
removed when the benchmark (or this script) stops. To use an existing server instead, pass its URL:
`--db postgresql://USER:PASSWORD@127.0.0.1/DATABASE` (an empty database, or one holding a finished
copy of the same data set for bench/engine.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from pg_server import available, postgres_server  # noqa: E402

LOCAL = "postgresql-local"
SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "512MB",
}


@contextmanager
def local_database(name: str) -> Iterator[str]:
    """A fresh cluster holding an empty database `name`: its URL."""
    if not available():
        sys.exit("no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)")
    with postgres_server(SETTINGS) as server:
        server.admin(f'CREATE DATABASE "{name}"')
        yield server.url(name)


@contextmanager
def database_url(db: str, name: str) -> Iterator[str]:
    """`db` itself, or a throwaway cluster's database when it is `postgresql-local`."""
    if db != LOCAL:
        if not db.startswith("postgresql://"):
            sys.exit(f"--db must be a postgresql:// URL or {LOCAL}")
        yield db
        return
    with local_database(name) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="bench")
    args = parser.parse_args()
    with local_database(args.database) as url:
        print(url, flush=True)
        print("Ctrl-C stops the server and removes its files", file=sys.stderr, flush=True)
        stops = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        signal.sigwait(stops)


if __name__ == "__main__":
    main()
