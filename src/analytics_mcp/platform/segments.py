"""Segment definitions in the accounts database: create, change, archive, list (docs/platform.md).

Every lookup takes the tenant: a segment of another tenant is found exactly as often as one that
does not exist (never). Names are unique among a tenant's active segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import Connection, func, insert, select, update

from analytics_mcp.platform.segment_rules import Rule, SegmentDefinition
from analytics_mcp.storage.account_core import get_tenant_by_id
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.storage.platform_schema import segments
from analytics_mcp.storage.schema import PLAN_LIMITS
from analytics_mcp.storage.subscriptions import LimitReached, get_subscription, over_limit
from analytics_mcp.timeutil import utcnow_iso

ACTIVE, ARCHIVED = "active", "archived"
_RULES = TypeAdapter(list[Rule])


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    tenant_id: int
    name: str
    match: str
    rules: tuple[Any, ...]  # parsed rules (segment_rules.Rule)
    status: str
    member_count: int
    last_computed_at: str | None
    created_at: str
    updated_at: str

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "match": self.match,
            "rules": [r.model_dump(mode="json") for r in self.rules],
        }


def _segment(row: Any) -> Segment:
    return Segment(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        match=row.match,
        rules=tuple(_RULES.validate_json(row.rules)),
        status=row.status,
        member_count=row.member_count,
        last_computed_at=row.last_computed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _rules_json(definition: SegmentDefinition) -> str:
    return orjson.dumps([r.model_dump(mode="json") for r in definition.rules]).decode()


def list_segments(conn: Connection, tenant_id: int, *, status: str | None = ACTIVE) -> list[Segment]:
    """The tenant's segments by id (`status` None: archived ones too)."""
    s = segments.c
    stmt = select(segments).where(s.tenant_id == tenant_id).order_by(s.id)
    if status is not None:
        stmt = stmt.where(s.status == status)
    return [_segment(row) for row in conn.execute(stmt)]


def get_segment(conn: Connection, tenant_id: int, segment_id: int) -> Segment | None:
    s = segments.c
    row = conn.execute(select(segments).where(s.id == segment_id, s.tenant_id == tenant_id)).first()
    return None if row is None else _segment(row)


def count_active(conn: Connection, tenant_id: int) -> int:
    s = segments.c
    stmt = select(func.count()).where(s.tenant_id == tenant_id, s.status == ACTIVE)
    return int(conn.execute(stmt).scalar_one())


def _check_name(conn: Connection, tenant_id: int, name: str, except_id: int | None = None) -> None:
    s = segments.c
    stmt = select(s.id).where(
        s.tenant_id == tenant_id, s.status == ACTIVE, func.lower(s.name) == name.lower()
    )
    found = conn.execute(stmt).scalar()
    if found is not None and found != except_id:
        raise AccountError("name", "an active segment of this name exists already")


def _check_limit(conn: Connection, tenant_id: int) -> None:
    """The subscription's active-segment limit (the tenant's plan's without one): 403 past it."""
    subscription = get_subscription(conn, tenant_id)
    if subscription is not None:
        limit, plan = subscription.limits["segments"], subscription.plan_name
    else:
        tenant = get_tenant_by_id(conn, tenant_id)
        assert tenant is not None
        limit, plan = PLAN_LIMITS[tenant.plan]["segments"], tenant.plan
    if over_limit(limit, count_active(conn, tenant_id)):
        raise LimitReached("active segments", limit, plan)


def create_segment(conn: Connection, tenant_id: int, definition: SegmentDefinition) -> Segment:
    _check_limit(conn, tenant_id)
    _check_name(conn, tenant_id, definition.name)
    now = utcnow_iso()
    values = {
        "tenant_id": tenant_id,
        "name": definition.name,
        "match": definition.match,
        "rules": _rules_json(definition),
        "status": ACTIVE,
        "member_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    new_id = conn.execute(insert(segments).values(values).returning(segments.c.id)).scalar_one()
    created = get_segment(conn, tenant_id, new_id)
    assert created is not None
    return created


def change_segment(conn: Connection, segment: Segment, definition: SegmentDefinition) -> Segment:
    """New name, match and rules; members stay as computed until the next computation."""
    _check_name(conn, segment.tenant_id, definition.name, except_id=segment.id)
    values = {
        "name": definition.name,
        "match": definition.match,
        "rules": _rules_json(definition),
        "updated_at": utcnow_iso(),
    }
    conn.execute(update(segments).where(segments.c.id == segment.id).values(values))
    changed = get_segment(conn, segment.tenant_id, segment.id)
    assert changed is not None
    return changed


def archive_segment(conn: Connection, segment: Segment) -> Segment:
    """Archived segments leave the reports and are no longer computed; their snapshots stay."""
    values = {"status": ARCHIVED, "updated_at": utcnow_iso()}
    conn.execute(update(segments).where(segments.c.id == segment.id).values(values))
    archived = get_segment(conn, segment.tenant_id, segment.id)
    assert archived is not None
    return archived


def record_latest(conn: Connection, segment_id: int, member_count: int, computed_at: str) -> None:
    """member_count and last_computed_at of the segment's latest computed day."""
    values = {"member_count": member_count, "last_computed_at": computed_at}
    conn.execute(update(segments).where(segments.c.id == segment_id).values(values))
