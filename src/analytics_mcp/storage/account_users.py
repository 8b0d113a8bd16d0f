"""A tenant's users as its admins manage them (list, change a role, remove), and goal archiving.
Re-exported by `storage.accounts`; creating users stays `accounts.create_user`.

Rules: a tenant keeps at least one owner, and only an owner grants, changes or removes the owner
role. Another tenant's user or goal answers "not found", like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, select, update

from analytics_mcp.storage.account_rules import check_role
from analytics_mcp.storage.account_types import AccountError, Goal, User, goal_from
from analytics_mcp.storage.schema import goals, users
from analytics_mcp.timeutil import utcnow_iso

OWNER = "owner"


def list_users(conn: Connection, tenant_id: int) -> list[User]:
    query = select(users.c.id, users.c.tenant_id, users.c.email, users.c.role)
    rows = conn.execute(query.where(users.c.tenant_id == tenant_id).order_by(users.c.email)).mappings()
    return [User(**row) for row in rows]


def get_user(conn: Connection, tenant_id: int, user_id: int) -> User:
    query = select(users.c.id, users.c.tenant_id, users.c.email, users.c.role)
    row = conn.execute(query.where(users.c.id == user_id, users.c.tenant_id == tenant_id)).mappings().first()
    if row is None:
        raise AccountError("user", "not found")
    return User(**row)


def check_grant(actor_role: str, role: str) -> str:
    """The role an `actor_role` user may give (or create a user with)."""
    check_role(role)
    if role == OWNER and actor_role != OWNER:
        raise AccountError("role", "only an owner may grant the owner role")
    return role


def _keeps_an_owner(conn: Connection, user: User) -> None:
    owners = select(func.count()).where(users.c.tenant_id == user.tenant_id, users.c.role == OWNER)
    if user.role == OWNER and int(conn.execute(owners).scalar_one()) <= 1:
        raise AccountError("user", "a tenant keeps at least one owner")


def _may_change(actor_role: str, user: User) -> None:
    if user.role == OWNER and actor_role != OWNER:
        raise AccountError("user", "only an owner may change or remove an owner")


def set_user_role(conn: Connection, tenant_id: int, user_id: int, role: str, actor_role: str) -> User:
    user = get_user(conn, tenant_id, user_id)
    check_grant(actor_role, role)
    _may_change(actor_role, user)
    if role != OWNER:
        _keeps_an_owner(conn, user)
    conn.execute(update(users).where(users.c.id == user.id).values(role=role))
    return User(id=user.id, tenant_id=user.tenant_id, email=user.email, role=role)


def remove_user(conn: Connection, tenant_id: int, user_id: int, actor_role: str) -> User:
    """Delete the user (their sessions, chat history and report settings go with them)."""
    user = get_user(conn, tenant_id, user_id)
    _may_change(actor_role, user)
    _keeps_an_owner(conn, user)
    conn.execute(delete(users).where(users.c.id == user.id))
    return user


def set_goal_active(conn: Connection, goal_id: str, site_ids: Sequence[int], active: bool) -> Goal:
    """Archive (or restore) a goal of these sites: an archived goal records no new completions;
    the ones it has stay in the reports."""
    query = select(goals).where(goals.c.id == goal_id, goals.c.site_id.in_(list(site_ids)))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise AccountError("goal", "not found")
    now = utcnow_iso()
    conn.execute(update(goals).where(goals.c.id == goal_id).values(is_active=active, updated_at=now))
    return goal_from({**row, "is_active": active, "updated_at": now})
