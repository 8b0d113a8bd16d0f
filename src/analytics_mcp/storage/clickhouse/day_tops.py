"""The largest id and version of each (site, UTC day) of events (by ts) and visits (by started_at),
read from aggregate projections: the validity stamps of kept rollups (rollups/clickhouse_kept.py,
docs/rollups.md "Kept rollups on ClickHouse").

Every row the writer stores new or again (a new event, a rewritten pageview, a visit rewritten
because an event joined it or moved its start) carries a version above every stored one (one
global sequence, ingest/clickhouse/state.py), so a day's maxima change whenever a row of that day
is added or rewritten. Projections of max() are exact under duplicates and unmerged rows (a
repeated or superseded row does not raise a maximum), and ClickHouse answers
`max(...) GROUP BY site_id, toDate(...)` from a few rows per part, without FINAL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from analytics_mcp.storage.clickhouse.client import ClickHouseEvents

EVENT_DAY_TOPS = "day_tops (SELECT site_id, toDate(ts), max(id), max(version) GROUP BY site_id, toDate(ts))"
VISIT_DAY_TOPS = (
    "day_tops (SELECT site_id, toDate(started_at), max(id), max(version) "
    "GROUP BY site_id, toDate(started_at))"
)
EVENT_DAY_TOPS_PROJECTION = f"PROJECTION {EVENT_DAY_TOPS}"
VISIT_DAY_TOPS_PROJECTION = f"PROJECTION {VISIT_DAY_TOPS}"
# Merges of a ReplacingMergeTree rebuild a projection from the rows they keep (events has it: step 7).
PROJECTION_MODE = "deduplicate_merge_projection_mode = 'rebuild'"
STEP_NAME = "events and visits: projections of each (site, UTC day)'s largest id and version (kept rollups)"
STEP_STATEMENTS = (
    f"ALTER TABLE {{db}}.visits MODIFY SETTING {PROJECTION_MODE}",
    f"ALTER TABLE {{db}}.events ADD PROJECTION IF NOT EXISTS {EVENT_DAY_TOPS}",
    "ALTER TABLE {db}.events MATERIALIZE PROJECTION day_tops SETTINGS mutations_sync = 2",
    f"ALTER TABLE {{db}}.visits ADD PROJECTION IF NOT EXISTS {VISIT_DAY_TOPS}",
    "ALTER TABLE {db}.visits MATERIALIZE PROJECTION day_tops SETTINGS mutations_sync = 2",
)

Tops = tuple[int, int, int, int]  # events max(id), max(version); visits max(id), max(version)
NONE: Tops = (-1, -1, -1, -1)


def day_tops(
    store: ClickHouseEvents, site_ids: Sequence[int], first: date, last: date
) -> dict[tuple[int, date], Tops]:
    """The maxima of each (site, UTC day) in [first, last] that has rows (others are absent), in
    one statement."""
    parts = [
        f"SELECT {index} AS t, site_id, toDate({column}) AS d, max(id) AS i, max(version) AS v "
        f"FROM {store.table(table)} WHERE site_id IN {{s:Array(UInt32)}} "
        f"AND toDate({column}) >= {{a:Date}} AND toDate({column}) <= {{b:Date}} GROUP BY site_id, d"
        for index, (table, column) in enumerate((("events", "ts"), ("visits", "started_at")))
    ]
    found: dict[tuple[int, date], list[int]] = {}
    for index, site, day, top_id, top_version in store.rows(
        " UNION ALL ".join(parts), {"s": list(site_ids), "a": first, "b": last}
    ):
        tops = found.setdefault((int(site), day), list(NONE))
        tops[2 * index : 2 * index + 2] = [int(top_id), int(top_version)]
    return {key: (t[0], t[1], t[2], t[3]) for key, t in found.items()}
