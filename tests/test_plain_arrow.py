"""A batch body read into columns by pyarrow (ingest/plain_arrow.py) against the body parsed line by
line with orjson (wire.parse_batch_lines) and each line's fast path (plain_batch.plain_event): for
every body, the columns give exactly the per-line events, or None (the route then takes the lines
one by one, every refusal included, as before). The bodies are random and nasty: the reader and
orjson differ on some input (two objects on a line, blank lines, a byte order mark, absent against
null, invalid UTF-8), and that input must never be taken here."""

from __future__ import annotations

import json
import random
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from analytics_mcp.ingest import bulk_import, plain_arrow
from analytics_mcp.ingest.plain_arrow import plain_columns
from analytics_mcp.ingest.plain_batch import plain_event
from analytics_mcp.ingest.plain_columns import column_events
from analytics_mcp.ingest.wire import parse_batch_lines
from test_plain_batch import NOW_MS, PLAIN
from test_plain_columns import varied


def by_arrow(body: bytes) -> list[Any] | None:
    columns = plain_columns(body, bulk_import.MAX_BATCH_EVENTS)
    return None if columns is None else column_events(columns, NOW_MS, bulk_import._is_ip, prechecked=True)


def by_lines(body: bytes) -> list[Any] | None:
    """The per-line events when every line is one plain object; else None."""
    try:
        lines = parse_batch_lines(body)
    except ValueError:
        return None
    events = [plain_event(raw, NOW_MS, bulk_import._is_ip) if type(raw) is dict else None for raw in lines]
    return None if not events or None in events else events


def line_text(rng: random.Random, raw: dict[str, Any]) -> bytes:
    """One line as some sender might write it."""
    style = rng.random()
    if style < 0.15:  # \u escapes for everything outside ASCII (Python's default)
        return json.dumps(raw).encode()
    if style < 0.25:  # spaces around the separators
        return json.dumps(raw, ensure_ascii=False, separators=(" , ", " : ")).encode()
    return orjson.dumps(raw)


# Textual changes orjson and the reader may read differently; each applies to one line.
NASTY: list[tuple[bytes, bytes]] = [
    (b"{", b'{"name":"signup",'),  # a key twice (orjson keeps the last)
    (b"{", b'{"n\\u0061me":"signup",'),  # twice, once escaped
    (b"{", b'{"h\\u0061sh":null,'),  # an escaped key, an explicit null
    (b"{", b'{"hash":null,'),
    (b"{", b'{"hash":false,'),
    (b"{", b'{"interactive":null,'),
    (b"{", b'{"scroll_depth":1e1,'),
    (b"{", b'{"scroll_depth":9223372036854775808,'),
    (b"{", b'{"engagement_ms":-0,'),
    (b"{", b'{"url":"https://bench.test/\\ud800",'),  # a lone surrogate
    (b"{", b'{"url":"https://bench.test/\\ud83d\\ude00",'),  # a pair: non-BMP
    (b"{", b'{"url":"https://bench.test/\xf0\x9f\x98\x80",'),
    (b"{", b'{"url":"https://bench.test/\xff",'),  # invalid UTF-8
    (b"{", b'{"url":"https://bench.test/\xed\xa0\x80",'),  # a surrogate in UTF-8
    (b"{", b'{"url":"https://bench.test/\\u0000",'),
    (b"{", b'{"event_id":"a\\tb",'),
    (b"{", b'{"event_id":"a\\/b",'),
    (b"{", b'{"event_id":" x",'),
    (b"{", b'{"event_id":"x\\u3000",'),
    (b"{", b'{"event_id":"x\\u001f",'),
    (b"{", b'{"name":{"a":1},'),
    (b"{", b'{"name":["a"],'),
    (b"{", b'{"props":{"a":1},'),
    (b"{", b"\xef\xbb\xbf{"),  # a byte order mark
    (b"}", b'}{"name":"pageview"}'),  # two objects on one line
    (b"}", b'} \t{"name":"pageview"}'),
    (b"}", b'}{"name":"pageview"}\n'),  # and a blank line: as many rows as lines
    (b"}", b",}"),
    (b"}", b"}\n"),  # a blank line after it
    (b"}", b"}\n   "),
    (b"}", b"}\r"),
    (b"}", b"}\r\n"),
    (b"}", b"}\x0c"),
    (b'":', b'"\n:'),  # an object across two lines
]


def nasty_body(rng: random.Random) -> bytes:
    lines = [line_text(rng, varied(rng, rng.choice((0, 0, 0, 1)))) for _ in range(rng.randint(1, 6))]
    for _ in range(rng.choice((0, 0, 1, 2))):
        at = rng.randrange(len(lines))
        old, new = rng.choice(NASTY)
        lines[at] = lines[at].replace(old, new, 1)
    body = b"\n".join(lines)
    return body + b"\n" if rng.random() < 0.2 else body


def test_random_nasty_bodies_give_the_per_line_events_or_none() -> None:
    rng = random.Random(21)
    taken = declined = 0
    for _ in range(3000):
        body = nasty_body(rng)
        got, expected = by_arrow(body), by_lines(body)
        if expected is None:
            assert got is None, body
        elif got is not None:
            taken += 1
            assert got == expected, body
        else:
            declined += 1
    assert taken > 800 and declined < taken  # not vacuous, and the common body is taken


def test_each_nasty_change_alone_gives_the_per_line_events_or_none() -> None:
    line = orjson.dumps(PLAIN)
    for old, new in NASTY:
        body = line + b"\n" + line.replace(old, new, 1)
        got, expected = by_arrow(body), by_lines(body)
        assert got is None if expected is None else got in (None, expected), new


