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
    true,
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
    Column("is_active", Boolean, nullable=False, server_default=true()),
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

# How far the writer has stored the ingestion spool (ingest/spool.py), moved in the same
# transaction as the stored events, so a restart resumes exactly after them.
ingest_spool = Table(
    "ingest_spool",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
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
    Column("user_id", String(200), nullable=True),  # the site's customer id (identified events)
    Index("ix_events_site_ts", "site_id", "ts"),
    Index("ix_events_site_name_ts", "site_id", "name", "ts"),
    Index("ix_events_visit", "visit_id", "ts"),
    # Page filters (engine/store/compiler.py): the pageviews of a path, covering what they read.
    Index(
        "ix_events_pageview_path",
        *("site_id", "pathname", "ts", "visitor_id", "visit_id", "engaged_ms", "gap_ms", "name"),
        sqlite_where=text("name = 'pageview'"),
        postgresql_where=text("name = 'pageview'"),
    ),
    # Visit filters (engine/store/compiler.py): the pageviews of the passing visits, visit by
    # visit, covering what pages and visitors read.
    Index(
        "ix_events_visit_pageviews",
        *("visit_id", "ts", "site_id", "pathname", "visitor_id", "engaged_ms", "gap_ms", "name"),
        sqlite_where=text("name = 'pageview'"),
        postgresql_where=text("name = 'pageview'"),
    ),
    # Identified events only, covering what segment conditions read (platform/compute_rules.py).
    Index(
        "ix_events_identified",
        *("site_id", "name", "ts", "user_id", "visit_id", "pathname", "revenue", "currency"),
        sqlite_where=text("user_id IS NOT NULL"),
        postgresql_where=text("user_id IS NOT NULL"),
    ),
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
    Column("goal_id", String(26), nullable=False),  # no foreign key: see storage/roles.py
    Column("site_id", Integer, nullable=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("visit_id", BigInteger, nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_goal_completions_goal_ts", "goal_id", "site_id", "ts"),  # newest completions of a goal
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

# -- rollups (see analytics_mcp.rollups and docs/rollups.md) ---------------------------------------
# Additive counters per site, dimension value and local day, kept exact by the ingestion writer in
# the same transaction as the events (deltas: a visit that changes moves its contribution).
rollup_daily = Table(
    "rollup_daily",
    metadata,
    Column("site_id", Integer, primary_key=True),
    Column("dim", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),  # local date in the site's zone, days since 1970-01-01
    Column("value", Text, primary_key=True),  # JSON array of the grouped columns
    Column("visits", BigInteger, nullable=False, server_default="0"),  # by visit start
    Column("bounces", BigInteger, nullable=False, server_default="0"),
    Column("duration_ms", BigInteger, nullable=False, server_default="0"),  # bounces count as 0
    Column("visit_pageviews", BigInteger, nullable=False, server_default="0"),
    Column("pageviews", BigInteger, nullable=False, server_default="0"),  # by event time
    Column("top_sum_ms", BigInteger, nullable=False, server_default="0"),  # time on page
    Column("top_count", BigInteger, nullable=False, server_default="0"),
    Column("count", BigInteger, nullable=False, server_default="0"),  # completions, purchases, orders
    Column("revenue", Float, nullable=False, server_default="0"),
    Column("quantity", BigInteger, nullable=False, server_default="0"),
    sqlite_with_rowid=False,
)

# rollup_daily's additive counters, in column order.
ROLLUP_COUNTERS = tuple(c.name for c in rollup_daily.columns if not c.primary_key)

# Distinct visitors, exactly: for each (visitor, dim, value) the local days it was present form
# marks; a mark is counted on its day under gap = days since the same key's previous mark (0: none).
# Visitors over days A..B = sum(n) over days A..B where gap = 0 or gap > day - A.
rollup_visitors = Table(
    "rollup_visitors",
    metadata,
    Column("site_id", Integer, primary_key=True),
    Column("dim", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("gap", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# The marks of visitor ids that can still get events, one row per id (JSON [[dim, value, day, n]]):
# pruned ~50 h after the row was first written, when the salt that made the id is gone. n = how
# many visits hold a span or attribute mark; 1 for event marks (pages, goals, purchases).
visitor_marks = Table(
    "visitor_marks",
    metadata,
    Column("site_id", Integer, primary_key=True),
    Column("visitor_id", BigInteger, primary_key=True),
    Column("marks", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),  # epoch seconds, for pruning
    Index("ix_visitor_marks_created", "created_at"),
    sqlite_with_rowid=False,
)

# Funnel progress per visitor id: its funnel events ([[step, ts], ...]) and how deep they go.
# A report over whole days counts the visitors whose events all lie inside the range by `depth`,
# and replays the few whose events straddle a range edge from `steps`.
funnel_visitors = Table(
    "funnel_visitors",
    metadata,
    Column("site_id", Integer, primary_key=True),
    Column("visitor_id", BigInteger, primary_key=True),
    Column("first_day", Integer, nullable=False),  # local days of the first and last funnel event
    Column("last_day", Integer, nullable=False),
    Column("depth", Integer, nullable=False),  # steps reached in order, 0-4
    Column("steps", Text, nullable=False),
    Index("ix_funnel_visitors_days", "site_id", "first_day", "last_day", "depth"),
    sqlite_with_rowid=False,
)

# How many funnel_visitors rows share (first_day, last_day, depth): a report counts the visitors
# whose funnel events all lie inside its days from here.
funnel_depths = Table(
    "funnel_depths",
    metadata,
    Column("site_id", Integer, primary_key=True),
    Column("first_day", Integer, primary_key=True),
    Column("last_day", Integer, primary_key=True),
    Column("depth", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
    sqlite_with_rowid=False,
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

# -- dashboard ---------------------------------------------------------------------------------
# Dashboard sign-ins. The cookie carries a random 256-bit token and only its SHA-256 is stored, so a
# copy of the database hands out no sessions; signing out deletes the row, which is what makes a
# replayed cookie useless.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),  # epoch ms; past it the row is dead
)

# -- AI chat -----------------------------------------------------------------------------------
# The in-dashboard chat (analytics_mcp.chat). A conversation belongs to one tenant and to the
# principal that started it: a dashboard user or an API token. Messages hold the Anthropic content
# blocks of finished turns (text, tool_use, tool_result) as JSON, so a resumed conversation is sent
# back to the model as it was. Question and answer text live only in these two tables.
chat_conversations = Table(
    "chat_conversations",
    metadata,
    Column("id", String(26), primary_key=True),  # ULID
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("token_id", String(26), ForeignKey("api_tokens.id", ondelete="CASCADE"), nullable=True),
    Column("title", String(200), nullable=False),  # the first question, cut
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Index("ix_chat_conversations_tenant_updated", "tenant_id", "updated_at"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column(
        "conversation_id",
        String(26),
        ForeignKey("chat_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("request_id", String(26), nullable=False),  # the chat request (chat_requests.id) that added it
    Column("role", String(16), nullable=False),  # user | assistant
    Column("content", Text, nullable=False),  # JSON list of content blocks
    Column("created_at", String(32), nullable=False),
    Index("ix_chat_messages_conversation", "conversation_id", "id"),
)

# One row per chat request, for copilot analytics (per day: success / error) and AI-credit usage
# (sum of `credits` in the month). No question or answer text. Kept when the user, token or
# conversation is deleted (no foreign keys there): usage already spent stays counted.
chat_requests = Table(
    "chat_requests",
    metadata,
    Column("id", String(26), primary_key=True),  # ULID
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, nullable=True),  # dashboard user, or
    Column("token_id", String(26), nullable=True),  # API token
    Column("conversation_id", String(26), nullable=True),
    Column("day", String(10), nullable=False),  # UTC date YYYY-MM-DD of created_at
    Column("status", String(8), nullable=False),  # running | success | error
    Column("error_kind", String(32), nullable=True),  # upstream | tool_limit | timeout | cancelled | internal
    Column("model", String(100), nullable=False),
    Column("tool_calls", Integer, nullable=False, server_default=text("0")),
    Column("tools", String(1000), nullable=False, server_default=text("''")),  # names called, comma-separated
    Column("input_tokens", Integer, nullable=False, server_default=text("0")),
    Column("output_tokens", Integer, nullable=False, server_default=text("0")),
    Column("latency_ms", Integer, nullable=True),
    Column("credits", Integer, nullable=False, server_default=text("1")),  # AI credits charged
    Column("created_at", String(32), nullable=False),
    Index("ix_chat_requests_tenant_day", "tenant_id", "day"),
)

# -- A/B testing -------------------------------------------------------------------------------
# Experiments of a site (docs/ab-testing.md). A variant's id is the `variant_id` a tracking call sends,
# so it is global and tells the site. Tracked events are ordinary `events` rows (one pipeline);
# `experiment_events` keeps, per stored event, only what the A/B statistics need, keyed by the
# event's row id and written in the same transaction. The client's visitor id (a random id from
# its localStorage) is kept only as a keyed hash under the experiment's own random salt.
experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("slug", String(64), nullable=False),  # unique per tenant: the API selects by it
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # running | stopped
    Column("visitor_salt", LargeBinary(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("uq_experiments_tenant_slug", "tenant_id", "slug", unique=True),
)

experiment_variants = Table(
    "experiment_variants",
    metadata,
    Column("id", Integer, primary_key=True),  # the `variant_id` of a tracking call
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("weight", Integer, nullable=False),  # relative share of new visitors
    Column("position", Integer, nullable=False),  # order as created
    Index("uq_experiment_variants_slug", "experiment_id", "slug", unique=True),
)

experiment_events = Table(
    "experiment_events",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("experiment_id", Integer, nullable=False),  # no foreign keys: see storage/roles.py
    Column("variant_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),  # epoch ms, as events.ts
    Column("visitor_key", BigInteger, nullable=False),  # keyed hash of the client's visitor_id
    Column("type", String(16), nullable=False),  # page_view | scroll_depth | click | ...
    Column("element", String(200), nullable=True),  # click element_id, form_id, download app_key
    Column("scroll_band", Integer, nullable=True),  # 1-4 (0-25, 25-50, 50-75, 75-100 %)
    Column("amount_cents", BigInteger, nullable=True),  # conversions
    Index("ix_experiment_events_experiment_ts", "experiment_id", "ts"),
)

# -- OAuth for remote MCP connectors -----------------------------------------------------------
# Declared in their own module (this one is long enough); importing it puts them on `metadata`.
import analytics_mcp.storage.kept_rollups_schema  # noqa: E402
import analytics_mcp.storage.oauth_schema  # noqa: E402
import analytics_mcp.storage.plans_schema  # noqa: E402
import analytics_mcp.storage.platform_schema  # noqa: E402
import analytics_mcp.storage.sharing_schema  # noqa: E402, F401
