"""The server-side batch format, shared by `POST /api/v1/events`, `analytics-mcp import` and the
demo: validate each line on its own (a bad line is reported, never blocks the good ones), then
store the good ones through the same pipeline."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from analytics_mcp.ingest.model import ImportSummary, PendingEvent
from analytics_mcp.ingest.wire import (
    BLANK_LINE,
    INVALID_JSON,
    MAX_FUTURE_MS,
    BatchEvent,
    is_invalid_line,
    validation_messages,
)

if TYPE_CHECKING:
    from analytics_mcp.services import Services

MAX_BATCH_EVENTS = 10_000
CHUNK = 5_000

__all__ = ["MAX_BATCH_EVENTS", "ImportSummary", "import_file", "ingest_events", "validate_line"]


def validate_line(raw: Any, *, now_ms: int, site_domain: str | None = None) -> PendingEvent | tuple[str, str]:
    """A PendingEvent, or (field, message) for the first problem found."""
    if is_invalid_line(raw):
        return ("body", "line is not valid JSON")
    if not isinstance(raw, Mapping):
        return ("body", "each event must be a JSON object")
    if site_domain is not None:
        raw = {**raw, "domain": raw.get("domain") or site_domain}
    try:
        event = BatchEvent.model_validate(raw)
    except ValidationError as exc:
        return validation_messages(exc)[0]
    if not _is_ip(event.ip):
        return ("ip", "must be an IPv4 or IPv6 address")
    ts = int(event.timestamp.timestamp() * 1000)
    if ts > now_ms + MAX_FUTURE_MS:
        return ("timestamp", "must not be in the future")
    return PendingEvent.from_wire(event, ts=ts, ip=event.ip, user_agent=event.user_agent)


@lru_cache(maxsize=65536)  # a visitor's events share one address
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def split_lines(
    lines: Iterable[Any], summary: ImportSummary, *, site_domain: str | None = None, first_line: int = 1
) -> Iterator[PendingEvent]:
    now_ms = int(time.time() * 1000)
    for number, raw in enumerate(lines, start=first_line):
        if raw is BLANK_LINE:
            continue
        result = validate_line(raw, now_ms=now_ms, site_domain=site_domain)
        if isinstance(result, tuple):
            summary.reject(number, *result)
        else:
            yield result


def ingest_events(
    services: Services,
    events: Iterable[Any],
    *,
    site_domain: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Validate and store events synchronously, in chunks (one transaction each)."""
    summary = ImportSummary()
    chunk: list[PendingEvent] = []
    seen = 0
    for event in split_lines(events, summary, site_domain=site_domain):
        chunk.append(event)
        if len(chunk) >= CHUNK:
            seen += _write_chunk(services, chunk, summary)
            chunk = []
            if progress:
                progress(seen + summary.rejected)
    if chunk:
        seen += _write_chunk(services, chunk, summary)
    if progress:
        progress(seen + summary.rejected)
    return summary


def _write_chunk(services: Services, chunk: list[PendingEvent], summary: ImportSummary) -> int:
    for outcome in services.ingestor.write_now(chunk):
        summary.add(outcome)
    return len(chunk)


def import_file(
    services: Services, path: Path | str, site_domain: str, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """An NDJSON file of batch-format events; `domain` defaults to site_domain."""

    def lines() -> Iterator[Any]:
        with open(path, "rb") as handle:
            for line in handle:
                if not line.strip():
                    yield BLANK_LINE  # keeps line numbers in error reports true to the file
                    continue
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield INVALID_JSON

    return ingest_events(services, lines(), site_domain=site_domain, progress=progress)
