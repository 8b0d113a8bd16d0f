"""Totals under one visit filter from the rollups (engine/store/filtered_rollups.py) against the raw
tables. On the random traffic of test_rollups_read (a quarter of the visits run past local
midnight, so visits cross every range's edges; late events; rollups written, rebuilt or filled by
the reference), every one-column dimension's common values, as a filter, give the overview the raw
tables give, for each range and its comparison.

Every dimension is asked on every range, with the scopes in turn so each dimension meets every
scope the rollups answer and each scope every range (all pairs, not the full product of 280
overviews per store: the filter's rollup rows, the scope's sites and zone, and the range's days
are separate parts of the query). The raw tables answer once per store (stores of
rollup_support: every fill's copy of a store has the same raw rows)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from analytics_mcp import engine
from analytics_mcp.engine.filters import VISIT_DIMENSIONS
from analytics_mcp.engine.query import parse_query
from analytics_mcp.engine.store.choice import source_for
from analytics_mcp.engine.store.filtered_rollups import FilteredRollups, rollup_filter
from analytics_mcp.services import Services
from analytics_mcp.storage.account_types import Site, Tenant
from analytics_mcp.storage.schema import visits
from engine_support import utc
from rollup_support import Stores, db_url, fill, sqlite_template, stores  # noqa: F401  (fixtures)
from test_rollups_read import NOW, RANGES, SCOPES, tenants  # noqa: F401  (the fixture)

pytestmark = pytest.mark.backends()

ONE_COLUMN = ("device", "channel", "browser", "os", "language", "country", "entry_page", "exit_page")


def _common_values(services: Services, dimension: str) -> list[str]:
    """The most frequent non-null values of the dimension's visits column, first first."""
    column = visits.c[VISIT_DIMENSIONS[dimension]]
    stmt = select(column).where(column.is_not(None)).group_by(column).order_by(func.count().desc(), column)
    with services.db.sync.connect() as conn:
        return [value for (value,) in conn.execute(stmt.limit(2))]


ROLLUP_SCOPES = tuple((slug, site) for slug, site, by_rollups in SCOPES if by_rollups)
RAW_SCOPES = tuple((slug, site) for slug, site, by_rollups in SCOPES if not by_rollups)
# (dimension, scope, range): every (dimension, range) pair; scope number d + r covers every
# (dimension, scope) pair (7 ranges >= 5 scopes) and every (scope, range) pair (8 dimensions).
CASES = tuple(
    (dimension, ROLLUP_SCOPES[(d + r) % len(ROLLUP_SCOPES)], arguments)
    for d, dimension in enumerate(ONE_COLUMN)
    for r, arguments in enumerate(RANGES)
)


async def test_one_filter_totals_equal_the_raw_tables(
    services: Services,
    tenants: dict[str, Tenant],  # noqa: F811
    stores: Stores,  # noqa: F811
    fill: tuple[str, bool],  # noqa: F811
) -> None:
    db, compared = services.db, 0
    store = (fill[1],)  # the raw answers of either backend (Stores.raw_dump)
    values = {dimension: _common_values(services, dimension)[:1] for dimension in ONE_COLUMN}
    for dimension, (slug, site), arguments in CASES:
        for value in values[dimension]:
            for other_slug, other_site in RAW_SCOPES:  # a zone other than the tenant's: raw
                query = await _query(db, tenants[other_slug], other_site, f"{dimension}=={value}", arguments)
                assert rollup_filter(query) is not None, dimension
                assert not isinstance(source_for(db, query), FilteredRollups), (dimension, other_slug)
            query = await _query(db, tenants[slug], site, f"{dimension}=={value}", arguments)
            assert rollup_filter(query) is not None, dimension
            assert isinstance(source_for(db, query), FilteredRollups), (dimension, slug, site)
            rolled = (await engine.overview(db, query)).model_dump()
            key = (*store, dimension, value, slug, site, *arguments.items())
            raw = await stores.raw_dump(key, lambda: engine.overview(db, query))  # noqa: B023
            assert rolled == raw, (dimension, value, slug, site, arguments)
            compared += raw["visitors"] > 0
    assert compared / len(CASES) > 100 / 280, compared  # the full product asked > 100 of its 280


async def _query(
    db: Any, tenant: Tenant, site: str | None, filters: str, arguments: dict[str, str]
) -> engine.Query:
    return await engine.query_for_tenant(db, tenant, now=utc(NOW), site=site, filters=filters, **arguments)


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
