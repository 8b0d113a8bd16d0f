"""The reference answers: each engine question as raw DuckDB SQL over the copied tables, written from
the definitions in DESIGN.md, returning the same comparable shape as `engine_cases` makes of the
engine's result. Rounding uses the engine's `numbers` helpers (the DESIGN.md rounding rules), so a
difference is a difference of definition, not of formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analytics_mcp.engine.numbers import change, money, point_change, rate, ratio, seconds
from analytics_mcp.storage.ids import row_ulid

if TYPE_CHECKING:  # duckdb is imported only after the engine phase (see engine_run.peak_rss_mb)
    from duckdb import DuckDBPyConnection as Con
else:
    Con = Any
FUNNEL = ("view_item", "add_to_cart", "begin_checkout", "purchase")


@dataclass(frozen=True, slots=True)
class Ask:
    """One question's parameters, as plain values."""

    site_ids: tuple[int, ...]
    start: int
    end: int
    prev_start: int
    prev_end: int
    tz: str
    limit: int
    currency: str
    goals: tuple[tuple[str, str], ...]  # (id, name) of the sites' goals, in the engine's order
    visit_filter: str = ""  # SQL on visits columns the visit must pass (filtered cells), "" for none
    page: str | None = None  # page==this path (filtered cells)

    @property
    def sites(self) -> str:
        return "(" + ", ".join(str(int(i)) for i in self.site_ids) + ")"

    def where(self, ts: str = "ts", site: str = "site_id", *, previous: bool = False) -> str:
        """Sites and range, and the cell's filters as DESIGN.md defines them: visits (`ts` is
        started_at) pass the visit filter and, with a page filter, have a matching pageview;
        events belong to passing visits and, with a page filter, are the matching pageviews."""
        lo, hi = (self.prev_start, self.prev_end) if previous else (self.start, self.end)
        out = f"{site} IN {self.sites} AND {ts} >= {int(lo)} AND {ts} < {int(hi)}"
        path = None if self.page is None else "'" + self.page.replace("'", "''") + "'"
        if ts == "started_at":
            out += f" AND ({self.visit_filter})" if self.visit_filter else ""
            matching = f"SELECT visit_id FROM events WHERE name = 'pageview' AND pathname = {path}"
            return out + (f" AND id IN ({matching})" if path else "")
        if self.visit_filter:
            out += f" AND visit_id IN (SELECT id FROM visits WHERE {self.visit_filter})"
        return out + (f" AND name = 'pageview' AND pathname = {path}" if path else "")


def _traffic(con: Con, ask: Ask, previous: bool = False) -> tuple[int, int]:
    sql = f"""SELECT count(DISTINCT visitor_id), count(*) FILTER (WHERE name = 'pageview')
              FROM events WHERE {ask.where(previous=previous)}"""
    visitors, pageviews = con.execute(sql).fetchone() or (0, 0)
    return int(visitors), int(pageviews or 0)


def _visit_totals(con: Con, ask: Ask, previous: bool = False) -> tuple[int, int, int, int]:
    bounce = "(pageviews = 1 AND interactions = 0)"
    sql = f"""SELECT count(*), count(*) FILTER (WHERE {bounce}),
                     coalesce(sum(CASE WHEN {bounce} THEN 0 ELSE ended_at - started_at END), 0),
                     coalesce(sum(pageviews), 0)
              FROM visits WHERE {ask.where("started_at", previous=previous)}"""
    visits, bounces, duration, pageviews = con.execute(sql).fetchone() or (0, 0, 0, 0)
    return int(visits), int(bounces), int(duration), int(pageviews)


