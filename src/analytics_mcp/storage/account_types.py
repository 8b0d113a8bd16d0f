"""Account value objects and the one validation error; re-exported by `storage.accounts`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping

from analytics_mcp.field_error import FieldError

Record = Mapping[str, Any] | RowMapping
"""A row read by column name: a result's `RowMapping`, or a dict with the same keys."""


class AccountError(FieldError):
    """A rule broken by an account operation; `field` names the input, `rule` says what is wrong."""


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    slug: str
    name: str
    plan: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    tenant_id: int
    domain: str
    timezone: str  # resolved: the site's own, else its tenant's
    currency: str


@dataclass(frozen=True, slots=True)
class User:
    id: int
    tenant_id: int
    email: str
    role: str


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    tenant: Tenant
    name: str
    scopes: frozenset[str]
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class Goal:
    id: str
    site_id: int
    name: str
    type: str  # url | event
    match_type: str | None
    path: str | None
    event_name: str | None
    is_active: bool
    created_at: str
    updated_at: str

    def config(self) -> dict[str, str]:
        """What the goal matches, without its identity: what reports and tools show."""
        if self.type == "url":
            return {"match_type": self.match_type or "exact", "path": self.path or "/"}
        return {"event_name": self.event_name or ""}


def tenant_from(row: Record) -> Tenant:
    return Tenant(
        id=row["id"], slug=row["slug"], name=row["name"], plan=row["plan"], timezone=row["timezone"]
    )


def goal_from(row: Record) -> Goal:
    return Goal(
        id=row["id"],
        site_id=row["site_id"],
        name=row["name"],
        type=row["type"],
        match_type=row["match_type"],
        path=row["path"],
        event_name=row["event_name"],
        is_active=bool(row["is_active"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
