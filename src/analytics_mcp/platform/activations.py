"""Activations: connectors attached to a segment, their sync logs and the members their tool has
(sync, Connection first, the caller owns the transaction; all in the accounts database).

A connector belongs to its segment's tenant; another tenant's activation or segment id answers
exactly like one that does not exist (AccountError "not found").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, insert, select, update

from analytics_mcp.platform.connectors import CONNECTOR_TYPES, ConnectorConfig
from analytics_mcp.platform.connectors.klaviyo import DEFAULT_BASE_URL
from analytics_mcp.platform.connectors.ssrf import OutboundRefused, parse_target
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.storage.plans_schema import activation_members, activation_sync_logs, activations
from analytics_mcp.storage.platform_schema import segments
from analytics_mcp.timeutil import utcnow_iso

STATUSES = ("active", "paused")
MAX_ERROR = 1000
MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class Activation:
    id: int
    tenant_id: int
    segment_id: int
    segment_name: str
    connector_type: str
    url: str
    secret: str
    list_id: str | None
    status: str
    synced_day: int | None
    last_synced_at: str | None
    last_error: str

    @property
    def config(self) -> ConnectorConfig:
        return ConnectorConfig(self.id, self.connector_type, self.url, self.secret, self.list_id)


@dataclass(frozen=True, slots=True)
class SyncLog:
    status: str  # success | error
    user_count: int
    error_message: str
    synced_at: str


def _checked_url(connector_type: str, url: str | None, allow_http: bool) -> str:
    if connector_type == "klaviyo" and not url:
        url = DEFAULT_BASE_URL
    if not url:
        raise AccountError("url", "a webhook needs the receiver's URL")
    try:
        target = parse_target(url)
    except OutboundRefused as exc:
        raise AccountError("url", str(exc)) from None
    if target.url.scheme != "https" and not allow_http:
        raise AccountError("url", "must be an https URL")
    return url.strip()


def _segment_name(conn: Connection, tenant_id: int, segment_id: int) -> str:
    query = select(segments.c.name).where(segments.c.id == segment_id, segments.c.tenant_id == tenant_id)
    name = conn.execute(query).scalar_one_or_none()
    if name is None:
        raise AccountError("segment", "not found")
    return str(name)


def add_activation(
    conn: Connection,
    tenant_id: int,
    segment_id: int,
    connector_type: str,
    *,
    url: str | None,
    secret: str,
    list_id: str | None = None,
    allow_http: bool = False,
) -> Activation:
    """A new active connector. `allow_http`: plain http receivers (with private targets allowed)."""
    if connector_type not in CONNECTOR_TYPES:
        raise AccountError("type", f"must be one of {', '.join(CONNECTOR_TYPES)}")
    clean_url = _checked_url(connector_type, url, allow_http)
    if not isinstance(secret, str) or len(secret) < MIN_SECRET or len(secret) > 200:
        raise AccountError("secret", f"must be {MIN_SECRET}-200 characters")
    _segment_name(conn, tenant_id, segment_id)
    values = {
        "tenant_id": tenant_id,
        "segment_id": segment_id,
        "connector_type": connector_type,
        "url": clean_url,
        "secret": secret,
        "list_id": list_id or None,
        "status": "active",
        "last_error": "",
        "created_at": utcnow_iso(),
    }
    new_id = conn.execute(insert(activations).values(**values)).inserted_primary_key
    assert new_id is not None
    found = get_activation(conn, tenant_id, int(new_id[0]))
    assert found is not None
    return found


def _with_segment_names() -> Select[Any]:
    return (
        select(activations, segments.c.name.label("segment_name"))
        .join(segments, segments.c.id == activations.c.segment_id)
        .order_by(activations.c.id)
    )


def _query(tenant_id: int) -> Select[Any]:
    return _with_segment_names().where(activations.c.tenant_id == tenant_id)


def _from_row(row: Row[Any]) -> Activation:
    v = row._mapping
    return Activation(
        v["id"],
        v["tenant_id"],
        v["segment_id"],
        v["segment_name"],
        v["connector_type"],
        v["url"],
        v["secret"],
        v["list_id"],
        v["status"],
        v["synced_day"],
        v["last_synced_at"],
        v["last_error"],
    )


def list_activations(conn: Connection, tenant_id: int, segment_id: int | None = None) -> list[Activation]:
    query = _query(tenant_id)
    if segment_id is not None:
        query = query.where(activations.c.segment_id == segment_id)
    return [_from_row(row) for row in conn.execute(query)]


def activations_of_segment(conn: Connection, segment_id: int) -> list[Activation]:
    """Every connector of a segment (the computation's callback: the segment id is its own)."""
    query = _with_segment_names().where(activations.c.segment_id == segment_id)
    return [_from_row(row) for row in conn.execute(query)]


def get_activation(conn: Connection, tenant_id: int, activation_id: int) -> Activation | None:
    row = conn.execute(_query(tenant_id).where(activations.c.id == activation_id)).first()
    return _from_row(row) if row is not None else None


def remove_activation(conn: Connection, tenant_id: int, activation_id: int) -> None:
    result = conn.execute(
        delete(activations).where(activations.c.id == activation_id, activations.c.tenant_id == tenant_id)
    )
    if not result.rowcount:
        raise AccountError("activation", "not found")


# -- what the tool has, and the log ----------------------------------------------------------------


def synced_members(conn: Connection, activation_id: int) -> set[str]:
    query = select(activation_members.c.user_id).where(activation_members.c.activation_id == activation_id)
    return set(conn.execute(query).scalars())


def record_success(
    conn: Connection,
    activation_id: int,
    added: Sequence[str],
    removed: Iterable[str],
    user_count: int,
    day: int,
    synced_at: str,
) -> None:
    """The tool now has the members: the delta is applied and the sync logged, in one transaction."""
    gone = list(removed)
    for start in range(0, len(gone), 500):
        conn.execute(
            delete(activation_members).where(
                activation_members.c.activation_id == activation_id,
                activation_members.c.user_id.in_(gone[start : start + 500]),
            )
        )
    if added:
        conn.execute(
            insert(activation_members), [{"activation_id": activation_id, "user_id": u} for u in added]
        )
    conn.execute(
        update(activations)
        .where(activations.c.id == activation_id)
        .values(synced_day=day, last_synced_at=synced_at, last_error="")
    )
    _log(conn, activation_id, SyncLog("success", user_count, "", synced_at))


def record_failure(conn: Connection, activation_id: int, user_count: int, error: str, synced_at: str) -> None:
    message = error[:MAX_ERROR] or "failed"
    conn.execute(update(activations).where(activations.c.id == activation_id).values(last_error=message))
    _log(conn, activation_id, SyncLog("error", user_count, message, synced_at))


def _log(conn: Connection, activation_id: int, log: SyncLog) -> None:
    conn.execute(
        insert(activation_sync_logs).values(
            activation_id=activation_id,
            status=log.status,
            user_count=log.user_count,
            error_message=log.error_message,
            synced_at=log.synced_at,
        )
    )


def recent_logs(conn: Connection, activation_id: int, limit: int) -> list[SyncLog]:
    """The newest `limit` logs, newest first."""
    table = activation_sync_logs.c
    query = select(table.status, table.user_count, table.error_message, table.synced_at)
    query = query.where(table.activation_id == activation_id).order_by(table.id.desc()).limit(limit)
    return [SyncLog(*row) for row in conn.execute(query)]
