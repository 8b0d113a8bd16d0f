"""Which database holds which table (storage/roles.py): every table has exactly one role, no
foreign key crosses the two, and the migrations build exactly the declared schema on both
backends (the events database may be another server than the accounts one)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from analytics_mcp.services import Services
from analytics_mcp.storage.roles import ACCOUNT_TABLES, EVENT_TABLES, role_of
from analytics_mcp.storage.schema import metadata

pytestmark = pytest.mark.backends()


def test_every_table_has_one_role() -> None:
    assert not set(ACCOUNT_TABLES) & set(EVENT_TABLES)
    assert sorted(metadata.tables) == sorted(ACCOUNT_TABLES + EVENT_TABLES)
    with pytest.raises(KeyError, match="no role"):
        role_of("alembic_version")


def test_no_foreign_key_crosses_the_roles() -> None:
    crossing = [
        f"{table.name}.{key.parent.name} -> {key.column.table.name}"
        for table in metadata.tables.values()
        for key in table.foreign_keys
        if role_of(table.name) != role_of(key.column.table.name)
    ]
    assert crossing == []


def test_the_migrations_build_the_declared_schema(services: Services) -> None:
    with services.db.sync.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
