"""Rules that several doors share, each defined once: which plans include MCP and the chat, what
site a typed or sent domain names, and which API error a domain exception becomes."""

from __future__ import annotations

import pytest

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.http_api.errormap import ErrorMapper, to_api_error
from analytics_mcp.http_api.errors import ApiError, default_code
from analytics_mcp.ingest.enrich import is_on_site
from analytics_mcp.storage.account_rules import (
    FEATURE_PLANS,
    Feature,
    normalize_domain,
    plan_allows,
    site_key,
)
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.storage.schema import PLAN_LIMITS


@pytest.mark.parametrize("feature", sorted(FEATURE_PLANS))
def test_a_feature_is_in_its_lowest_plan_and_every_plan_above(feature: Feature) -> None:
    lowest = PLAN_LIMITS[FEATURE_PLANS[feature]]["rank"]
    for plan, limits in PLAN_LIMITS.items():
        assert plan_allows(plan, feature) is (limits["rank"] >= lowest), (plan, feature)


def test_mcp_and_chat_need_pro() -> None:
    assert not plan_allows("starter", "mcp") and plan_allows("pro", "mcp")
    assert not plan_allows("free", "chat") and plan_allows("enterprise", "chat")


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("shop.test", "shop.test"),
        ("  WWW.Shop.Test. ", "shop.test"),
        ("https://www.shop.test:8443/path?q=1", "shop.test"),
        ("bücher.test", "xn--bcher-kva.test"),
        ("", None),
        ("not a domain", None),
        ("-bad-.test", None),
    ],
)
def test_site_key_is_the_stored_domain(sent: str, key: str | None) -> None:
    assert site_key(sent) == key
    if key is not None:
        assert normalize_domain(sent) == key and site_key(key) == key


def test_a_host_is_on_its_site_and_its_subdomains() -> None:
    assert is_on_site("www.shop.test", "shop.test") and is_on_site("blog.shop.test", "WWW.shop.test")
    assert not is_on_site("othershop.test", "shop.test") and not is_on_site("shop.test", "not a domain")


class _Base(Exception):
    pass


class _Special(_Base):
    pass


def test_the_most_specific_error_mapper_wins_whatever_the_order() -> None:
    mappers: dict[type[Exception], ErrorMapper] = {
        Exception: lambda exc: ApiError(500),
        _Base: lambda exc: ApiError(422),
        _Special: lambda exc: ApiError(409),
    }
    assert (error := to_api_error(_Special(), mappers)) is not None and error.status == 409
    assert (error := to_api_error(_Base(), mappers)) is not None and error.status == 422
    assert to_api_error(KeyError("x"), {_Base: mappers[_Base]}) is None


def test_domain_errors_map_to_their_status() -> None:
    assert (error := to_api_error(QueryError("site", "not found"))) is not None
    assert (error.status, error.message) == (404, "Site not found.")
    assert (error := to_api_error(AccountError("slug", "already exists"))) is not None and error.status == 409
    assert (error := to_api_error(QueryError("limit", "too big"))) is not None and error.errors
    original = ApiError(418, "teapot")
    assert to_api_error(original) is original and to_api_error(ValueError()) is None


def test_an_error_code_comes_from_the_status_unless_named() -> None:
    assert (ApiError(404).code, ApiError(422).code, ApiError(429).code) == (
        "not_found",
        "validation_failed",
        "rate_limited",
    )
    assert ApiError(429, "Credits used up.", code="credits_exhausted").code == "credits_exhausted"
    assert (default_code(418), default_code(421), default_code(999)) == (
        "i_m_a_teapot",
        "misdirected_request",
        "error",
    )
