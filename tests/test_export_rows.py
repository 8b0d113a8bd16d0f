"""Shaper's pageviews over what a ClickHouse reader can see mid-batch: a batch's events are
inserted before its visits (ingest/clickhouse/batch.py), so an export running then reads
pageviews whose visit is not there yet. They are left to the next export, never a KeyError (a 500
in the middle of the stream)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics_mcp.export.encode import Formatter
from analytics_mcp.export.rows import Shaper


class OneVisitStored:
    """The visits table with visit 7 only (visit 8's batch is still being inserted)."""

    def visit_rows(self, visit_ids: Sequence[int]) -> list[tuple[Any, ...]]:
        stored = (7, 123456, 1, "desktop", "/", None, "Direct", "Direct", None, None, None, None, None,
                  "Firefox", "Linux", "en", "DE")  # fmt: skip
        return [stored] if 7 in visit_ids else []


def test_a_pageview_whose_visit_is_not_visible_yet_is_left_to_the_next_export() -> None:
    shaper = Shaper(Formatter(b"k" * 16), {1: "example.com"}, lambda tail: tail)
    rows = [
        (1_700_000_000_000, 1, 7, "example.com", "/a", 12, None, None),
        (1_700_000_001_000, 2, 8, "example.com", "/b", None, None, None),  # visit 8 not in yet
        (1_700_000_002_000, 3, 7, "example.com", "/c", None, 50, '{"k": "v"}'),
    ]
    visits = shaper.visits_of(OneVisitStored(), rows)
    shaped = list(shaper.pageviews(rows, visits))
    assert [head["pathname"] for head, _ in shaped] == ["/a", "/c"]
    assert {tail["country"] for _, tail in shaped} == {"DE"}
    assert shaped[1][0]["props"] == {"k": "v"}
