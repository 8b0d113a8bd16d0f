"""Tables of the dashboard's admin side: read-only share links and weekly email reports.

Part of the one schema (`storage.schema` imports this module); all accounts tables
(storage/roles.py). A share link's secret is a random 256-bit value stored only as its SHA-256,
like API tokens: the link is shown once, and a copy of the database opens no dashboard.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, PrimaryKeyConstraint, String, Table

from analytics_mcp.storage.schema import metadata

# A read-only view of one site's dashboard, opened without a session; revoking keeps the row.
share_links = Table(
    "share_links",
    metadata,
    Column("id", String(26), primary_key=True),  # ULID
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the link's first characters, to recognise it
    Column("label", String(200), nullable=False),
    Column("password_hash", String(200), nullable=True),  # argon2, as users' passwords; null: none
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
)

# Users who opted in to the weekly email report.
report_subscriptions = Table(
    "report_subscriptions",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", String(32), nullable=False),
)

# One row per user and report week, claimed before the mail is sent: the primary key is what
# makes a second sender (a restart, another server) skip a week already sent or being sent.
report_deliveries = Table(
    "report_deliveries",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("week", String(8), nullable=False),  # ISO week of the tenant's zone: 2026-W49
    Column("claimed_at", String(32), nullable=False),
    Column("sent_at", String(32), nullable=True),
    PrimaryKeyConstraint("user_id", "week"),
)
