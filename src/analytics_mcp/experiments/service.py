"""What the edges (REST, MCP, dashboard) call: find the experiment a caller asks about, turn the
A/B API's date parameters into an engine `Query`, and read the experiment's data.

The A/B API's dates (docs/ab-testing.md): `start_date`/`end_date` are inclusive local dates of the
experiment's site; end_date defaults to today, start_date to 7 days before end_date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.engine.periods import MIN_DATE, parse_date
from analytics_mcp.engine.query import Query, parse_query
from analytics_mcp.experiments.model import Experiment, Variant
from analytics_mcp.experiments.report import ExperimentData, experiment_data
from analytics_mcp.experiments.store import choose_experiment, list_experiments
from analytics_mcp.storage.clickhouse import EventsDatabase
from analytics_mcp.storage.db import Database

DEFAULT_DAYS_BACK = 7
_METRICS_FIELDS = {"from": "start_date", "to": "end_date"}


async def find_experiment(
    db: Database, tenant_id: int, slug: str | None, site_ids: Sequence[int] | None = None
) -> Experiment:
    """The tenant's experiment named `slug`, else its running one (see `choose_experiment`)."""
    async with db.aio.connect() as conn:
        found = await conn.run_sync(lambda sync: list_experiments(sync, tenant_id, site_ids))
    return choose_experiment(found, slug)


def metrics_query(
    experiment: Experiment, start_date: str | None, end_date: str | None, now: datetime | None = None
) -> Query:
    site = experiment.site
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(site.timezone)).date()
    end = parse_date("end_date", end_date) if end_date is not None else today
    start = (
        parse_date("start_date", start_date)
        if start_date is not None
        else max(MIN_DATE, end - timedelta(days=DEFAULT_DAYS_BACK))
    )
    if start > end:
        raise QueryError("start_date", "must not be after end_date")
    try:
        # The trend is one point per local day (seed 000), whatever the range's length.
        return parse_query(
            [site], site.timezone, date_from=start, date_to=end, site=site.domain, now=now, interval="day"
        )
    except QueryError as exc:
        raise QueryError(_METRICS_FIELDS.get(exc.field, exc.field), exc.rule) from None


def pick_variant(experiment: Experiment, slug: str | None) -> Variant | None:
    if slug is None:
        return None
    variant = experiment.variant(slug)
    if variant is None:
        known = ", ".join(v.slug for v in experiment.variants)
        raise QueryError("variant", f"unknown variant {slug!r}; this experiment has {known}")
    return variant


async def metrics_report_data(
    db: Database,
    events_db: EventsDatabase,
    tenant_id: int,
    *,
    experiment: str | None = None,
    start_date: str | date | None = None,
    end_date: str | date | None = None,
    variant: str | None = None,
) -> ExperimentData:
    """The data behind /metrics/summary and /metrics/variants for a tenant (any principal): the
    experiment from the accounts database `db`, its events from `events_db`."""
    found = await find_experiment(db, tenant_id, experiment)
    query = metrics_query(
        found,
        None if start_date is None else str(start_date),
        None if end_date is None else str(end_date),
    )
    return await experiment_data(events_db, found, query, pick_variant(found, variant))
