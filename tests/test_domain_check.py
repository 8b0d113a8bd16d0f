"""The token's tenant check on a batch of plain lines (bulk_import.split_lines): decided once per
distinct domain when every domain passes, and line by line, with each refusal's line number, when
one does not; a check that is not by domain alone is still asked for each event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from analytics_mcp.ingest import bulk_import
from analytics_mcp.ingest.event import PendingEvent
from test_plain_batch import PLAIN


def lines(domains: list[str]) -> list[dict[str, Any]]:
    # An hour before the real clock: split_lines checks timestamps against it.
    stamp = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return [dict(PLAIN, domain=d, event_id=f"e{i}", timestamp=stamp) for i, d in enumerate(domains)]


def split(batch: list[dict[str, Any]], check: Any) -> tuple[list[PendingEvent], bulk_import.ImportSummary]:
    summary = bulk_import.ImportSummary()
    return list(bulk_import.split_lines(batch, summary, check=check)), summary


def test_every_domain_of_the_tenant_gives_every_event() -> None:
    batch = lines(["bench.test", "WWW.Bench.test", "other.test"] * 3)
    events, summary = split(batch, bulk_import.tenant_check(["bench.test", "other.test"]))
    assert [e.event_id for e in events] == [f"e{i}" for i in range(9)]
    assert summary.rejected == 0


def test_a_domain_outside_the_tenant_is_refused_on_its_own_lines() -> None:
    batch = lines(["bench.test", "bench.test", "beta.test", "bench.test", "nobody.test"])
    events, summary = split(batch, bulk_import.tenant_check(["bench.test"]))
    assert [e.event_id for e in events] == ["e0", "e1", "e3"]
    assert [(e["line"], e["field"]) for e in summary.errors] == [(3, "domain"), (5, "domain")]
    assert summary.errors[0]["message"] == "not a site of this token's tenant"


def test_a_check_of_other_fields_is_asked_for_each_event() -> None:
    asked: list[str | None] = []

    def odd_ids_only(event: PendingEvent) -> tuple[str, str] | None:
        asked.append(event.event_id)
        return None if int((event.event_id or "e0")[1:]) % 2 else ("event_id", "even")

    events, summary = split(lines(["bench.test"] * 4), odd_ids_only)
    assert asked == ["e0", "e1", "e2", "e3"]
    assert [e.event_id for e in events] == ["e1", "e3"] and summary.rejected == 2


def test_a_body_read_as_columns_is_checked_by_domain_too() -> None:
    """bulk_import.plain_body (pyarrow's columns): all of the tenant's, the events; one domain
    outside it, None, and the route takes the lines one by one (with their refusals, above)."""
    body = b"\n".join(map(orjson.dumps, lines(["bench.test", "WWW.Bench.test", "other.test"])))
    events = bulk_import.plain_body(body, bulk_import.tenant_check(["bench.test", "other.test"]))
    assert events is not None and [e.event_id for e in events] == ["e0", "e1", "e2"]
    assert bulk_import.plain_body(body, bulk_import.tenant_check(["bench.test"])) is None
    assert bulk_import.plain_body(body, lambda event: None) is None  # not by domain: line by line
