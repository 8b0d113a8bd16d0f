"""Country of the client IP, looked up at ingestion before the IP is discarded (only the
ISO 3166-1 alpha-2 code is kept, on the visit).

The bundled database is iptocc's (offline, compiled in, about 0.2 microseconds a lookup, so no
cache). With ANALYTICS_GEOIP_DB set to a MaxMind GeoLite2/GeoIP2 Country or City file (.mmdb),
that file answers instead (maxminddb, a few microseconds a lookup). Private, loopback, reserved,
malformed and unmapped addresses have no country (None).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import iptocc
import maxminddb

from analytics_mcp.config import Settings

Lookup = Callable[[str], str | None]


def country_of(ip: str) -> str | None:
    """Upper-case ISO 3166-1 alpha-2 code of an IPv4/IPv6 address, or None when unknown."""
    return _lookup()(ip)


@lru_cache(maxsize=1)
def _lookup() -> Lookup:
    path = Settings().geoip_db
    return maxmind_lookup(path) if path is not None else bundled_lookup


def forget() -> None:
    """Choose the database again on the next lookup (after ANALYTICS_GEOIP_DB changed)."""
    _lookup.cache_clear()


def warm_up() -> None:
    """Open the database now instead of on the first event."""
    country_of("127.0.0.1")


def bundled_lookup(ip: str) -> str | None:
    return _valid(iptocc.country_code(ip))


def maxmind_lookup(path: Path) -> Lookup:
    """Lookups in a MaxMind DB file: `country`, else `registered_country` (the network's owner,
    for anonymous and satellite networks that have no country)."""
    reader = maxminddb.open_database(str(path))

    def lookup(ip: str) -> str | None:
        try:
            record: Any = reader.get(ip)
        except ValueError:  # not an IP address
            return None
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):
            place = record.get(key)
            if isinstance(place, dict) and isinstance(code := place.get("iso_code"), str):
                return _valid(code)
        return None

    return lookup


def _valid(code: str | None) -> str | None:
    return code.upper() if code and len(code) == 2 and code.isalpha() else None
