"""The batch format's fast path (ingest/plain_batch.py) against the model: whatever it accepts,
`BatchEvent` accepts too and gives the same PendingEvent; everything else goes through the model,
so refusals keep their field and rule."""

from __future__ import annotations

import random
from typing import Any

from analytics_mcp.ingest import bulk_import, plain_batch
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.plain_batch import plain_event

NOW_MS = 1_765_000_000_000  # 2025-12-06T05:46:40Z, pinned
PLAIN: dict[str, Any] = {
    "name": "pageview",
    "url": "https://bench.test/docs/1",
    "domain": "bench.test",
    "referrer": "https://duckduckgo.com/",
    "event_id": "b1",
    "timestamp": "2025-12-06T05:00:00.123Z",
    "ip": "198.19.1.2",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
}
# Values that stress each rule the fast path must not get wrong.
VARIANTS: dict[str, list[Any]] = {
    "name": [
        "pageview",
        "signup",
        "engagement",
        "identify",
        "",
        " x",
        "x ",
        "a" * 120,
        "a" * 121,
        5,
        None,
        "a\x00",
    ],
    "url": [
        "https://bench.test/",
        "HTTP://bench.test/a",
        "ftp://x",
        "bench.test",
        "https://x/" + "a" * 1990,
        "https://x/" + "a" * 1991,
        " https://bench.test/",
        "https://bench.test/\u00e9\u2003",
        "",
    ],
    "domain": ["bench.test", "", "a" * 253, "a" * 254, "bench.test\n", "\u00a0bench.test", ["x"]],
    "referrer": [None, "", "https://a.example/", "a" * 2001, " r", 1, "\x1fr"],
    "event_id": [None, "", "x", "e" * 64, "e" * 65, 7, "id\x00"],
    "timestamp": [
        "2025-12-06T05:00:00Z",
        "2025-12-06T05:00:00",
        "2025-12-06T05:00:00.1234567Z",
        "2025-12-06T05:00:00+02:00",
        "2025-12-06T07:00:00-14:00",
        "2025-12-06T05:00:00+24:00",
        "2025-12-06 05:00:00Z",
        "2025-12-06T05:50:00Z",
        "2025-12-06T05:51:41Z",
        "2015-12-01T00:00:00Z",
        "2025-02-30T00:00:00Z",
        "2025-12-06T24:00:00Z",
        "2025-12-06T05:00:60Z",
        1765000000,
        "2025-12-06",
        "not a time",
        None,
    ],
    "ip": ["198.19.1.2", "2001:db8::1", "1", "999.1.1.1", "10.0.0.1 ", "", None, "::"],
    "user_agent": ["Mozilla/5.0", "", "u" * 1000, "u" * 1001, "\tua", "ua\u3000"],
    "language": [None, "", "en-US", "l" * 101, 3],
    "interactive": [None, True, False, "yes", 1, 0],
    "hash": [False, True, None, "true", 1],
    "engagement_ms": [None, 0, 1500, 86_400_000, 86_400_001, -1, 2.0, "5", True],
    "scroll_depth": [None, 0, 100, 101, 50.0, False],
    "props": [{"a": 1}, None, {}],
    "unknown": ["ignored"],
}
OPTIONAL = ("referrer", "event_id", "language", "interactive", "hash", "engagement_ms", "scroll_depth")


def slow(raw: dict[str, Any]) -> PendingEvent | tuple[str, str]:
    return bulk_import.validate_with_model(raw, now_ms=NOW_MS)


def fast(raw: dict[str, Any]) -> PendingEvent | None:
    return plain_event(raw, NOW_MS, bulk_import._is_ip)


def test_a_plain_event_takes_the_fast_path_and_equals_the_model() -> None:
    event = fast(PLAIN)
    assert event is not None
    assert event == slow(PLAIN)
    custom = {
        **PLAIN,
        "name": "signup",
        "interactive": False,
        "hash": True,
        "language": "de",
        "scroll_depth": 40,
    }
    assert fast(custom) == slow(custom) and fast(custom) is not None


def test_whatever_the_fast_path_accepts_the_model_accepts_alike() -> None:
    rng = random.Random(14)
    taken = 0
    for _ in range(6000):
        raw = dict(PLAIN)
        for key in rng.sample(sorted(VARIANTS), rng.randint(1, 3)):
            raw[key] = rng.choice(VARIANTS[key])
        for key in OPTIONAL:
            if rng.random() < 0.2:
                raw.pop(key, None)
        expected = slow(raw)
        got = fast(raw)
        if got is not None:
            taken += 1
            assert got == expected, raw
    assert taken > 500  # the comparison is not vacuous


def test_every_refusal_still_comes_from_the_model() -> None:
    for key, values in VARIANTS.items():
        for value in values:
            raw = {**PLAIN, key: value}
            if isinstance(slow(raw), tuple):
                assert fast(raw) is None, raw
                answer = bulk_import.validate_line(raw, now_ms=NOW_MS)
                assert answer == slow(raw)


def _of_length(key: str, length: int) -> Any:
    """A valid value of `key` this many characters long (a URL stays a URL)."""
    return "https://x/" + "a" * (length - 10) if key == "url" else "a" * length


def test_the_fast_paths_bounds_are_the_models() -> None:
    """At each bound the model declares (plain_batch reads them from BatchEvent) the fast path
    takes the line and equals the model; one past it, the model refuses it, naming the field."""
    lengths = {**plain_batch._STRINGS, **plain_batch._OPTIONAL_STRINGS}
    lengths.pop("ip")  # an address of 45 characters is not one: the address check decides
    assert set(lengths) == {"name", "url", "domain", "user_agent", "referrer", "event_id", "language"}
    cases = [(key, _of_length(key, high), _of_length(key, high + 1)) for key, (_low, high) in lengths.items()]
    cases += [(key, high, high + 1) for key, high in plain_batch._OPTIONAL_INTS.items()]
    for key, at_bound, past in cases:
        raw = {**PLAIN, key: at_bound}
        assert fast(raw) is not None and fast(raw) == slow(raw), key
        refused = slow({**PLAIN, key: past})
        assert fast({**PLAIN, key: past}) is None and isinstance(refused, tuple) and key in str(refused), key


def test_a_line_missing_a_required_field_goes_to_the_model() -> None:
    for key in ("name", "url", "domain", "timestamp", "ip", "user_agent"):
        raw = {k: v for k, v in PLAIN.items() if k != key}
        assert fast(raw) is None
        assert isinstance(slow(raw), tuple)
