"""A loopback ClickHouse HTTP endpoint over chDB, for tests of the HTTP client path (tech brief 14).

No ClickHouse server can be installed here, so a test runs this file as a child process that owns
a chDB directory (one engine per process) and speaks the part of ClickHouse's HTTP interface that
clickhouse-connect uses; the application under test connects with clickhouse://127.0.0.1:PORT/db,
exactly as it would to a server. Killing the process is the "ClickHouse is down" fault.

What clickhouse-connect sends, and what this answers:
- `GET /ping` -> `Ok.`
- `POST /?query=...` (or the SQL as the whole body): a query or a command. The URL carries
  `param_<name>` values for the `{name:Type}` placeholders (passed to chDB as parameters),
  `database`, and settings (applied with SET for the one statement, then set back to DEFAULT).
  Transport-only keys (session_id, query_id, wait_end_of_query, progress headers, compression
  switches, client_protocol_version...) are not settings and are dropped. The output format is
  the statement's FORMAT clause (the client appends `FORMAT Native` to queries), else
  `default_format`, else TabSeparated; chDB speaks the same formats, so its bytes are returned
  untouched.
- Inserts: `INSERT INTO t (cols) FORMAT Native` in `query` with the block in a chunked body,
  compressed as the request's Content-Encoding says (lz4/zstd/gzip/deflate), or the statement and a
  newline before the data in the body. Stored with chDB's `INSERT ... FROM INFILE` (chDB has no
  request body), with the URL's settings (insert_deduplication_token) in a SETTINGS clause.
- Answers carry X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Timezone and
  X-ClickHouse-Summary; a failure is HTTP 500 with X-ClickHouse-Exception-Code and ClickHouse's
  message as the body. Responses are never compressed (no Content-Encoding, which the client
  accepts whatever it asked for).

Usage: python tests/clickhouse_http.py PORT CHDB_DIRECTORY
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

TRANSPORT = frozenset(
    {
        *("query", "database", "default_format", "session_id", "session_timeout", "session_check"),
        *("query_id", "quota_key", "compress", "decompress", "wait_end_of_query", "buffer_size"),
        *("client_protocol_version", "role", "user", "password", "enable_http_compression"),
        *("send_progress_in_http_headers", "http_headers_progress_interval_ms"),
        "cancel_http_readonly_queries_on_client_close",
    }
)
_INSERT = re.compile(r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)\.")
_EXCEPTION = "X-ClickHouse-Exception-Code"
_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Engine:
    """One chDB connection, one statement at a time."""

    def __init__(self, path: str) -> None:
        import chdb

        self.conn = chdb.connect(path)
        self.lock = threading.Lock()

    def run(self, sql: str, fmt: str, params: dict[str, str], settings: dict[str, str], db: str) -> Any:
        with self.lock:
            self.conn.query(f"USE `{db}`" if db else "USE default", "TabSeparated")
            for name, value in settings.items():
                self.conn.query(f"SET {name} = {_literal(value)}", "TabSeparated")
            try:
                return self.conn.query(sql, fmt, params=params)
            finally:
                for name in settings:
                    self.conn.query(f"SET {name} = DEFAULT", "TabSeparated")


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _decompress(data: bytes, encoding: str) -> bytes:
    """The body of an insert: one compressed frame per block the client streamed."""
    if encoding != "lz4":
        from clickhouse_connect.driver._backend.httpcommon import decompress_response

        return decompress_response(data, encoding)  # zstd and gzip read concatenated frames
    import lz4.frame  # type: ignore[import-untyped]

    out = []
    while data:
        frame = lz4.frame.LZ4FrameDecompressor()
        out.append(frame.decompress(data))
        data = frame.unused_data
    return b"".join(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine: Engine

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/") == "/ping":
            self._answer(200, b"Ok.\n", {})
        else:
            self._statement()

    def do_POST(self) -> None:
        self._statement()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding")
        return _decompress(body, encoding) if body and encoding and encoding != "identity" else body

    def _statement(self) -> None:
        url = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        body = self._body()
        sql = url.get("query", "")
        params = {k[6:]: v for k, v in url.items() if k.startswith("param_")}
        settings = {k: v for k, v in url.items() if k not in TRANSPORT and not k.startswith("param_")}
        database = url.get("database", "")
        if not all(_SETTING.match(name) for name in settings):
            self._answer(400, b"Code: 115. DB::Exception: Unknown setting.\n", {_EXCEPTION: "115"})
            return
        if not sql:  # the statement leads the body; for an insert its data follows a newline
            head, _, rest = body.partition(b"\n")
            leads = _INSERT.match(head.decode(errors="replace"))
            sql, body = (head.decode(), rest) if leads else (body.decode(), b"")
        insert = _INSERT.match(sql)
        query_id = url.get("query_id", "")
        try:
            if insert:
                fmt = "TabSeparated"
                result = self._insert(insert.group(1), insert.group(2), body, settings, database)
            else:
                if body:
                    sql = f"{sql}\n{body.decode()}" if sql else body.decode()
                named = _FORMAT.search(sql)
                fmt = named.group(1) if named else url.get("default_format", "TabSeparated")
                result = self.engine.run(sql, fmt, params, settings, database)
        except Exception as error:  # chDB's ChdbError: ClickHouse's own message and code
            message = str(error)
            code = _CODE.search(message)
            headers = {_EXCEPTION: code.group(1) if code else "1000"}
            self._answer(500, (message + "\n").encode(), headers)
            return
        summary = {"read_rows": str(result.rows_read()), "written_rows": str(result.rows_written())}
        self._answer(
            200,
            result.bytes() or b"",
            {
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Format": fmt,
                "X-ClickHouse-Timezone": "UTC",
                "X-ClickHouse-Summary": json.dumps(summary),
            },
        )

    def _insert(self, statement: str, fmt: str, data: bytes, settings: dict[str, str], db: str) -> Any:
        with tempfile.NamedTemporaryFile(suffix=".data", delete=False) as tmp:
            tmp.write(data)
        try:
            clause = ", ".join(f"{name} = {_literal(value)}" for name, value in settings.items())
            sql = f"{statement} FROM INFILE {_literal(tmp.name)}"
            sql += f" SETTINGS {clause}" if clause else ""
            return self.engine.run(f"{sql} FORMAT {fmt}", "TabSeparated", {}, {}, db)
        finally:
            os.unlink(tmp.name)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain; charset=UTF-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(port: int, path: str) -> None:
    Handler.engine = Engine(path)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


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
