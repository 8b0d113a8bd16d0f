"""Metric definitions in our own words (docs/architecture.md lists where each rule lives in
code): one dictionary that every tool answer quotes from, the `analytics://glossary` resource
renders, and the descriptions lean on."""

from __future__ import annotations

import json
from collections.abc import Iterable

from analytics_mcp.engine import DIMENSIONS
from analytics_mcp.engine.filters import MAX_FILTERS, MAX_VALUE_LENGTH

DEFINITIONS: dict[str, str] = {
    "visitors": (
        "Unique visitors: distinct anonymous visitor ids among the events in range. No cookies: an id "
        "is a hash of a daily salt, site, IP and user agent, so one person counts once per site per "
        "UTC day, and again on each further day."
    ),
    "visits": (
        "Sessions: a visitor's consecutive events on one site with gaps under 30 minutes; counted on "
        "the day of the visit's first event."
    ),
    "pageviews": "Pageview events, counted at their own time.",
    "views_per_visit": "Pageviews divided by visits.",
    "bounce_rate": (
        "Percent of visits with exactly one pageview and no interactive event (custom and "
        "e-commerce events are interactive); one decimal."
    ),
    "avg_duration": (
        "Mean visit duration in whole seconds (last event time minus first event time); bounces count as 0."
    ),
    "time_on_page": (
        "Pages avg_duration: mean seconds on the page, from the engaged time the tracker reports, "
        "else the time to the next pageview of the visit; views with neither are left out (null when "
        "none has a time)."
    ),
    "change": (
        "*_change: percent change against the comparison range (null when its value was 0); for "
        "rates (bounce_rate, conversion_rate) the difference in percentage points. The comparison is "
        "`compare`: previous_period (default: the range of the same length right before), "
        "year_over_year (the same dates a year earlier; 29 February -> 28 February) or custom "
        "(compare_from/compare_to, any length). The answer's `comparison` states its dates."
    ),
    "period": (
        "Dates are local to the site's time zone (the tenant's when several sites are read "
        "together). Nd = the N days ending today, today included; yesterday = the day before "
        "today; last_N_complete_days (7, 28, 30, 90) = the N days ending yesterday; 12m = the 12 "
        "months ending today; 24h = the last 24 hours in hourly buckets; from/to are inclusive "
        "dates. A range that runs past now has partial_day true and data_through, the local time "
        "data counts through: compare a partial day with whole ones with care, or use "
        "last_N_complete_days."
    ),
    "interval": (
        "Timeseries buckets in local time: hour, day, week (ISO, Monday to Sunday) or month; by "
        "default hours for 24h, days up to 92 days, weeks up to 366 (12m), months beyond. A bucket "
        "is labelled by its first day (a week's Monday, a month's 1st); partial_buckets names the "
        "weeks or months the range cuts short. Visitors are distinct per bucket: never add them up."
    ),
    "filters": (
        "filters: `dimension==value` (is), `dimension!=value` (is not), `dimension~text` (contains, "
        "ignoring the case of A-Z); `a|b` means either value; `;` joins conditions that must all "
        f"hold (at most {MAX_FILTERS}, values of at most {MAX_VALUE_LENGTH} characters). "
        f"Dimensions: {', '.join(DIMENSIONS)}. `page` matches pageview paths (a visit passes when "
        "one of its pageviews matches; pageview counts count the matching views); the others are "
        "attributes of the visit, and every number then comes from the passing visits. Examples: "
        "'page==/pricing', 'source==google;device==mobile', 'channel!=direct', "
        "'utm_campaign~spring', 'country==DE|AT|CH', 'page~/blog/;source==newsletter'."
    ),
    "channel": (
        "Marketing channel of a visit: paid (utm_medium cpc/ppc/paid/display), email, organic search, "
        "social, ai assistants (ChatGPT, Perplexity, ...), referral (any other site) or direct (no "
        "referrer)."
    ),
    "referrer_source": (
        "Source of a visit: utm_source if set, else the known name of the referring site (google, "
        "hacker news, chatgpt, ...), else its host without www., else direct; lower case."
    ),
    "referrer": "Host of the referring URL as sent (null for direct visits).",
    "visit_attributes": (
        "Source, channel, entry page, device, browser, OS, language and UTM tags belong to the "
        "visit and come from its first event; breakdowns count unique visitors of visits starting "
        "in range."
    ),
    "device_type": "desktop, mobile or tablet, from the user agent; bots and HTTP libraries never count.",
    "browser": "Browser family from the user agent (Chrome Mobile counts as Chrome, Mobile Safari: Safari).",
    "os": "Operating system family from the user agent (Mac OS X is macOS).",
    "language": "Primary language subtag of the browser's language setting, lower case (de-AT is de).",
    "utm": "utm_source, utm_medium and utm_campaign tags of the visit's landing URL.",
    "goal_completions": (
        "A completion is recorded for each event that matches a goal: a URL goal matches pageview "
        "paths (exact, prefix or wildcard; query string ignored), an event goal a custom event name."
    ),
    "goal_conversion_rate": "Unique visitors who completed the goal / all visitors x 100; one decimal.",
    "revenue": (
        "Sum of purchase values in the reporting currency (the site's; one purchase per "
        "transaction_id). Purchases in other currencies are left out of money sums, with a warning."
    ),
    "transactions": "Distinct purchase transaction ids (other currencies included).",
    "avg_order_value": "Revenue / transactions in the reporting currency.",
    "ecommerce_conversion_rate": "Visitors who purchased / all visitors x 100; one decimal.",
    "funnel": (
        "Ordered steps view_item -> add_to_cart -> begin_checkout -> purchase; step n counts visitors "
        "who did step n after step n-1; dropoff_rate = percent lost from the previous step."
    ),
    "product_revenue": "Sum of price x quantity over purchases of the product; quantity = units bought.",
    "hour_of_day": "Local hour 0-23 of each event, summed over all days in range.",
    "current_visitors": (
        "Realtime visitors: distinct visitor ids with any event in the 5 minutes before as_of (events "
        "at as_of - 5 min count); pages count visitors with a pageview of the page in the window, "
        "sources the visitors by the source of their visit."
    ),
    "custom_events": (
        "Custom events: events the site sends under its own names (anything but pageview, "
        "engagement and the e-commerce events), counted in range over the visits that pass the "
        "filters; visitors = unique visitors who sent the event."
    ),
    "event_properties": (
        "Properties: the keys of the event's props and, per key, the events carrying each value "
        "(numbers and booleans as JSON writes them); read from up to 1000 distinct property sets."
    ),
    "segments": (
        "Segments: named rules over identified customers (profiles: the site's own user ids with "
        "traits and identified events), computed once a day per local day; member_count and "
        "last_computed_at are the latest computed day's."
    ),
    "segment_trend": (
        "trend: member counts of the computed days among the last 30 local days, oldest first (days "
        "not computed are left out); empty when fewer than 2 days were computed."
    ),
    "segment_overlap": (
        "overlap: profiles in both segments' latest snapshots; overlap_pct = overlap / the smaller "
        "member_count x 100, one decimal; top 20 pairs by overlap (ties: lower ids first)."
    ),
    "truncated": "true when more rows existed than the limit; raise limit (max 100) to see more.",
}


