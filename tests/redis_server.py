"""A real redis-server from Debian's package on a loopback port, in a temporary directory, for
the tests of several app servers sharing rate limits (nothing persisted)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servers import start_listening


def available() -> bool:
    return shutil.which("redis-server") is not None


@contextmanager
def redis_server() -> Iterator[str]:
    """A running redis-server: its URL."""
    directory = Path(tempfile.mkdtemp(prefix="analytics-redis-"))
    options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)]
    proc, port = start_listening(
        lambda port: ["redis-server", "--port", str(port), *options], env={}, output=directory / "redis.log"
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
