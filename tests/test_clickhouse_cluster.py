"""The cluster schema (`analytics-mcp clickhouse schema --cluster NAME`): every statement parses in
ClickHouse (EXPLAIN AST in chDB; ON CLUSTER and Replicated engines need a cluster to run), and
every table of the migrated single-node schema has its replicated local and Distributed table with
the same columns, sharded by a key that keeps a visitor's visits on one shard."""

from __future__ import annotations

import subprocess
import sys

from analytics_mcp.storage.clickhouse import open_clickhouse
from analytics_mcp.storage.clickhouse.cluster import TABLES, local_table
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from clickhouse_support import chdb_url


def _printed(cluster: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "analytics_mcp.cli", "clickhouse", "schema", "--cluster", cluster],
        capture_output=True,
        text=True,
        check=True,
    )
    return [s.strip() for s in done.stdout.split(";\n") if s.strip()]


def test_cluster_schema_parses_and_has_every_table_with_the_same_columns() -> None:
    statements = _printed("prod")
    events = open_clickhouse(chdb_url("cluster_single"))
    upgrade_clickhouse(events)
    events.command("CREATE DATABASE IF NOT EXISTS cluster_check")
    for statement in statements:
        assert " ON CLUSTER prod" in statement
        events.rows(f"EXPLAIN AST {statement}")  # raises if ClickHouse cannot parse it
    single = {
        str(row[0])
        for row in events.rows(
            "SELECT name FROM system.tables WHERE database = {db:String} AND name != 'schema_migrations'",
            {"db": events.database},
        )
    }
    assert single == {table.name for table in TABLES}
    for table in TABLES:
        local = next(s for s in statements if f".{table.name}_local ON CLUSTER" in s)
        assert "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/" in local and "'{replica}'" in local
        distributed = next(s for s in statements if f".{table.name} ON CLUSTER" in s)
        assert f"Distributed(prod, analytics, {table.name}_local, {table.shard_key})" in distributed
        # the same source in single-node form: the migrated table's columns, types and defaults
        events.command(local_table(table, "cluster_check").replace(f".{table.name} ", f".{table.name}_x "))
        describe = "SELECT name, type, default_expression FROM system.columns WHERE database = {d:String} "
        describe += "AND table = {t:String} ORDER BY position"
        migrated = events.rows(describe, {"d": events.database, "t": table.name})
        generated = events.rows(describe, {"d": "cluster_check", "t": f"{table.name}_x"})
        assert list(generated) == list(migrated), table.name
        # and the same projections and skip indexes: a fresh cluster is at the last step
        for kind in ("projections", "data_skipping_indices"):
            named = f"SELECT name FROM system.{kind} WHERE database = {{d:String}} AND table = {{t:String}}"
            migrated_names = {r[0] for r in events.rows(named, {"d": events.database, "t": table.name})}
            generated_names = {
                r[0] for r in events.rows(named, {"d": "cluster_check", "t": f"{table.name}_x"})
            }
            assert generated_names == migrated_names, (table.name, kind)
    keys = {t.name: t.shard_key for t in TABLES}
    assert keys["visits"] == keys["events"] == keys["goal_completions"] == "cityHash64(site_id, visitor_id)"
