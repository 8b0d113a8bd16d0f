"""What each settings section shows and does, as plain functions over a Connection: every change
goes through the account functions the CLI uses (storage.accounts, share_links,
report_subscriptions), so the rules (domain form, plan limits, scopes, roles, goal targets) are
the same wherever an account is changed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from analytics_mcp.dashboard.settings.guard import Admin, Form
from analytics_mcp.storage import accounts
from analytics_mcp.storage.account_rules import MATCH_TYPES, ROLES, SCOPES
from analytics_mcp.storage.account_types import Site
from analytics_mcp.storage.report_subscriptions import set_weekly_report, subscribed_ids
from analytics_mcp.storage.share_links import create_share_link, list_share_links, revoke_share_link


@dataclass(frozen=True)
class Reveal:
    """A secret to show once on the page that created it (never again, never in a redirect)."""

    kind: str  # token | share
    secret: str
    label: str


Outcome = str | Reveal  # a done-code for the redirect, or a secret to show now
Action = Callable[[Connection, Admin, Form], Outcome]


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    load: Callable[[Connection, Admin], dict[str, Any]]
    actions: Mapping[str, Action] = field(default_factory=dict)  # "" is the section's add form


def _id(raw: str) -> int:
    """A posted numeric id; anything else names nothing (-1), so it is "not found" like a stranger's."""
    return int(raw) if raw.isdigit() and len(raw) < 12 else -1


def _options(sites: list[Site]) -> list[tuple[str, str]]:
    return [(site.domain, site.domain) for site in sites]


def _site_ids(conn: Connection, admin: Admin) -> list[int]:
    return [site.id for site in accounts.list_sites(conn, admin.tenant.id)]


# -- sites -----------------------------------------------------------------------------------------


def load_sites(conn: Connection, admin: Admin) -> dict[str, Any]:
    return {"sites": accounts.list_sites(conn, admin.tenant.id)}


def add_site(conn: Connection, admin: Admin, form: Form) -> Outcome:
    zone = form.get("timezone").strip() or None
    accounts.add_site(
        conn, admin.tenant.slug, form.get("domain"), zone, form.get("currency").strip() or "EUR"
    )
    return "site-added"


# -- goals -----------------------------------------------------------------------------------------


def load_goals(conn: Connection, admin: Admin) -> dict[str, Any]:
    sites = accounts.list_sites(conn, admin.tenant.id)
    domains = {site.id: site.domain for site in sites}
    goals = accounts.list_goals(conn, list(domains))
    return {
        "sites": sites,
        "site_options": _options(sites),
        "goals": [(goal, domains[goal.site_id]) for goal in goals],
        "match_types": MATCH_TYPES,
    }


def add_goal(conn: Connection, admin: Admin, form: Form) -> Outcome:
    by_event = form.get("kind") == "event"
    accounts.add_goal(
        conn,
        form.get("site"),
        form.get("name"),
        path=None if by_event else form.get("path"),
        match_type=form.get("match_type") or "exact",
        event=form.get("event") if by_event else None,
        tenant_id=admin.tenant.id,
    )
    return "goal-added"


def archive_goal(conn: Connection, admin: Admin, form: Form) -> Outcome:
    active = form.get("active") == "1"
    accounts.set_goal_active(conn, form.get("goal"), _site_ids(conn, admin), active)
    return "goal-restored" if active else "goal-archived"


# -- tokens ----------------------------------------------------------------------------------------


def load_tokens(conn: Connection, admin: Admin) -> dict[str, Any]:
    return {"tokens": accounts.list_tokens(conn, admin.tenant.slug), "scopes": SCOPES}


def create_token(conn: Connection, admin: Admin, form: Form) -> Outcome:
    name = form.get("name").strip() or "default"
    token, plaintext = accounts.create_token(conn, admin.tenant.slug, name, form.lists.get("scopes", []))
    return Reveal("token", plaintext, token.name)


def revoke_token(conn: Connection, admin: Admin, form: Form) -> Outcome:
    accounts.revoke_token(conn, form.get("token"), admin.tenant.slug)
    return "token-revoked"


# -- users -----------------------------------------------------------------------------------------


def load_users(conn: Connection, admin: Admin) -> dict[str, Any]:
    return {
        "users": accounts.list_users(conn, admin.tenant.id),
        "subscribed": subscribed_ids(conn, admin.tenant.id),
        "roles": ROLES,
    }


def add_user(conn: Connection, admin: Admin, form: Form) -> Outcome:
    role = accounts.check_grant(admin.user.role, form.get("role") or "viewer")
    accounts.create_user(conn, form.get("email"), admin.tenant.slug, form.get("password"), role)
    return "user-added"


def change_role(conn: Connection, admin: Admin, form: Form) -> Outcome:
    accounts.set_user_role(conn, admin.tenant.id, _id(form.get("user")), form.get("role"), admin.user.role)
    return "role-changed"


def remove_user(conn: Connection, admin: Admin, form: Form) -> Outcome:
    accounts.remove_user(conn, admin.tenant.id, _id(form.get("user")), admin.user.role)
    return "user-removed"


def weekly_report(conn: Connection, admin: Admin, form: Form) -> Outcome:
    on = form.get("weekly") == "1"
    set_weekly_report(conn, admin.tenant.id, _id(form.get("user")), on)
    return "reports-on" if on else "reports-off"


# -- share links -----------------------------------------------------------------------------------


def load_sharing(conn: Connection, admin: Admin) -> dict[str, Any]:
    sites = accounts.list_sites(conn, admin.tenant.id)
    return {"sites": sites, "site_options": _options(sites), "links": list_share_links(conn, admin.tenant.id)}


def create_share(conn: Connection, admin: Admin, form: Form) -> Outcome:
    domain = form.get("site")
    link, secret = create_share_link(
        conn, admin.tenant.id, domain, form.get("label").strip() or domain, form.get("password")
    )
    return Reveal("share", secret, link.label)


def revoke_share(conn: Connection, admin: Admin, form: Form) -> Outcome:
    revoke_share_link(conn, admin.tenant.id, form.get("share"))
    return "share-revoked"


SECTIONS: tuple[Section, ...] = (
    Section("sites", "Sites", load_sites, {"": add_site}),
    Section("goals", "Goals", load_goals, {"": add_goal, "archive": archive_goal}),
    Section("tokens", "API tokens", load_tokens, {"": create_token, "revoke": revoke_token}),
    Section(
        "users",
        "Users",
        load_users,
        {"": add_user, "role": change_role, "remove": remove_user, "reports": weekly_report},
    ),
    Section("sharing", "Share links", load_sharing, {"": create_share, "revoke": revoke_share}),
)
DONE = {
    "site-added": "Site added. Add the tracker snippet to its pages to start counting.",
    "goal-added": "Goal added.",
    "goal-archived": "Goal archived: it records no new completions.",
    "goal-restored": "Goal restored.",
    "token-revoked": "Token revoked: requests with it now get 401.",
    "user-added": "User added. They can sign in with the password you set.",
    "role-changed": "Role changed.",
    "user-removed": "User removed.",
    "reports-on": "Weekly email report turned on.",
    "reports-off": "Weekly email report turned off.",
    "share-revoked": "Share link revoked: it now answers 404.",
}
