"""The column-by-column fast path (ingest/plain_columns.py) against the per-line one: for a batch
it answers either exactly the events the per-line fast path gives for every line, or None (and the
lines go one by one, refusals included, as before). Also the ClickHouse dedup lookup's bound array
formatted as clickhouse-connect formats it."""

from __future__ import annotations

import random
from typing import Any

from clickhouse_connect.driver.binding import format_bind_value

from analytics_mcp.ingest import bulk_import, plain_columns
from analytics_mcp.ingest.clickhouse.reads import string_array
from analytics_mcp.ingest.plain_batch import plain_event
from analytics_mcp.ingest.plain_columns import plain_events
from test_plain_batch import NOW_MS, OPTIONAL, PLAIN, VARIANTS


def per_line(lines: list[Any]) -> list[Any]:
    return [plain_event(raw, NOW_MS, bulk_import._is_ip) for raw in lines]


def columns(lines: list[Any]) -> list[Any] | None:
    return plain_events(lines, NOW_MS, bulk_import._is_ip)


def varied(rng: random.Random, changes: int) -> dict[str, Any]:
    raw = dict(PLAIN, event_id=f"e{rng.randrange(10**9)}")
    for key in rng.sample(sorted(VARIANTS), changes):
        raw[key] = rng.choice(VARIANTS[key])
    for key in OPTIONAL:
        if rng.random() < 0.2:
            raw.pop(key, None)
    return raw


def test_a_batch_of_plain_lines_gives_the_per_line_events() -> None:
    rng = random.Random(7)
    lines = [dict(PLAIN, event_id=f"b{i}", url=f"https://bench.test/{i % 5}") for i in range(50)]
    lines[3] = {**lines[3], "name": "signup", "interactive": False, "hash": True, "scroll_depth": 4}
    lines[4] = {**lines[4], "timestamp": "2025-12-06T07:00:00.5+02:00", "language": "de"}
    rng.shuffle(lines)
    expected = per_line(lines)
    assert None not in expected
    assert columns(lines) == expected


def test_random_batches_give_the_per_line_events_or_none() -> None:
    rng = random.Random(14)
    taken = 0
    for _ in range(1500):
        lines = [varied(rng, rng.choice((0, 0, 0, 1))) for _ in range(rng.randint(1, 6))]
        got, expected = columns(lines), per_line(lines)
        if None in expected:
            assert got is None, lines
        elif got is not None:
            taken += 1
            assert got == expected, lines
    assert taken > 200  # the comparison is not vacuous


def test_values_equal_across_types_are_not_merged() -> None:
    """In a set 1 == True == 1.0: the checks look at every value's type first."""
    for key, bad in (("interactive", 1), ("engagement_ms", 2.0), ("scroll_depth", True), ("hash", 0)):
        good = {"interactive": True, "engagement_ms": 2, "scroll_depth": 1, "hash": False}[key]
        lines = [dict(PLAIN, **{key: good}), dict(PLAIN, **{key: bad})]
        assert columns(lines) is None, key
        assert columns(lines[::-1]) is None, key


def test_timestamps_are_checked_one_by_one() -> None:
    joined = PLAIN["timestamp"] + "\n" + PLAIN["timestamp"]  # one value that looks like two
    assert columns([dict(PLAIN, timestamp=joined)]) is None
    assert columns([PLAIN, dict(PLAIN, timestamp="2025-12-06T05:00:00")]) is None  # naive: per line
    digits = [dict(PLAIN, timestamp="2025-12-06T05:00:00.\u0663Z")]  # a non-ASCII digit
    assert columns(digits) in (None, per_line(digits))
    far = dict(PLAIN, timestamp="2025-12-06T06:00:00Z")  # past the 5 minutes ahead
    assert columns([PLAIN, far]) is None


def test_the_route_answers_a_mixed_batch_as_before() -> None:
    lines = [PLAIN, {**PLAIN, "name": ""}, {**PLAIN, "props": {"a": 1}}]
    summary = bulk_import.ImportSummary()
    events = list(bulk_import.split_lines(lines, summary))
    assert len(events) == 2 and summary.rejected == 1 and summary.errors[0]["line"] == 2


def test_bound_string_arrays_match_clickhouse_connect() -> None:
    rng = random.Random(3)
    alphabet = "ab'\\`\t\n\x00\"\u00e9\r ,[]{}"
    for _ in range(3000):
        values = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(0, 5))
        ]
        assert format_bind_value(string_array(values)) == format_bind_value(values), values


def test_addresses_are_checked_as_ipaddress_does() -> None:
    rng = random.Random(9)
    good = ["0", "1", "9", "10", "99", "100", "199", "249", "250", "255"]
    bad = ["256", "300", "01", "00", "1a", "\u0661", " 1", "-1", ""]

    def part() -> str:
        return rng.choice(good if rng.random() < 0.95 else bad)

    checked = 0
    for _ in range(3000):
        values = {".".join(part() for _ in range(rng.choice((4, 4, 4, 4, 3, 5)))) for _ in range(3)}
        if rng.random() < 0.1:
            values.add(rng.choice(["::1", "2001:db8::1", "1.2.3.4\n5.6.7.8", "1.2.3.4\n", "x"]))
        expected = all(map(bulk_import._is_ip, values))
        assert plain_columns.all_ips(values, bulk_import._is_ip) is expected, values
        checked += expected
    assert checked > 300


def test_a_summary_counts_outcomes_at_once_as_one_by_one() -> None:
    """ImportSummary.add_all (the route's count) equals `add` of each outcome, whether an accepted
    outcome is the shared object or an equal one."""
    from analytics_mcp.ingest.event import ACCEPTED_OUTCOME, Outcome, dropped

    rng = random.Random(7)
    kinds = [ACCEPTED_OUTCOME, Outcome("accepted"), Outcome("duplicate"), dropped("bot"), dropped("quota")]
    for size in (0, 1, 5, 40):
        for _ in range(20):
            outcomes = [ACCEPTED_OUTCOME] * size if rng.random() < 0.3 else rng.choices(kinds, k=size)
            at_once, each = bulk_import.ImportSummary(), bulk_import.ImportSummary()
            at_once.add_all(outcomes)
            for outcome in outcomes:
                each.add(outcome)
            assert at_once == each
