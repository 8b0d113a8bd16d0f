"""The ClickHouse events schema as numbered migration steps (applied by `migrate.py`).

Decisions (docs/deploy.md, "ClickHouse"):
- Every table is partitioned by month of its event time and ordered by the reports' access path:
  the site, then time (events: site, UTC day, name, time, id, so a report's range and a name such as
  pageview or purchase are both key prefixes). Dimensions are LowCardinality.
- Rows are exact, not eventual: the writer keeps a visit's counters exact (as it does in SQL) and
  writes a visit again when it changes, with a higher `version`; events change too (a pageview's
  gap and engaged time arrive later). So visits, events, goal completions, items and A/B rows are
  ReplacingMergeTree keyed by their id, and the store reads them with FINAL: a rewritten or re-sent
  row counts once, merged or not.
- Exactly once per spool frame: `non_replicated_deduplication_window` keeps the last inserts' tokens,
  so an insert repeating a frame's `insert_deduplication_token` stores nothing (a retry after a lost
  acknowledgement), and the id in the sort key collapses anything older than the window.
- Times are DateTime64(3, 'UTC'): the SQL tables' epoch milliseconds, exactly.

Statements name the database as `{db}` (a checked identifier, filled in by the runner).
"""

from __future__ import annotations

from dataclasses import dataclass

DEDUP = "non_replicated_deduplication_window = 10000, index_granularity = 8192"
MS = "DateTime64(3, 'UTC')"
TEXT = "LowCardinality(String)"
MAYBE = "LowCardinality(Nullable(String))"


@dataclass(frozen=True, slots=True)
class Step:
    version: int
    name: str
    statements: tuple[str, ...]


def _table(name: str, columns: str, version: str, partition: str, order: str) -> str:
    engine = f"ReplacingMergeTree({version})" if version else "ReplacingMergeTree"
    return (
        f"CREATE TABLE IF NOT EXISTS {{db}}.{name} ({columns}) ENGINE = {engine} "
        f"PARTITION BY toYYYYMM({partition}) ORDER BY ({order}) SETTINGS {DEDUP}"
    )


VISITS = f"""
    id Int64, site_id UInt32, visitor_id Int64, started_at {MS}, ended_at {MS},
    last_pageview_id Nullable(Int64), last_pageview_at Nullable(Int64),
    pageviews UInt32, events UInt32, interactions UInt32,
    entry_path Nullable(String), exit_path Nullable(String),
    source {TEXT}, referrer {MAYBE}, channel {TEXT},
    utm_source {MAYBE}, utm_medium {MAYBE}, utm_campaign {MAYBE}, utm_content {MAYBE}, utm_term {MAYBE},
    device_type {TEXT}, browser {TEXT}, os {TEXT}, language {MAYBE}, country {MAYBE},
    version UInt64
"""
EVENTS = f"""
    id Int64, site_id UInt32, visit_id Int64, visitor_id Int64, ts {MS},
    name {TEXT}, hostname {TEXT}, pathname String, props Nullable(String), interactive Bool,
    engaged_ms Nullable(Int64), scroll_depth Nullable(Int32), gap_ms Nullable(Int64),
    revenue Nullable(Float64), currency {MAYBE}, transaction_id Nullable(String),
    client_event_id Nullable(String), user_id Nullable(String), version UInt64
"""
GOAL_COMPLETIONS = f"""
    id Int64, goal_id {TEXT}, site_id UInt32, visitor_id Int64, visit_id Int64, event_id Int64, ts {MS}
"""
ECOMMERCE_ITEMS = f"""
    id Int64, event_id Int64, site_id UInt32, ts {MS}, event_name {TEXT}, item_id Nullable(String),
    item_name String, price Float64, quantity Int32, currency {MAYBE}
"""
EXPERIMENT_EVENTS = f"""
    event_id Int64, experiment_id UInt32, variant_id UInt32, ts {MS}, visitor_key Int64, type {TEXT},
    element Nullable(String), scroll_band Nullable(Int32), amount_cents Nullable(Int64)
"""

