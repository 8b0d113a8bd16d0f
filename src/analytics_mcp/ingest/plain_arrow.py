"""A batch body read into columns by pyarrow's NDJSON reader: C++ with the GIL released, no dict
per line, and the few-valued fields (a site's pages, its visitors' clients) as one Python object
per distinct value.

Only a body whose every line is certainly one JSON object with only the plain keys
(plain_batch._KEYS), each of its plain type or null, gets columns; anything else gives None and
the caller parses the body line by line with orjson as before (wire.parse_batch_lines). The
reader differs from orjson on some input, each kept off this path (tests/test_plain_arrow.py):
it reads two objects on one line as two rows and skips blank lines (so the rows must be as many
as the lines, and no `}` may be followed by `{` on a line), skips a byte order mark at the start
(the body may not start with one), reads an absent key as null (only `hash` tells them apart:
an explicit null there stays out), and leaves invalid UTF-8 in strings until they become Python
strings (which then fails). A key given twice, another key, another type, a float for an
integer, 1 for true: the reader refuses them and the caller takes the body line by line.
"""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]

from analytics_mcp.ingest.plain_batch import _KEYS, _OPTIONAL_INTS, _OPTIONAL_STRINGS, _STRINGS, _utc_seconds
from analytics_mcp.ingest.plain_columns import FEW_VALUES

_BOOLEANS: Final = ("interactive", "hash")
_SCHEMA: Final = pa.schema(
    [(key, pa.string()) for key in (*_STRINGS, *_OPTIONAL_STRINGS, "timestamp")]
    + [(key, pa.int64()) for key in _OPTIONAL_INTS]
    + [(key, pa.bool_()) for key in _BOOLEANS]
)
assert set(_SCHEMA.names) == _KEYS
_HASH_AT: Final = _SCHEMA.get_field_index("hash")
# An explicit schema, another key an error, no newline inside a value (NDJSON).
_PARSE: Final = pa_json.ParseOptions(
    explicit_schema=_SCHEMA, unexpected_field_behavior="error", newlines_in_values=False
)
_TWO_ON_A_LINE: Final = "}[ \t]*{"  # RE2, over the body's bytes
_LINE_NOT_AN_OBJECT: Final = "\n[^{]"  # RE2: a negated class matches a newline too
_NEWLINE: Final = ord("\n")
_HASH_NULL: Final = re.compile(rb'"hash"[ \t]*:[ \t]*null')
_BOM: Final = b"\xef\xbb\xbf"
# What str.strip() strips (str.isspace), as an RE2 class: a value starting or ending with one is
# not plain. RE2's \s is ASCII only, Python's is not.
WHITESPACE: Final = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # U+3000 is the last
_SPACE: Final = "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE)
_EDGE_SPACE: Final = f"^[{_SPACE}]|[{_SPACE}]\\z"
# plain_batch._TIMESTAMP, anchored, in RE2 (whose \d is ASCII only: stricter, so never more lines).
_STAMP: Final = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)?\z"
_FRACTION: Final = r"\.(?P<f>\d{1,6})"
_SAFE_MICROS: Final = 2**53  # exact in a float64, as Python's int / int is


def plain_columns(body: bytes, max_lines: int) -> dict[str, list[Any]] | None:
    """Each plain key's values, one per line (None where absent or null; `hash` False where
    absent), when every line of `body` is one object of plain keys and types; else None. The
    many-valued strings are checked here in C++ (`event_id` as plain_columns._clean_column does,
    `timestamp` as plain_batch._epoch_ms reads it, given as epoch ms): column_events(...,
    prechecked=True) checks the rest."""
    lines = _line_count(body)
    if not 0 < lines <= max_lines:
        return None
    whole = _as_array(body)
    if _found(whole, _TWO_ON_A_LINE) or not _objects_only(body, whole):
        return None
    table = read_table(body)
    if table is None or table.num_rows != lines:  # a blank line (or a straddled one) was skipped
        return None
    hashes = table.column("hash")
    if hashes.null_count:
        # Absent and null are one to the reader; to plain_batch an absent `hash` is False and a
        # null one is not plain. A key may be spelt with \u escapes, so those bodies stay out too.
        if (b'"hash' in body and _HASH_NULL.search(body)) or (b"\\" in body and b"\\u" in body):
            return None
        table = table.set_column(_HASH_AT, "hash", pc.fill_null(hashes, False))
    event_ids, stamps = table.column("event_id").combine_chunks(), table.column("timestamp").combine_chunks()
    try:
        if not _clean(event_ids, *_OPTIONAL_STRINGS["event_id"]) or (epoch_ms := _epoch_ms(stamps)) is None:
            return None
        # `timestamp` is read as epoch ms above (its text, checked by _STAMP, is never needed).
        columns = {
            key: _values(table.column(key), few=key in FEW_VALUES)
            for key in _SCHEMA.names
            if key != "timestamp"
        }
    except UnicodeDecodeError:  # invalid UTF-8 in a string: orjson refuses the line
        return None
    columns["timestamp"] = epoch_ms
    return columns


