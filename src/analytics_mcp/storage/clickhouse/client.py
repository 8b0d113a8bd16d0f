"""Opening ClickHouse from an events URL, and the one object the engine and the CLI use with it.

- `clickhouse://user:password@host:8123/db` (HTTP) and `clickhouses://...` (HTTPS, default port
  8443): a server or a cluster, through clickhouse-connect.
- `chdb:///abs/path` (optionally `?database=name`): the embedded ClickHouse engine (chDB) on a
  directory. chDB runs one engine per process, so the clients of a path are opened once and reused;
  another path in the same process is refused.

The database defaults to `analytics`. Queries are sent with server-side parameters
(`{name:Type}` in the SQL, values in `parameters`): no value is ever formatted into SQL text.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from analytics_mcp.storage.clickhouse.clients import ClientPool

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from analytics_mcp.storage.db import Database

SCHEMES = ("clickhouse", "clickhouses", "chdb")
DEFAULT_DATABASE = "analytics"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CHDB_POOLS: dict[str, ClientPool] = {}  # every object on one engine shares its clients
_CHDB_LOCK = threading.Lock()


def is_clickhouse_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme in SCHEMES


@dataclass(frozen=True, slots=True)
class ClickHouseUrl:
    scheme: str
    database: str
    path: str = ""  # chDB's directory
    host: str = ""
    port: int = 0
    username: str = "default"
    password: str = ""

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"


def parse_clickhouse_url(url: str) -> ClickHouseUrl:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"not a ClickHouse URL (use {', '.join(s + '://' for s in SCHEMES)})")
    query = parse_qs(parts.query)
    if parts.scheme == "chdb":
        if parts.netloc or not parts.path.startswith("/"):
            raise ValueError("chdb URLs name an absolute directory: chdb:///abs/path")
        database = query.get("database", [DEFAULT_DATABASE])[0]
        return ClickHouseUrl("chdb", _identifier(database), path=unquote(parts.path))
    if not parts.hostname:
        raise ValueError("a ClickHouse URL names its host: clickhouse://user:password@host:8123/db")
    secure = parts.scheme == "clickhouses"
    return ClickHouseUrl(
        parts.scheme,
        _identifier(unquote(parts.path.strip("/")) or DEFAULT_DATABASE),
        host=parts.hostname,
        port=parts.port or (8443 if secure else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
    )


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"ClickHouse database name {name!r}: letters, digits and _ only")
    return name


def _chdb_pool(path: str) -> ClientPool:
    with _CHDB_LOCK:
        if path not in _CHDB_POOLS:
            if _CHDB_POOLS:
                opened = next(iter(_CHDB_POOLS))
                raise ValueError(f"chDB runs one engine per process: {opened} is open, not {path}")
            import clickhouse_connect

            _CHDB_POOLS[path] = ClientPool(lambda: clickhouse_connect.get_client(dsn=f"chdb://{path}"))
        return _CHDB_POOLS[path]


@dataclass(eq=False)
class ClickHouseEvents:
    """The events database in ClickHouse: its clients (storage/clickhouse/clients.py: statements
    of different threads run at once) and the database its tables live in. `table` names a table
    for SQL; `rows` and `command` run parameterised statements."""

    url: str
    database: str
    clients: ClientPool
    embedded: bool
    # The SQL database keeping rollups computed from these events (the accounts database, set by
    # Services; engine/store/clickhouse_rollups.py). None: every report reads the raw rows.
    rollups: Database | None = None

    @property
    def client(self) -> Client:
        """A client for a call that needs no statement of its own (`ping`)."""
        return self.clients.first

    def table(self, name: str) -> str:
        return f"`{self.database}`.`{_identifier(name)}`"

    def rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> Sequence[Sequence[Any]]:
        with self.clients.lease() as client:
            result = client.query(sql, parameters=dict(parameters or {}), settings=dict(settings or {}))
        return result.result_rows

    def column_blocks(self, sql: str) -> Iterator[Sequence[Sequence[Any]]]:
        """The result in blocks (a sequence per column), for a scan too large to hold at once."""
        with self.clients.lease() as client, client.query_column_block_stream(sql) as stream:
            yield from stream

    async def rows_async(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> Sequence[Sequence[Any]]:
        return await asyncio.to_thread(self.rows, sql, parameters, settings)

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        with self.clients.lease() as client:
            client.command(sql, parameters=dict(parameters or {}))

    def insert(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], token: str | None = None
    ) -> None:
        """One block of rows; a repeated `token` (one per spool frame or copy chunk) is stored once
        (the tables' non_replicated_deduplication_window)."""
        # Column-oriented: zip transposes in C; clickhouse-connect's row pivot is Python (and ran
        # twice a block in 1.12), a third of the writer's insert time.
        self.insert_columns(table, [list(column) for column in zip(*rows, strict=True)], columns, token)

    def insert_columns(
        self, table: str, data: Sequence[Sequence[Any]], columns: Sequence[str], token: str | None = None
    ) -> None:
        """`insert` of columns (one sequence per column), for callers that hold columns already."""
        with self.clients.lease() as client:
            client.insert(
                f"{self.database}.{_identifier(table)}",
                data,
                column_names=list(columns),
                settings=_token_settings(token),
                column_oriented=True,
            )

    def insert_arrow(self, table: str, arrow_table: Any, token: str | None = None) -> None:
        """`insert_columns` of a pyarrow Table, for the writer's large batches: its arrays are built
        in C, where clickhouse-connect encodes a Native block value by value in Python (1.13, for
        chDB as for HTTP). Times must be Arrow timestamps: an integer column is not read as ticks."""
        with self.clients.lease() as client:
            client.insert_arrow(
                f"{self.database}.{_identifier(table)}",
                arrow_table,
                settings={**_token_settings(token), **_UNIQUE_KEYS},
            )

    def close(self) -> None:
        if not self.embedded:  # chDB's engine lives as long as the process
            self.clients.close()


# insert_arrow's blocks are the writer's: each row's key once (batch.compute writes an id once a
# batch; tests/test_clickhouse_insert_blocks.py), so the ReplacingMergeTree merge of the block on
# insert (optimize_on_insert) collapses nothing; skipped, it saves a third of chDB's insert CPU.
_UNIQUE_KEYS = {"optimize_on_insert": "0"}


def _token_settings(token: str | None) -> dict[str, str]:
    """An insert's settings: its deduplication token, when it has one."""
    return {"insert_deduplication_token": token} if token else {}


def open_clickhouse(url: str, compress: bool = True) -> ClickHouseEvents:
    """`compress`: lz4 request and response bodies over HTTP (False: over loopback, where
    compressing costs CPU on both sides and saves nothing)."""
    import clickhouse_connect  # only when ClickHouse is used: the rest of the CLI starts without it

    parsed = parse_clickhouse_url(url)
    if parsed.embedded:
        return ClickHouseEvents(url, parsed.database, _chdb_pool(parsed.path), embedded=True)
    pool = ClientPool(
        lambda: clickhouse_connect.get_client(
            host=parsed.host,
            port=parsed.port,
            username=parsed.username,
            password=parsed.password,
            secure=parsed.scheme == "clickhouses",
            compress=compress,
        )
    )
    return ClickHouseEvents(url, parsed.database, pool, embedded=False)
