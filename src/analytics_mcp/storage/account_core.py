"""Tenants and sites, plus the small query helpers the other account modules share.
Public names are re-exported by `storage.accounts`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, CursorResult, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from analytics_mcp.storage.account_rules import (
    check_currency,
    check_name,
    check_plan,
    check_slug,
    check_timezone,
    normalize_domain,
    within_limit,
)
from analytics_mcp.storage.account_types import AccountError, Site, Tenant, tenant_from
from analytics_mcp.storage.schema import sites, tenants
from analytics_mcp.timeutil import utcnow_iso


def insert_unique(conn: Connection, table: Table, field: str, values: dict[str, Any]) -> CursorResult[Any]:
    """Insert a row; a unique-constraint race surfaces as the same error as the pre-check."""
    try:
        return conn.execute(insert(table).values(**values))
    except IntegrityError as exc:
        raise AccountError(field, "already exists") from exc


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT created."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT's result carries the new row's primary key"
    return int(key[0])


def exists(conn: Connection, column: Any, value: object) -> bool:
    return conn.execute(select(column).where(column == value).limit(1)).first() is not None


def count_for_tenant(conn: Connection, column: Any, tenant_id: int) -> int:
    return int(conn.execute(select(func.count()).where(column == tenant_id)).scalar_one())


# -- tenants -----------------------------------------------------------------------------------


def create_tenant(
    conn: Connection, slug: str, name: str | None = None, plan: str = "business", timezone: str = "UTC"
) -> Tenant:
    values = {
        "slug": check_slug(slug),
        "name": check_name("name", slug if name is None else name),
        "plan": check_plan(plan),
        "timezone": check_timezone(timezone),
        "created_at": utcnow_iso(),
    }
    if exists(conn, tenants.c.slug, slug):
        raise AccountError("slug", "already exists")
    result = insert_unique(conn, tenants, "slug", values)
    return tenant_from({**values, "id": inserted_id(result)})


def get_tenant(conn: Connection, slug: str) -> Tenant | None:
    row = conn.execute(select(tenants).where(tenants.c.slug == slug)).mappings().first()
    return tenant_from(row) if row else None


def get_tenant_by_id(conn: Connection, tenant_id: int) -> Tenant | None:
    row = conn.execute(select(tenants).where(tenants.c.id == tenant_id)).mappings().first()
    return tenant_from(row) if row else None


def list_tenants(conn: Connection) -> list[Tenant]:
    rows = conn.execute(select(tenants).order_by(tenants.c.slug)).mappings()
    return [tenant_from(row) for row in rows]


def require_tenant(conn: Connection, slug: str) -> Tenant:
    tenant = get_tenant(conn, slug)
    if tenant is None:
        raise AccountError("tenant", "not found")
    return tenant


# -- sites -------------------------------------------------------------------------------------


def _site_query() -> Any:
    return select(
        sites.c.id,
        sites.c.tenant_id,
        sites.c.domain,
        func.coalesce(sites.c.timezone, tenants.c.timezone).label("timezone"),
        sites.c.currency,
    ).join(tenants, tenants.c.id == sites.c.tenant_id)


def add_site(
    conn: Connection, tenant_slug: str, domain: str, timezone: str | None = None, currency: str = "EUR"
) -> Site:
    clean = normalize_domain(domain)
    tz = None if timezone is None else check_timezone(timezone)
    check_currency(currency)
    tenant = require_tenant(conn, tenant_slug)
    if exists(conn, sites.c.domain, clean):
        raise AccountError("domain", "already exists")
    within_limit(tenant.plan, "sites", count_for_tenant(conn, sites.c.tenant_id, tenant.id))
    values = {"tenant_id": tenant.id, "domain": clean, "timezone": tz, "currency": currency}
    result = insert_unique(conn, sites, "domain", {**values, "created_at": utcnow_iso()})
    return Site(
        id=inserted_id(result),
        tenant_id=tenant.id,
        domain=clean,
        timezone=tz or tenant.timezone,
        currency=currency,
    )


def get_site(conn: Connection, domain: str) -> Site | None:
    try:
        clean = normalize_domain(domain)
    except AccountError:
        return None
    row = conn.execute(_site_query().where(sites.c.domain == clean)).mappings().first()
    return Site(**row) if row else None


def list_sites(conn: Connection, tenant_id: int) -> list[Site]:
    query = _site_query().where(sites.c.tenant_id == tenant_id).order_by(sites.c.domain)
    return [Site(**row) for row in conn.execute(query).mappings()]
