"""The stamps of kept rollups on ClickHouse (docs/rollups.md "Kept rollups on ClickHouse").

With the events in ClickHouse, the engine keeps the rollup rows of each (site, local day) in
rollup_daily and rollup_visitors of the accounts database, computed by ClickHouse; `rollup_stamps`
records what they were computed under: the site's time zone and the largest id and version of
the events and visits that day's rows depend on (storage/clickhouse/day_tops.py). A day is read
from its kept rows while its stamp equals the current one, and computed again otherwise. Part of
the one schema (`storage.schema` imports this module), next to the rollup tables (storage/roles.py).

`rollup_subsets` names the kept subsets (docs/rollups.md "Kept subsets"): the visits of one site
passing a set of visit filters. A subset's rows and stamps are kept in the same three tables under
the key -id in place of a site id (site ids are positive), so the rollups store reads them unchanged.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, Text, UniqueConstraint

from analytics_mcp.storage.schema import metadata

rollup_stamps = Table(
    "rollup_stamps",
    metadata,
    Column("site_id", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),  # local date in `zone`, days since 1970-01-01
    Column("zone", Text, nullable=False),
    Column("events_id", BigInteger, nullable=False),  # -1: no rows
    Column("events_version", BigInteger, nullable=False),
    Column("visits_id", BigInteger, nullable=False),
    Column("visits_version", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

rollup_subsets = Table(
    "rollup_subsets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site_id", Integer, nullable=False),
    Column("filters", Text, nullable=False),  # canonical JSON of the filter set
    Column("used_day", Integer, nullable=False),  # UTC day of the last read, days since 1970-01-01
    UniqueConstraint("site_id", "filters"),
)
