"""The accounts API: tenants, sites, users, API tokens and goals.

Sync: every function takes a Connection first and the caller owns the transaction
(`with engine.begin() as conn`, or from async code `await aconn.run_sync(lambda c: fn(c, ...))`).
Rules are in account_rules, value types in account_types, tenants/sites in account_core and
tokens in account_tokens; this module re-exports them so callers import from one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update
from ulid import ULID

from analytics_mcp.storage.account_core import (
    add_site,
    count_for_tenant,
    create_tenant,
    exists,
    get_site,
    get_tenant,
    get_tenant_by_id,
    insert_unique,
    inserted_id,
    list_sites,
    list_tenants,
    require_tenant,
)
from analytics_mcp.storage.account_rules import (
    check_email,
    check_goal_target,
    check_name,
    check_password,
    check_role,
    normalize_domain,
    plan_limits,
    plan_rank,
    within_limit,
)
from analytics_mcp.storage.account_tokens import create_token, list_tokens, revoke_token, verify_token
from analytics_mcp.storage.account_types import AccountError, Goal, Site, Tenant, Token, User, goal_from
from analytics_mcp.storage.account_users import (
    check_grant,
    get_user,
    list_users,
    remove_user,
    set_goal_active,
    set_user_role,
)
from analytics_mcp.storage.passwords import hash_password, needs_rehash, password_matches
from analytics_mcp.storage.schema import goals, users
from analytics_mcp.timeutil import utcnow_iso

__all__ = [
    "AccountError", "Goal", "Site", "Tenant", "Token", "User", "add_goal", "add_site",
    "authenticate_user", "check_grant", "create_tenant", "create_token", "create_user", "get_goal",
    "get_site", "get_tenant", "get_tenant_by_id", "get_user", "list_goals", "list_sites",
    "list_tenants", "list_tokens", "list_users", "normalize_domain", "plan_limits", "plan_rank",
    "remove_user", "revoke_token", "set_goal_active", "set_user_role", "utcnow_iso", "verify_token",
]  # fmt: skip

# -- users -------------------------------------------------------------------------------------


def create_user(conn: Connection, email: str, tenant_slug: str, password: str, role: str = "owner") -> User:
    clean = check_email(email)
    check_password(password)
    check_role(role)
    tenant = require_tenant(conn, tenant_slug)
    if exists(conn, users.c.email, clean):
        raise AccountError("email", "already exists")
    within_limit(tenant.plan, "users", count_for_tenant(conn, users.c.tenant_id, tenant.id))
    values = {"tenant_id": tenant.id, "email": clean, "role": role}
    extra = {"password_hash": hash_password(password), "created_at": utcnow_iso()}
    result = insert_unique(conn, users, "email", {**values, **extra})
    return User(id=inserted_id(result), tenant_id=tenant.id, email=clean, role=role)


def authenticate_user(conn: Connection, email: str, password: str) -> User | None:
    clean = email.strip().lower() if isinstance(email, str) else ""
    row = conn.execute(select(users).where(users.c.email == clean)).mappings().first()
    matches = password_matches(row["password_hash"] if row else None, password)  # same cost either way
    if row is None or not matches:
        return None
    if needs_rehash(row["password_hash"]):
        new_hash = hash_password(password)
        conn.execute(update(users).where(users.c.id == row["id"]).values(password_hash=new_hash))
    return User(id=row["id"], tenant_id=row["tenant_id"], email=row["email"], role=row["role"])


# -- goals -------------------------------------------------------------------------------------


def add_goal(
    conn: Connection,
    site_domain: str,
    name: str,
    *,
    path: str | None = None,
    match_type: str = "exact",
    event: str | None = None,
    tenant_id: int | None = None,
) -> Goal:
    """`tenant_id`: only a site of this tenant (another's answers "not found", like none)."""
    clean_name = check_name("name", name)
    target = check_goal_target(path, match_type, event)
    site = get_site(conn, site_domain)
    if site is None or (tenant_id is not None and site.tenant_id != tenant_id):
        raise AccountError("site", "not found")
    now = utcnow_iso()
    values: dict[str, Any] = {
        "id": str(ULID()),
        "site_id": site.id,
        "name": clean_name,
        "type": target[0],
        "match_type": target[1] if target[0] == "url" else None,
        "path": target[2] if target[0] == "url" else None,
        "event_name": target[1] if target[0] == "event" else None,
        "is_active": True,
        "created_at": now,
        "updated_at": now,
    }
    insert_unique(conn, goals, "goal", values)
    return goal_from(values)


def list_goals(conn: Connection, site_ids: Sequence[int], active_only: bool = False) -> list[Goal]:
    if not site_ids:
        return []
    query = select(goals).where(goals.c.site_id.in_(list(site_ids)))
    if active_only:
        query = query.where(goals.c.is_active.is_(True))
    query = query.order_by(goals.c.site_id, goals.c.created_at, goals.c.id)
    return [goal_from(row) for row in conn.execute(query).mappings()]


def get_goal(conn: Connection, goal_id: str, site_ids: Sequence[int]) -> Goal | None:
    """The goal if it belongs to one of these sites; another tenant's goal looks like none."""
    if not site_ids:
        return None
    query = select(goals).where(goals.c.id == goal_id, goals.c.site_id.in_(list(site_ids)))
    row = conn.execute(query).mappings().first()
    return goal_from(row) if row else None
