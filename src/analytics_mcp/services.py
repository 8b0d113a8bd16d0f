"""The app container: what every edge (HTTP, MCP, chat, CLI) needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from analytics_mcp.config import Settings
from analytics_mcp.ingest.group_commit import Ingestor
from analytics_mcp.storage.db import Database, distinct_databases, open_databases, separate_accounts
from analytics_mcp.storage.migrate import upgrade


@dataclass
class Services:
    """`db` holds accounts, sites, goals, experiments, sessions and the chat log; `events_db` the
    events, visits, goal completions and rollups (storage/roles.py). They are one object unless
    ANALYTICS_EVENTS_URL names another database."""

    settings: Settings
    db: Database
    events_db: Database
    ingestor: Ingestor

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        db, events_db = open_databases(settings.database_url, settings.events_database_url)
        if migrate:
            for each in distinct_databases(db, events_db):
                upgrade(each.sync)
        ingestor = Ingestor(events_db, settings, separate_accounts(db, events_db))
        return cls(settings=settings, db=db, events_db=events_db, ingestor=ingestor)

    async def start(self) -> None:
        await self.ingestor.start()

    async def close(self) -> None:
        await self.ingestor.stop()
        for each in distinct_databases(self.db, self.events_db):
            await each.dispose()
