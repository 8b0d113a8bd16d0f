"""Test data for platform analytics (issue 15): segments with membership snapshots written
straight into the data side's tables (storage/platform_schema.py), subscriptions, sync logs and
chat requests with chosen days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import insert, select
from ulid import ULID

from analytics_mcp.services import Services
from analytics_mcp.storage.db import Database
from analytics_mcp.storage.plans_schema import activation_sync_logs
from analytics_mcp.storage.platform_schema import profiles, segment_days, segment_memberships, segments
from analytics_mcp.storage.schema import chat_requests
from analytics_mcp.storage.subscriptions import new_subscription, save_subscription

NOW_ISO = "2026-05-02T14:32:00Z"


def add_segment(
    services: Services, tenant_id: int, name: str, *, member_count: int = 0, status: str = "active"
) -> int:
    values = {
        "tenant_id": tenant_id,
        "name": name,
        "rules": "[]",
        "match": "all",
        "status": status,
        "member_count": member_count,
        "last_computed_at": None,
        "created_at": NOW_ISO,
        "updated_at": NOW_ISO,
    }
    with services.db.sync.begin() as conn:
        key = conn.execute(insert(segments).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def snapshot(
    services: Services, tenant_id: int, site_id: int, segment_id: int, day: int, user_ids: Iterable[str]
) -> None:
    """The segment's members on `day` (profiles made as needed)."""
    events_db = services.events_db
    assert isinstance(events_db, Database)
    with events_db.sync.begin() as conn:
        ids = []
        for user_id in user_ids:
            query = select(profiles.c.id).where(
                profiles.c.tenant_id == tenant_id, profiles.c.user_id == user_id
            )
            found = conn.execute(query).scalar_one_or_none()
            if found is None:
                row = {"tenant_id": tenant_id, "site_id": site_id, "user_id": user_id, "traits": "{}"}
                stamp = {"created_at": NOW_ISO, "updated_at": NOW_ISO}
                found = conn.execute(insert(profiles).values(**row, **stamp)).inserted_primary_key[0]
            ids.append(int(found))
        rows = [{"segment_id": segment_id, "day": day, "profile_id": pid} for pid in ids]
        if rows:
            conn.execute(insert(segment_memberships), rows)
        day_row = {"segment_id": segment_id, "day": day, "member_count": len(ids), "computed_at": NOW_ISO}
        conn.execute(insert(segment_days).values(**day_row))


def subscribe(services: Services, tenant_id: int, tier: str, start: date, end: date, **limits: int) -> None:
    sub = new_subscription(tenant_id, tier, start, end, limits=dict(limits))  # type: ignore[arg-type]
    with services.db.sync.begin() as conn:
        save_subscription(conn, sub)


def add_logs(services: Services, activation_id: int, statuses: Iterable[str], error: str = "boom") -> None:
    """Sync logs in this order (the last is the newest), a minute apart."""
    with services.db.sync.begin() as conn:
        for minute, status in enumerate(statuses):
            conn.execute(
                insert(activation_sync_logs).values(
                    activation_id=activation_id,
                    status=status,
                    user_count=minute,
                    error_message="" if status == "success" else error,
                    synced_at=f"2026-05-02T10:{minute:02d}:00Z",
                )
            )


def add_chat_request(services: Services, tenant_id: int, day: date, status: str, credits: int = 1) -> None:
    with services.db.sync.begin() as conn:
        conn.execute(
            insert(chat_requests).values(
                id=str(ULID()),
                tenant_id=tenant_id,
                day=day.isoformat(),
                status=status,
                model="m",
                credits=credits,
                created_at=f"{day.isoformat()}T12:00:00Z",
            )
        )
