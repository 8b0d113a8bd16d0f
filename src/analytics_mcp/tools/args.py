"""The tools' shared arguments, typed once so every inputSchema says the same thing.

`from` and `to` are Python keywords: the parameters are `date_from`/`date_to` with a *validation*
alias, so the wire (and the inputSchema) use `from`/`to` while the SDK still passes the Python
name to the function (a plain `alias` would be passed as the keyword `from=`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from analytics_mcp.engine import Period
from analytics_mcp.engine.periods import Compare, Interval

MAX_LIMIT = 100
DEFAULT_LIMIT = 10

TenantArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=63,
        description="Tenant slug; omit for your token's tenant (answers name the tenant and sites).",
    ),
]
PeriodArg = Annotated[
    Period,
    Field(
        description=(
            "In the site's time zone. Nd and 12m end today (partial day), yesterday and "
            "last_N_complete_days end yesterday, 24h is hourly. Ignored with from/to."
        )
    ),
]
IntervalArg = Annotated[
    Interval | None,
    Field(
        description=(
            "Bucket size: hour (24h or ranges up to 7 days), day, week (ISO, Monday first) or month, "
            "local time. Default: hour for 24h, day up to 92 days, week up to 366 (12m), else month."
        )
    ),
]
DomainArg = Annotated[
    str | None,
    Field(max_length=253, description="One site's domain from list-sites; omit for all sites together."),
]


def date_arg(wire_name: str, description: str) -> Any:
    """An optional YYYY-MM-DD argument named `wire_name` on the wire (see the module docstring)."""
    return Annotated[
        str | None,
        Field(
            validation_alias=wire_name,
            max_length=10,
            json_schema_extra={"format": "date"},
            description=description,
        ),
    ]


FromArg = date_arg("from", "Start date YYYY-MM-DD (inclusive, local); needs `to`; overrides period.")
ToArg = date_arg("to", "End date YYYY-MM-DD (inclusive, local); needs `from`.")
CompareArg = Annotated[
    Compare | None,
    Field(
        description=(
            "What *_change compares with: previous_period (default; same length right before), "
            "year_over_year (same dates a year earlier) or custom (compare_from/compare_to)."
        )
    ),
]
CompareFromArg = date_arg("compare_from", "Comparison start YYYY-MM-DD (inclusive); with compare_to.")
CompareToArg = date_arg("compare_to", "Comparison end YYYY-MM-DD (inclusive); with compare_from.")
LimitArg = Annotated[
    int,
    Field(ge=1, le=MAX_LIMIT, description=f"Maximum rows per list, 1-{MAX_LIMIT}."),
]
FiltersArg = Annotated[
    str | None,
    Field(
        max_length=4000,
        description=(
            "Count only matching traffic: dimension==value, != (is not), ~ (contains); a|b either; "
            "';' and. Grammar and dimensions: resource analytics://glossary (filters). E.g. "
            "'page==/pricing', 'source==google;device==mobile', 'utm_campaign~spring'."
        ),
    ),
]
EventArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=120,
        description="A custom event name as listed (e.g. 'Signup'): adds its property keys and top values.",
    ),
]
