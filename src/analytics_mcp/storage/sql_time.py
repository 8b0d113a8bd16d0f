"""Local time in SQL: stored times are UTC epoch ms; a zone's offsets over a range (from
`timeutil.offset_segments`) compile into one CASE, giving "local ms" in which every local day is
exactly 86,400,000 long, whatever the DST changes."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, case, literal


def local_ms(ts: ColumnElement[Any], segments: list[tuple[int, int]]) -> ColumnElement[int]:
    if len(segments) == 1:
        return ts + literal(segments[0][1])
    whens = [(ts < start, literal(offset)) for (_, offset), (start, _) in pairwise(segments)]
    return ts + case(*whens, else_=literal(segments[-1][1]))
