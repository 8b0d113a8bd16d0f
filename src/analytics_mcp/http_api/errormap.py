"""Domain exceptions -> ApiError, so handlers can let engine and storage errors fly.

The engine's `QueryError(field, rule)` becomes a 422 naming the field; an AccountError "not found"
a 404. Other modules add their own with `register_error(SomeError, lambda exc: ApiError(...))`.
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


def _account_error(exc: Exception) -> ApiError:
    assert isinstance(exc, AccountError)
    # Another tenant's site or goal must look exactly like a missing one: both are 404.
    if exc.rule == "not found":
        return ApiError(404, f"{exc.field.capitalize()} not found.")
    return field_rule_error(exc)


def to_api_error(exc: Exception) -> ApiError | None:
    """The client-facing error for `exc`, or None for a bug (which becomes a logged 500)."""
    if isinstance(exc, ApiError):
        return exc
    for exc_type, mapper in _MAPPERS.items():
        if isinstance(exc, exc_type):
            return mapper(exc)
    return None


register_error(QueryError, field_rule_error)
register_error(AccountError, _account_error)
