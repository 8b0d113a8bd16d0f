"""The part of ClickHouse's HTTP interface clickhouse-connect uses, answered by a chDB handle
(storage/clickhouse/endpoint.py serves it).

- `GET /ping` -> `Ok.`
- `POST /?query=...` (or the SQL as the whole body): a query or a command. The URL carries
  `param_<name>` values for the `{name:Type}` placeholders (passed to chDB as parameters),
  `database`, and settings (applied with SET for the one statement, then set back to DEFAULT).
  Transport-only keys (session_id, query_id, wait_end_of_query, progress headers, compression
  switches, client_protocol_version...) are not settings and are dropped. The output format is
  the statement's FORMAT clause (the client appends `FORMAT Native` to queries), else
  `default_format`, else TabSeparated; chDB speaks the same formats, so its bytes are returned
  untouched.
- A query whose parameters are too long for a URL comes as `multipart/form-data`: a `query` field
  and one `param_<name>` field each, read as if they were in the URL.
- Inserts: `INSERT INTO t (cols) FORMAT Native` in `query` with the block in a chunked body,
  compressed as the request's Content-Encoding says (lz4/zstd/gzip/deflate), or the statement and
  a newline before the data in the body. Streamed into chDB (`send_insert`) chunk by chunk as
  received: no temporary file, no joined copy of an uncompressed body; the URL's settings
  (insert_deduplication_token) go in the statement's SETTINGS clause.
- Answers carry X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Timezone and
  X-ClickHouse-Summary; a failure is HTTP 500 with X-ClickHouse-Exception-Code and ClickHouse's
  message as the body. Responses are never compressed (no Content-Encoding, which the client
  accepts whatever it asked for).
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
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
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_FIELD_NAME = re.compile(rb'\bname="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Request:
    target: str  # the request line's path and query string
    headers: Message
    body: list[bytes]  # as received (chunks), decompressed


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def read_body(stream: io.BufferedIOBase, headers: Message) -> list[bytes]:
    """The request's body: its chunks as they came (an insert streams one per block), decompressed
    as Content-Encoding says."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while size := int(stream.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(stream.read(size))
            stream.readline()
        while stream.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
    else:
        length = int(headers.get("Content-Length") or 0)
        parts = [stream.read(length)] if length else []
    encoding = headers.get("Content-Encoding")
    if parts and encoding and encoding != "identity":
        return [_decompress(b"".join(parts), encoding)]
    return parts


def _decompress(data: bytes, encoding: str) -> bytes:
    """A compressed body: one frame per block the client streamed."""
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


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (the client's query and parameters)."""
    boundary = _BOUNDARY.search(content_type)
    if boundary is None:
        return {}
    fields = {}
    for part in body.split(b"--" + boundary.group(1).encode())[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, _, value = part.partition(b"\r\n\r\n")
        name = _FIELD_NAME.search(head)
        if name is not None:
            fields[name.group(1).decode()] = value.removesuffix(b"\r\n").decode()
    return fields


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Statements:
    """One chDB handle on the process's engine, one statement at a time (the handle's USE and SET
    state is its own; statements on the server's other handles run meanwhile)."""

    def __init__(self, path: str) -> None:
        import chdb

        self._conn = chdb.connect(path)
        self._lock = threading.Lock()
        self._database = ""  # the handle's USE, set again only when a request names another

    def close(self) -> None:
        """Close the handle (the engine stays: the server's client holds its own)."""
        with self._lock:
            self._conn.close()

    def answer(self, request: Request) -> Response:
        parts = urlsplit(request.target)
        if parts.path.rstrip("/") == "/ping":
            return Response(200, b"Ok.\n", {})
        url = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        body = request.body
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            url.update(form_fields(content_type, b"".join(body)))
            body = []
        settings = {k: v for k, v in url.items() if k not in TRANSPORT and not k.startswith("param_")}
        if not all(_SETTING.match(name) for name in settings):
            return Response(400, b"Code: 115. DB::Exception: Unknown setting.\n", {_EXCEPTION: "115"})
        sql = url.get("query", "")
        if not sql and body:  # the statement leads the body; for an insert its data follows a newline
            head, _, rest = body[0].partition(b"\n")
            leads = _INSERT.match(head.decode(errors="replace"))
            sql, body = (head.decode(), [rest, *body[1:]]) if leads else (b"".join(body).decode(), [])
        try:
            fmt, written, read = self._run(sql, body, url, settings)
        except Exception as error:  # chDB's errors carry ClickHouse's own message and code
            message = str(error)
            code = _CODE.search(message)
            return Response(500, (message + "\n").encode(), {_EXCEPTION: code.group(1) if code else "1000"})
        summary = json.dumps({"read_rows": str(read.rows), "written_rows": str(written)})
        headers = {
            "X-ClickHouse-Query-Id": url.get("query_id", ""),
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Timezone": "UTC",
            "X-ClickHouse-Summary": summary,
        }
        return Response(200, read.data, headers)

    def _run(
        self, sql: str, body: list[bytes], url: Mapping[str, str], settings: Mapping[str, str]
    ) -> tuple[str, int, _Read]:
        """(output format, rows written, what the statement answered)."""
        database = url.get("database", "")
        insert = _INSERT.match(sql)
        if insert:
            clause = ", ".join(f"{name} = {_literal(value)}" for name, value in settings.items())
            statement = f"{insert.group(1)} SETTINGS {clause}" if clause else insert.group(1)
            return "TabSeparated", self._insert(statement, insert.group(2), body, database), _Read(0, b"")
        if body:
            sql = f"{sql}\n{b''.join(body).decode()}" if sql else b"".join(body).decode()
        named = _FORMAT.search(sql)
        fmt = named.group(1) if named else url.get("default_format", "TabSeparated")
        params = {k[6:]: v for k, v in url.items() if k.startswith("param_")}
        result = self._query(sql, fmt, params, settings, database)
        return fmt, result.rows_written(), _Read(result.rows_read(), result.bytes() or b"")

    def _use(self, database: str) -> None:
        if database != self._database:
            self._conn.query(f"USE `{database}`" if database else "USE default", "TabSeparated")
            self._database = database

    def _query(
        self, sql: str, fmt: str, params: dict[str, str], settings: Mapping[str, str], database: str
    ) -> Any:
        with self._lock:
            self._use(database)
            for name, value in settings.items():
                self._conn.query(f"SET {name} = {_literal(value)}", "TabSeparated")
            try:
                return self._conn.query(sql, fmt, params=params)
            finally:
                for name in settings:
                    self._conn.query(f"SET {name} = DEFAULT", "TabSeparated")

    def _insert(self, statement: str, fmt: str, body: list[bytes], database: str) -> int:
        with self._lock:
            self._use(database)
            with self._conn.send_insert(statement, fmt) as inserter:
                for chunk in body:
                    if chunk:
                        inserter.append(chunk)
                written: int = inserter.finish().rows_written
        return written


@dataclass(frozen=True, slots=True)
class _Read:
    rows: int
    data: bytes
