"""The app container: what every edge (HTTP, MCP, chat, CLI) needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from analytics_mcp.config import Settings
from analytics_mcp.ingest.group_commit import Ingestor
from analytics_mcp.storage.clickhouse import (
    ClickHouseEvents,
    EventsDatabase,
    is_clickhouse_url,
    open_clickhouse,
)
from analytics_mcp.storage.db import (
    Database,
    distinct_databases,
    open_database,
    open_databases,
    separate_accounts,
)
from analytics_mcp.storage.migrate import upgrade


@dataclass
class Services:
    """`db` holds accounts, sites, goals, experiments, sessions and the chat log; `events_db` the
    events, visits, goal completions and rollups (storage/roles.py). They are one object unless
    ANALYTICS_EVENTS_URL names another database; with ClickHouse events `events_db` is a
    `ClickHouseEvents` (the engine's reports read it; salts and spool bookkeeping: docs/ingestion.md)."""

    settings: Settings
    db: Database
    events_db: EventsDatabase
    ingestor: Ingestor

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        if is_clickhouse_url(settings.events_database_url):
            return cls._with_clickhouse(settings, migrate=migrate)
        db, events_db = open_databases(settings.database_url, settings.events_database_url)
        if migrate:
            for each in distinct_databases(db, events_db):
                upgrade(each.sync)
        ingestor = Ingestor(events_db, settings, separate_accounts(db, events_db))
        return cls(settings=settings, db=db, events_db=events_db, ingestor=ingestor)

    @classmethod
    def _with_clickhouse(cls, settings: Settings, *, migrate: bool) -> Services:
        from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse

        db = open_database(settings.database_url)
        events = open_clickhouse(settings.events_database_url)
        if migrate:
            upgrade(db.sync)
            upgrade_clickhouse(events)
        events.rollups = db  # kept rollups of the ClickHouse events (docs/rollups.md)
        ingestor = Ingestor(db, settings, clickhouse=events)
        return cls(settings=settings, db=db, events_db=events, ingestor=ingestor)

    def sql_databases(self) -> tuple[Database, ...]:
        """Each SQL database once (the accounts, and the events unless they are in ClickHouse)."""
        if isinstance(self.events_db, ClickHouseEvents):
            return (self.db,)
        return distinct_databases(self.db, self.events_db)

    async def start(self) -> None:
        await self.ingestor.start()

    async def close(self) -> None:
        await self.ingestor.stop()
        for each in self.sql_databases():
            await each.dispose()
        if isinstance(self.events_db, ClickHouseEvents):
            self.events_db.close()
