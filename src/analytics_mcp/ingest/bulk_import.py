"""The server-side batch format, shared by `POST /api/v1/events`, `analytics-mcp import` and the
demo: validate each line on its own (a bad line is reported, never blocks the good ones), then
store the good ones through the same pipeline."""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

from analytics_mcp.ingest.enrich import is_on_site, normalise_pathname
from analytics_mcp.ingest.event import ACCEPTED, ACCEPTED_OUTCOME, DUPLICATE, Outcome, PendingEvent
from analytics_mcp.ingest.plain_arrow import plain_columns
from analytics_mcp.ingest.plain_batch import plain_event
from analytics_mcp.ingest.plain_columns import column_events, plain_events
from analytics_mcp.ingest.wire import (
    BLANK_LINE,
    INVALID_JSON,
    MAX_FUTURE_MS,
    MAX_PAST_MS,
    MAX_PAST_YEARS,
    BatchEvent,
    is_invalid_line,
    validation_messages,
)
from analytics_mcp.storage.account_rules import site_key

if TYPE_CHECKING:
    from analytics_mcp.ingest.group_commit import Ingestor

MAX_BATCH_EVENTS = 10_000
CHUNK = 5_000

__all__ = [
    "MAX_BATCH_EVENTS",
    "ImportSummary",
    "batch_events",
    "import_file",
    "ingest_events",
    "plain_body",
    "validate_line",
]


def validate_line(raw: Any, *, now_ms: int, site_domain: str | None = None) -> PendingEvent | tuple[str, str]:
    """A PendingEvent, or (field, message) for the first problem found."""
    if is_invalid_line(raw):
        return ("body", "line is not valid JSON")
    if not isinstance(raw, Mapping):
        return ("body", "each event must be a JSON object")
    if site_domain is not None:
        raw = {**raw, "domain": raw.get("domain") or site_domain}
    plain = plain_event(raw, now_ms, _is_ip)
    return plain if plain is not None else validate_with_model(raw, now_ms=now_ms)


def validate_with_model(raw: Mapping[str, Any], *, now_ms: int) -> PendingEvent | tuple[str, str]:
    """Through `BatchEvent`: every refusal's field and rule come from here."""
    try:
        event = BatchEvent.model_validate(raw)
    except ValidationError as exc:
        return validation_messages(exc)[0]
    if not _is_ip(event.ip):
        return ("ip", "must be an IPv4 or IPv6 address")
    ts = int(event.timestamp.timestamp() * 1000)
    if ts > now_ms + MAX_FUTURE_MS:
        return ("timestamp", "must not be more than 5 minutes in the future")
    if ts < now_ms - MAX_PAST_MS:
        return ("timestamp", f"must not be more than {MAX_PAST_YEARS} years in the past")
    return PendingEvent.from_wire(event, ts=ts, ip=event.ip, user_agent=event.user_agent)


@lru_cache(maxsize=65536)  # a visitor's events share one address
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass
class ImportSummary:
    accepted: int = 0
    duplicate: int = 0
    dropped: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    dropped_reasons: dict[str, int] = field(default_factory=dict)  # bot, quota, unknown domain, ...

    def add_all(self, outcomes: list[Outcome]) -> None:
        """`add` of each outcome; the accepted ones (the usual answer, mostly the one shared
        ACCEPTED_OUTCOME, so compared by identity first) by one C-level count."""
        accepted = outcomes.count(ACCEPTED_OUTCOME)
        self.accepted += accepted
        if accepted != len(outcomes):
            for outcome in outcomes:
                if outcome != ACCEPTED_OUTCOME:
                    self.add(outcome)

    def add(self, outcome: Outcome) -> None:
        if outcome.status == ACCEPTED:
            self.accepted += 1
        elif outcome.status == DUPLICATE:
            self.duplicate += 1
        else:
            self.dropped += 1
            reason = outcome.reason or "unknown"
            self.dropped_reasons[reason] = self.dropped_reasons.get(reason, 0) + 1

    def reject(self, line: int, field_name: str, message: str) -> None:
        self.rejected += 1
        self.errors.append({"line": line, "field": field_name, "message": message})


# (field, why) an event is refused for this caller, or None: a token's tenant, an import's site.
EventCheck = Callable[[PendingEvent], tuple[str, str] | None]


def split_lines(
    lines: Iterable[Any],
    summary: ImportSummary,
    *,
    site_domain: str | None = None,
    first_line: int = 1,
    check: EventCheck | None = None,
) -> Iterator[PendingEvent]:
    yield from _split(lines, summary, site_domain, first_line, check)


def batch_events(
    lines: list[Any], summary: ImportSummary, check: EventCheck | None = None
) -> Sequence[PendingEvent]:
    """`split_lines` of a request's lines as one list: a plain batch's ColumnBatch as it is, so its
    columns reach prepare and the spool frame (a JSON array body, which pyarrow does not read)."""
    events = _split(lines, summary, None, 1, check)
    return events if isinstance(events, Sequence) else list(events)


def _split(
    lines: Iterable[Any],
    summary: ImportSummary,
    site_domain: str | None,
    first_line: int,
    check: EventCheck | None,
) -> Sequence[PendingEvent] | Iterator[PendingEvent]:
    now_ms = int(time.time() * 1000)
    # Every line plain: validated column by column at once (None: each line on its own).
    plain = plain_events(lines, now_ms, _is_ip) if site_domain is None and type(lines) is list else None
    if plain is not None and _all_pass(plain.columns["domain"], check):  # the common case: no loop
        return plain
    return _each_line(lines if plain is None else plain, summary, site_domain, first_line, check, now_ms)


