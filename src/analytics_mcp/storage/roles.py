"""Which database holds which table: the accounts database (`ANALYTICS_DB_URL`) keeps who may
see what and what they defined; the events database (`ANALYTICS_EVENTS_URL`, by default the same
one) keeps what visitors did and everything derived from it, with the ingestion state that must
commit in the same transaction as the events (the spool position, the daily salts).

Both databases are migrated to the whole schema (one migration history); the tables of the
other role stay empty. No statement joins tables of the two roles, and no foreign key crosses
them: removing a goal, site or experiment removes its event rows explicitly.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["accounts", "events"]

ACCOUNT_TABLES: tuple[str, ...] = (
    "plans",
    "tenants",
    "sites",
    "users",
    "api_tokens",
    "goals",
    "dashboard_sessions",
    "chat_conversations",
    "chat_messages",
    "chat_requests",
    "experiments",
    "experiment_variants",
    "segments",
    "oauth_clients",
    "oauth_authorizations",
    "oauth_tokens",
    "share_links",
    "report_subscriptions",
    "report_deliveries",
    "subscriptions",
    "activations",
    "activation_sync_logs",
    "activation_members",
)
EVENT_TABLES: tuple[str, ...] = (
    "salts",
    "ingest_spool",
    "visits",
    "events",
    "goal_completions",
    "ecommerce_items",
    "rollup_daily",
    "rollup_visitors",
    "rollup_stamps",
    "rollup_subsets",
    "visitor_marks",
    "funnel_visitors",
    "funnel_depths",
    "experiment_events",
    "profiles",
    "segment_memberships",
    "segment_days",
    "segment_overlaps",
    "segment_totals",
)


def role_of(table: str) -> Role:
    if table in EVENT_TABLES:
        return "events"
    if table in ACCOUNT_TABLES:
        return "accounts"
    raise KeyError(f"table {table!r} has no role: add it to storage/roles.py")
