"""Weekly email reports: who opted in, and which report weeks were sent to whom.

A week is claimed (a row keyed by user and ISO week) before its mail is sent and marked sent
after; a second sender finds the row and skips, so a restart, a second server or the CLI's "send
now" never sends one week twice. A send that failed gives its claim back (`release_week`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from analytics_mcp.storage.account_core import get_tenant_by_id
from analytics_mcp.storage.account_types import Tenant, User
from analytics_mcp.storage.account_users import get_user
from analytics_mcp.storage.schema import users
from analytics_mcp.storage.sharing_schema import report_deliveries, report_subscriptions
from analytics_mcp.timeutil import utcnow_iso


@dataclass(frozen=True, slots=True)
class Subscriber:
    user: User
    tenant: Tenant


def set_weekly_report(conn: Connection, tenant_id: int, user_id: int, on: bool) -> User:
    """Opt a user of this tenant in or out (idempotent); another tenant's user is "not found"."""
    user = get_user(conn, tenant_id, user_id)
    conn.execute(delete(report_subscriptions).where(report_subscriptions.c.user_id == user.id))
    if on:
        conn.execute(insert(report_subscriptions).values(user_id=user.id, created_at=utcnow_iso()))
    return user


def subscribed_ids(conn: Connection, tenant_id: int) -> set[int]:
    query = select(report_subscriptions.c.user_id).join(users, users.c.id == report_subscriptions.c.user_id)
    return set(conn.execute(query.where(users.c.tenant_id == tenant_id)).scalars())


def subscribers(conn: Connection) -> list[Subscriber]:
    """Every opted-in user with their tenant, in a stable order."""
    query = (
        select(users.c.id, users.c.tenant_id, users.c.email, users.c.role)
        .join(report_subscriptions, report_subscriptions.c.user_id == users.c.id)
        .order_by(users.c.id)
    )
    out = []
    for row in conn.execute(query).mappings():
        tenant = get_tenant_by_id(conn, row["tenant_id"])
        if tenant is not None:
            out.append(Subscriber(User(**row), tenant))
    return out


def claim_week(conn: Connection, user_id: int, week: str) -> bool:
    """True if this caller may send the user's report of `week` (nobody claimed it before)."""
    try:
        with conn.begin_nested():
            values = {"user_id": user_id, "week": week, "claimed_at": utcnow_iso()}
            conn.execute(insert(report_deliveries).values(**values))
    except IntegrityError:
        return False
    return True


def _delivery(user_id: int, week: str) -> ColumnElement[bool]:
    return (report_deliveries.c.user_id == user_id) & (report_deliveries.c.week == week)


def mark_sent(conn: Connection, user_id: int, week: str) -> None:
    conn.execute(update(report_deliveries).where(_delivery(user_id, week)).values(sent_at=utcnow_iso()))


def release_week(conn: Connection, user_id: int, week: str) -> None:
    """Give back the claim of a send that failed, so the next round tries again."""
    unsent = report_deliveries.c.sent_at.is_(None)
    conn.execute(delete(report_deliveries).where(_delivery(user_id, week), unsent))


def sent_weeks(conn: Connection, user_id: int) -> list[str]:
    query = select(report_deliveries.c.week).where(
        report_deliveries.c.user_id == user_id, report_deliveries.c.sent_at.is_not(None)
    )
    return sorted(conn.execute(query).scalars())
