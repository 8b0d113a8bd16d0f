"""The shape shared by the layers' validation errors: a `field` and the `rule` it breaks, and
pydantic's errors named the same way (the field as the client sent it)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ValidationError

# Location parts pydantic adds for itself, never a name the client sent: union members
# ("constrained-str", "int", "function-after[...]", "literal[...]") and dict keys ("[key]").
_TYPE_TAG = re.compile(r"\[key\]|str|int|float|bool|bytes|decimal|constrained-[a-z]+|[a-z][a-z-]*\[.*\]")


NUL_RULE = "must not contain NUL characters (\\u0000)"


def has_nul(value: object) -> bool:
    """Whether a NUL character is anywhere in a parsed JSON value (keys included): no database
    column takes one (PostgreSQL refuses it), so every input refuses it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


class FieldError(ValueError):
    """`field` names the input, `rule` says what is wrong; str() is "field: rule"."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


def field_name(loc: Sequence[int | str], root: str = "body") -> str:
    """A pydantic error location as the client's dotted field name ("props.plan", "items.0.price");
    `root` for an error of the whole input."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p == "__root__" or _TYPE_TAG.fullmatch(p)))]
    return ".".join(parts) or root


def validation_messages(exc: ValidationError, root: str = "body") -> list[tuple[str, str]]:
    """(field, message) pairs, in pydantic's order; one pair per message, so a value that fits no
    member of a union is one field with each member's message."""
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False, include_input=False):
        pair = (field_name(err["loc"], root), err["msg"])
        if pair not in out:
            out.append(pair)
    return out
