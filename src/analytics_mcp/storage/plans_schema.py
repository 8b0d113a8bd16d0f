"""Tables of subscriptions and activations (platform analytics, ops side; docs/platform.md).

All accounts tables (storage/roles.py): what a tenant pays for and the connectors it set up, with
the log of every sync. A connector's secret (the webhook's HMAC key, the Klaviyo private key) is
kept as given: the server must present it on every sync, so it cannot be stored as a hash.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from analytics_mcp.storage.schema import metadata

# One subscription per tenant: the plan's name and tier (tier = one of the `plans` rows, which
# also sets the tenant's feature gating), the billing period (inclusive UTC dates; periods repeat
# with the same length after `period_end`) and its limits (-1 = unlimited).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("plan_name", String(100), nullable=False),
    Column("plan_tier", String(32), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("events_limit", BigInteger, nullable=False),
    Column("users_limit", BigInteger, nullable=False),  # profiles
    Column("segments_limit", Integer, nullable=False),  # active segments
    Column("ai_credits_limit", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# A connector syncing one segment's members to an outside tool. `synced_day` is the membership
# snapshot (local day number) the last successful sync sent.
activations = Table(
    "activations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("connector_type", String(16), nullable=False),  # webhook | klaviyo
    Column("url", Text, nullable=False),  # webhook: receiver; klaviyo: API base URL
    Column("secret", String(200), nullable=False),
    Column("list_id", String(64), nullable=True),  # klaviyo list
    Column("status", String(16), nullable=False),  # active | paused
    Column("synced_day", Integer, nullable=True),
    Column("last_synced_at", String(32), nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", String(32), nullable=False),
)

activation_sync_logs = Table(
    "activation_sync_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("activation_id", Integer, ForeignKey("activations.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(8), nullable=False),  # success | error
    Column("user_count", Integer, nullable=False),
    Column("error_message", Text, nullable=False),
    Column("synced_at", String(32), nullable=False),
    Index("ix_activation_sync_logs_activation", "activation_id", "id"),
)

# The members an activation's tool has, as of its last successful sync: the next sync sends the
# difference from the segment's latest members (adds and removes), whatever day that was computed.
activation_members = Table(
    "activation_members",
    metadata,
    Column("activation_id", Integer, ForeignKey("activations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(200), primary_key=True),
)