def overview(con: Con, ask: Ask) -> dict[str, Any]:
    def figures(previous: bool) -> dict[str, Any]:
        visitors, pageviews = _traffic(con, ask, previous)
        visits, bounces, duration, visit_pageviews = _visit_totals(con, ask, previous)
        return {
            "visitors": visitors,
            "visits": visits,
            "pageviews": pageviews,
            "views_per_visit": ratio(visit_pageviews, visits, 2),
            "bounce_rate": rate(bounces, visits),
            "avg_duration": seconds(duration / visits) if visits else 0,
        }

    now, before = figures(False), figures(True)
    out = dict(now)
    for key in ("visitors", "visits", "pageviews", "views_per_visit", "avg_duration"):
        out[f"{key}_change"] = change(now[key], before[key])
    out["bounce_rate_change"] = point_change(
        now["bounce_rate"], before["bounce_rate"], now["visits"], before["visits"]
    )
    return out


def _local_time(ask: Ask) -> str:
    """A CTE `hours(h, off)`: the zone's UTC offset (ms) for every UTC hour of the range, from
    DuckDB's ICU time zones. Joining it on `ts // 3600000` is exact for zones whose changes fall on
    whole UTC hours (Europe/Berlin's do) and much cheaper than converting every row with ICU."""
    local = f"CAST(timezone('{ask.tz}', to_timestamp(h * 3600)) AS TIMESTAMP)"
    return f"""hours AS (
        SELECT h, epoch_ms({local}) - h * 3600000 AS off
        FROM range({ask.start // 3_600_000}, {(ask.end - 1) // 3_600_000 + 1}) AS t(h))"""


def timeseries(con: Con, ask: Ask) -> dict[str, tuple[int, int]]:
    sql = f"""WITH {_local_time(ask)}
              SELECT CAST(epoch_ms(ts + off) AS DATE) AS day,
                     count(DISTINCT visitor_id), count(*) FILTER (WHERE name = 'pageview')
              FROM events JOIN hours ON hours.h = events.ts // 3600000
              WHERE {ask.where()} GROUP BY day"""
    return {day.isoformat(): (int(v), int(p)) for day, v, p in con.execute(sql).fetchall()}


def hour_of_day(con: Con, ask: Ask) -> dict[int, tuple[int, int]]:
    sql = f"""WITH {_local_time(ask)}
              SELECT hour(epoch_ms(ts + off)) AS hour_of_day,
                     count(DISTINCT visitor_id), count(*) FILTER (WHERE name = 'pageview')
              FROM events JOIN hours ON hours.h = events.ts // 3600000
              WHERE {ask.where()} GROUP BY hour_of_day"""
    return {int(h): (int(v), int(p)) for h, v, p in con.execute(sql).fetchall()}


def top_pages(con: Con, ask: Ask) -> tuple[list[tuple[Any, ...]], bool]:
    sql = f"""SELECT pathname, count(DISTINCT visitor_id) AS vis, count(*) AS pv,
                     avg(coalesce(engaged_ms, gap_ms))
              FROM events WHERE {ask.where()} AND name = 'pageview'
              GROUP BY pathname ORDER BY pv DESC, vis DESC, pathname LIMIT {ask.limit + 1}"""
    rows = con.execute(sql).fetchall()
    shaped = [(p, int(v), int(n), None if t is None else seconds(float(t))) for p, v, n, t in rows]
    return shaped[: ask.limit], len(rows) > ask.limit


def _visit_breakdown(
    con: Con, ask: Ask, keys: tuple[str, ...], where: str = "TRUE", extra: str = ""
) -> tuple[list[tuple[Any, ...]], bool]:
    cols = ", ".join(keys)
    order = ", ".join(f"{k} ASC NULLS FIRST" for k in keys)  # SQLite sorts NULL first
    sql = f"""SELECT {cols}, count(DISTINCT visitor_id) AS vis, count(*) AS n{extra}
              FROM visits WHERE {ask.where("started_at")} AND {where}
              GROUP BY {cols} ORDER BY vis DESC, n DESC, {order} LIMIT {ask.limit + 1}"""
    rows = con.execute(sql).fetchall()
    return [tuple(r) for r in rows[: ask.limit]], len(rows) > ask.limit