MIGRATIONS: tuple[Step, ...] = (
    Step(
        1,
        "events, visits, goal completions, e-commerce items, A/B event rows",
        (
            _table("visits", VISITS, "version", "started_at", "site_id, started_at, id"),
            _table("events", EVENTS, "version", "ts", "site_id, toDate(ts), name, ts, id"),
            _table("goal_completions", GOAL_COMPLETIONS, "", "ts", "site_id, goal_id, ts, id"),
            _table("ecommerce_items", ECOMMERCE_ITEMS, "", "ts", "site_id, ts, event_id, id"),
            _table("experiment_events", EXPERIMENT_EVENTS, "", "ts", "experiment_id, ts, event_id"),
        ),
    ),
)

# Index clauses, here and in the cluster schema (cluster.py).
VISIT_INDEXES = (
    "INDEX ix_visitor visitor_id TYPE bloom_filter GRANULARITY 4",
    "INDEX ix_ended ended_at TYPE minmax GRANULARITY 1",
    "INDEX ix_started started_at TYPE minmax GRANULARITY 1",  # step 5
)
EVENT_INDEXES = (
    "INDEX ix_client_event_id client_event_id TYPE bloom_filter GRANULARITY 4",
    "INDEX ix_transaction_id transaction_id TYPE bloom_filter GRANULARITY 4",
)
_REKEYED_VISITS = (
    f"CREATE TABLE IF NOT EXISTS {{db}}.visits_rekeyed ({VISITS}, "
    f"{VISIT_INDEXES[0]}, "
    f"{VISIT_INDEXES[1]}) "
    "ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(started_at) ORDER BY (site_id, id) "
    f"SETTINGS {DEDUP}"
)
# The writer's bookkeeping, one row per batch it plans and per batch it stored (ingest/clickhouse).
INGEST_SPOOL_COLUMNS = """
        name String, seq UInt64, position Int64, batch_end Int64, version UInt64,
        event_base Int64, event_end Int64, visit_base Int64, visit_end Int64,
        completion_base Int64, completion_end Int64, item_base Int64, item_end Int64,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
"""
INGEST_SPOOL = (
    f"CREATE TABLE IF NOT EXISTS {{db}}.ingest_spool ({INGEST_SPOOL_COLUMNS}) "
    "ENGINE = ReplacingMergeTree(seq) ORDER BY name"
)

MIGRATIONS += (
    Step(
        2,
        "the ingestion writer: visits keyed by id alone (a late event moves a visit's start), "
        "lookup indexes, the spool's stored position",
        (
            # Re-keyed by copy and rename; every statement can run again after an interruption.
            "DROP TABLE IF EXISTS {db}.visits_old_key",
            _REKEYED_VISITS,
            "INSERT INTO {db}.visits_rekeyed SELECT * FROM {db}.visits FINAL",
            "RENAME TABLE {db}.visits TO {db}.visits_old_key, {db}.visits_rekeyed TO {db}.visits",
            "DROP TABLE IF EXISTS {db}.visits_old_key",
            *(
                f"ALTER TABLE {{db}}.events ADD {i.replace('INDEX', 'INDEX IF NOT EXISTS', 1)}"
                for i in EVENT_INDEXES
            ),
            "ALTER TABLE {db}.events MATERIALIZE INDEX ix_client_event_id",
            "ALTER TABLE {db}.events MATERIALIZE INDEX ix_transaction_id",
            INGEST_SPOOL,
        ),
    ),
)

MIGRATIONS += (
    Step(
        3,
        "identified events: events.user_id (platform analytics, docs/platform.md)",
        ("ALTER TABLE {db}.events ADD COLUMN IF NOT EXISTS user_id Nullable(String) AFTER client_event_id",),
    ),
)

# Segment membership snapshots (platform analytics, docs/platform.md "Segments on ClickHouse"). Each
# computation of a (segment, day) writes its members under a new `run`; `segment_days` (FINAL: the
# highest run) names the run a day reads, so a recomputed day replaces the earlier one at once, and
# rows of a run that was never recorded (a computation stopped half-way) are never read.
SEGMENT_MEMBERSHIPS = "segment_id UInt32, day Int32, profile_id Int64, run UInt64"
SEGMENT_DAYS = "segment_id UInt32, day Int32, member_count UInt64, computed_at String, run UInt64"

MIGRATIONS += (
    Step(
        4,
        "segment membership snapshots: segment_memberships and segment_days (platform analytics)",
        (
            f"CREATE TABLE IF NOT EXISTS {{db}}.segment_memberships ({SEGMENT_MEMBERSHIPS}) "
            f"ENGINE = ReplacingMergeTree(run) ORDER BY (segment_id, day, profile_id) SETTINGS {DEDUP}",
            f"CREATE TABLE IF NOT EXISTS {{db}}.segment_days ({SEGMENT_DAYS}) "
            f"ENGINE = ReplacingMergeTree(run) ORDER BY (segment_id, day) SETTINGS {DEDUP}",
        ),
    ),
)

