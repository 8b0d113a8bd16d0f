"""Who is calling, and may they read this tenant? The caller's tenant comes from the credential;
the optional `tenant` argument is only a selector that must name it.

- HTTP: the bearer token, verified per request; `get_access_token()` carries the tenant id.
- stdio and in-process callers (the chat): `acting_for(...)` pins the caller in a contextvar,
  which the SDK copies into every message it dispatches.

Another tenant's slug gets exactly the answer an unknown slug gets (naming the caller's own
tenant), and the plan check runs only after the slug matched, so no error says anything about a
tenant the caller cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy import Connection

from analytics_mcp.storage.account_rules import FEATURE_PLANS, plan_allows
from analytics_mcp.storage.accounts import (
    Goal,
    Site,
    Tenant,
    get_tenant_by_id,
    list_goals,
    list_sites,
    list_tokens,
)
from analytics_mcp.storage.db import Database

READ_SCOPE = "read"
ADMIN_SCOPE = "admin"  # as on /api/v1: an admin token may read


@dataclass(frozen=True, slots=True)
class Caller:
    tenant_id: int
    token_id: str | None = None  # re-checked (read-only) on each call: a long stdio session sees revocation


_pinned: ContextVar[Caller | None] = ContextVar("analytics_mcp_caller", default=None)


@contextmanager
def acting_for(tenant_id: int, token_id: str | None = None) -> Iterator[Caller]:
    """Run tool calls made inside this block (in this task and the tasks it starts) as this tenant."""
    caller = Caller(tenant_id, token_id)
    reset = _pinned.set(caller)
    try:
        yield caller
    finally:
        _pinned.reset(reset)


def current_caller() -> Caller | None:
    token = get_access_token()
    if token is not None:
        # Set by our token verifier (tools.http): subject is the tenant id.
        return Caller(int(token.subject)) if token.subject and token.subject.isdigit() else None
    return _pinned.get()


def not_accessible(requested: str | None, own: Tenant | None = None) -> ToolError:
    """Another tenant's slug and an unknown one get the same answer; it names the tenant the
    credential can read (its own), so the model can retry with it or without `tenant`."""
    asked = f"tenant '{requested}'" if requested is not None else "no tenant"
    message = f"{asked} not found or not accessible with this token"
    if own is not None:
        message += f"; this token reads tenant '{own.slug}' (omit tenant to use it)"
    return ToolError(message)


def plan_too_low(tenant: Tenant) -> ToolError:
    return ToolError(
        f"MCP access needs the {FEATURE_PLANS['mcp']} plan or above; "
        f"tenant '{tenant.slug}' is on '{tenant.plan}'"
    )


@dataclass(frozen=True, slots=True)
class Authorized:
    """What a tool call may read: the caller's tenant, its sites and their goals."""

    tenant: Tenant
    sites: list[Site]
    goals: list[Goal]


def _load(conn: Connection, caller: Caller) -> Authorized | None:
    """The caller's tenant, sites and goals, read in one round trip (None if gone or revoked)."""
    tenant = get_tenant_by_id(conn, caller.tenant_id)
    if tenant is None:
        return None
    if caller.token_id is not None:
        tokens = list_tokens(conn, tenant.slug)
        if not any(t.id == caller.token_id and t.revoked_at is None for t in tokens):
            return None
    sites = list_sites(conn, tenant.id)
    return Authorized(tenant, sites, list_goals(conn, [site.id for site in sites]))


async def authorize(db: Database, requested: str | None) -> Authorized:
    """The caller's tenant and its sites if `requested` names it (or is None: the credential's
    own tenant) and its plan includes MCP; ToolError otherwise. Read-only: `connect()` without
    `begin()` rolls back."""
    caller = current_caller()
    if caller is None:
        raise not_accessible(requested)
    async with db.aio.connect() as conn:
        found = await conn.run_sync(lambda sync: _load(sync, caller))
    if found is None:
        raise not_accessible(requested)
    if requested is not None and found.tenant.slug != requested.strip().lower():
        raise not_accessible(requested, found.tenant)
    if not plan_allows(found.tenant.plan, "mcp"):
        raise plan_too_low(found.tenant)
    return found
