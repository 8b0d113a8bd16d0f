"""The shape shared by the layers' validation errors: a `field` and the `rule` it breaks."""

from __future__ import annotations


class FieldError(ValueError):
    """`field` names the input, `rule` says what is wrong; str() is "field: rule"."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"
