"""`rebuild_rollups` and `analytics-mcp rollups rebuild`: the rollup tables recomputed from the raw
tables. Small event sets go through the real pipeline and the expected rows are written out by hand
(local days in the site's zone, visits across local midnight and DST changes, gaps, bounces, time
on page, currencies); random traffic is compared with the tests' independent reference fill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import Connection, create_engine, func, inspect, literal, null, select, update

from analytics_mcp.cli import main
from analytics_mcp.config import Settings
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.rollups.keys import (
    VISIT_DIM_COLUMNS,
    Dim,
    date_of,
    decode,
    encode,
    local_day,
    span_days,
    span_hours,
    visit_dim_value,
)
from analytics_mcp.rollups.rebuild import ROLLUP_TABLES, RebuildSummary, rebuild_rollups, site_zones
from analytics_mcp.rollups.rebuild_sql import encode_sql
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from analytics_mcp.storage.schema import (
    events,
    goal_completions,
    rollup_daily,
    rollup_visitors,
    visitor_marks,
    visits,
)
from engine_support import add_site, hit, ingest, purchase, utc
from rollup_reference import COUNTERS, fill_from_raw
from rollup_traffic import Traffic

pytestmark = pytest.mark.backends()

BIN_DIR = Path(sys.executable).parent


def epoch_s(iso: str) -> int:
    return int(utc(iso).timestamp())


def rebuild(
    services: Services, site_ids: list[int] | None = None, *, now: str = "2026-11-12T12:00:00Z"
) -> RebuildSummary:
    with services.db.sync.begin() as conn:
        return rebuild_rollups(conn, site_ids, now_s=epoch_s(now))


def daily(services: Services, dim: Dim, site_id: int = 1) -> dict[tuple[str, str], dict[str, float]]:
    """(local date, value) -> the counters that are not 0."""
    rd = rollup_daily.c
    with services.db.sync.connect() as conn:
        rows = conn.execute(select(rollup_daily).where(rd.site_id == site_id, rd.dim == int(dim))).mappings()
        return {
            (date_of(row["day"]).isoformat(), row["value"]): {c: row[c] for c in COUNTERS if row[c]}
            for row in rows
        }


def visitors(services: Services, dim: Dim, site_id: int = 1) -> dict[tuple[str, str, int], int]:
    """(local date, value, gap) -> n."""
    rv = rollup_visitors.c
    with services.db.sync.connect() as conn:
        stmt = select(rv.day, rv.value, rv.gap, rv.n).where(rv.site_id == site_id, rv.dim == int(dim))
        return {(date_of(day).isoformat(), value, gap): n for day, value, gap, n in conn.execute(stmt)}


def marks(services: Services, site_id: int = 1) -> dict[int, dict[tuple[Dim, str, str], int]]:
    """visitor id -> {(dim, value, local date): n} from visitor_marks."""
    vm = visitor_marks.c
    found: dict[int, dict[tuple[Dim, str, str], int]] = {}
    with services.db.sync.connect() as conn:
        for visitor_id, listed in conn.execute(select(vm.visitor_id, vm.marks).where(vm.site_id == site_id)):
            found[visitor_id] = {
                (Dim(dim), value, date_of(day).isoformat()): n for dim, value, day, n in orjson.loads(listed)
            }
    return found


def visitor_of(services: Services, ts: str) -> int:
    with services.db.sync.connect() as conn:
        stmt = select(visits.c.visitor_id).where(visits.c.started_at == epoch_s(ts) * 1000)
        return int(conn.execute(stmt).scalar_one())


# -- hand-built event sets ------------------------------------------------------------------------


def test_west_zone_midnight_bounces_and_time_on_page(services: Services) -> None:
    """New York (UTC-5 in November), the tenant's zone. Visitor 1 crosses local midnight, visitor 2
    bounces (an engagement report is no interaction), visitor 3 clicks (no bounce)."""
    add_site(services, tenant_timezone="America/New_York")
    ingest(
        services,
        [
            hit("2026-11-10T04:50:00Z", "/", who=1),  # Nov 9, 23:50 local
            hit("2026-11-10T05:10:00Z", "/b", who=1),  # Nov 10, 00:10: "/" stayed 20 min
            hit("2026-11-10T05:20:00Z", "/b", who=1, name="engagement", engagement_ms=15_000),
            hit("2026-11-10T15:00:00Z", "/", who=2),
            hit("2026-11-10T15:00:10Z", "/", who=2, name="engagement", engagement_ms=5_000),
            hit("2026-11-10T16:00:00Z", "/b", who=3),  # no engagement, no next pageview
            hit("2026-11-10T16:05:00Z", "/b", who=3, name="click"),
        ],
    )
    summary = rebuild(services)
    assert (summary.sites, summary.rollup_daily) == (1, sum(len(daily(services, dim)) for dim in Dim))
    nine, ten = "2026-11-09", "2026-11-10"
    visit1 = {"visits": 1, "duration_ms": 1_800_000, "visit_pageviews": 2}
    assert daily(services, Dim.ALL) == {
        (nine, "[]"): {**visit1, "pageviews": 1},
        (ten, "[]"): {
            "visits": 2,
            "bounces": 1,
            "duration_ms": 300_000,
            "visit_pageviews": 2,
            "pageviews": 3,
        },
    }
    assert daily(services, Dim.HOUR) == {
        (nine, "[23]"): {"pageviews": 1},
        (ten, "[0]"): {"pageviews": 1},
        (ten, "[10]"): {"pageviews": 1},
        (ten, "[11]"): {"pageviews": 1},
    }
    assert daily(services, Dim.PAGE) == {
        (nine, '["/"]'): {"pageviews": 1, "top_sum_ms": 1_200_000, "top_count": 1},  # the gap
        (ten, '["/b"]'): {"pageviews": 2, "top_sum_ms": 15_000, "top_count": 1},  # engaged; 3's has none
        (ten, '["/"]'): {"pageviews": 1, "top_sum_ms": 5_000, "top_count": 1},
    }
    bounce = {"visits": 1, "bounces": 1, "visit_pageviews": 1}
    clicked = {"visits": 1, "duration_ms": 300_000, "visit_pageviews": 1}
    assert daily(services, Dim.ENTRY) == {
        (nine, '["/"]'): visit1,
        (ten, '["/"]'): bounce,
        (ten, '["/b"]'): clicked,
    }
    assert daily(services, Dim.EXIT) == {
        (nine, '["/b"]'): visit1,
        (ten, '["/"]'): bounce,
        (ten, '["/b"]'): clicked,
    }
    assert daily(services, Dim.SOURCE) == {
        (nine, '["direct",null]'): visit1,
        (ten, '["direct",null]'): {"visits": 2, "bounces": 1, "duration_ms": 300_000, "visit_pageviews": 2},
    }
    assert daily(services, Dim.BROWSER) == {
        (nine, '["Chrome"]'): visit1,
        (ten, '["Chrome"]'): daily(services, Dim.SOURCE)[(ten, '["direct",null]')],
    }
    assert daily(services, Dim.CAMPAIGN) == {} and daily(services, Dim.GOAL) == {}

    assert visitors(services, Dim.ALL) == {(nine, "[]", 0): 1, (ten, "[]", 1): 1, (ten, "[]", 0): 2}
    assert visitors(services, Dim.HOUR) == {
        (nine, "[23]", 0): 1,
        (ten, "[0]", 0): 1,  # the engagement report at 00:20 is in the span already
        (ten, "[10]", 0): 1,
        (ten, "[11]", 0): 1,
    }
    assert visitors(services, Dim.PAGE) == {
        (nine, '["/"]', 0): 1,
        (ten, '["/b"]', 0): 2,
        (ten, '["/"]', 0): 1,
    }
    assert visitors(services, Dim.SOURCE) == {(nine, '["direct",null]', 0): 1, (ten, '["direct",null]', 0): 2}
    assert visitors(services, Dim.BUYERS) == {}

    first = marks(services)[visitor_of(services, "2026-11-10T04:50:00Z")]
    assert {key: n for key, n in first.items() if key[0] in (Dim.ALL, Dim.HOUR, Dim.PAGE, Dim.ENTRY)} == {
        (Dim.ALL, "[]", nine): 1,
        (Dim.ALL, "[]", ten): 1,
        (Dim.HOUR, "[23]", nine): 1,
        (Dim.HOUR, "[0]", ten): 1,
        (Dim.PAGE, '["/"]', nine): 1,
        (Dim.PAGE, '["/b"]', ten): 1,
        (Dim.ENTRY, '["/"]', nine): 1,
    }
    assert summary.visitor_marks == 3
    # Four days later the marks of Nov 9 are too old for visitor_marks (today - 4 = Nov 10).
    rebuild(services, now="2026-11-14T12:00:00Z")
    assert all(day == ten for held in marks(services).values() for _, _, day in held)


def test_returning_visitor_gaps_and_mark_counts(services: Services) -> None:
    """Two visits on Nov 10 are one mark (n = 2 visits in visitor_marks); the same id back on
    Nov 12 is counted under gap 2. (A new UTC day's salt gives a new id: the test merges them.)"""
    add_site(services)
    ingest(
        services,
        [
            hit("2026-11-10T10:00:00Z", "/", who=1),
            hit("2026-11-10T10:01:00Z", "/", who=1),
            hit("2026-11-10T14:00:00Z", "/", who=1),
            hit("2026-11-12T10:00:00Z", "/", who=1),
            hit("2026-11-12T10:30:00Z", "/", who=2),
        ],
    )
    first, back = visitor_of(services, "2026-11-10T10:00:00Z"), visitor_of(services, "2026-11-12T10:00:00Z")
    with services.db.sync.begin() as conn:
        for table in (visits, events):
            conn.execute(update(table).where(table.c.visitor_id == back).values(visitor_id=first))
    rebuild(services, now="2026-11-13T12:00:00Z")
    ten, twelve = "2026-11-10", "2026-11-12"
    for dim, value in ((Dim.ALL, "[]"), (Dim.PAGE, '["/"]'), (Dim.SOURCE, '["direct",null]')):
        assert visitors(services, dim) == {(ten, value, 0): 1, (twelve, value, 2): 1, (twelve, value, 0): 1}
    assert visitors(services, Dim.HOUR) == {
        (ten, "[10]", 0): 1,
        (ten, "[14]", 0): 1,
        (twelve, "[10]", 2): 1,
        (twelve, "[10]", 0): 1,
    }
    assert daily(services, Dim.ALL)[(ten, "[]")] == {
        "visits": 2,
        "bounces": 1,
        "duration_ms": 60_000,
        "visit_pageviews": 3,
        "pageviews": 3,
    }
    held = marks(services)[first]
    assert (held[(Dim.ALL, "[]", ten)], held[(Dim.ALL, "[]", twelve)]) == (2, 1)  # visits
    assert held[(Dim.SOURCE, '["direct",null]', ten)] == 2
    assert held[(Dim.PAGE, '["/"]', ten)] == 1  # event marks are presence marks, as the writer keeps them


def test_purchases_currencies_items_and_goals(services: Services) -> None:
    add_site(services, currency="EUR")
    with services.db.sync.begin() as conn:
        goal = accounts.add_goal(conn, "acme.test", "Thanks", path="/thanks")
    mug, cap = (
        {"item_name": "Mug", "price": 2.5, "quantity": 3},
        {"item_name": "Cap", "price": 1.25, "quantity": 2},
    )
    ingest(
        services,
        [
            hit("2026-11-10T10:00:00Z", "/thanks", who=1),
            purchase("2026-11-10T10:05:00Z", 1, "T1", 10.0, items=[mug, cap]),
            hit("2026-11-10T11:00:00Z", "/", who=2, referrer="https://www.google.com/"),
            purchase(
                "2026-11-10T11:01:00Z", 2, "T2", 20.0, "USD", items=[{**mug, "price": 4.0, "quantity": 1}]
            ),
            hit("2026-11-10T12:00:00Z", "/checkout/done", who=3, name="purchase", transaction_id="T3"),
        ],
    )
    rebuild(services)
    ten = "2026-11-10"
    assert daily(services, Dim.PURCHASE) == {
        (ten, '["EUR"]'): {"count": 1, "revenue": 10.0},
        (ten, '["USD"]'): {"count": 1, "revenue": 20.0},
        (ten, "[null]"): {"count": 1},  # no revenue: counted, adds 0
    }
    assert daily(services, Dim.SOURCE_REVENUE) == {
        (ten, '["direct","EUR"]'): {"count": 1, "revenue": 10.0},
        (ten, '["google","USD"]'): {"count": 1, "revenue": 20.0},
        (ten, '["direct",null]'): {"count": 1},
    }
    assert daily(services, Dim.ITEM) == {
        (ten, '["Mug","EUR"]'): {"revenue": 7.5, "quantity": 3, "count": 1},
        (ten, '["Cap","EUR"]'): {"revenue": 2.5, "quantity": 2, "count": 1},
        (ten, '["Mug","USD"]'): {"revenue": 4.0, "quantity": 1, "count": 1},
    }
    assert daily(services, Dim.ITEM_EVENTS) == {
        (ten, '["EUR"]'): {"count": 1},
        (ten, '["USD"]'): {"count": 1},
    }
    assert daily(services, Dim.GOAL) == {(ten, encode(goal.id)): {"count": 1}}
    assert visitors(services, Dim.GOAL) == {(ten, encode(goal.id), 0): 1}
    assert visitors(services, Dim.BUYERS) == {(ten, "[]", 0): 3}
    assert daily(services, Dim.ALL)[(ten, "[]")]["visits"] == 3


def test_dst_changes_use_the_local_hours_that_exist(services: Services) -> None:
    """New York springs forward on 2026-03-08 at 07:00 UTC (02:00 -> 03:00) and falls back on
    2026-11-01 at 06:00 UTC (02:00 -> 01:00): a visit across either has only the hours that exist."""
    add_site(services, timezone="America/New_York", tenant_timezone="Asia/Tokyo")  # the site's own zone
    ingest(
        services,
        [
            hit("2026-03-08T06:50:00Z", "/", who=1),  # 01:50 EST
            hit("2026-03-08T07:10:00Z", "/", who=1),  # 03:10 EDT: no hour 2 that day
            hit("2026-11-01T05:50:00Z", "/", who=2),  # 01:50 EDT
            hit("2026-11-01T06:10:00Z", "/", who=2),  # 01:10 EST
            hit("2026-11-01T06:35:00Z", "/", who=2),  # 01:35 EST
            hit("2026-11-01T07:00:00Z", "/", who=2),  # 02:00 EST
        ],
    )
    rebuild(services)
    march, november = "2026-03-08", "2026-11-01"
    assert visitors(services, Dim.HOUR) == {
        (march, "[1]", 0): 1,
        (march, "[3]", 0): 1,
        (november, "[1]", 0): 1,
        (november, "[2]", 0): 1,
    }
    assert daily(services, Dim.HOUR) == {
        (march, "[1]"): {"pageviews": 1},
        (march, "[3]"): {"pageviews": 1},
        (november, "[1]"): {"pageviews": 3},
        (november, "[2]"): {"pageviews": 1},
    }
    assert daily(services, Dim.ALL)[(november, "[]")]["duration_ms"] == 70 * 60_000


def test_values_are_keys_encode_of_the_columns(services: Services) -> None:
    """Quotes, backslashes and non-ASCII come out exactly as orjson writes them."""
    add_site(services)
    ingest(
        services,
        [
            hit(
                "2026-11-10T10:00:00Z",
                "/caf%C3%A9?utm_campaign=he%20said%20%22hi%22&utm_source=%C3%BCber",
                who=1,
            ),
            hit("2026-11-10T10:01:00Z", '/a"b\\c', who=1, language="de-DE"),
            hit("2026-11-10T10:02:00Z", "/é/\u2028", who=2),
        ],
    )
    rebuild(services)
    ten = "2026-11-10"
    assert (ten, encode("über", None, 'he said "hi"')) in daily(services, Dim.CAMPAIGN)
    assert (ten, encode('/a"b\\c')) in daily(services, Dim.EXIT)
    with services.db.sync.connect() as conn:
        values = [
            *conn.execute(select(rollup_daily.c.value)).scalars(),
            *conn.execute(select(rollup_visitors.c.value)).scalars(),
        ]
        pathnames = set(conn.execute(select(events.c.pathname)).scalars())
        for pathname in pathnames:
            sql = conn.execute(
                select(encode_sql(conn.dialect.name, events.c.pathname)).where(events.c.pathname == pathname)
            ).scalar()
            assert sql == encode(pathname)
    assert all(value == encode(*decode(value)) for value in values)
    for listed in marks(services).values():
        assert all(value == encode(*decode(value)) for _, value, _ in listed)


def test_encoding_matches_orjson_for_awkward_strings(services: Services) -> None:
    samples = [
        "é",
        'a"b',
        "back\\slash",
        "\n\t\r\b\f",
        "\x00\x01\x1f",
        "\x7f",
        "\u2028\u2029",
        "😀",
        "/</script>",
        "\ufeff",
    ]
    with services.db.sync.connect() as conn:
        for sample in samples:
            if "\x00" in sample and conn.dialect.name == "postgresql":
                continue  # PostgreSQL text cannot hold NUL; ingestion refuses it everywhere
            sql = encode_sql(conn.dialect.name, literal(sample), null(), literal(13))
            got = conn.execute(select(sql)).scalar()
            assert got == encode(sample, None, 13), sample


# -- scope, idempotence, random traffic -------------------------------------------------------------


def rows_of(conn: Connection) -> tuple[list[Any], ...]:
    return tuple(
        sorted(tuple(row) for row in conn.execute(select(table)))
        for table in (rollup_daily, rollup_visitors, visitor_marks)
    )


def test_one_site_rebuild_and_missing_tables(services: Services) -> None:
    _, one = add_site(services, "one.test")
    _, two = add_site(services, "two.test", timezone="America/Los_Angeles")
    ingest(
        services,
        [
            hit("2026-11-10T10:00:00Z", "/", who=1, domain="one.test"),
            hit("2026-11-10T10:00:00Z", "/", who=1, domain="two.test"),
        ],
    )
    with services.db.sync.begin() as conn:
        for table in (visitor_marks, rollup_visitors, rollup_daily):
            table.drop(conn)
    rebuild(services)
    with services.db.sync.connect() as conn:
        assert {"rollup_daily", "rollup_visitors", "visitor_marks"} <= set(inspect(conn).get_table_names())
        everything = rows_of(conn)
    with services.db.sync.begin() as conn:
        conn.execute(rollup_daily.delete().where(rollup_daily.c.site_id == two.id))
        conn.execute(rollup_daily.update().where(rollup_daily.c.site_id == one.id).values(visits=99))
    summary = rebuild(services, [two.id])
    assert summary.sites == 1 and summary.rollup_daily == sum(
        len(daily(services, dim, two.id)) for dim in Dim
    )
    assert {row["visits"] for row in daily(services, Dim.ALL, one.id).values()} == {99}  # not touched
    rebuild(services)
    with services.db.sync.connect() as conn:
        assert rows_of(conn) == everything


def test_random_traffic_equals_the_reference_fill(services: Services) -> None:
    """Berlin (DST ends Oct 25) and Los Angeles (Nov 1): rebuild == the reference fill of
    rollup_reference, and visitor_marks == the marks of the last days, recounted from the rows."""
    add_site(services, "w1.test", slug="west", tenant_timezone="America/Los_Angeles")
    add_site(services, "e1.test", slug="east", tenant_timezone="Europe/Berlin")
    traffic = Traffic(11, datetime(2026, 10, 20, tzinfo=UTC), utc("2026-11-06T12:00:00Z"))
    traffic.site("w1.test", ZoneInfo("America/Los_Angeles"), visits=260, visitors=40)
    traffic.site("e1.test", ZoneInfo("Europe/Berlin"), visits=260, visitors=40)
    for chunk in traffic.in_chunks(late=True):
        ingest_events(services.ingestor, chunk)  # some engagement reports find no open visit: dropped
    now = "2026-11-06T12:00:00Z"
    rebuild(services, now=now)
    with services.db.sync.begin() as conn:
        rebuilt = rows_of(conn)
        fill_from_raw(conn)
        reference = rows_of(conn)
        expected_marks = recent_marks(conn, epoch_s(now))
    assert rebuilt[1] == reference[1]
    assert [(*row[:-2], round(row[-2], 6), row[-1]) for row in rebuilt[0]] == [
        (*row[:-2], round(row[-2], 6), row[-1]) for row in reference[0]
    ]
    stored = {
        (site, visitor): sorted(map(tuple, orjson.loads(listed))) for site, visitor, listed, _ in rebuilt[2]
    }
    assert stored == expected_marks and len(stored) > 10


def recent_marks(conn: Connection, now_s: int) -> dict[tuple[int, int], list[tuple[int, str, int, int]]]:
    """visitor_marks recounted in Python from the raw rows (keys.span_days / span_hours)."""
    zones = site_zones(conn, None)
    counts: dict[tuple[int, int], dict[tuple[int, str, int], int]] = defaultdict(lambda: defaultdict(int))
    for row in conn.execute(select(visits)):
        zone, held = zones[row.site_id], counts[(row.site_id, row.visitor_id)]
        for day in span_days(zone, row.started_at, row.ended_at):
            held[(int(Dim.ALL), "[]", day)] += 1
        for day, hour in span_hours(zone, row.started_at, row.ended_at):
            held[(int(Dim.HOUR), encode(hour), day)] += 1
        for dim in VISIT_DIM_COLUMNS:
            value = visit_dim_value(dim, dict(row._mapping))
            if value is not None:
                held[(int(dim), value, local_day(zone, row.started_at))] += 1
    presence = [
        (
            row.site_id,
            row.visitor_id,
            Dim.PAGE if row.name == "pageview" else Dim.BUYERS,
            encode(row.pathname) if row.name == "pageview" else "[]",
            row.ts,
        )
        for row in conn.execute(select(events).where(events.c.name.in_(["pageview", "purchase"])))
    ]
    presence += [
        (row.site_id, row.visitor_id, Dim.GOAL, encode(row.goal_id), row.ts)
        for row in conn.execute(select(goal_completions))
    ]
    for site_id, visitor_id, dim, value, ts in presence:
        counts[(site_id, visitor_id)][(int(dim), value, local_day(zones[site_id], ts))] = 1
    result = {}
    for (site_id, visitor_id), held in counts.items():
        first = local_day(zones[site_id], now_s * 1000) - 4
        kept = sorted((dim, value, day, n) for (dim, value, day), n in held.items() if day >= first)
        if kept:
            result[(site_id, visitor_id)] = kept
    return result


# -- the command -----------------------------------------------------------------------------------


def test_cli_rebuild_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ANALYTICS_DB_URL", url)
    settings = Settings(data_dir=tmp_path / "data", secret_key="x", _env_file=None, db_url=url)  # type: ignore[call-arg]
    services = Services.build(settings)
    try:
        add_site(services)
        ingest(services, [hit("2026-11-10T10:00:00Z", "/", who=1), hit("2026-11-10T10:05:00Z", "/b", who=1)])
    finally:
        services.db.sync.dispose()
    assert main(["rollups", "rebuild"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert err == "" and out.count("\n") == 1
    assert summary["sites"] == 1 and summary["rollup_daily"] > 0 and summary["rollup_visitors"] > 0
    assert set(summary) == {
        "sites",
        "rollup_daily",
        "rollup_visitors",
        "visitor_marks",
        "funnel_visitors",
        "seconds",
    }

    assert main(["rollups", "rebuild", "--site", "nope.test"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "error: site: not found\n"

    env = {**os.environ, "ANALYTICS_DB_URL": url}
    done = subprocess.run(
        [str(BIN_DIR / "analytics-mcp"), "rollups", "rebuild", "--site", "acme.test"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    again = json.loads(done.stdout)
    assert {key: again[key] for key in ("sites", "rollup_daily", "rollup_visitors")} == {
        "sites": 1, "rollup_daily": summary["rollup_daily"], "rollup_visitors": summary["rollup_visitors"],
    }  # fmt: skip
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = [
                conn.execute(select(func.count()).select_from(table)).scalar() for table in ROLLUP_TABLES
            ]
    finally:
        engine.dispose()
    assert stored[:4] == [again[table.name] for table in ROLLUP_TABLES[:4]]
