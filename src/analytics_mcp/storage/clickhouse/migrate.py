"""Versioned migrations of the ClickHouse events schema: `schema_migrations` in the events
database records each applied step; `upgrade_clickhouse` applies the missing ones in order.
Steps use IF NOT EXISTS, so a step interrupted half-way is simply run again."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents
from analytics_mcp.storage.clickhouse.schema import MIGRATIONS

_LEDGER = (
    "CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
    "(version UInt32, name String, applied_at DateTime('UTC')) ENGINE = ReplacingMergeTree ORDER BY version"
)


def applied_versions(events: ClickHouseEvents) -> list[int]:
    rows = events.rows(f"SELECT DISTINCT version FROM {events.table('schema_migrations')} ORDER BY version")
    return [int(row[0]) for row in rows]


def upgrade_clickhouse(events: ClickHouseEvents) -> int:
    """Create the database and apply every missing step; the schema version reached."""
    db = f"`{events.database}`"
    events.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    events.command(_LEDGER.format(db=db))
    done = set(applied_versions(events))
    for step in MIGRATIONS:
        if step.version in done:
            continue
        for statement in step.statements:
            events.command(statement.format(db=db))
        events.insert(
            "schema_migrations",
            [(step.version, step.name, datetime.now(UTC))],
            ("version", "name", "applied_at"),
        )
    return current_version(events)


def current_version(events: ClickHouseEvents) -> int:
    versions = applied_versions(events)
    return versions[-1] if versions else 0
