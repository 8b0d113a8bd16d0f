"""The one SQLAlchemy schema (Core tables) shared by SQLite and PostgreSQL.

Event times are integer epoch milliseconds (compact, index-friendly, dialect-neutral); account
timestamps are ISO strings. Visitor ids are signed 64-bit hashes (see ingest.identity).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Plan limits; -1 means unlimited. `rank` orders plans for gating (MCP and chat need pro or above).
plans = Table(
    "plans",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("events_per_month", BigInteger, nullable=False),
    Column("sites", Integer, nullable=False),
    Column("users", Integer, nullable=False),
    Column("segments", Integer, nullable=False),
    Column("ai_credits", Integer, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("plan", String(32), ForeignKey("plans.name"), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("domain", String(253), nullable=False, unique=True),
    Column("timezone", String(64), nullable=True),  # null: the tenant's
    Column("currency", String(3), nullable=False),
    Column("created_at", String(32), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of a 256-bit secret
    Column("prefix", String(16), nullable=False),
    Column("scopes", String(100), nullable=False),  # comma-separated: read, ingest, admin
    Column("created_at", String(32), nullable=False),
    Column("last_used_at", String(32), nullable=True),
    Column("revoked_at", String(32), nullable=True),
)

goals = Table(
    "goals",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("type", String(8), nullable=False),  # url | event
    Column("match_type", String(16), nullable=True),  # exact | prefix | wildcard (url goals)
    Column("path", String(2000), nullable=True),
    Column("event_name", String(200), nullable=True),
    Column("is_active", Boolean, nullable=False, server_default=text("1")),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# One random salt per UTC day; rows older than 48 h are deleted, which makes old hashes unlinkable.
salts = Table(
    "salts",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("salt", LargeBinary(32), nullable=False),
    Column("created_at", String(32), nullable=False),
)

# A visit (session): its attributes come from its first event; counters are kept at ingestion.
visits = Table(
    "visits",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("site_id", Integer, nullable=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=False),  # last event, engagement reports included
    Column("last_pageview_id", BigInteger, nullable=True),  # for gap_ms and engagement updates
    Column("last_pageview_at", BigInteger, nullable=True),
    Column("pageviews", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("interactions", Integer, nullable=False),  # interactive (non-pageview) events
    Column("entry_path", String(2000), nullable=True),
    Column("exit_path", String(2000), nullable=True),
    Column("source", String(255), nullable=False),
    Column("referrer", String(255), nullable=True),
    Column("channel", String(32), nullable=False),
    Column("utm_source", String(255), nullable=True),
    Column("utm_medium", String(255), nullable=True),
    Column("utm_campaign", String(255), nullable=True),
    Column("utm_content", String(255), nullable=True),
    Column("utm_term", String(255), nullable=True),
    Column("device_type", String(16), nullable=False),
    Column("browser", String(64), nullable=False),
    Column("os", String(64), nullable=False),
    Column("language", String(16), nullable=True),
    Column("country", String(2), nullable=True),
    Index("ix_visits_site_started", "site_id", "started_at"),
    Index("ix_visits_site_ended", "site_id", "ended_at"),
    Index("ix_visits_lookup", "site_id", "visitor_id", "ended_at"),
)

events = Table(
    "events",
    metadata,
    # Row id assigned by the writer; the public id is the ULID of (ts, id): see storage.ids.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("site_id", Integer, nullable=False),
    Column("visit_id", BigInteger, nullable=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),  # pageview | engagement | custom / e-commerce name
    Column("hostname", String(253), nullable=False),
    Column("pathname", String(2000), nullable=False),
    Column("props", Text, nullable=True),  # JSON object of custom properties
    Column("interactive", Boolean, nullable=False),
    Column("engaged_ms", Integer, nullable=True),  # pageviews: engaged time from the tracker
    Column("scroll_depth", Integer, nullable=True),  # pageviews: max scroll depth %
    Column("gap_ms", Integer, nullable=True),  # pageviews: time to the next pageview of the visit
    Column("revenue", Float, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("transaction_id", String(200), nullable=True),
    Column("client_event_id", String(64), nullable=True),
    Index("ix_events_site_ts", "site_id", "ts"),
    Index("ix_events_site_name_ts", "site_id", "name", "ts"),
    Index("ix_events_visit", "visit_id", "ts"),
    # A retried event_id is stored once, ever.
    Index(
        "uq_events_client_event_id",
        "site_id",
        "client_event_id",
        unique=True,
        sqlite_where=text("client_event_id IS NOT NULL"),
        postgresql_where=text("client_event_id IS NOT NULL"),
    ),
    # One purchase per transaction_id.
    Index(
        "uq_events_purchase_transaction",
        "site_id",
        "transaction_id",
        unique=True,
        sqlite_where=text("name = 'purchase' AND transaction_id IS NOT NULL"),
        postgresql_where=text("name = 'purchase' AND transaction_id IS NOT NULL"),
    ),
)

goal_completions = Table(
    "goal_completions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("goal_id", String(26), ForeignKey("goals.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", Integer, nullable=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("visit_id", BigInteger, nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_goal_completions_goal_ts", "goal_id", "ts"),
    Index("ix_goal_completions_site_ts", "site_id", "ts"),
)

ecommerce_items = Table(
    "ecommerce_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, nullable=False, index=True),
    Column("site_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("event_name", String(32), nullable=False),
    Column("item_id", String(200), nullable=True),
    Column("item_name", String(500), nullable=False),
    Column("price", Float, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("currency", String(3), nullable=True),
    Index("ix_ecommerce_items_site_ts", "site_id", "ts"),
)

PLAN_LIMITS: dict[str, dict[str, int]] = {
    "free": dict(rank=0, events_per_month=10_000, sites=1, users=1, segments=0, ai_credits=0),
    "starter": dict(rank=1, events_per_month=100_000, sites=3, users=3, segments=10, ai_credits=0),
    "pro": dict(rank=2, events_per_month=1_000_000, sites=10, users=10, segments=25, ai_credits=100),
    "growth": dict(rank=3, events_per_month=5_000_000, sites=25, users=25, segments=50, ai_credits=500),
    "business": dict(
        rank=4, events_per_month=20_000_000, sites=100, users=100, segments=200, ai_credits=2000
    ),
    "enterprise": dict(rank=5, events_per_month=-1, sites=-1, users=-1, segments=-1, ai_credits=-1),
}
