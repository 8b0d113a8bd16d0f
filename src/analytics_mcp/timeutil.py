"""Account timestamps: ISO 8601 UTC strings with second precision, e.g. "2026-02-17T14:22:00Z"."""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_iso(moment: datetime) -> str:
    """`moment` as an ISO UTC string; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(ISO_FORMAT)


def utcnow_iso() -> str:
    return to_iso(datetime.now(UTC))


def parse_iso(value: str) -> datetime:
    """An aware UTC datetime from an ISO string (with "Z" or an offset; naive means UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
