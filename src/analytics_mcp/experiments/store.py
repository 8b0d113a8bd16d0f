"""Experiments and variants in the database. Sync: every function takes a Connection and the caller
owns the transaction. Rule violations raise `AccountError(field, rule)`, which the REST API maps
to 404 ("not found") or 422 and the CLI prints as one line, like every other account error."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from analytics_mcp.experiments.model import RUNNING, STATUSES, Experiment, Variant
from analytics_mcp.storage.account_core import get_site, insert_unique, inserted_id
from analytics_mcp.storage.account_rules import SLUG_RE, check_name, check_slug
from analytics_mcp.storage.account_types import AccountError, Site
from analytics_mcp.storage.schema import experiment_variants, experiments, sites, tenants
from analytics_mcp.timeutil import utcnow_iso

MIN_VARIANTS = 2
MAX_VARIANTS = 20
MAX_WEIGHT = 10_000


def check_variants(variants: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """(slug, weight) pairs: 2-20 of them, unique slugs, weights 1-10000."""
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise AccountError("variants", f"must list {MIN_VARIANTS}-{MAX_VARIANTS} variants")
    seen: set[str] = set()
    for slug, weight in variants:
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
            raise AccountError("variants", f"slug {slug!r} must be 2-63 chars of a-z, 0-9 and '-'")
        if slug in seen:
            raise AccountError("variants", f"slug {slug!r} is listed twice")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            raise AccountError("variants", f"weight of {slug!r} must be a whole number 1-{MAX_WEIGHT}")
        seen.add(slug)
    return list(variants)


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise AccountError("status", f"must be one of {', '.join(STATUSES)}")
    return status


def create_experiment(
    conn: Connection,
    site_domain: str,
    slug: str,
    variants: Sequence[tuple[str, int]],
    *,
    name: str | None = None,
    status: str = RUNNING,
    tenant_id: int | None = None,
) -> Experiment:
    """A new experiment of the site; `tenant_id` (API callers) must own the site, else 404."""
    clean_slug = check_slug(slug)
    clean_name = check_name("name", slug if name is None else name)
    pairs = check_variants(variants)
    check_status(status)
    site = get_site(conn, site_domain)
    if site is None or tenant_id not in (None, site.tenant_id):
        raise AccountError("site", "not found")
    if get_experiment(conn, site.tenant_id, clean_slug) is not None:
        raise AccountError("slug", "already exists")
    values = {
        "tenant_id": site.tenant_id,
        "site_id": site.id,
        "slug": clean_slug,
        "name": clean_name,
        "status": status,
        "visitor_salt": os.urandom(16),
        "created_at": utcnow_iso(),
    }
    experiment_id = inserted_id(insert_unique(conn, experiments, "slug", values))
    rows = [
        {"experiment_id": experiment_id, "slug": s, "weight": w, "position": i}
        for i, (s, w) in enumerate(pairs)
    ]
    conn.execute(insert(experiment_variants), rows)
    created = get_experiment(conn, site.tenant_id, clean_slug)
    assert created is not None
    return created


def _query() -> Any:
    return select(
        experiments,
        sites.c.domain,
        sites.c.currency,
        func.coalesce(sites.c.timezone, tenants.c.timezone).label("timezone"),
    ).select_from(experiments.join(sites).join(tenants, tenants.c.id == sites.c.tenant_id))


def _load(conn: Connection, stmt: Any) -> list[Experiment]:
    rows = conn.execute(stmt.order_by(experiments.c.id)).mappings().all()
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    variants: dict[int, list[Variant]] = {}
    v = experiment_variants.c
    query = select(v.experiment_id, v.id, v.slug, v.weight).where(v.experiment_id.in_(ids))
    for exp_id, var_id, var_slug, weight in conn.execute(query.order_by(v.experiment_id, v.position)):
        variants.setdefault(exp_id, []).append(Variant(var_id, var_slug, weight))
    return [_experiment(row, tuple(variants.get(row["id"], ()))) for row in rows]


def _experiment(row: Any, variants: tuple[Variant, ...]) -> Experiment:
    site = Site(
        id=row["site_id"],
        tenant_id=row["tenant_id"],
        domain=row["domain"],
        timezone=row["timezone"],
        currency=row["currency"],
    )
    return Experiment(
        id=row["id"],
        tenant_id=row["tenant_id"],
        site=site,
        slug=row["slug"],
        name=row["name"],
        status=row["status"],
        created_at=row["created_at"],
        variants=variants,
        salt=bytes(row["visitor_salt"]),
    )


def get_experiment(conn: Connection, tenant_id: int, slug: str) -> Experiment | None:
    stmt = _query().where(experiments.c.tenant_id == tenant_id, experiments.c.slug == slug)
    found = _load(conn, stmt)
    return found[0] if found else None


def list_experiments(
    conn: Connection, tenant_id: int, site_ids: Sequence[int] | None = None
) -> list[Experiment]:
    """The tenant's experiments (of these sites only, when given), oldest first."""
    stmt = _query().where(experiments.c.tenant_id == tenant_id)
    if site_ids is not None:
        stmt = stmt.where(experiments.c.site_id.in_(list(site_ids)))
    return _load(conn, stmt)


def running_for_site(conn: Connection, site_id: int) -> list[Experiment]:
    stmt = _query().where(experiments.c.site_id == site_id, experiments.c.status == RUNNING)
    return _load(conn, stmt)


def set_status(conn: Connection, tenant_id: int, slug: str, status: str) -> Experiment:
    check_status(status)
    stmt = update(experiments).where(experiments.c.tenant_id == tenant_id, experiments.c.slug == slug)
    if conn.execute(stmt.values(status=status)).rowcount == 0:
        raise AccountError("experiment", "not found")
    changed = get_experiment(conn, tenant_id, slug)
    assert changed is not None
    return changed


def choose_experiment(candidates: Sequence[Experiment], slug: str | None) -> Experiment:
    """The experiment a report is about: the one named, else the one running, else the newest.
    Several running and none named is ambiguous (422 naming them); none at all is a 404."""
    if slug is not None:
        found = next((e for e in candidates if e.slug == slug), None)
        if found is None:
            raise AccountError("experiment", "not found")
        return found
    running = [e for e in candidates if e.status == RUNNING]
    if len(running) > 1:
        names = ", ".join(e.slug for e in running)
        raise AccountError("experiment", f"several experiments are running ({names}); name one")
    if running:
        return running[0]
    if not candidates:
        raise AccountError("experiment", "not found")
    return max(candidates, key=lambda e: e.id)
