"""REST shapes of engine results: the engine's own fields (types, descriptions, defaults), a
chosen few in the order the API documents them, so a number is defined once, in the engine."""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from typing import Any

from pydantic import BaseModel, create_model


def projection(model: type[BaseModel], name: str, fields: Sequence[str]) -> type[BaseModel]:
    """A model named `name` of `model`'s `fields`, in that order (e.g. the overview's numbers
    without the ranges the engine reports beside them)."""
    chosen: dict[str, Any] = {
        field: (model.model_fields[field].annotation, copy(model.model_fields[field])) for field in fields
    }
    return create_model(name, __module__=__name__, **chosen)