def pick(keys: Iterable[str]) -> list[str]:
    """The glossary keys one answer uses, in the order given (answers name them; the resource
    holds the text, so an answer does not repeat it)."""
    chosen = list(keys)
    unknown = [key for key in chosen if key not in DEFINITIONS]
    if unknown:
        raise KeyError(f"no glossary entry {unknown}")
    return chosen


def glossary_markdown() -> str:
    lines = [
        "# analytics-mcp metric glossary",
        "",
        "How every number in the analytics tools is defined. Each tool answer lists the entries "
        "it uses under `definitions` (the keys below).",
        "",
    ]
    lines += [f"- **{name}**: {text}" for name, text in DEFINITIONS.items()]
    return "\n".join(lines) + "\n"


WEEK = "last_7_complete_days"  # a weekly report reads whole days: today is not over yet


def weekly_report_prompt(tenant: str | None, domain: str | None) -> str:
    """The weekly-report prompt; `tenant` optional like the tools' (the token's tenant)."""
    who = f"tenant '{tenant}'" if tenant else "your tenant (the API token's; no tenant argument needed)"
    scope = f"the site {domain}" if domain else "all of the tenant's sites"
    base = {"tenant": tenant} if tenant else {}
    week = {**base, "period": WEEK} | ({"domain": domain} if domain else {})
    return (
        f"Write a weekly web analytics report for {who} covering {scope}, using the analytics "
        "tools (all read-only). Steps:\n"
        f"1. Call list-sites with {json.dumps(base)} to confirm the domains.\n"
        f"2. Call analytics-overview with {json.dumps(week)} for the headline numbers of the last "
        "seven whole days and their change against the seven days before.\n"
        f"3. Call daily-breakdown (same arguments) to find the best and worst day, and top-pages "
        "and traffic-sources for what people read and where they came from.\n"
        "4. Call goals and ecommerce-overview (same arguments); skip a section when it has no data.\n"
        "Report in short sections: Summary (3 bullet points), Traffic, Content, Sources, "
        "Conversions. Quote exact numbers with their units and the date ranges the tools returned "
        "(the week and the one it is compared with); say 'no data' rather than guessing; end with "
        "two or three concrete suggestions."
    )
