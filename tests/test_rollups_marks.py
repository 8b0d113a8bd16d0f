"""Distinct-visitor marks: the incremental gap bookkeeping equals a recount from the final marks,
whatever order marks appear and disappear in, and the range formula counts each visitor once."""

from __future__ import annotations

import random
from collections import Counter

import orjson
import pytest
from sqlalchemy import Connection, select

from analytics_mcp.rollups.marks import MarkDeltas, apply_marks, prune_marks
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import rollup_visitors, visitor_marks

pytestmark = pytest.mark.backends()

SITE, DIM, VALUE = 1, 2, '["/"]'


def stored_gaps(conn: Connection) -> Counter[tuple[int, int, int]]:
    """(visitor-independent) day, gap -> n, zero rows dropped."""
    rv = rollup_visitors.c
    rows = conn.execute(select(rv.day, rv.gap, rv.n).where(rv.site_id == SITE, rv.dim == DIM))
    return Counter({(day, gap): n for day, gap, n in rows if n})


def recount(held: dict[int, dict[int, int]]) -> Counter[tuple[int, int]]:
    """What rollup_visitors must hold for these marks: each mark under its gap to the previous."""
    expected: Counter[tuple[int, int]] = Counter()
    for days in held.values():
        previous = None
        for day in sorted(d for d, n in days.items() if n > 0):
            expected[(day, 0 if previous is None else day - previous)] += 1
            previous = day
    return expected


def visitors_between(gaps: Counter[tuple[int, int]], first: int, last: int) -> int:
    return sum(
        n for (day, gap), n in gaps.items() if first <= day <= last and (gap == 0 or gap > day - first)
    )


def test_random_appear_and_disappear_keep_gaps_exact(services: Services) -> None:
    rng = random.Random(5)
    held: dict[int, dict[int, int]] = {visitor: {} for visitor in range(6)}
    with services.db.sync.begin() as conn:
        for _batch in range(60):
            deltas = MarkDeltas()
            for _ in range(rng.randint(1, 6)):
                visitor, day = rng.randrange(6), rng.randrange(8)
                current = held[visitor].get(day, 0)
                delta = rng.choice([1, 1, 2, -1]) if current else rng.choice([1, 2])
                delta = max(delta, -current)
                deltas.add((SITE, visitor, DIM, VALUE), day, delta)
                held[visitor][day] = current + delta
            apply_marks(conn, deltas, now_s=1000)
            gaps = stored_gaps(conn)
            assert gaps == recount(held)
            for first in range(8):
                for last in range(first, 8):
                    truth = sum(
                        1
                        for days in held.values()
                        if any(n > 0 for d, n in days.items() if first <= d <= last)
                    )
                    assert visitors_between(gaps, first, last) == truth


def test_presence_marks_count_once_and_out_of_order_days_regap(services: Services) -> None:
    with services.db.sync.begin() as conn:
        for day in (5, 5, 3, 4):  # day 3 arrives late: day 5's gap goes from 0 to 2, then 1
            deltas = MarkDeltas()
            deltas.touch((SITE, 9, DIM, VALUE), day)
            apply_marks(conn, deltas, now_s=1000)
        assert stored_gaps(conn) == Counter({(3, 0): 1, (4, 1): 1, (5, 1): 1})
        (marks,) = conn.execute(select(visitor_marks.c.marks)).scalars()
        assert sorted(orjson.loads(marks)) == [[DIM, VALUE, 3, 1], [DIM, VALUE, 4, 1], [DIM, VALUE, 5, 1]]


def test_marks_are_pruned_after_their_ids_salt_is_gone(services: Services) -> None:
    with services.db.sync.begin() as conn:
        deltas = MarkDeltas()
        deltas.touch((SITE, 1, DIM, VALUE), 1)
        apply_marks(conn, deltas, now_s=1_000_000)
        assert prune_marks(conn, now_s=1_000_000 + 49 * 3600) == 0
        assert prune_marks(conn, now_s=1_000_000 + 51 * 3600) == 1
        assert stored_gaps(conn) == Counter({(1, 0): 1})  # the counted visitor stays counted
