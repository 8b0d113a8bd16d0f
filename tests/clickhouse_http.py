"""A loopback ClickHouse HTTP endpoint over chDB, for tests of the HTTP client path (tech brief 14).

No ClickHouse server can be installed here, so a test runs this file as a child process that owns
a chDB directory (one engine per process) and serves it with the server's own endpoint
(src/analytics_mcp/storage/clickhouse/endpoint.py: the part of ClickHouse's HTTP interface that
clickhouse-connect uses); the application under test connects with clickhouse://127.0.0.1:PORT/db,
exactly as it would to a server. Killing the process is the "ClickHouse is down" fault. The
credential is ClickHouse's default user without a password, which clickhouse-connect sends when the
URL names none.

Usage: python tests/clickhouse_http.py PORT CHDB_DIRECTORY
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics_mcp.storage.clickhouse import open_clickhouse
from analytics_mcp.storage.clickhouse.endpoint import Credential, Endpoint

DEFAULT_USER = Credential("default", "")


def serve(port: int, path: str) -> None:
    Endpoint(open_clickhouse(f"chdb://{path}"), DEFAULT_USER, port)
    threading.Event().wait()  # serves in its thread until the process is killed


@contextmanager
def clickhouse_endpoint(
    path: Path, log: Path, port: int = 0
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The endpoint over chDB directory `path` in a child process: (process, port). `port` 0 picks a
    free one; a given port is bound again (a restart after `kill`). Killed at the end."""
    from servers import listening_ports, start_listening

    def command(port: int) -> list[str]:
        return [sys.executable, __file__, str(port), str(path)]

    if port:
        with log.open("ab") as sink:
            proc = subprocess.Popen(command(port), stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while proc.poll() is None and port not in listening_ports(proc.pid):
            if time.monotonic() > deadline:
                raise RuntimeError("the ClickHouse endpoint did not listen again")
            time.sleep(0.05)
        if proc.poll() is not None:
            raise RuntimeError(f"the ClickHouse endpoint exited: {log.read_text()[-2000:]}")
    else:
        proc, port = start_listening(command, env=os.environ, output=log)
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
