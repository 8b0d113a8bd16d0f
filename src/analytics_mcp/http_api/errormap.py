"""Domain exceptions -> ApiError, so handlers can let engine and storage errors fly.

The engine's `QueryError(field, rule)` and storage's `AccountError` become a 422 naming the field,
or, when the rule is "not found" (a site, goal, experiment... that does not exist or is another
tenant's: the two look the same), a 404 naming what was not found; "already exists" is a 409.
Other modules add their own with `register_error(SomeError, lambda exc: ApiError(...))`.
"""

from __future__ import annotations

from collections.abc import Callable

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.storage.accounts import AccountError

ErrorMapper = Callable[[Exception], ApiError]

_MAPPERS: dict[type[Exception], ErrorMapper] = {}


def register_error(exc_type: type[Exception], mapper: ErrorMapper) -> None:
    """Map `exc_type` (and subclasses) to an ApiError; the first registered match wins."""
    _MAPPERS.setdefault(exc_type, mapper)


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


def to_api_error(exc: Exception) -> ApiError | None:
    """The client-facing error for `exc`, or None for a bug (which becomes a logged 500)."""
    if isinstance(exc, ApiError):
        return exc
    for exc_type, mapper in _MAPPERS.items():
        if isinstance(exc, exc_type):
            return mapper(exc)
    return None


register_error(QueryError, not_found_or_invalid)
register_error(AccountError, not_found_or_invalid)
