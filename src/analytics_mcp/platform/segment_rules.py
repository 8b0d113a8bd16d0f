"""What a segment is made of (docs/platform.md, "Segments"): conditions over a profile's traits and
its identified behaviour, combined with `all` or `any`. Parsed once here with pydantic, so a bad
rule is a 422 naming its field (`rules.1.days`) before anything is stored or computed.

Behaviour windows are the `days` local days ending with the computed day, that day included
(as the reports' `Nd` periods).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, field_validator, model_validator

MAX_RULES = 20
MAX_DAYS = 365
Name = Annotated[str, Field(min_length=1, max_length=200)]
Days = Annotated[
    int, Field(ge=1, le=MAX_DAYS, description=f"Window of local days ending with the day, 1-{MAX_DAYS}")
]
# A JSON number stays a number, text stays text: a numeric string past 500 characters is a 422,
# never read as a number (lax float would turn "000...0" into 0.0).
TraitValue = Annotated[str, Field(max_length=500)] | StrictFloat | StrictBool


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TraitRule(_Rule):
    """A trait of the profile: `equals`/`not_equals` (text, number or boolean), `contains` (text,
    case-insensitive), `gt`/`lt` (numbers; ISO dates compare as text), `set`/`not_set` (no value)."""

    type: Literal["trait"]
    trait: Annotated[str, Field(min_length=1, max_length=100)]
    op: Literal["equals", "not_equals", "contains", "gt", "lt", "set", "not_set"]
    value: TraitValue | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> TraitRule:
        if self.op in ("set", "not_set"):
            if self.value is not None:
                raise ValueError(f"value: must be absent with op {self.op}")
        elif self.value is None:
            raise ValueError(f"value: is required with op {self.op}")
        elif self.op == "contains" and not isinstance(self.value, str):
            raise ValueError("value: must be text with op contains")
        elif self.op in ("gt", "lt") and isinstance(self.value, bool):
            raise ValueError(f"value: must be a number or an ISO date with op {self.op}")
        return self


class EventRule(_Rule):
    """Did the event `event` at least `min_count` times in the last `days` days."""

    type: Literal["event"]
    event: Name
    min_count: int = Field(1, ge=1, le=1_000_000)
    days: Days = 30


class RevenueRule(_Rule):
    """Sum of purchase revenue (site currency) in the last `days` days, greater or less than `value`."""

    type: Literal["revenue"]
    op: Literal["gt", "lt"]
    value: StrictFloat = Field(ge=0, le=1e12)  # a JSON number: false or "5" is a 422, never 0.0 or 5.0
    days: Days = 30


class PageRule(_Rule):
    """Viewed a page whose path equals `path` (or starts with it: `match` prefix) in the last `days` days."""

    type: Literal["visited"]
    path: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^/")]
    match: Literal["exact", "prefix"] = "exact"
    days: Days = 30


class FirstSeenRule(_Rule):
    """The profile's first identified event was before (or on or after) a date (UTC day)."""

    type: Literal["first_seen"]
    op: Literal["before", "after"]
    date: date

    @field_validator("date", mode="before")
    @classmethod
    def _text_not_a_number(cls, value: object) -> object:
        # pydantic would read a number as a Unix time; the document says YYYY-MM-DD.
        if isinstance(value, int | float):
            raise ValueError("must be a date YYYY-MM-DD")
        return value


class VisitRule(_Rule):
    """Had an identified event in the last `days` days during a visit whose source, channel or
    UTM field equals `value` (lower case, as the reports show them)."""

    type: Literal["visit"]
    field: Literal["source", "channel", "utm_source", "utm_medium", "utm_campaign"]
    value: Annotated[str, Field(min_length=1, max_length=255)]
    days: Days = 30


Rule = Annotated[
    TraitRule | EventRule | RevenueRule | PageRule | FirstSeenRule | VisitRule,
    Field(discriminator="type"),
]
BehaviourRule = EventRule | RevenueRule | PageRule | VisitRule


class SegmentDefinition(BaseModel):
    """A segment as created or changed: name, `match` (all: every rule; any: at least one) and rules."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    match: Literal["all", "any"] = "all"
    rules: list[Rule] = Field(min_length=1, max_length=MAX_RULES)