# Reads of visits use FINAL across partitions (a late event moves a visit's start into another
# month), so partition pruning is off for them and the sort key (site, id) has no time: every read
# of a range went through all of a site's visits. Visit ids grow with time, so minmax indexes on
# started_at (here) and ended_at (step 2) keep a range's reads to its granules (FINAL reads use skip
# indexes in exact mode: use_skip_indexes_if_final_exact_mode).
MIGRATIONS += (
    Step(
        5,
        "visits: a minmax index on started_at (reads of a time range skip the other granules)",
        (
            f"ALTER TABLE {{db}}.visits ADD {VISIT_INDEXES[2].replace('INDEX', 'INDEX IF NOT EXISTS', 1)}",
            "ALTER TABLE {db}.visits MATERIALIZE INDEX ix_started SETTINGS mutations_sync = 2",
        ),
    ),
)

# Page filters (`page==/pricing`) read the matching pageviews of a range, but `pathname` is not in
# the events' key: every pageview of the range was read (10% of them matched at 10M), and a skip
# index cannot help (a path is in nearly every granule). A projection sorted by (site, name, path,
# time) holds the columns those reads need; ClickHouse picks it for reads without FINAL, so these
# reads count distinct ids (exact under rewrites and re-sent rows) instead of rows. Its rows are
# rebuilt on merges (ReplacingMergeTree needs deduplicate_merge_projection_mode to allow one).
EVENT_PROJECTIONS = (
    "PROJECTION pageviews_by_path (SELECT site_id, name, pathname, ts, id, visit_id, visitor_id, "
    "engaged_ms, gap_ms, version ORDER BY site_id, name, pathname, ts)",
)
EVENT_SETTINGS = "deduplicate_merge_projection_mode = 'rebuild'"
_ADD_PAGEVIEWS_BY_PATH = EVENT_PROJECTIONS[0].replace("PROJECTION", "PROJECTION IF NOT EXISTS", 1)

MIGRATIONS += (
    Step(
        6,
        "events: a projection by (site, name, path, time) for page filters",
        (
            f"ALTER TABLE {{db}}.events MODIFY SETTING {EVENT_SETTINGS}",
            f"ALTER TABLE {{db}}.events ADD {_ADD_PAGEVIEWS_BY_PATH}",
            "ALTER TABLE {db}.events MATERIALIZE PROJECTION pageviews_by_path SETTINGS mutations_sync = 2",
        ),
    ),
)

# The tables `events copy` fills, in the order it copies them, with their id column.
COPIED_TABLES: tuple[tuple[str, str], ...] = (
    ("visits", "id"),
    ("events", "id"),
    ("goal_completions", "id"),
    ("ecommerce_items", "id"),
    ("experiment_events", "event_id"),
)
# Columns holding epoch ms in SQL and DateTime64(3, 'UTC') here.
TIME_COLUMNS = frozenset({"started_at", "ended_at", "ts"})

# Kept per-day event counts (storage/clickhouse/day_counts.py, docs/platform.md "Segments on
# ClickHouse"): a projection of each (site, UTC day)'s largest event id, and the counts it checks.
from analytics_mcp.storage.clickhouse.day_counts import STEP_NAME, STEP_STATEMENTS  # noqa: E402

MIGRATIONS += (Step(7, STEP_NAME, STEP_STATEMENTS),)

# Kept rollups (rollups/clickhouse_kept.py): each (site, UTC day)'s largest id and version
# of events and of visits, the stamps a kept day is checked against.
from analytics_mcp.storage.clickhouse import day_tops  # noqa: E402

MIGRATIONS += (Step(8, day_tops.STEP_NAME, day_tops.STEP_STATEMENTS),)

# One projection less on every insert: day_counts reads `day_tops` (step 8) instead of `day_max_id`.
from analytics_mcp.storage.clickhouse.day_counts import DROP_STEP_NAME, DROP_STEP_STATEMENTS  # noqa: E402

MIGRATIONS += (Step(9, DROP_STEP_NAME, DROP_STEP_STATEMENTS),)
