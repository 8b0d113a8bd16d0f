"""The app container: what every edge (HTTP, MCP, chat, CLI) needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from analytics_mcp.config import Settings
from analytics_mcp.ingest.group_commit import Ingestor
from analytics_mcp.storage.db import Database, open_database
from analytics_mcp.storage.migrate import upgrade


@dataclass
class Services:
    settings: Settings
    db: Database
    ingestor: Ingestor

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        db = open_database(settings.database_url)
        if migrate:
            upgrade(db.sync)
        return cls(settings=settings, db=db, ingestor=Ingestor(db, settings))

    async def start(self) -> None:
        await self.ingestor.start()

    async def close(self) -> None:
        await self.ingestor.stop()
        await self.db.dispose()
