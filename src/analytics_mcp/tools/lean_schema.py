"""Tool schemas without what a model does not need: pydantic titles every field after its name
("Pathname" for `pathname`, "Date From" for `date_from`), which adds about a tenth to the
tools/list answer a client sends with every conversation. Names, types, enums, bounds, formats and
descriptions stay."""

from __future__ import annotations

from typing import Any

# Keys whose value maps names to schemas: the names are data (a field may be called "title").
NAMED_SCHEMAS = frozenset({"properties", "$defs", "patternProperties"})


def without_titles(schema: Any) -> Any:
    """`schema` with every `title` annotation left out (recursively; a copy)."""
    if isinstance(schema, list):
        return [without_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    lean: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            lean[key] = {name: without_titles(sub) for name, sub in value.items()}
        else:
            lean[key] = without_titles(value)
    return lean