def _each_line(
    lines: Iterable[Any],
    summary: ImportSummary,
    site_domain: str | None,
    first_line: int,
    check: EventCheck | None,
    now_ms: int,
) -> Iterator[PendingEvent]:
    """Each line validated on its own (already an event where plain_events made one)."""
    for number, raw in enumerate(lines, start=first_line):
        if raw is BLANK_LINE:
            continue
        result = (
            raw
            if isinstance(raw, PendingEvent)
            else validate_line(raw, now_ms=now_ms, site_domain=site_domain)
        )
        if isinstance(result, PendingEvent) and check is not None:
            result = check(result) or result
        if isinstance(result, tuple):
            summary.reject(number, *result)
        else:
            yield result


def plain_body(body: bytes, check: EventCheck | None = None) -> Sequence[PendingEvent] | None:
    """What `split_lines` gives for the body's lines when every line is plain and passes `check`,
    its columns read by pyarrow without a dict per line (ingest/plain_arrow.py); None when the
    caller must take the lines one by one (wire.parse_batch_lines, then split_lines)."""
    columns = plain_columns(body, MAX_BATCH_EVENTS)
    if columns is None:
        return None
    events = column_events(columns, int(time.time() * 1000), _is_ip, prechecked=True)
    return events if events is not None and _all_pass(columns["domain"], check) else None


def ingest_events(
    ingestor: Ingestor,
    events: Iterable[Any],
    *,
    site_domain: str | None = None,
    progress: Callable[[int], None] | None = None,
    check: EventCheck | None = None,
    chunk_size: int = CHUNK,
) -> ImportSummary:
    """Validate and store events synchronously through `ingestor`, in chunks of `chunk_size` (each
    stored, not only spooled, before the next; one transaction each)."""
    summary = ImportSummary()
    chunk: list[PendingEvent] = []
    seen = 0
    for event in split_lines(events, summary, site_domain=site_domain, check=check):
        chunk.append(event)
        if len(chunk) >= chunk_size:
            seen += _write_chunk(ingestor, chunk, summary)
            chunk = []
            if progress:
                progress(seen + summary.rejected)
    if chunk:
        seen += _write_chunk(ingestor, chunk, summary)
    if progress:
        progress(seen + summary.rejected)
    return summary


def _write_chunk(ingestor: Ingestor, chunk: list[PendingEvent], summary: ImportSummary) -> int:
    summary.add_all(ingestor.write_now(chunk))
    return len(chunk)


def import_file(
    ingestor: Ingestor, path: Path | str, site_domain: str, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """An NDJSON file of batch-format events for one site: `domain` defaults to site_domain, and
    lines for another site (by `domain` or by the URL's host) are rejected. A line without
    `event_id` gets one derived from its content, so importing a file twice stores it once."""
    site = site_key(site_domain) or site_domain

    def lines() -> Iterator[Any]:
        with open(path, "rb") as handle:
            for line in handle:
                if not line.strip():
                    yield BLANK_LINE  # keeps line numbers in error reports true to the file
                    continue
                try:
                    yield with_derived_id(orjson.loads(line))
                except orjson.JSONDecodeError:
                    yield INVALID_JSON

    def on_site(event: PendingEvent) -> tuple[str, str] | None:
        if site_key(event.domain) != site:
            return ("domain", f"must be the imported site {site}")
        try:
            host, _path = normalise_pathname(event.url)
        except ValueError:
            return None  # the pipeline drops it as an invalid URL, as for any other sender
        if not is_on_site(host, site):
            return ("url", f"host {host} is not on the imported site {site}")
        return None

    return ingest_events(ingestor, lines(), site_domain=site, progress=progress, check=on_site)


@dataclass(frozen=True, slots=True)
class DomainCheck:
    """An EventCheck that reads the event's domain only, so a batch is checked once per distinct
    domain (a Python call per event was ~2 % of a chDB batch run's GIL samples)."""

    allowed: frozenset[str]

    def __call__(self, event: PendingEvent) -> tuple[str, str] | None:
        return self.of_domain(event.domain)

    def of_domain(self, domain: str) -> tuple[str, str] | None:
        return None if site_key(domain) in self.allowed else ("domain", "not a site of this token's tenant")


def tenant_check(domains: Iterable[str]) -> EventCheck:
    """Only the given sites (a token's tenant): another tenant's site and a site that does not
    exist are refused alike, so the answer tells nothing about other tenants."""
    return DomainCheck(frozenset(domains))


def _all_pass(domains: Iterable[str], check: EventCheck | None) -> bool:
    """Every event (of these domains) passes `check`, decided per distinct domain; False when
    that cannot be said without calling it on each event (the caller then does)."""
    if check is None:
        return True
    if not isinstance(check, DomainCheck):
        return False
    return all(check.of_domain(domain) is None for domain in set(domains))


def with_derived_id(raw: Any) -> Any:
    """The line with a stable `event_id` (a hash of its content) when it has none."""
    if not isinstance(raw, dict) or raw.get("event_id") is not None:
        return raw
    digest = hashlib.blake2b(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
    return {**raw, "event_id": f"import-{digest}"}
