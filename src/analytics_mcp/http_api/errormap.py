"""Domain exceptions -> ApiError, so handlers can let engine and storage errors fly.

The engine's `QueryError(field, rule)` and storage's `AccountError` become a 422 naming the field,
or, when the rule is "not found" (a site, goal, experiment... that does not exist or is another
tenant's: the two look the same), a 404 naming what was not found; "already exists" is a 409.
A new domain error gets its line in `ERROR_MAPPERS`; the most specific class along the
exception's MRO wins, whatever the order of the lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.storage.accounts import AccountError
from analytics_mcp.storage.subscriptions import LimitReached

ErrorMapper = Callable[[Exception], ApiError]


def as_is(exc: Exception) -> ApiError:
    """An ApiError is already the answer."""
    assert isinstance(exc, ApiError)
    return exc


def field_rule_error(exc: Exception) -> ApiError:
    """422 for any exception carrying `field` and `rule` (QueryError, AccountError)."""
    field = getattr(exc, "field", None)
    rule = str(getattr(exc, "rule", exc))
    return ApiError.invalid(field, rule) if field else ApiError(422, rule)


def not_found_or_invalid(exc: Exception) -> ApiError:
    """404 for a missing resource (another tenant's looks exactly like one that does not exist),
    409 for one that exists already, else the 422 of `field_rule_error`."""
    field, rule = getattr(exc, "field", None), getattr(exc, "rule", None)
    if field and rule == "not found":
        return ApiError(404, f"{field.capitalize()} not found.")
    if field and rule == "already exists":
        return ApiError(409, f"{field}: already exists")  # a conflict with what is stored, not bad input
    return field_rule_error(exc)


ERROR_MAPPERS: Mapping[type[Exception], ErrorMapper] = MappingProxyType(
    {
        ApiError: as_is,
        QueryError: not_found_or_invalid,
        AccountError: not_found_or_invalid,
        LimitReached: lambda exc: ApiError(403, str(exc)),  # a plan limit (storage/subscriptions.py)
    }
)


def to_api_error(
    exc: Exception, mappers: Mapping[type[Exception], ErrorMapper] = ERROR_MAPPERS
) -> ApiError | None:
    """The client-facing error for `exc`, from the mapper of the most specific class along its
    MRO, or None for a bug (which becomes a logged 500)."""
    for cls in type(exc).__mro__:
        mapper = mappers.get(cls)
        if mapper is not None:
            return mapper(exc)
    return None
