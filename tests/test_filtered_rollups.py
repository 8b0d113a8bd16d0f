"""Totals under one visit filter from the rollups (engine/store/filtered_rollups.py) against the raw
tables. On the random traffic of test_rollups_read (a quarter of the visits run past local
midnight, so visits cross every range's edges; late events; rollups written, rebuilt or filled by
the reference), every one-column dimension's common values, as a filter, give the overview the raw
tables give, for each range and its comparison."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from analytics_mcp import engine
from analytics_mcp.engine.filters import VISIT_DIMENSIONS
from analytics_mcp.engine.query import parse_query
from analytics_mcp.engine.store import raw_tables
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.filtered_rollups import FilteredRollups, rollup_filter
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Site, Tenant
from analytics_mcp.storage.schema import visits
from engine_support import utc
from test_rollups_read import NOW, RANGES, SCOPES, tenants  # noqa: F401  (the fixture)

pytestmark = pytest.mark.backends()

ONE_COLUMN = ("device", "channel", "browser", "os", "language", "country", "entry_page", "exit_page")


def _common_values(services: Services, dimension: str) -> list[str]:
    """The most frequent non-null values of the dimension's visits column, first first."""
    column = visits.c[VISIT_DIMENSIONS[dimension]]
    stmt = select(column).where(column.is_not(None)).group_by(column).order_by(func.count().desc(), column)
    with services.db.sync.connect() as conn:
        return [value for (value,) in conn.execute(stmt.limit(2))]


async def test_one_filter_totals_equal_the_raw_tables(services: Services, tenants: dict[str, Tenant]) -> None:  # noqa: F811
    db, compared = services.db, 0
    for dimension in ONE_COLUMN:
        for value in _common_values(services, dimension)[:1]:
            for slug, site, by_rollups in SCOPES:
                for arguments in RANGES:
                    query = await engine.query_for_tenant(
                        db,
                        tenants[slug],
                        now=utc(NOW),
                        site=site,
                        filters=f"{dimension}=={value}",
                        **arguments,
                    )
                    assert rollup_filter(query) is not None, dimension
                    assert isinstance(source_for(db, query), FilteredRollups) is by_rollups
                    if not by_rollups:
                        continue
                    rolled = (await engine.overview(db, query)).model_dump()
                    with raw_tables():
                        raw = (await engine.overview(db, query)).model_dump()
                    assert rolled == raw, (dimension, value, slug, site, arguments)
                    compared += raw["visitors"] > 0
    assert compared > 100


def test_only_one_is_value_of_a_one_column_dimension() -> None:
    site = Site(id=1, tenant_id=1, domain="one.test", timezone="UTC", currency="EUR")

    def ask(filters: str) -> engine.Query:
        return parse_query([site], "UTC", period="7d", filters=filters, now=utc(NOW))

    assert rollup_filter(ask("device==mobile")) is not None
    assert rollup_filter(ask("country==DE")) is not None
    for filters in (
        "source==google",  # the rollup value is [source, referrer]
        "utm_source==news",  # a part of CAMPAIGN's value
        "device==mobile|tablet",  # visitors of two values would count twice
        "device!=mobile",
        "device~mob",
        "device==mobile;browser==Chrome",
        "page==/pricing",
    ):
        assert rollup_filter(ask(filters)) is None, filters
