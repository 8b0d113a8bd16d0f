"""The ClickHouse schema for a cluster: `analytics-mcp clickhouse schema --cluster NAME` prints it
for an operator to apply once (docs/deploy.md section 4, "A cluster").

Each table of the single-node schema (the same column lists, from schema.py) becomes a replicated
local table `<name>_local ... ON CLUSTER NAME` (ReplicatedReplacingMergeTree under the
`{shard}`/`{replica}` macros: replicas deduplicate a repeated insert token by themselves) and a
Distributed table `<name>` over it, which the application reads and writes as before.

Sharding: visits, events and goal completions by cityHash64(site_id, visitor_id), so a visitor's
visits and every row that points at them live on one shard. A visit is one id written again with a
higher version when it changes; FINAL collapses versions only within a shard, so a visit split
over two shards would count twice, and the per-visit semi-joins (bounce, entry/exit, filters) would
miss rows. A/B rows follow their visitor (visitor_key); e-commerce items and the writer's
bookkeeping have no visitor and are sharded by their own keys (a filter joining items to visits
needs GLOBAL IN). Segment memberships follow their profile, a segment's days their segment."""

from __future__ import annotations

from dataclasses import dataclass

from analytics_mcp.storage.clickhouse.day_counts import EVENT_DAY_COUNTS, PROJECTION_MODE
from analytics_mcp.storage.clickhouse.day_tops import EVENT_DAY_TOPS_PROJECTION, VISIT_DAY_TOPS_PROJECTION
from analytics_mcp.storage.clickhouse.schema import (
    ECOMMERCE_ITEMS,
    EVENT_INDEXES,
    EVENT_PROJECTIONS,
    EVENTS,
    EXPERIMENT_EVENTS,
    GOAL_COMPLETIONS,
    INGEST_SPOOL_COLUMNS,
    SEGMENT_DAYS,
    SEGMENT_MEMBERSHIPS,
    VISIT_INDEXES,
    VISITS,
)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: str
    version: str  # ReplacingMergeTree's version column ("" for none)
    order: str
    shard_key: str
    partition: str = ""
    indexes: tuple[str, ...] = ()  # index and projection clauses
    settings: str = ""


TABLES: tuple[Table, ...] = (
    Table(
        "visits",
        VISITS,
        "version",
        "site_id, id",
        "cityHash64(site_id, visitor_id)",
        "started_at",
        (*VISIT_INDEXES, VISIT_DAY_TOPS_PROJECTION),
        PROJECTION_MODE,
    ),
    Table(
        "events",
        EVENTS,
        "version",
        "site_id, toDate(ts), name, ts, id",
        "cityHash64(site_id, visitor_id)",
        "ts",
        (*EVENT_INDEXES, *EVENT_PROJECTIONS, EVENT_DAY_TOPS_PROJECTION),
        PROJECTION_MODE,
    ),
    Table(
        "goal_completions",
        GOAL_COMPLETIONS,
        "",
        "site_id, goal_id, ts, id",
        "cityHash64(site_id, visitor_id)",
        "ts",
    ),
    Table(
        "ecommerce_items",
        ECOMMERCE_ITEMS,
        "",
        "site_id, ts, event_id, id",
        "cityHash64(site_id, event_id)",
        "ts",
    ),
    Table(
        "experiment_events",
        EXPERIMENT_EVENTS,
        "",
        "experiment_id, ts, event_id",
        "cityHash64(visitor_key)",
        "ts",
    ),
    Table("ingest_spool", INGEST_SPOOL_COLUMNS, "seq", "name", "cityHash64(name)"),
    # A profile's memberships of every segment on one shard; a (segment, day)'s runs on one shard,
    # so FINAL picks its latest run there.
    Table(
        "segment_memberships",
        SEGMENT_MEMBERSHIPS,
        "run",
        "segment_id, day, profile_id",
        "cityHash64(profile_id)",
    ),
    Table("segment_days", SEGMENT_DAYS, "run", "segment_id, day", "cityHash64(segment_id)"),
    # Kept per-day event counts: a (site, day)'s rows on one shard, so FINAL keeps its latest.
    Table("event_day_counts", EVENT_DAY_COUNTS, "max_id", "site_id, day", "cityHash64(site_id, day)"),
)


def local_table(table: Table, db: str, cluster: str | None = None) -> str:
    """The table's CREATE: replicated on `cluster` (`<name>_local`), else the single-node form."""
    body = ", ".join((table.columns.strip(), *table.indexes))
    if cluster is None:
        engine, name, on = f"ReplacingMergeTree({table.version})", table.name, ""
    else:
        path = f"'/clickhouse/tables/{{shard}}/{db}/{table.name}_local', '{{replica}}'"
        version = f", {table.version}" if table.version else ""
        engine, name, on = (
            f"ReplicatedReplacingMergeTree({path}{version})",
            f"{table.name}_local",
            f" ON CLUSTER {cluster}",
        )
    partition = f" PARTITION BY toYYYYMM({table.partition})" if table.partition else ""
    settings = f" SETTINGS {table.settings}" if table.settings else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {db}.{name}{on} ({body}) ENGINE = {engine}{partition} "
        f"ORDER BY ({table.order}){settings}"
    )


def cluster_schema(cluster: str, db: str = "analytics") -> list[str]:
    """Every statement, in order: the database, then per table its local and Distributed table."""
    out = [f"CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER {cluster}"]
    for table in TABLES:
        out.append(local_table(table, db, cluster))
        out.append(
            f"CREATE TABLE IF NOT EXISTS {db}.{table.name} ON CLUSTER {cluster} AS {db}.{table.name}_local "
            f"ENGINE = Distributed({cluster}, {db}, {table.name}_local, {table.shard_key})"
        )
    return out
