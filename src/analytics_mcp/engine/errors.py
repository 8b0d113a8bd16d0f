"""The engine's one error type: a query argument that breaks a rule."""

from __future__ import annotations

from analytics_mcp.field_error import FieldError


class QueryError(FieldError):
    """`field` names the argument (period, from, to, site, filters, limit, goal); `rule` says what is
    wrong. Edges map it to a 422 naming the field (REST) or a ToolError (MCP)."""
