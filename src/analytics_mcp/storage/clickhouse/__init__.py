"""ClickHouse as the events database (`ANALYTICS_EVENTS_URL=clickhouse://...`, `clickhouses://`
for TLS, or `chdb:///abs/path` for the embedded engine): the client (`client.py`), its own
versioned schema (`schema.py`, `migrate.py`) and the copy of an install's SQL events tables into
it (`copy.py`). The accounts stay in SQLite or PostgreSQL (storage/roles.py); the engine reads
ClickHouse through `engine/store/clickhouse_store.py`."""

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents, is_clickhouse_url, open_clickhouse
from analytics_mcp.storage.db import Database

EventsDatabase = Database | ClickHouseEvents
"""Where the engine reads events: a SQL database (SQLite, PostgreSQL) or ClickHouse."""

__all__ = ["ClickHouseEvents", "EventsDatabase", "is_clickhouse_url", "open_clickhouse"]