def read_table(body: bytes) -> Any:
    """The body as a table of the plain schema, or None where the reader refuses it."""
    # One block for the whole body (a line never straddles two), read on this thread: on two
    # cores the reader's own threads only add switching.
    options = pa_json.ReadOptions(use_threads=False, block_size=max(len(body), 1 << 20))
    try:
        return pa_json.read_json(pa.py_buffer(body), read_options=options, parse_options=_PARSE)
    except pa.ArrowInvalid:
        return None


def _objects_only(body: bytes, whole: Any) -> bool:
    """Whether every line starts with `{`. pyarrow 26's reader crashes the process (SIGSEGV) on a
    body whose first value is `null` ("null", " null", "null\n{...}": found by
    tests/reliability/test_bodies.py), so only lines that open an object are handed to it. A
    newline followed by anything but `{` is another line (a last newline is followed by nothing)."""
    return body.startswith(b"{") and not _found(whole, _LINE_NOT_AN_OBJECT)


def _line_count(body: bytes) -> int:
    """How many lines `bytes.splitlines` (wire.parse_batch_lines) finds, when that is simple to
    say: -1 for a body with a carriage return (it splits lines too) or a byte order mark at its
    start (the reader skips it there; anywhere else it refuses one). Newlines counted by numpy
    (a fifth of bytes.count's time)."""
    if b"\r" in body or body.startswith(_BOM):
        return -1
    newlines = int(np.count_nonzero(np.frombuffer(body, np.uint8) == _NEWLINE))
    return newlines + (0 if body.endswith(b"\n") else 1) if body else 0


def _as_array(body: bytes) -> Any:
    """The body as a one-value binary array over the same memory (no copy), for RE2 searches."""
    offsets = pa.array([0, len(body)], pa.int32()).buffers()[1]
    return pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(body)])


def _found(whole: Any, pattern: str) -> bool:
    """Whether RE2 finds `pattern` in the body (a tenth of Python's re on a 3 MB body)."""
    return bool(pc.match_substring_regex(whole, pattern)[0].as_py())


def _values(column: Any, *, few: bool) -> list[Any]:
    """A column as a Python list; a few-valued one through its dictionary, so equal values are
    one object (the spool frame pickles it once, the writer's lookups hash it once). A column of
    nulls only (a field no line has) is None times its length, without reading it."""
    if column.null_count == len(column):
        return [None] * len(column)
    if not few:
        return list(column.to_pylist())
    encoded = column.combine_chunks().dictionary_encode(null_encoding="encode")
    distinct = np.array(encoded.dictionary.to_pylist(), dtype=object)
    return list(distinct[encoded.indices.to_numpy()].tolist())


def _clean(column: Any, low: int, high: int) -> bool:
    """plain_columns._clean_column of an optional string column, in C++: lengths in code points
    (as len()), no NUL, nothing str.strip() would strip."""
    if column.null_count == len(column):
        return True
    lengths = pc.min_max(pc.utf8_length(column)).as_py()
    if lengths["min"] < low or lengths["max"] > high or pc.any(pc.match_substring(column, "\x00")).as_py():
        return False
    return not pc.any(pc.match_substring_regex(column, _EDGE_SPACE)).as_py()


def _epoch_ms(column: Any) -> list[int] | None:
    """plain_batch._epoch_ms of every value, or None: each distinct second and zone read by
    Python once (`_utc_seconds`), the fractions and the arithmetic as numpy does them, which is
    Python's for numbers under 2**53 (one correctly rounded division, then a truncation)."""
    if column.null_count or not pc.all(pc.match_substring_regex(column, _STAMP)).as_py():
        return None
    seconds = pc.replace_substring_regex(column, _FRACTION, "").dictionary_encode()
    bases = [_utc_seconds(text[:19], text[19:] or None) for text in seconds.dictionary.to_pylist()]
    if None in bases:  # an impossible date
        return None
    fractions = pc.struct_field(pc.extract_regex(column, _FRACTION), [0])
    digits = pc.utf8_rpad(pc.fill_null(fractions, "0"), width=6, padding="0")
    micros = np.array(bases, dtype=np.int64)[seconds.indices.to_numpy()] * 1_000_000
    micros += pc.cast(digits, pa.int64()).to_numpy()
    if len(micros) and max(-int(micros.min()), int(micros.max())) >= _SAFE_MICROS:
        return None
    return list((micros / 1_000_000 * 1000).astype(np.int64).tolist())