def by_visit_column(column: str) -> Any:
    def reference(con: Con, ask: Ask) -> tuple[list[tuple[Any, ...]], bool]:
        rows, truncated = _visit_breakdown(con, ask, (column,))
        return [(r[0], int(r[1])) for r in rows], truncated

    reference.__name__ = f"visits_by_{column}"
    return reference


def referrers(con: Con, ask: Ask) -> tuple[list[tuple[Any, ...]], bool]:
    rows, truncated = _visit_breakdown(con, ask, ("source", "referrer"))
    return [(r[0], r[1], int(r[2])) for r in rows], truncated


def campaigns(con: Con, ask: Ask) -> tuple[list[tuple[Any, ...]], bool]:
    keys = ("utm_source", "utm_medium", "utm_campaign")
    tagged = "(" + " OR ".join(f"{k} IS NOT NULL" for k in keys) + ")"
    rows, truncated = _visit_breakdown(con, ask, keys, tagged, ", sum(pageviews)")
    return [(r[0], r[1], r[2], int(r[3]), int(r[5])) for r in rows], truncated


def goals_report(con: Con, ask: Ask) -> dict[str, Any]:
    visitors, _ = _traffic(con, ask)
    sql = f"""SELECT goal_id, count(*), count(DISTINCT visitor_id) FROM goal_completions
              WHERE {ask.where()} GROUP BY goal_id"""
    found = {g: (int(c), int(v)) for g, c, v in con.execute(sql).fetchall()}
    rows = []
    for goal_id, name in ask.goals:
        completions, goal_visitors = found.get(goal_id, (0, 0))
        rows.append((name, completions, goal_visitors, rate(goal_visitors, visitors)))
    return {"visitors": visitors, "goals": rows}


def goal_completions(con: Con, ask: Ask, recent: int = 5) -> dict[str, Any]:
    """Per goal that has completions (what the goals tool asks): newest `recent` and the total."""
    out: dict[str, Any] = {}
    for goal_id, name in ask.goals:
        base = f"FROM goal_completions WHERE {ask.where()} AND goal_id = ?"
        (total,) = con.execute(f"SELECT count(*) {base}", [goal_id]).fetchone() or (0,)
        if not total:
            continue
        newest = con.execute(
            f"SELECT event_id, ts {base} ORDER BY ts DESC, id DESC LIMIT {recent + 1}", [goal_id]
        ).fetchall()
        events = [row_ulid(int(ts), int(event_id)) for event_id, ts in newest[:recent]]
        out[name] = (int(total), events, len(newest) > recent)
    return out


def _other_currencies(con: Con, ask: Ask, table: str = "events", name: str = "name") -> list[tuple[str, int]]:
    counted = "count(*)" if table == "events" else "count(DISTINCT event_id)"
    sql = f"""SELECT currency, {counted} FROM {table}
              WHERE {ask.where()} AND {name} = 'purchase' AND currency IS NOT NULL AND currency <> ?
              GROUP BY currency ORDER BY currency"""
    return [(c, int(n)) for c, n in con.execute(sql, [ask.currency]).fetchall()]


