"""Profile rows: a tenant's customers under the site's own id (docs/platform.md, "Profiles").

A profile is created by the first identified event or import naming its `user_id` and changed by
every later one: traits are merged (a trait sent as null is removed), first and last seen move with
the identified events' times. Writes are batched per transaction (`ProfileBatch`), on the events
database: the ingestion writer adds the profiles of a batch's identified events in the batch's own
transaction; `POST /api/v1/profiles` writes its own.

Nothing here reads or stores a visitor hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select, update

from analytics_mcp.storage.platform_schema import profiles
from analytics_mcp.timeutil import utcnow_iso

CHUNK = 500  # keys per IN list


@dataclass(slots=True)
class ProfileChange:
    """What one batch says about one profile."""

    site_id: int
    traits: dict[str, Any] = field(default_factory=dict)  # None values remove the trait
    first_ms: int | None = None
    last_ms: int | None = None

    def seen(self, ts: int | None) -> None:
        if ts is None:
            return
        self.first_ms = ts if self.first_ms is None else min(self.first_ms, ts)
        self.last_ms = ts if self.last_ms is None else max(self.last_ms, ts)


class ProfileBatch:
    """Profile changes gathered over a batch, written with a few statements."""

    def __init__(self) -> None:
        self.changes: dict[tuple[int, str], ProfileChange] = {}

    def __bool__(self) -> bool:
        return bool(self.changes)

    def add(
        self,
        tenant_id: int,
        site_id: int,
        user_id: str,
        traits: Mapping[str, Any] | None,
        seen_ms: int | None,
    ) -> None:
        change = self.changes.get((tenant_id, user_id))
        if change is None:
            change = self.changes[(tenant_id, user_id)] = ProfileChange(site_id)
        if traits:
            change.traits.update(traits)
        change.seen(seen_ms)

    def write(self, conn: Connection) -> None:
        """Create the missing profiles, then merge every change into its stored row."""
        if not self.changes:
            return
        now = utcnow_iso()
        _create_missing(conn, self.changes, now)
        by_tenant: dict[int, list[str]] = {}
        for tenant_id, user_id in self.changes:
            by_tenant.setdefault(tenant_id, []).append(user_id)
        params: list[dict[str, Any]] = []
        for tenant_id, user_ids in by_tenant.items():
            for row in _stored(conn, tenant_id, user_ids):
                change = self.changes[(tenant_id, row.user_id)]
                params.append(_merged(row, change, now))
        stmt = update(profiles).where(profiles.c.id == bindparam("b_id"))
        conn.execute(stmt, params)


def _create_missing(conn: Connection, changes: Mapping[tuple[int, str], ProfileChange], now: str) -> None:
    """Empty rows for new keys; a row another transaction created first is left as it is."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ("tenant_id", "site_id", "user_id", "traits", "created_at", "updated_at")
    sql = (
        f"INSERT INTO profiles ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        "ON CONFLICT (tenant_id, user_id) DO NOTHING"
    )
    rows = [(t, c.site_id, u, "{}", now, now) for (t, u), c in changes.items()]
    conn.exec_driver_sql(sql, rows)


def _stored(conn: Connection, tenant_id: int, user_ids: list[str]) -> Iterable[Any]:
    p = profiles.c
    columns = (p.id, p.user_id, p.traits, p.first_seen_ms, p.last_seen_ms)
    for start in range(0, len(user_ids), CHUNK):
        chunk = user_ids[start : start + CHUNK]
        yield from conn.execute(select(*columns).where(p.tenant_id == tenant_id, p.user_id.in_(chunk)))


def _merged(row: Any, change: ProfileChange, now: str) -> dict[str, Any]:
    traits = orjson.loads(row.traits)
    for key, value in change.traits.items():
        if value is None:
            traits.pop(key, None)
        else:
            traits[key] = value
    first = min((t for t in (row.first_seen_ms, change.first_ms) if t is not None), default=None)
    last = max((t for t in (row.last_seen_ms, change.last_ms) if t is not None), default=None)
    return {
        "b_id": row.id,
        "traits": orjson.dumps(traits).decode(),
        "first_seen_ms": first,
        "last_seen_ms": last,
        "updated_at": now,
    }
