"""Untimed checks of what ingestion stores for the engine (visit counters, time-on-page inputs, goal
completions), recomputed in DuckDB from the raw event rows. The timed reference questions read the
same stored columns as the engine does, so these are what makes the stored layout itself checked
against DESIGN.md. Each check counts the rows that disagree: 0 everywhere is the expected result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

VISIT_GAP_MS = 30 * 60_000
GoalRule = tuple[str, int, str, str | None, str | None, str | None]  # id, site, type, match, path, event

# (label, SQL returning one count of disagreeing rows)
CHECKS: tuple[tuple[str, str], ...] = (
    (
        "visits whose counters/bounds differ from their events (pageviews, events, interactions, "
        "started_at = first event, ended_at = last event, visitor id)",
        """WITH agg AS (
             SELECT visit_id, count(*) FILTER (WHERE name = 'pageview') AS pv, count(*) AS n,
                    count(*) FILTER (WHERE name NOT IN ('pageview', 'engagement') AND interactive = 1) AS ia,
                    min(ts) AS first_ts, max(ts) AS last_ts, min(visitor_id) AS vmin, max(visitor_id) AS vmax
             FROM events GROUP BY visit_id)
           SELECT count(*) FROM visits v LEFT JOIN agg a ON a.visit_id = v.id
           WHERE a.visit_id IS NULL OR v.pageviews <> a.pv OR v.events <> a.n OR v.interactions <> a.ia
              OR v.started_at <> a.first_ts OR v.ended_at <> a.last_ts
              OR a.vmin <> v.visitor_id OR a.vmax <> v.visitor_id""",
    ),
    (
        "events whose visit does not exist",
        "SELECT count(*) FROM events e ANTI JOIN visits v ON v.id = e.visit_id",
    ),
    (
        "engagement events marked interactive",
        "SELECT count(*) FROM events WHERE name = 'engagement' AND interactive = 1",
    ),
    (
        "visits whose entry/exit page is not their first/last pageview's path",
        """WITH pv AS (
             SELECT visit_id, arg_min(pathname, (ts, id)) AS first_path,
                    arg_max(pathname, (ts, id)) AS last_path
             FROM events WHERE name = 'pageview' GROUP BY visit_id)
           SELECT count(*) FROM visits v JOIN pv ON pv.visit_id = v.id
           WHERE v.entry_path IS DISTINCT FROM pv.first_path OR v.exit_path IS DISTINCT FROM pv.last_path""",
    ),
    (
        f"visits holding a gap of {VISIT_GAP_MS // 60_000} min or more between consecutive events",
        f"""SELECT count(DISTINCT visit_id) FROM (
              SELECT visit_id, ts - lag(ts) OVER (PARTITION BY visit_id ORDER BY ts, id) AS gap FROM events)
            WHERE gap >= {VISIT_GAP_MS}""",
    ),
    (
        f"visits starting under {VISIT_GAP_MS // 60_000} min after the previous visit of the same visitor "
        "id and site ended (should have been one visit)",
        f"""SELECT count(*) FROM (
              SELECT started_at - lag(ended_at) OVER (
                       PARTITION BY site_id, visitor_id ORDER BY started_at) AS gap
              FROM visits) WHERE gap < {VISIT_GAP_MS}""",
    ),
    (
        "pageviews whose gap_ms is not the time to the next pageview of the visit",
        """SELECT count(*) FROM (
             SELECT gap_ms, lead(ts) OVER (PARTITION BY visit_id ORDER BY ts, id) - ts AS expected
             FROM events WHERE name = 'pageview') WHERE gap_ms IS DISTINCT FROM expected""",
    ),
    (
        "pageviews whose engaged_ms is not the sum of the engagement reports for the visit's latest "
        "pageview of that path",
        """WITH pv AS (SELECT id, visit_id, pathname, ts, engaged_ms FROM events WHERE name = 'pageview'),
                en AS (SELECT visit_id, pathname, ts, engaged_ms FROM events WHERE name = 'engagement'),
                matched AS (
                  SELECT pv.id, sum(en.engaged_ms) AS engaged FROM en ASOF JOIN pv
                  ON en.visit_id = pv.visit_id AND en.pathname = pv.pathname AND en.ts >= pv.ts
                  GROUP BY pv.id)
           SELECT count(*) FROM pv LEFT JOIN matched m ON m.id = pv.id
           WHERE pv.engaged_ms IS DISTINCT FROM m.engaged""",
    ),
    (
        "goal completions missing or extra against the goals' rules applied to the raw events "
        "(url goals on pageview paths: exact / prefix; event goals on names)",
        """WITH expected AS (
             SELECT g.goal_id, e.id AS event_id FROM events e JOIN goal_rules g ON g.site_id = e.site_id
             WHERE (g.kind = 'url' AND e.name = 'pageview' AND (
                      (g.match_type = 'exact' AND e.pathname = g.path)
                   OR (g.match_type = 'prefix' AND starts_with(e.pathname, g.path))))
                OR (g.kind = 'event' AND e.name = g.event_name))
             , stored AS (SELECT goal_id, event_id FROM goal_completions)
           SELECT count(*) FROM (
             (SELECT * FROM expected EXCEPT ALL SELECT * FROM stored)
             UNION ALL
             (SELECT * FROM stored EXCEPT ALL SELECT * FROM expected))""",
    ),
    (
        "purchases sharing a transaction_id with another purchase of the site, or without one",
        """SELECT count(*) FILTER (WHERE transaction_id IS NULL)
                  + count(transaction_id) - count(DISTINCT site_id || ':' || transaction_id)
           FROM events WHERE name = 'purchase'""",
    ),
)  # fmt: skip


def run_checks(con: duckdb.DuckDBPyConnection, goal_rules: list[GoalRule]) -> list[tuple[str, int]]:
    """(label, disagreeing rows) per check (wildcard url goals are not modelled here)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE goal_rules (goal_id VARCHAR, site_id INTEGER, kind VARCHAR, "
        "match_type VARCHAR, path VARCHAR, event_name VARCHAR)"
    )
    if goal_rules:
        con.executemany("INSERT INTO goal_rules VALUES (?, ?, ?, ?, ?, ?)", goal_rules)
    results = []
    for label, sql in CHECKS:
        (count,) = con.execute(sql).fetchone() or (0,)
        results.append((label, int(count)))
    return results