def ecommerce_overview(con: Con, ask: Ask) -> dict[str, Any]:
    def figures(previous: bool) -> tuple[int, float, int, int, int]:
        sql = f"""SELECT count(DISTINCT transaction_id),
                         coalesce(sum(revenue) FILTER (WHERE currency = ?), 0),
                         count(DISTINCT transaction_id) FILTER (WHERE currency = ?),
                         count(DISTINCT visitor_id)
                  FROM events WHERE {ask.where(previous=previous)} AND name = 'purchase'"""
        tx, revenue, tx_money, buyers = con.execute(sql, [ask.currency, ask.currency]).fetchone() or (0,) * 4
        visitors, _ = _traffic(con, ask, previous)
        return int(tx), float(revenue), int(tx_money), int(buyers), visitors

    tx, revenue, tx_money, buyers, visitors = figures(False)
    tx0, revenue0, tx_money0, buyers0, visitors0 = figures(True)
    aov, aov0 = ratio(revenue, tx_money, 2), ratio(revenue0, tx_money0, 2)
    conversion, conversion0 = rate(buyers, visitors), rate(buyers0, visitors0)
    return {
        "revenue": money(revenue),
        "transactions": tx,
        "avg_order_value": aov,
        "conversion_rate": conversion,
        "revenue_change": change(money(revenue), money(revenue0)),
        "transactions_change": change(tx, tx0),
        "avg_order_value_change": change(aov, aov0),
        "conversion_rate_change": point_change(conversion, conversion0, visitors, visitors0),
        "visitors": visitors,
        "purchasing_visitors": buyers,
        "other_currencies": _other_currencies(con, ask),
    }


def products(con: Con, ask: Ask) -> dict[str, Any]:
    sql = f"""SELECT item_name, sum(CASE WHEN currency = ? THEN price * quantity ELSE 0 END) AS amount,
                     sum(quantity) AS q, count(DISTINCT event_id)
              FROM ecommerce_items WHERE {ask.where()} AND event_name = 'purchase'
              GROUP BY item_name ORDER BY amount DESC, q DESC, item_name LIMIT {ask.limit + 1}"""
    rows = con.execute(sql, [ask.currency]).fetchall()
    shaped = [(name, money(amount), int(q), int(orders)) for name, amount, q, orders in rows[: ask.limit]]
    others = _other_currencies(con, ask, "ecommerce_items", "event_name")
    return {"rows": shaped, "truncated": len(rows) > ask.limit, "other_currencies": others}


def funnel(con: Con, ask: Ask) -> list[tuple[str, int, float]]:
    """Step n: visitors with a step-n event at or after the first time they reached step n-1."""
    names = ", ".join(f"'{n}'" for n in FUNNEL)
    ctes = [f"fe AS (SELECT visitor_id, name, ts FROM events WHERE {ask.where()} AND name IN ({names}))"]
    ctes.append(f"s0 AS (SELECT visitor_id, min(ts) AS t FROM fe WHERE name = '{FUNNEL[0]}' GROUP BY 1)")
    for i, step in enumerate(FUNNEL[1:], start=1):
        ctes.append(
            f"s{i} AS (SELECT fe.visitor_id, min(fe.ts) AS t FROM fe JOIN s{i - 1} p "
            f"ON p.visitor_id = fe.visitor_id AND fe.ts >= p.t WHERE fe.name = '{step}' GROUP BY 1)"
        )
    counts_sql = ", ".join(f"(SELECT count(*) FROM s{i})" for i in range(len(FUNNEL)))
    counts = [int(c) for c in con.execute(f"WITH {', '.join(ctes)} SELECT {counts_sql}").fetchone() or ()]
    return [
        (step, counts[i], 0.0 if i == 0 else rate(counts[i - 1] - counts[i], counts[i - 1]))
        for i, step in enumerate(FUNNEL)
    ]


def revenue_by_source(con: Con, ask: Ask) -> dict[str, Any]:
    sql = f"""SELECT v.source, sum(CASE WHEN e.currency = ? THEN e.revenue ELSE 0 END) AS r, count(*) AS n
              FROM events e JOIN visits v ON v.id = e.visit_id
              WHERE {ask.where("e.ts", "e.site_id")} AND e.name = 'purchase'
              GROUP BY v.source ORDER BY r DESC, n DESC, v.source LIMIT {ask.limit + 1}"""
    rows = con.execute(sql, [ask.currency]).fetchall()
    shaped = [(source, money(r), int(n)) for source, r, n in rows[: ask.limit]]
    return {
        "rows": shaped,
        "truncated": len(rows) > ask.limit,
        "other_currencies": _other_currencies(con, ask),
    }
