"""The engine's one error type: a query argument that breaks a rule."""

from __future__ import annotations


class QueryError(ValueError):
    """`field` names the argument (period, from, to, site, filters, limit, goal); `rule` says what is
    wrong. Edges map it to a 422 naming the field (REST) or a ToolError (MCP)."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"
