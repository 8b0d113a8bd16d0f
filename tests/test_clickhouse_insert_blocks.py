"""The writer's inserts skip ReplacingMergeTree's merge of each block (`optimize_on_insert = 0`,
storage/clickhouse/client.py `insert_arrow`): that merge would collapse rows of one key within the
block, and the writer's blocks hold each key once. Checked on what is stored, in real chDB with
merges stopped (one part per insert): test_plain_rows' random batches (late events joining stored
visits, rewritten pageviews, engagement, goals, purchases with items) through batch.compute and
batch.insert, and no part holds an id twice, while ids rewritten across batches are there twice."""

from __future__ import annotations

import random

from analytics_mcp.ingest.clickhouse import batch, state
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from clickhouse_support import chdb_url
from test_plain_rows import MIDNIGHT, MINUTE, _batch

KEYS = {"events": "id", "visits": "id", "goal_completions": "id", "ecommerce_items": "id"}


def _count(events: ClickHouseEvents, sql: str) -> int:
    return int(events.rows(sql)[0][0])


def test_no_part_the_writer_stores_holds_a_key_twice() -> None:
    events = open_clickhouse(chdb_url("insert_blocks"))
    upgrade_clickhouse(events)
    for table in batch.TABLES:
        events.command(f"SYSTEM STOP MERGES {events.table(table)}")
    rng, serial = random.Random(11), 0
    for number in range(12):
        live = _batch(rng, MIDNIGHT + number * 20 * MINUTE, serial)
        serial += len(live)
        version, bases = state.next_free(events)
        rows = batch.compute(events, live, bases, version)
        state.write(events, state.Plan("blocks", number, number + 1, version, bases, rows.ends).done())
        batch.insert(events, rows, lambda table, n=number: f"blocks:{n}:{table}", lambda _table: None)
    for table, key in KEYS.items():
        name = events.table(table)
        assert _count(events, f"SELECT uniqExact(_part) FROM {name}") > 1, table  # merges stopped
        twice = (
            f"SELECT count() FROM (SELECT _part, {key} FROM {name} GROUP BY _part, {key} HAVING count() > 1)"
        )
        assert _count(events, twice) == 0, table
    for table in ("events", "visits"):  # rewritten by later batches: the same id in two parts
        name = events.table(table)
        assert _count(events, f"SELECT count() FROM {name}") > _count(
            events, f"SELECT count() FROM {name} FINAL"
        )