def test_a_plain_body_is_read_as_columns() -> None:
    lines = [dict(PLAIN, event_id=f"b{i}", url=f"https://bench.test/{i % 3}") for i in range(20)]
    lines[5] = {**lines[5], "hash": True, "interactive": False, "name": "signup", "engagement_ms": 5}
    body = b"\n".join(map(orjson.dumps, lines))
    got = by_arrow(body)
    assert got is not None and got == by_lines(body)
    assert len({id(event.url) for event in got}) == 3  # equal values are one object


def test_what_the_reader_reads_differently_is_declined() -> None:
    line = orjson.dumps(PLAIN)
    for body in (
        line + line,  # two objects on a line, which orjson refuses
        line + b"\n\n" + line,  # a blank line: the reader skips it (the lines are one by one)
        line + line + b"\n\n" + line,  # both: as many rows as lines
        b"\xef\xbb\xbf" + line,  # a byte order mark, which orjson refuses
        line.replace(b"{", b'{"hash":null,', 1),  # null, not absent: not plain
        line.replace(b"{", b'{"h\\u0061sh":null,', 1),
        b"[" + line + b"]",  # an array: line by line as before
        line.replace(b"https://bench.test/", b"https://bench.test/\xff", 1),  # not UTF-8
        b"",
    ):
        assert by_arrow(body) is None, body


def test_more_lines_than_allowed_are_declined() -> None:
    line = orjson.dumps(PLAIN)
    assert plain_columns(b"\n".join([line] * 3), 2) is None
    assert plain_columns(b"\n".join([line] * 2), 2) is not None


def test_times_in_every_form_give_the_per_line_milliseconds() -> None:
    """Fractions of 0-6 digits, every zone form, around the window's edges (NOW_MS is pinned)."""
    rng = random.Random(5)
    zones = ["Z", "", "+00:00", "-00:00", "+05:30", "-14:00", "+14:00", "+14:59", "-09:45"]
    taken = 0
    for _ in range(300):
        lines = []
        for i in range(rng.randint(1, 8)):
            moment = datetime.fromtimestamp(NOW_MS / 1000 + rng.uniform(-4e8, 4e3), UTC)
            zone = rng.choice(zones)
            shifted = moment + (timedelta(0) if zone in ("", "Z") else _offset(zone))
            fraction = f".{rng.randrange(10**6):06d}"[: rng.randint(0, 7)] if rng.random() < 0.8 else ""
            stamp = shifted.strftime("%Y-%m-%dT%H:%M:%S") + (fraction if fraction != "." else "") + zone
            lines.append(dict(PLAIN, event_id=f"t{i}", timestamp=stamp))
        body = b"\n".join(map(orjson.dumps, lines))
        got, expected = by_arrow(body), by_lines(body)
        assert got is None if expected is None else got == expected, body
        taken += got is not None
    assert taken > 100


def _offset(zone: str) -> timedelta:
    sign = 1 if zone[0] == "+" else -1
    return sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))


def test_values_the_per_line_path_refuses_are_declined_with_hash_given() -> None:
    """With `hash` on every line no null needs telling apart, so escaped bodies are read too."""
    good = dict(PLAIN, hash=False, url="https://bench.test/\u00e9")
    for key, value in (("event_id", "id\x00"), ("event_id", "\u2028x"), ("event_id", "e" * 65)):
        body = orjson.dumps(good) + b"\n" + json.dumps(dict(good, **{key: value})).encode()
        assert by_lines(body) is None and by_arrow(body) is None, value
    body = orjson.dumps(good) + b"\n" + json.dumps(dict(good, event_id="\u00e9\U0001f600")).encode()
    assert by_arrow(body) == by_lines(body) is not None  # escaped, non-BMP: read alike


def test_every_character_str_strip_strips_is_in_the_class() -> None:
    every = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert every == plain_arrow.WHITESPACE


def test_lines_that_do_not_open_an_object_never_reach_the_reader() -> None:
    """pyarrow's reader crashes the process on a body whose first value is null (SIGSEGV, found by
    tests/reliability/test_bodies.py): such a body, or any line not starting with `{`, is
    declined before the reader sees it; a plain body, with or without its last newline, is not."""
    line = orjson.dumps(PLAIN)
    for body in (b"null", b" null", b"null\n" + line, line + b"\nnull\n" + line, b" " + line, b"[]", b"42"):
        assert plain_columns(body, 100) is None, body
    for body in (line, line + b"\n", line + b"\n" + line, line + b"\n" + line + b"\n"):
        assert plain_columns(body, 100) is not None, body


def test_the_bodys_line_checks_equal_pythons_on_random_bytes() -> None:
    """The line checks run by numpy and RE2 over the body's bytes say what bytes.count and
    Python's re say: lines, every line opening an object, two objects on one line (invalid UTF-8
    and multi-byte characters included)."""
    rng = random.Random(11)
    alphabet = [b"{", b"}", b"\n", b" ", b"\t", b"\xff", b"\xc3", b"\xc3\xa9", b"a", b"\x00"]
    for _ in range(3000):
        body = b"".join(rng.choices(alphabet, k=rng.randint(1, 12)))
        lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
        assert plain_arrow._line_count(body) == lines
        whole = plain_arrow._as_array(body)
        assert plain_arrow._objects_only(body, whole) == (
            body.startswith(b"{") and body.count(b"\n{") == lines - 1
        )
        assert plain_arrow._found(whole, plain_arrow._TWO_ON_A_LINE) == (
            re.search(rb"}[ \t]*{", body) is not None
        )
