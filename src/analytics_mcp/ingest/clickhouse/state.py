"""The writer's bookkeeping in ClickHouse's `ingest_spool` table: per spool, the batch it planned
(frames, first row ids, version) and how far the spool is stored.

A batch is planned before any insert and the plan is kept: a batch stored again after a crash is
the same frames with the same ids and version, so its inserts repeat their deduplication tokens and
store nothing new. Rows of a name are ordered by `seq` (2 x version for a plan, + 1 once stored).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents

COUNTERS = ("event", "visit", "completion", "item")
COLUMNS = (
    "name", "seq", "position", "batch_end", "version",
    "event_base", "event_end", "visit_base", "visit_end",
    "completion_base", "completion_end", "item_base", "item_end",
)  # fmt: skip
_ID_TABLES = {
    "event": "events",
    "visit": "visits",
    "completion": "goal_completions",
    "item": "ecommerce_items",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """Frames [position, batch_end) stored as row version `version` with ids from the bases."""

    name: str
    position: int
    batch_end: int
    version: int
    bases: dict[str, int]
    ends: dict[str, int]
    stored: bool = False

    @property
    def seq(self) -> int:
        return self.version * 2 + (1 if self.stored else 0)

    def row(self) -> list[object]:
        position = self.batch_end if self.stored else self.position
        ids = [value for c in COUNTERS for value in (self.bases[c], self.ends[c])]
        return [self.name, self.seq, position, self.batch_end, self.version, *ids]

    def done(self) -> Plan:
        return replace(self, stored=True)


def latest(events: ClickHouseEvents, name: str) -> Plan | None:
    """The spool's last row: its stored position, or a batch planned and maybe not stored."""
    rows = events.rows(
        f"SELECT {', '.join(COLUMNS)} FROM {events.table('ingest_spool')} WHERE name = {{n:String}} "
        "ORDER BY seq DESC LIMIT 1",
        {"n": name},
    )
    if not rows:
        return None
    _name, seq, position, batch_end, version, *ids = rows[0]
    bases = {c: int(ids[2 * i]) for i, c in enumerate(COUNTERS)}
    ends = {c: int(ids[2 * i + 1]) for i, c in enumerate(COUNTERS)}
    return Plan(name, int(position), int(batch_end), int(version), bases, ends, stored=int(seq) % 2 == 1)


def stored_position(events: ClickHouseEvents, name: str) -> int:
    plan = latest(events, name)
    return 0 if plan is None else plan.position


def write(events: ClickHouseEvents, plan: Plan) -> None:
    events.insert("ingest_spool", [plan.row()], COLUMNS)


def next_free(events: ClickHouseEvents) -> tuple[int, dict[str, int]]:
    """The next version and the first free id of each table, over every spool's plans and the
    tables themselves (rows copied by `events copy`). Call under the single-writer lock."""
    ends = ", ".join(f"max({c}_end)" for c in COUNTERS)
    row = events.rows(f"SELECT max(version), {ends} FROM {events.table('ingest_spool')}")[0]
    tops = [
        f"(SELECT max({'event_id' if t == 'experiment_events' else 'id'}) FROM {events.table(t)})"
        for t in _ID_TABLES.values()
    ]
    table_row = events.rows(f"SELECT {', '.join(tops)}")[0]
    free = {c: max(int(row[i + 1] or 0), int(table_row[i] or 0) + 1, 1) for i, c in enumerate(COUNTERS)}
    return int(row[0] or 0) + 1, free


def newest_seq(events: ClickHouseEvents) -> int:
    """The highest `seq` of any spool (0: none): every plan takes a version above every earlier
    one, so a row written after one of this `seq` is above it (merges keep each name's highest)."""
    return int(events.rows(f"SELECT max(seq) FROM {events.table('ingest_spool')}")[0][0] or 0)
