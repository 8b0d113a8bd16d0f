"""Servers on 127.0.0.1 without a port race.

A port picked by binding to port 0 and closing the socket can be taken by any other program
before the server binds it; the server then fails to start, or worse, the test talks to someone
else's server. So an in-process uvicorn is handed the bound socket itself, and a server process
counts as started only once that very process listens on the port it was given (read from /proc),
else it is started again on another port.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

ATTEMPTS = 3
_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (not listening yet)."""
    # IPPROTO_TCP, not 0: asyncio turns on TCP_NODELAY only for such sockets, and without it every
    # small reply waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A port that was free a moment ago: only for a child process, started with `start_listening`."""
    with loopback_socket() as sock:
        return int(sock.getsockname()[1])


@contextmanager
def refusing_url() -> Iterator[str]:
    """A loopback URL where nothing listens for as long as the block runs: the port stays bound
    (and not listening), so connections are refused and no other program can take it."""
    with loopback_socket() as sock:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def uvicorn_on_loopback(app: ASGIApp, **options: Any) -> AsyncIterator[str]:
    """Serve `app` with a real uvicorn in this event loop on a socket bound before it starts;
    yields the base URL (no trailing slash). `options` go to uvicorn.Config."""
    sock = loopback_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, **{"log_level": "warning", "access_log": False, **options})
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces startup failures
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` itself listens on (Linux /proc; empty once it has exited)."""
    inodes: set[str] = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except OSError:
        return set()
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == _LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def start_listening(
    command: Callable[[int], Sequence[str]],
    *,
    env: Mapping[str, str],
    output: Path,
    cwd: Path | None = None,
    timeout: float = 60,
    new_session: bool = False,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `command(port)` on a free port until it listens there itself: (process, port).

    Its stdout and stderr go to `output` (appended). A start that ends with "address already in
    use" (the port was taken between picking and binding it) is retried on another port; any
    other early exit, or no listener within `timeout` seconds, fails with the output's tail.
    """
    for _attempt in range(ATTEMPTS):
        port = free_port()
        offset = output.stat().st_size if output.exists() else 0
        with output.open("ab") as sink:
            proc = subprocess.Popen(
                list(command(port)),
                env=dict(env),
                cwd=cwd,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
            )
        deadline = time.monotonic() + timeout
        while proc.poll() is None and port not in listening_ports(proc.pid):
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"{command(port)} did not listen within {timeout} s: {_tail(output)}")
            time.sleep(0.05)
        if proc.poll() is None:
            return proc, port
        said = output.read_bytes()[offset:].decode(errors="replace")
        if "address already in use" not in said.lower():
            raise RuntimeError(f"{command(port)} exited with {proc.returncode}: {_tail(output)}")
    raise RuntimeError(f"no free port after {ATTEMPTS} attempts: {_tail(output)}")


def _tail(output: Path, chars: int = 2000) -> str:
    return output.read_bytes()[-chars:].decode(errors="replace")
