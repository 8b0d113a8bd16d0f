"""A real `analytics-mcp serve` in a child process, as an operator runs it: created through the
CLI, crashed with SIGKILL of its whole process group (server and writer process), restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from servers import start_listening


@dataclass(frozen=True)
class Install:
    """One data directory and the environment every process of the install runs with."""

    directory: Path
    env: dict[str, str]

    @classmethod
    def create(cls, directory: Path, **extra: str) -> Install:
        directory.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "ANALYTICS_DB_URL": f"sqlite:///{directory / 'analytics.db'}",
            "ANALYTICS_DATA_DIR": str(directory),
            "ANALYTICS_TRUSTED_PROXIES": "127.0.0.1",
            **extra,
        }
        return cls(directory, env)

    @property
    def db_url(self) -> str:
        return self.env["ANALYTICS_DB_URL"]

    @property
    def events_url(self) -> str:
        return self.env.get("ANALYTICS_EVENTS_URL") or self.db_url

    @property
    def spool(self) -> Path:
        """Beside the events database's SQLite file, else in the data directory."""
        sqlite = self.events_url.startswith("sqlite")
        return self.directory / "analytics.db-spool" if sqlite else self.directory / "spool"

    def cli(self, *argv: str) -> str:
        """`analytics-mcp ARGV` in a child process with the install's environment: its stdout."""
        return self.cli_each(argv)[0]

    def cli_each(self, *commands: Sequence[str]) -> list[str]:
        """Several commands in order, in one child process (each a fresh `main(argv)`, as the
        console script runs it): their outputs. A child per command spent ~1.1 s of CPU importing
        the CLI each time. The first command that fails fails the call, as with check=True."""
        done = subprocess.run(
            [sys.executable, "-c", _RUN_EACH, json.dumps([list(argv) for argv in commands])],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
        outputs: list[str] = json.loads(done.stdout)
        return outputs


# The child of `Install.cli_each`: each command's stdout captured apart, a failure exits with its code.
_RUN_EACH = """
import contextlib, io, json, sys
from analytics_mcp.cli import main
outputs = []
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    if code:
        sys.stdout.write(out.getvalue())
        sys.exit(code)
    outputs.append(out.getvalue())
sys.stdout.write(json.dumps(outputs))
"""


@contextmanager
def server_process(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A served install: (process, base URL), its output appended to `server.log` in the data
    directory. Its own process group, so `crash` takes the writer process down with it.
    Stopped with SIGINT (a graceful drain) unless already dead; killed with its group when that
    drain does not end."""
    proc, port = start_listening(
        lambda port: [sys.executable, "-m", "analytics_mcp.cli", "serve", "--port", str(port)],
        env=env,
        output=Path(env["ANALYTICS_DATA_DIR"]) / "server.log",
        new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=180)
            except subprocess.TimeoutExpired:
                crash(proc)  # a drain that hangs (a stopped writer) must not outlive the test
                raise


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx2.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("the server did not become healthy")


def crash(proc: subprocess.Popen[bytes]) -> None:
    """kill -9 of the server and its writer process at once."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def writer_child(server_pid: int) -> int:
    """The writer process among the server's children (not multiprocessing's resource tracker)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        for task in Path(f"/proc/{server_pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"spawn_main" in cmdline:
                    return int(pid)
        time.sleep(0.05)
    raise AssertionError("no writer process")
