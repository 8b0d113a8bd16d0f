"""Database engines built from one URL: a sync engine (ingestion writer, CLI, migrations) and an
async engine (request-path reads). SQLite gets WAL, foreign keys and a busy timeout on every
connection; PostgreSQL uses psycopg 3 for both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg.abc import Buffer
from psycopg.adapt import Loader
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool


def _driver_urls(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return (
            str(parsed.set(drivername="sqlite")),
            str(parsed.set(drivername="sqlite+aiosqlite")),
        )
    if backend == "postgresql":
        psycopg = parsed.set(drivername="postgresql+psycopg")
        return str(psycopg), str(psycopg)
    if backend in ("clickhouse", "clickhouses", "chdb"):  # storage/clickhouse: not a SQLAlchemy database
        raise ValueError(
            "a ClickHouse URL names the events database only (ANALYTICS_EVENTS_URL): it is opened "
            "with storage/clickhouse (ClickHouseEvents), not as a SQL database"
        )
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r} (use sqlite or postgresql)")


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a 202 means the event survives a power cut, not only a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Bounded memory: 32 MiB of page cache per connection and no mmap (mapped file pages count
    # as the server's resident memory); the OS page cache keeps hot pages anyway.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA temp_store=FILE")  # big DISTINCT/GROUP BY sorts spill to disk, not the heap
    cursor.close()


def _sqlite_manual_transactions(dbapi_conn: object, _record: object) -> None:
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]  # we emit BEGIN ourselves


def _sqlite_begin_immediate(conn: Connection) -> None:
    # The sync engine writes: take the write lock up front so a read-then-write transaction
    # never fails to upgrade its lock against another writer (busy_timeout then just waits).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class _NumberLoader(Loader):
    """PostgreSQL's `numeric` (what SUM and AVG of integers return) as SQLite gives it: an int when
    whole, else a float. The engine then sees the same Python types from every backend."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data)
        return int(text) if text.lstrip(b"-").isdigit() else float(text)


def _postgresql_types(dbapi_conn: object, _record: object) -> None:
    dbapi_conn.adapters.register_loader("numeric", _NumberLoader)  # type: ignore[attr-defined]


EVENT_WRITERS_LOCK = 0x616D6370  # "amcp": the advisory lock every event writer takes


def lock_event_writers(conn: Connection) -> None:
    """One event writer at a time, across every server sharing a PostgreSQL database, until the
    transaction ends: a writer reads open visits and the next row ids, then writes, so two
    writers at once could start two visits for one visitor. SQLite's BEGIN IMMEDIATE already
    serialises its writers."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (EVENT_WRITERS_LOCK,))


@dataclass
class Database:
    url: str
    sync: Engine
    aio: AsyncEngine
    # Sync reads that must not take SQLite's write lock (each statement sees the latest commit);
    # a rare write through it waits for the lock statement by statement.
    reader: Engine

    @property
    def is_sqlite(self) -> bool:
        return self.sync.dialect.name == "sqlite"

    @property
    def is_in_memory(self) -> bool:
        """An in-memory SQLite database: only this process can see it."""
        return self.is_sqlite and self.sync.url.database in (None, "", ":memory:")

    def checkpoint(self) -> None:
        """Fold the SQLite WAL into the main file (backups, byte-level checks); no-op elsewhere."""
        if not self.is_sqlite:
            return
        raw = self.sync.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    async def dispose(self) -> None:
        await self.aio.dispose()
        self.sync.dispose()
        self.reader.dispose()


def open_database(url: str) -> Database:
    sync_url, async_url = _driver_urls(url)
    parsed = make_url(sync_url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if not memory and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        extra = {"poolclass": StaticPool} if memory else {}
        sync = create_engine(sync_url, **extra)
        aio = create_async_engine(async_url, **extra)
        event.listen(sync, "connect", _sqlite_pragmas)
        event.listen(sync, "connect", _sqlite_manual_transactions)
        event.listen(sync, "begin", _sqlite_begin_immediate)
        event.listen(aio.sync_engine, "connect", _sqlite_pragmas)
        reader = sync if memory else create_engine(sync_url)
        if not memory:
            event.listen(reader, "connect", _sqlite_pragmas)
            event.listen(reader, "connect", _sqlite_manual_transactions)  # autocommit: no BEGIN
    else:
        # preserve_rowcount: psycopg's rowcount of an INSERT ... SELECT is gone by the time
        # SQLAlchemy is asked for it (-1); read it when the statement finishes.
        options = {"preserve_rowcount": True}
        sync = create_engine(sync_url, pool_pre_ping=True, execution_options=options)
        aio = create_async_engine(async_url, pool_pre_ping=True, execution_options=options)
        event.listen(sync, "connect", _postgresql_types)
        event.listen(aio.sync_engine, "connect", _postgresql_types)
        reader = sync
    return Database(url=url, sync=sync, aio=aio, reader=reader)


def open_databases(accounts_url: str, events_url: str) -> tuple[Database, Database]:
    """The accounts and the events database (storage/roles.py): one object when the URLs agree,
    so a single database keeps a single set of engines."""
    accounts = open_database(accounts_url)
    return accounts, accounts if events_url == accounts_url else open_database(events_url)


def distinct_databases(accounts: Database, events: Database) -> tuple[Database, ...]:
    """Each database once (to migrate or dispose of)."""
    return (accounts,) if accounts is events else (accounts, events)


def separate_accounts(accounts: Database, events: Database) -> Database | None:
    """The accounts database when it is not the events one (a writer then reads sites there)."""
    return None if accounts is events else accounts
