"""Pure validation for accounts (no database): each check returns the clean value or raises
AccountError(field, rule). Re-exported by `storage.accounts`."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Literal
from urllib.parse import urlsplit

from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.storage.schema import PLAN_LIMITS

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
ROLES = ("owner", "admin", "viewer")
SCOPES = ("read", "ingest", "admin")
MATCH_TYPES = ("exact", "prefix", "wildcard")
MIN_PASSWORD = 8
Feature = Literal["mcp", "chat"]  # what a plan may or may not include
# The lowest plan that includes each feature (MCP and chat need pro or above, as the README says).
FEATURE_PLANS: dict[Feature, str] = {"mcp": "pro", "chat": "pro"}
# Present in the zoneinfo database but not real places: a site's reports must not depend on them.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise AccountError("slug", "must be 2-63 chars of a-z, 0-9 and '-', starting with a letter or digit")
    return slug


def check_plan(plan: str) -> str:
    if plan not in PLAN_LIMITS:
        raise AccountError("plan", f"must be one of {', '.join(PLAN_LIMITS)}")
    return plan


def check_timezone(timezone: str) -> str:
    if not isinstance(timezone, str) or timezone not in _zones():
        raise AccountError("timezone", "must be an IANA time zone name like Europe/Berlin or UTC")
    return timezone


def check_currency(currency: str) -> str:
    if not isinstance(currency, str) or not CURRENCY_RE.fullmatch(currency):
        raise AccountError("currency", "must be a 3-letter upper-case ISO 4217 code like EUR")
    return currency


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("role", f"must be one of {', '.join(ROLES)}")
    return role


def check_scopes(scopes: Iterable[str] | str) -> frozenset[str]:
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    clean = frozenset(item.strip() for item in items if item and item.strip())
    if not clean:
        raise AccountError("scopes", f"must name at least one of {', '.join(SCOPES)}")
    unknown = sorted(clean - set(SCOPES))
    if unknown:
        raise AccountError("scopes", f"unknown scope {unknown[0]!r}; allowed: {', '.join(SCOPES)}")
    return clean


def check_email(email: str) -> str:
    clean = email.strip().lower() if isinstance(email, str) else ""
    if len(clean) > 254 or not EMAIL_RE.fullmatch(clean):
        raise AccountError("email", "must be an email address like name@example.com")
    return clean


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError("password", f"must be at least {MIN_PASSWORD} characters")
    return password


def check_name(field: str, value: str, max_len: int = 200) -> str:
    clean = value.strip() if isinstance(value, str) else ""
    if not clean or len(clean) > max_len:
        raise AccountError(field, f"must be 1-{max_len} characters")
    return clean


def check_goal_target(path: str | None, match_type: str, event: str | None) -> tuple[str, ...]:
    """("url", match_type, path) or ("event", event_name)."""
    if (path is None) == (event is None):
        raise AccountError("goal", "give exactly one of path or event")
    if event is not None:
        return ("event", check_name("event", event))
    if match_type not in MATCH_TYPES:
        raise AccountError("match_type", f"must be one of {', '.join(MATCH_TYPES)}")
    assert path is not None
    clean = path.strip()
    if not clean.startswith("/") or len(clean) > 2000:
        raise AccountError("path", "must start with '/' (at most 2000 characters)")
    return ("url", match_type, clean)


def normalize_domain(domain: str) -> str:
    """The bare host of a pasted domain or URL: lower-case, no scheme/path/port, no leading www."""
    raw = domain.strip().lower() if isinstance(domain, str) else ""
    try:
        host = urlsplit(raw if "://" in raw else f"//{raw}").hostname or ""
        host = host.rstrip(".").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        host = ""
    host = host.removeprefix("www.")
    labels = host.split(".")
    if not host or len(host) > 253 or not all(LABEL_RE.fullmatch(label) for label in labels):
        raise AccountError("domain", "must be a hostname like example.com")
    return host


@lru_cache(maxsize=4096)  # ingestion asks once per domain and batch, of a few distinct domains
def site_key(domain: str) -> str | None:
    """The stored domain a sent or typed `domain` names (`normalize_domain`: `WWW.Shop.test.`
    and `https://shop.test/x` name `shop.test`), or None when it cannot name a site."""
    try:
        return normalize_domain(domain)
    except AccountError:
        return None


def plan_rank(plan: str) -> int:
    return PLAN_LIMITS[check_plan(plan)]["rank"]


def plan_allows(plan: str, feature: Feature) -> bool:
    """Whether `plan` includes `feature` (the lowest plan with it, or any above)."""
    return plan_rank(plan) >= plan_rank(FEATURE_PLANS[feature])


def plan_limits(plan: str) -> dict[str, int]:
    """A copy of the plan's limits (-1 = unlimited), rank included."""
    return dict(PLAN_LIMITS[check_plan(plan)])


def within_limit(plan: str, what: str, current: int) -> None:
    """Raise unless one more `what` (sites, users) fits the plan."""
    limit = PLAN_LIMITS[plan][what]
    if limit != -1 and current >= limit:
        noun = what.removesuffix("s") if limit == 1 else what
        raise AccountError("plan", f"the {plan} plan allows at most {limit} {noun}")
