"""Tables of platform analytics (seed 001, docs/platform.md): profiles, segments and their daily
membership snapshots.

Roles (storage/roles.py): a segment is a definition the tenant wrote, so `segments` lives with
the accounts; profiles are built from identified events by the ingestion writer (first and last
seen move with every identified event, in the events' transaction), and memberships are computed
from the profiles' behaviour, so `profiles`, `segment_memberships`, `segment_days` and
`segment_overlaps` live with the events. No statement joins the two roles: the computation reads
the segment definitions from the accounts and everything else from the events.

A profile is the site owner's own customer id (`user_id`) in a tenant, with its traits. Nothing in
these tables holds a visitor hash: a profile meets the anonymous side only through the events the
site itself identified (events.user_id).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from analytics_mcp.storage.schema import metadata

# One customer of a tenant. `traits` is a JSON object (email, plan, country, created_at, ...);
# first and last seen are the times (epoch ms) of its first and last identified event (null for a
# profile only ever imported). No foreign key: tenants and sites are accounts tables.
profiles = Table(
    "profiles",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=False),  # the site that identified or imported it first
    Column("user_id", String(200), nullable=False),
    Column("traits", Text, nullable=False),
    Column("first_seen_ms", BigInteger, nullable=True),
    Column("last_seen_ms", BigInteger, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("uq_profiles_tenant_user", "tenant_id", "user_id", unique=True),
)

# A segment: rules (JSON list of conditions, platform/segment_rules.py) combined with `match`.
# `member_count` and `last_computed_at` repeat the latest computation (segment_days) so lists
# need not read the events database.
segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("rules", Text, nullable=False),
    Column("match", String(3), nullable=False),  # all | any
    Column("status", String(16), nullable=False),  # active | archived
    Column("member_count", Integer, nullable=False, server_default="0"),
    Column("last_computed_at", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("ix_segments_tenant_status", "tenant_id", "status"),
)

# Who was in a segment on a local day (the tenant's zone; days since 1970-01-01). Computing a day
# again replaces that day's rows.
segment_memberships = Table(
    "segment_memberships",
    metadata,
    Column("segment_id", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("profile_id", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)

# One row per computed (segment, day): the count the trend shows and when it was computed.
segment_days = Table(
    "segment_days",
    metadata,
    Column("segment_id", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("member_count", Integer, nullable=False),
    Column("computed_at", String(32), nullable=False),
    sqlite_with_rowid=False,
)

# Members shared by two segments' latest snapshots (seg_a < seg_b), kept by each computation for
# the pairs it touches, so the overlap report reads a few hundred rows instead of joining millions.
segment_overlaps = Table(
    "segment_overlaps",
    metadata,
    Column("seg_a", Integer, primary_key=True),
    Column("seg_b", Integer, primary_key=True),
    Column("day_a", Integer, nullable=False),
    Column("day_b", Integer, nullable=False),
    Column("overlap", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# A tenant's distinct profiles in at least one active segment's latest snapshot (the overview's
# total_members), with the snapshots it was counted over ("segment:day:count:computed_at" joined by
# ","): a reader whose active latest snapshots spell the same key uses it, any other counts anew.
segment_totals = Table(
    "segment_totals",
    metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("snapshots", Text, nullable=False),
    Column("total_members", Integer, nullable=False),
)
