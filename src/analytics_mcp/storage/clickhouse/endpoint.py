"""A loopback ClickHouse HTTP endpoint over this process's chDB engine.

chDB runs one engine per process, so a `chdb://` server's writer process cannot open the engine
itself; it talks to this endpoint instead, with clickhouse-connect's HTTP client, exactly as a
`clickhouse://` writer talks to a server (docs/ingestion.md). The tests' stand-in for a ClickHouse
server (tests/clickhouse_http.py) is the same endpoint in a child process.

- Bound to 127.0.0.1 only, on a port the OS picks (or a given one: the tests' restart).
- Every request carries the credential (HTTP Basic, as clickhouse-connect sends it) or is refused
  with 401 before its body is read or any statement runs; compared in constant time.
- Statements run on a chDB handle of its own (its USE/SET state apart from the server's clients),
  one at a time; the server's own statements run on its other handles meanwhile, and chDB
  releases the GIL while one runs, so the server's Python threads go on too.

The protocol (what clickhouse-connect sends) is in storage/clickhouse/http_statements.py.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents, parse_clickhouse_url
from analytics_mcp.storage.clickhouse.http_statements import Request, Response, Statements, read_body

log = logging.getLogger("analytics_mcp.storage")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Credential:
    user: str
    password: str

    @classmethod
    def fresh(cls) -> Credential:
        """A new random credential (one per server start): 256 bits, URL-safe."""
        return cls("writer", secrets.token_urlsafe(32))

    def admits(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries this credential (Basic user:password)."""
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            return False
        expected = f"{self.user}:{self.password}".encode()
        return scheme.lower() == "basic" and hmac.compare_digest(given, expected)

    def __repr__(self) -> str:  # never the password, whatever logs the object
        return f"Credential(user={self.user!r})"


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a writer's keep-alive connection never holds up the close

    def __init__(self, port: int, statements: Statements, credential: Credential) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.statements = statements
        self.credential = credential


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the URL carries parameters and settings: nothing of it goes to a log

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        if not self.server.credential.admits(self.headers.get("Authorization")):
            self.close_connection = True  # its body is not read
            self._send(Response(401, b"Code: 516. DB::Exception: Authentication failed.\n", {}))
            return
        request = Request(self.path, self.headers, read_body(self.rfile, self.headers))
        self._send(self.server.statements.answer(request))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        headers = {"Content-Type": "text/plain; charset=UTF-8", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)


class Endpoint:
    """The endpoint, serving in a thread of this process until `close`."""

    def __init__(self, events: ClickHouseEvents, credential: Credential, port: int = 0) -> None:
        if not events.embedded:
            raise ValueError("the loopback endpoint serves a chDB engine (chdb:// URL)")
        self.database = events.database
        self.credential = credential
        self._statements = Statements(parse_clickhouse_url(events.url).path)
        self._server = _Server(port, self._statements, credential)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="clickhouse-endpoint", daemon=True
        )
        self._thread.start()

    def url(self) -> str:
        """clickhouse://USER:CREDENTIAL@127.0.0.1:PORT/DB: for the writer child only, never logged."""
        user, password = quote(self.credential.user, safe=""), quote(self.credential.password, safe="")
        return f"clickhouse://{user}:{password}@{LOOPBACK}:{self.port}/{self.database}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._statements.close()
