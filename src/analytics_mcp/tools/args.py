"""The tools' shared arguments, typed once so every inputSchema says the same thing.

`from` and `to` are Python keywords: the parameters are `date_from`/`date_to` with a *validation*
alias, so the wire (and the inputSchema) use `from`/`to` while the SDK still passes the Python
name to the function (a plain `alias` would be passed as the keyword `from=`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from analytics_mcp.engine import DIMENSIONS, Period
from analytics_mcp.engine.filters import MAX_FILTERS, MAX_VALUE_LENGTH

MAX_LIMIT = 100
DEFAULT_LIMIT = 10

TenantArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=63,
        description=(
            "Your tenant slug, e.g. 'acme'. Optional: omit it to use the tenant your API token "
            "belongs to (every answer names the tenant and sites it read)."
        ),
    ),
]
PeriodArg = Annotated[
    Period,
    Field(
        description=(
            "Time period, in the site's time zone: 24h (last 24 hours, hourly), 7d, 30d, 90d (that "
            "many days ending today, today included) or 12m (12 months ending today). Ignored when "
            "from/to are given."
        )
    ),
]
DomainArg = Annotated[
    str | None,
    Field(
        max_length=253,
        description="One site's domain as list-sites returns it, e.g. 'shop.example.com'; omit for all.",
    ),
]
FromArg = Annotated[
    str | None,
    Field(
        validation_alias="from",
        max_length=10,
        json_schema_extra={"format": "date"},
        description="Start date YYYY-MM-DD (inclusive, local). Needs `to`; overrides period.",
    ),
]
ToArg = Annotated[
    str | None,
    Field(
        validation_alias="to",
        max_length=10,
        json_schema_extra={"format": "date"},
        description="End date YYYY-MM-DD (inclusive, local). Needs `from`.",
    ),
]
LimitArg = Annotated[
    int,
    Field(ge=1, le=MAX_LIMIT, description=f"Maximum rows per list, 1-{MAX_LIMIT}."),
]
FiltersArg = Annotated[
    str | None,
    Field(
        max_length=4000,
        description=(
            "Only count traffic matching these conditions, in the REST API's grammar: "
            "dimension==value (is), dimension!=value (is not), dimension~text (contains, any case); "
            "a|b means either value; ';' joins conditions that must all hold (at most "
            f"{MAX_FILTERS}, values up to {MAX_VALUE_LENGTH} characters). Dimensions: "
            f"{', '.join(DIMENSIONS)}. `page` matches pageview paths (a visit passes when one of its "
            "pageviews matches; pageview counts count the matching views); the others are "
            "attributes of the visit. Examples: 'page==/pricing', 'source==google;device==mobile', "
            "'channel!=direct', 'utm_campaign~spring', 'country==DE|AT|CH', "
            "'page~/blog/;source==newsletter'."
        ),
    ),
]
EventArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=120,
        description=(
            "A custom event name exactly as listed (e.g. 'Signup'): adds its property keys with their "
            "most frequent values (up to `limit` each). Omit to list the events only."
        ),
    ),
]
